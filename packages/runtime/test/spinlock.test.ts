import { describe, expect, it } from "vitest";
import { GFP_ATOMIC, isKernelError, Mutex, Simulator, SpinLock, ValidatorError } from "../src/index.js";

describe("SpinLock (spinlock_t)", () => {
  it("makes the holder atomic while held, and only then", async () => {
    const sim = new Simulator();
    const s = new SpinLock(sim, "&fence->lock");
    const seen: [number, boolean][] = [];
    await sim.exec("p", () => {
      const ctx = sim.current;
      seen.push([ctx.atomicDepth, ctx.inAtomic]);
      s.lock();
      seen.push([ctx.atomicDepth, ctx.inAtomic]);
      expect(s.owner).toBe(ctx);
      s.unlock();
      seen.push([ctx.atomicDepth, ctx.inAtomic]);
    });
    expect(seen).toEqual([
      [0, false],
      [1, true],
      [0, false],
    ]);
    expect(s.owner).toBeNull();
  });

  it("mutex.lock under a spinlock is a sleep-in-atomic finding", async () => {
    const sim = new Simulator({ validator: "collect" });
    const s = new SpinLock(sim, "&fence->lock");
    const m = new Mutex(sim, "&vm->lock");
    await sim.exec("p", async () => {
      s.lock();
      const p = m.lock();
      s.unlock();
      await p;
      m.unlock();
    });
    const [f] = sim.validator.findingsOf("sleep-in-atomic");
    expect(f?.title).toBe(
      "sleeping function called with a spinlock held: mutex_lock(&vm->lock) under &fence->lock",
    );
    expect(f?.held.join()).toContain("&fence->lock");
  });

  it("throws the sleep-in-atomic finding in throw mode; atomic allocation is fine", async () => {
    const sim = new Simulator();
    const s = new SpinLock(sim, "&fence->lock");
    const m = new Mutex(sim, "&vm->lock");
    await sim.exec("ok", () => s.with(() => sim.mm.kmalloc(16, GFP_ATOMIC).free()));
    const err = await sim.exec("bad", () => s.with(() => m.lock())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("sleep-in-atomic");
    expect(s.owner).toBeNull(); // with() released it on the way out
  });

  it("unlock by a context that does not hold it is EPERM and reported; the holder keeps it", async () => {
    const sim = new Simulator({ validator: "collect" });
    const s = new SpinLock(sim, "&ring->lock");
    const holder = sim.createContext("holder", "process");
    sim.runAs(holder, () => s.lock());
    const err = await sim.exec("other", () => s.unlock()).catch((e: unknown) => e);
    expect(isKernelError(err, "EPERM")).toBe(true);
    expect(s.owner).toBe(holder);
    expect(holder.atomicDepth).toBe(1);
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(1);
    sim.runAs(holder, () => s.unlock());
    expect(holder.atomicDepth).toBe(0);
    const again = (() => {
      try {
        sim.runAs(holder, () => s.unlock());
      } catch (e) {
        return e;
      }
    })();
    expect(isKernelError(again, "EPERM")).toBe(true);
    expect(holder.atomicDepth).toBe(0);
  });

  it("with() returns the value, and releases the lock when fn throws", async () => {
    const sim = new Simulator();
    const s = new SpinLock(sim, "&q->lock");
    await sim.exec("p", () => {
      expect(s.with(() => 42)).toBe(42);
      expect(() =>
        s.with(() => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(s.owner).toBeNull();
      expect(sim.current.atomicDepth).toBe(0);
      expect(sim.current.held).toEqual([]);
    });
  });

  it("trylock() fails while held, without touching the holder's state", async () => {
    const sim = new Simulator();
    const s = new SpinLock(sim, "&q->lock");
    const a = sim.createContext("a", "process");
    const b = sim.createContext("b", "process");
    expect(sim.runAs(a, () => s.trylock())).toBe(true);
    expect(sim.runAs(b, () => s.trylock())).toBe(false);
    expect(b.atomicDepth).toBe(0);
    sim.runAs(a, () => s.unlock());
    expect(sim.runAs(b, () => s.trylock())).toBe(true);
    sim.runAs(b, () => s.unlock());
  });

  it("spinning on a lock held by a context that is not running is a deadlock (EDEADLK)", async () => {
    const sim = new Simulator({ validator: "collect" });
    const s = new SpinLock(sim, "&q->lock");
    const sleeper = sim.createContext("sleeper", "process");
    sim.runAs(sleeper, () => s.lock());
    const err = await sim.exec("spinner", () => s.lock()).catch((e: unknown) => e);
    expect(isKernelError(err, "EDEADLK")).toBe(true);
    expect(sim.validator.findingsOf("deadlock")[0]?.title).toMatch(/spins forever: held by process:sleeper/);
    expect(s.owner).toBe(sleeper);
  });
});
