import { describe, expect, it } from "vitest";
import {
  dmaFenceMightWait,
  isKernelError,
  Mutex,
  Simulator,
  SpinLock,
  ValidatorError,
  withDmaFenceSignalling,
} from "../src/index.js";

describe("irq safety: inconsistent-lock-state (lockdep's usage bits)", () => {
  it("a spinlock taken with irqs enabled in process context, then in an irq handler, is reported with both acquisitions", async () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&ring->lock");
    await sim.exec("submit", () => sim.withFrame("ring_emit", () => lock.with(() => 0)));
    const irq = sim.irqContext("gpu0-irq");
    sim.runAs(irq, () => sim.withFrame("ring_irq_handler", () => lock.with(() => 0)));
    const [f] = sim.validator.findingsOf("inconsistent-lock-state");
    expect(f?.title).toMatch(/^inconsistent \{HARDIRQ-ON-W\} -> \{IN-HARDIRQ-W\} usage: &ring->lock/);
    expect(f?.context).toBe(irq.label);
    expect(f?.details.join("\n")).toMatch(
      /IN-HARDIRQ-W\): spin_lock\(&ring->lock\) in irq:gpu0-irq\/\d+ at ring_irq_handler/,
    );
    expect(f?.details.join("\n")).toMatch(
      /HARDIRQ-ON-W\): spin_lock\(&ring->lock\) in process:submit\/\d+ at ring_emit/,
    );
    expect(sim.validator.findings.map((x) => x.kind)).toEqual(["inconsistent-lock-state"]);
    expect(sim.teardown().findings).toEqual([]); // nothing left held
  });

  it("the other order (irq first, then irqs-on process context) is reported too", () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&fence->lock");
    sim.runAs(sim.irqContext("gpu0-irq"), () => lock.with(() => 0));
    expect(sim.validator.findingsOf("inconsistent-lock-state")).toEqual([]);
    sim.runAs(sim.createContext("p", "process"), () => lock.with(() => 0));
    expect(sim.validator.findingsOf("inconsistent-lock-state")[0]?.title).toMatch(
      /^inconsistent \{IN-HARDIRQ-W\} -> \{HARDIRQ-ON-W\} usage: &fence->lock/,
    );
  });

  it("spin_lock_irqsave in process context and spin_lock in the handler is the correct pattern: no finding", async () => {
    const sim = new Simulator();
    const lock = new SpinLock(sim, "&fence->lock");
    const inner = new SpinLock(sim, "&sched->job_list_lock");
    const irq = sim.irqContext("gpu0-irq");
    await sim.exec("p", () => {
      const ctx = sim.current;
      const flags = lock.lockIrqsave();
      expect(ctx.hardirqsOff).toBe(1);
      expect(ctx.irqsDisabled).toBe(true);
      inner.lock(); // irqs are off while the outer lock is held: not HARDIRQ-ON
      inner.unlock();
      lock.unlockIrqrestore(flags);
      expect(ctx.hardirqsOff).toBe(0);
      expect(ctx.atomicDepth).toBe(0);
      lock.withIrqsave(() => 0);
    });
    sim.runAs(irq, () => lock.with(() => inner.with(() => 0)));
    expect(sim.teardown().findings).toEqual([]);
  });

  it("nested irqsave restores the outer state, not 'enabled'", async () => {
    const sim = new Simulator();
    const a = new SpinLock(sim, "&a->lock");
    const b = new SpinLock(sim, "&b->lock");
    await sim.exec("p", () => {
      const ctx = sim.current;
      const fa = a.lockIrqsave();
      const fb = b.lockIrqsave();
      expect(ctx.hardirqsOff).toBe(2);
      b.unlockIrqrestore(fb);
      expect(ctx.irqsDisabled).toBe(true);
      a.unlockIrqrestore(fa);
      expect(ctx.irqsDisabled).toBe(false);
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("in throw mode the irq acquisition throws and leaves the lock and the context untouched", () => {
    const sim = new Simulator();
    const lock = new SpinLock(sim, "&ring->lock");
    sim.runAs(sim.createContext("p", "process"), () => lock.with(() => 0));
    const irq = sim.irqContext("gpu0-irq");
    expect(() => sim.runAs(irq, () => lock.lock())).toThrow(ValidatorError);
    expect(lock.owner).toBeNull();
    expect(irq.held).toEqual([]);
    expect(irq.atomicDepth).toBe(0);
  });

  it("irqs disabled by irqsave make the context atomic: sleeping there is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&q->lock");
    const m = new Mutex(sim, "&vm->lock");
    await sim.exec("p", async () => {
      const flags = lock.lockIrqsave();
      try {
        sim.validator.mightSleep("mutex_lock(&vm->lock)");
      } finally {
        lock.unlockIrqrestore(flags);
      }
      await m.lock();
      m.unlock();
    });
    expect(sim.validator.findingsOf("sleep-in-atomic")).toHaveLength(1);
  });

  it("unlockIrqrestore of a lock the context does not hold is refused (EPERM) and leaves the irq state alone", async () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&q->lock");
    await sim.exec("p", () => {
      const ctx = sim.current;
      let err: unknown;
      try {
        lock.unlockIrqrestore(0);
      } catch (e) {
        err = e;
      }
      expect(isKernelError(err, "EPERM")).toBe(true);
      expect(ctx.hardirqsOff).toBe(0);
    });
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(1);
  });

  it("an irqsave acquisition refused by the validator restores the irq state", () => {
    const sim = new Simulator();
    const lock = new SpinLock(sim, "&q->lock");
    const ctx = sim.createContext("p", "process");
    sim.runAs(ctx, () => {
      lock.lock();
      expect(() => lock.lockIrqsave()).toThrow(ValidatorError); // recursive locking
      expect(ctx.hardirqsOff).toBe(0);
      expect(ctx.held).toHaveLength(1);
      lock.unlock();
    });
  });
});

describe("review regressions", () => {
  it("spinning on a lock held by a sleeping context, in throw mode, leaves no stale entry on the spinner's held stack", async () => {
    const sim = new Simulator();
    const s = new SpinLock(sim, "&q->lock");
    const sleeper = sim.createContext("sleeper", "process");
    sim.runAs(sleeper, () => s.lock());
    const spinner = sim.createContext("spinner", "process");
    expect(() => sim.runAs(spinner, () => s.lock())).toThrow(ValidatorError);
    expect(spinner.held).toEqual([]);
    expect(spinner.atomicDepth).toBe(0);
    expect(s.owner).toBe(sleeper);
  });

  it("a fence wait whose exclusive acquisition throws a new cycle keeps the signalling section open", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&vm->lock");
    const ctx = sim.createContext("p", "process");
    // First wait in a section: reported (throws) once; the repeat is only counted.
    expect(() => sim.runAs(ctx, () => withDmaFenceSignalling(sim, () => dmaFenceMightWait(sim)))).toThrow(
      ValidatorError,
    );
    expect(ctx.held).toEqual([]);
    let section = false;
    sim.runAs(ctx, () => {
      const cookie = sim.validator.beginSignalling();
      expect(m.trylock()).toBe(true);
      m.unlock();
      // dma_fence_map -> &vm->lock, then a wait under &vm->lock closes the cycle.
      sim.validator.lockAcquire(m.cls, m, "mutex_lock(&vm->lock)", false);
      expect(() => dmaFenceMightWait(sim)).toThrow(ValidatorError);
      section = sim.validator.inSignalling;
      sim.validator.release(m.cls, m, "mutex_unlock(&vm->lock)");
      sim.validator.endSignalling(cookie);
    });
    expect(section).toBe(true);
    expect(ctx.held).toEqual([]);
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["wait-in-signalling", "circular-dependency"]);
  });
});
