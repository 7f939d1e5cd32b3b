import { ERRNO, KernelError, Simulator, ValidatorError, WaitQueue } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { WwAcquireCtx, WwClass, WwMutex } from "../src/index.js";

const EDEADLK = -ERRNO.EDEADLK;
const EALREADY = -ERRNO.EALREADY;

function sleepNs(sim: Simulator, ns: number): Promise<number> {
  return new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

function setup(mode: "throw" | "collect" = "throw") {
  const sim = new Simulator({ validator: mode });
  const cls = new WwClass(sim, "test_ww_class");
  const a = new WwMutex(sim, cls, "A");
  const b = new WwMutex(sim, cls, "B");
  return { sim, cls, a, b };
}

describe("WwAcquireCtx (ww_acquire_init/done/fini)", () => {
  it("stamps tickets from a per-simulator counter: older is lower, and runs repeat", () => {
    const stamps = () => {
      const { sim, cls } = setup();
      const t1 = new WwAcquireCtx(sim, cls);
      t1.fini();
      const t2 = new WwAcquireCtx(sim, cls);
      t2.fini();
      return [t1.stamp, t2.stamp];
    };
    const s = stamps();
    expect(s[0]).toBeLessThan(s[1]!);
    expect(stamps()).toEqual(s);
  });

  it("fini with a lock still held is a finding and EINVAL, leaving the context usable", async () => {
    const { sim, cls, a } = setup("collect");
    await sim.exec("p", async () => {
      const t = new WwAcquireCtx(sim, cls);
      expect(await a.lock(t)).toBe(0);
      expect(() => t.fini()).toThrow(KernelError);
      expect(t.isFinished).toBe(false);
      expect(t.acquired).toBe(1);
      a.unlock();
      t.fini();
      expect(() => t.fini()).toThrow(KernelError);
    });
    const f = sim.validator.findingsOf("ww-mutex-misuse");
    expect(f.map((x) => x.title)).toEqual([
      expect.stringContaining("still held"),
      expect.stringContaining("called twice"),
    ]);
  });

  it("locking after done() is reported", async () => {
    const { sim, cls, a } = setup();
    const err = await sim
      .exec("p", async () => {
        const t = new WwAcquireCtx(sim, cls);
        t.done();
        try {
          await a.lock(t);
        } finally {
          t.fini();
        }
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("ww-mutex-misuse");
  });
});

describe("WwMutex (Wait-Die)", () => {
  it("returns EALREADY when the context already holds it, changing nothing", async () => {
    const { sim, cls, a } = setup();
    await sim.exec("p", async () => {
      const t = new WwAcquireCtx(sim, cls);
      expect(await a.lock(t)).toBe(0);
      expect(await a.lock(t)).toBe(EALREADY);
      expect(t.acquired).toBe(1);
      expect(a.ctx).toBe(t);
      expect(a.owner).toBe(sim.current);
      a.unlock();
      expect(a.isLocked).toBe(false);
      t.fini();
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("nests many locks of one class under one context without a validator report", async () => {
    const { sim, cls, a, b } = setup();
    await sim.exec("p", async () => {
      const t = new WwAcquireCtx(sim, cls);
      expect(await a.lock(t)).toBe(0);
      expect(await b.lock(t)).toBe(0);
      expect(t.acquired).toBe(2);
      b.unlock();
      a.unlock();
      t.fini();
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without a context it is a plain mutex: two of the class nest as recursive locking", async () => {
    const { sim, a, b } = setup("collect");
    await sim.exec("p", async () => {
      expect(await a.lock(null)).toBe(0);
      expect(await b.lock(null)).toBe(0);
      b.unlock();
      a.unlock();
    });
    expect(sim.validator.findingsOf("recursive-locking")).toHaveLength(1);
  });

  it("a context holding nothing waits, even for a younger holder, and never backs off", async () => {
    const { sim, cls, a } = setup();
    const log: string[] = [];
    let old!: WwAcquireCtx;
    sim.spawn("old", async () => {
      old = new WwAcquireCtx(sim, cls); // older ticket
      await sleepNs(sim, 10);
      expect(await a.lock(old)).toBe(0);
      log.push(`old locks @${sim.now}`);
      a.unlock();
      old.fini();
    });
    sim.spawn("young", async () => {
      const young = new WwAcquireCtx(sim, cls);
      expect(young.stamp).toBeGreaterThan(old.stamp);
      expect(await a.lock(young)).toBe(0);
      await sleepNs(sim, 100);
      log.push(`young unlocks @${sim.now}`);
      a.unlock();
      young.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(log).toEqual(["young unlocks @100", "old locks @100"]);
  });

  it("a younger context holding nothing waits for an older holder", async () => {
    const { sim, cls, a } = setup();
    const log: string[] = [];
    sim.spawn("old", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await a.lock(t);
      await sleepNs(sim, 50);
      a.unlock();
      t.fini();
    });
    sim.spawn("young", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 1);
      expect(await a.lock(t)).toBe(0);
      log.push(`young @${sim.now}`);
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(log).toEqual(["young @50"]);
  });

  it("EDEADLK only for a context holding a lock when an older context owns the lock", async () => {
    const { sim, cls, a, b } = setup();
    const rets: number[] = [];
    sim.spawn("old", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await a.lock(t);
      await sleepNs(sim, 50);
      a.unlock();
      t.fini();
    });
    sim.spawn("young", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 1);
      expect(await b.lock(t)).toBe(0);
      const ret = await a.lock(t);
      rets.push(ret, sim.now);
      expect(t.contendingLock).toBe(a);
      b.unlock();
      await a.lockSlow(t);
      rets.push(sim.now);
      expect(t.contendingLock).toBeNull();
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(rets).toEqual([EDEADLK, 1, 50]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an older context holding locks waits for a younger holder (it never dies)", async () => {
    const { sim, cls, a, b } = setup();
    const rets: number[] = [];
    let oldT!: WwAcquireCtx;
    sim.spawn("old", async () => {
      oldT = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 1);
      await b.lock(oldT);
      rets.push(await a.lock(oldT), sim.now);
      a.unlock();
      b.unlock();
      oldT.fini();
    });
    sim.spawn("young", async () => {
      const t = new WwAcquireCtx(sim, cls);
      expect(t.stamp).toBeGreaterThan(oldT.stamp);
      await a.lock(t);
      await sleepNs(sim, 30);
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(rets).toEqual([0, 30]);
  });

  it("a waiting younger context that holds locks is woken to die when an older one queues ahead", async () => {
    const { sim, cls, a, b } = setup();
    const c = new WwMutex(sim, cls, "C");
    const log: string[] = [];
    let oldT!: WwAcquireCtx;
    let midT!: WwAcquireCtx;
    // holder (youngest) owns A; mid holds B and waits for A; old then waits for A -> mid must die.
    sim.spawn("old", async () => {
      oldT = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 20);
      await c.lock(oldT);
      expect(await a.lock(oldT)).toBe(0);
      log.push(`old got A @${sim.now}`);
      a.unlock();
      c.unlock();
      oldT.fini();
    });
    sim.spawn("mid", async () => {
      midT = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 10);
      await b.lock(midT);
      const ret = await a.lock(midT);
      log.push(`mid ${ret === EDEADLK ? "EDEADLK" : ret} @${sim.now}`);
      b.unlock();
      await a.lockSlow(midT);
      log.push(`mid got A @${sim.now}`);
      a.unlock();
      midT.fini();
    });
    sim.spawn("holder", async () => {
      await sleepNs(sim, 1);
      const t = new WwAcquireCtx(sim, cls);
      expect(t.stamp).toBeGreaterThan(midT.stamp);
      await a.lock(t);
      await sleepNs(sim, 100);
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(log).toEqual(["mid EDEADLK @20", "old got A @101", "mid got A @101"]);
  });

  it("a context holding a lock dies at once when an older context already waits, even for a younger holder", async () => {
    const { sim, cls, a, b } = setup();
    const log: string[] = [];
    let olderStamp = 0;
    sim.spawn("old", async () => {
      const t = new WwAcquireCtx(sim, cls);
      olderStamp = t.stamp;
      await sleepNs(sim, 5);
      expect(await a.lock(t)).toBe(0); // waits: it holds nothing
      log.push(`old got A @${sim.now}`);
      a.unlock();
      t.fini();
    });
    sim.spawn("mid", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await b.lock(t);
      await sleepNs(sim, 10);
      expect(t.stamp).toBeGreaterThan(olderStamp);
      log.push(`mid ${(await a.lock(t)) === EDEADLK ? "EDEADLK" : "?"} @${sim.now}`);
      b.unlock();
      await a.lockSlow(t);
      a.unlock();
      t.fini();
    });
    sim.spawn("holder", async () => {
      const t = new WwAcquireCtx(sim, cls); // youngest
      await a.lock(t);
      await sleepNs(sim, 40);
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(log).toEqual(["mid EDEADLK @10", "old got A @40"]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("locking another mutex first after EDEADLK is a ww-mutex-misuse finding", async () => {
    const { sim, cls, a, b } = setup("collect");
    const c = new WwMutex(sim, cls, "C");
    sim.spawn("old", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await a.lock(t);
      await sleepNs(sim, 50);
      a.unlock();
      t.fini();
    });
    const errs: unknown[] = [];
    sim.spawn("young", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 1);
      await b.lock(t);
      expect(await a.lock(t)).toBe(EDEADLK);
      // Forgot to unlock b and slow-lock a: both are bugs.
      await c.lock(t).catch((e) => errs.push(e));
      b.unlock();
      await c.lock(t).catch((e) => errs.push(e));
      await b.lockSlow(t).catch((e) => errs.push(e));
      await a.lockSlow(t);
      a.unlock();
      t.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(errs).toHaveLength(3);
    for (const e of errs) expect((e as KernelError).code).toBe("EINVAL");
    const found = sim.validator.findingsOf("ww-mutex-misuse");
    expect(found.map((f) => f.title)).toEqual([
      expect.stringContaining("ww_mutex_lock(C) after -EDEADLK on A"),
      expect.stringContaining("ww_mutex_lock_slow(B) after -EDEADLK on A"),
    ]);
    // The same mistake twice is one finding, seen again (as lockdep reports a splat once).
    expect(found[0]!.repeats).toBe(1);
    expect(c.isLocked).toBe(false);
  });

  it("lockSlow without a preceding EDEADLK is reported", async () => {
    const { sim, cls, a } = setup("collect");
    await sim.exec("p", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await expect(a.lockSlow(t)).rejects.toThrow(KernelError);
      t.fini();
    });
    expect(sim.validator.findingsOf("ww-mutex-misuse")[0]!.title).toContain("without a preceding -EDEADLK");
    expect(a.isLocked).toBe(false);
  });

  it("interruptible lock and lockSlow fail with EINTR on a signal, leaving the lock with its owner", async () => {
    const { sim, cls, a, b } = setup();
    const codes: string[] = [];
    sim.spawn("holder", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await a.lock(t);
      await sleepNs(sim, 100);
      a.unlock();
      t.fini();
    });
    const waiter = sim.spawn("waiter", async () => {
      const t = new WwAcquireCtx(sim, cls);
      await sleepNs(sim, 1);
      await a.lock(t, { interruptible: true }).catch((e: KernelError) => codes.push(e.code));
      // Force a back-off, then get interrupted in lockSlow.
      await b.lock(t);
      expect(await a.lock(t)).toBe(EDEADLK);
      b.unlock();
      await a.lockSlow(t, { interruptible: true }).catch((e: KernelError) => codes.push(e.code));
      expect(t.acquired).toBe(0);
      t.contendingLock = null;
      t.fini();
    });
    sim.schedule(10, () => waiter.signal());
    sim.schedule(20, () => waiter.signal());
    expect((await sim.run()).reason).toBe("idle");
    expect(codes).toEqual(["EINTR", "EINTR"]);
    expect(a.isLocked).toBe(false);
    expect(a.waiterCount).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("unlocking a mutex one does not hold is unbalanced-unlock and EPERM", async () => {
    const { sim, cls, a } = setup("collect");
    const other = sim.createContext("other", "process");
    await sim.exec("p", async () => {
      expect(() => a.unlock()).toThrow(/EPERM|not locked/);
      const t = new WwAcquireCtx(sim, cls);
      await a.lock(t);
      expect(() => sim.runAs(other, () => a.unlock())).toThrow(KernelError);
      expect(a.owner).toBe(sim.current);
      a.unlock();
      t.fini();
    });
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(2);
  });

  it("trylock takes a free mutex and fails on a held one", async () => {
    const { sim, a } = setup();
    await sim.exec("p", async () => {
      expect(a.trylock()).toBe(true);
      expect(a.trylock()).toBe(false);
      a.unlock();
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a task exiting with an acquire context still open is held-at-exit", async () => {
    const { sim, cls } = setup("collect");
    await sim.exec("p", () => {
      new WwAcquireCtx(sim, cls);
    });
    expect(sim.validator.findingsOf("held-at-exit")).toHaveLength(1);
  });
});
