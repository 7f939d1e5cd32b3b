import { describe, expect, it } from "vitest";
import { isKernelError, KernelError, Mutex, Simulator, ValidatorError, WaitQueue } from "../src/index.js";

/** `msleep`-like helper: sleeps `ns` of virtual time in the current task. */
function sleepNs(sim: Simulator, ns: number): Promise<number> {
  return new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

describe("Mutex (struct mutex)", () => {
  it("is taken at once when uncontended, and released", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    await sim.exec("p", async () => {
      await m.lock();
      expect(m.isLocked).toBe(true);
      expect(m.owner).toBe(sim.current);
      m.assertHeld();
      m.unlock();
    });
    expect(m.isLocked).toBe(false);
    expect(m.owner).toBeNull();
  });

  it("hands off in FIFO order under contention across three tasks", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    const order: string[] = [];
    const worker = (name: string, startNs: number) =>
      sim.spawn(name, async () => {
        await sleepNs(sim, startNs);
        await m.lock();
        order.push(`${name} locks @${sim.now}`);
        await sleepNs(sim, 100);
        order.push(`${name} unlocks @${sim.now}`);
        m.unlock();
      });
    // c asks before b, so c must get it before b, whatever their creation order.
    worker("a", 0);
    worker("b", 20);
    worker("c", 10);
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(order).toEqual([
      "a locks @0",
      "a unlocks @100",
      "c locks @100",
      "c unlocks @200",
      "b locks @200",
      "b unlocks @300",
    ]);
    expect(m.isLocked).toBe(false);
  });

  it("hands the lock to the first waiter at unlock: a newcomer cannot steal it", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    const newcomer = sim.createContext("newcomer", "process");
    const got: string[] = [];
    sim.spawn("holder", async () => {
      await m.lock();
      await sleepNs(sim, 10);
      m.unlock();
      // The waiter has not run yet, but already owns the mutex.
      got.push(`owner=${m.owner?.name} trylock=${sim.runAs(newcomer, () => m.trylock())}`);
    });
    sim.spawn("waiter", async () => {
      await m.lock();
      got.push(`waiter@${sim.now}`);
      m.unlock();
    });
    await sim.run();
    expect(got).toEqual(["owner=waiter trylock=false", "waiter@10"]);
  });

  it("trylock() fails while held and succeeds once free, without sleeping", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    const results: string[] = [];
    sim.spawn("owner", async () => {
      await m.lock();
      await sleepNs(sim, 10);
      m.unlock();
    });
    sim.spawn("other", async () => {
      await sleepNs(sim, 5);
      results.push(`@${sim.now} ${m.trylock()}`);
      await sleepNs(sim, 10);
      const ok = m.trylock();
      results.push(`@${sim.now} ${ok} owner=${m.owner?.name}`);
      if (ok) m.unlock();
    });
    await sim.run();
    expect(results).toEqual(["@5 false", "@15 true owner=other"]);
    expect(m.isLocked).toBe(false);
  });

  it("an interruptible lock ends with EINTR on a signal and leaves the mutex as it was", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    const log: string[] = [];
    const owner = sim.spawn("owner", async () => {
      await m.lock();
      await sleepNs(sim, 100);
      m.unlock();
    });
    const victim = sim.spawn("victim", async () => {
      await m.lock({ interruptible: true });
      log.push("victim got it");
    });
    const next = sim.spawn("next", async () => {
      await sleepNs(sim, 1);
      await m.lock();
      log.push(`next@${sim.now}`);
      m.unlock();
    });
    sim.schedule(50, () => {
      victim.signal();
      log.push(`after signal: owner=${m.owner?.name} held-by-victim=${victim.context.held.length}`);
    });
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(victim.error).toBeInstanceOf(KernelError);
    expect((victim.error as KernelError).code).toBe("EINTR");
    expect(victim.context.held).toEqual([]); // the validator forgot the aborted acquisition
    expect(victim.context.signalPending).toBe(false);
    expect(log).toEqual(["after signal: owner=owner held-by-victim=1", "next@100"]);
    expect(owner.state).toBe("done");
    expect(next.state).toBe("done");
    expect(m.isLocked).toBe(false);
  });

  it("a killable lock ignores an ordinary signal but not a fatal one", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&dev->lock");
    sim.spawn("owner", async () => {
      await m.lock();
      await sleepNs(sim, 100);
      m.unlock();
    });
    const k = sim.spawn("killable", () => m.lock({ killable: true }));
    let stateAt20 = "";
    sim.schedule(10, () => k.signal());
    sim.schedule(20, () => {
      stateAt20 = k.state;
      k.signal({ fatal: true });
    });
    await sim.run();
    expect(stateAt20).toBe("running");
    expect(isKernelError(k.error, "EINTR")).toBe(true);
    expect(m.isLocked).toBe(false);
  });

  it("unlock by a context that does not own it is refused with EPERM and reported; state intact", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&dev->lock");
    const owner = sim.spawn("owner", async () => {
      await m.lock();
      await sleepNs(sim, 100);
      m.unlock();
    });
    const waiter = sim.spawn("waiter", async () => {
      await m.lock();
      m.unlock();
    });
    let err: unknown;
    sim.schedule(50, () => {
      try {
        sim.runAs(sim.mainContext, () => m.unlock());
      } catch (e) {
        err = e;
      }
    });
    await sim.run();
    expect(isKernelError(err, "EPERM")).toBe(true);
    expect((err as Error).message).toMatch(/owned by process:owner/);
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(1);
    // The owner kept it until it unlocked, and the waiter still got it afterwards.
    expect(owner.state).toBe("done");
    expect(waiter.state).toBe("done");
    expect(m.isLocked).toBe(false);
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["unbalanced-unlock"]);
  });

  it("unlock of an unlocked mutex is EPERM", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&dev->lock");
    const err = await sim.exec("p", () => m.unlock()).catch((e: unknown) => e);
    expect(isKernelError(err, "EPERM")).toBe(true);
    expect((err as Error).message).toMatch(/not locked/);
    expect(() => sim.runAs(sim.mainContext, () => m.assertHeld())).toThrow(KernelError);
  });

  it("an ABBA deadlock between two tasks: circular-dependency first, then a deadlock naming both contexts and mutexes", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new Mutex(sim, "&dev->lock_a");
    const b = new Mutex(sim, "&dev->lock_b");
    const t1 = sim.spawn("t1", async () => {
      await a.lock();
      await sleepNs(sim, 10);
      await b.lock();
    });
    const t2 = sim.spawn("t2", async () => {
      await b.lock();
      await sleepNs(sim, 10);
      await a.lock();
    });
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["circular-dependency", "deadlock"]);
    const cycle = sim.validator.findings[0]!;
    expect(cycle.cycle.sort()).toEqual(["&dev->lock_a", "&dev->lock_b"]);
    const f = r.finding!;
    expect(f.kind).toBe("deadlock");
    expect(f.waitFor.map((w) => [w.context, w.waitsFor])).toEqual([
      [t1.context.label, "mutex &dev->lock_b"],
      [t2.context.label, "mutex &dev->lock_a"],
    ]);
    expect(f.waitFor[0]!.holds).toContain("&dev->lock_a");
    expect(f.waitFor[1]!.holds).toContain("&dev->lock_b");
    const text = f.toString();
    for (const s of ["t1", "t2", "&dev->lock_a", "&dev->lock_b"]) expect(text).toContain(s);
  });

  it("in throw mode the ABBA order throws a ValidatorError out of run()", async () => {
    const sim = new Simulator();
    const a = new Mutex(sim, "A");
    const b = new Mutex(sim, "B");
    sim.spawn("t1", async () => {
      await a.lock();
      await sleepNs(sim, 10);
      await b.lock();
    });
    sim.spawn("t2", async () => {
      await b.lock();
      await sleepNs(sim, 10);
      await a.lock();
    });
    const err = await sim.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("circular-dependency");
  });
});
