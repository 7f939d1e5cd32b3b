import { ERRNO, KernelError, Simulator, WaitQueue } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DmaResvUsage, DrmExec } from "../src/index.js";
import { MockObject, mockFence } from "./helpers.js";

const EDEADLK = -ERRNO.EDEADLK;
const EALREADY = -ERRNO.EALREADY;

function sleepNs(sim: Simulator, ns: number): Promise<number> {
  return new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

describe("drm_exec_test.c (drm_exec)", () => {
  it("sanitycheck: init + fini", () => {
    const sim = new Simulator();
    const exec = new DrmExec(sim, { interruptible: true }, 0);
    exec.fini();
    expect(exec.ticket).toBeNull();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_lock: lockObj returns 0", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim, { interruptible: true }, 0);
      while (exec.cleanup()) {
        const ret = await exec.lockObj(obj);
        if (exec.isContended) continue;
        expect(ret).toBe(0);
      }
      expect(obj.resv.isLocked).toBe(true);
      expect(obj.refcount).toBe(2);
      exec.fini();
    });
    expect(obj.resv.isLocked).toBe(false);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_lock_unlock: lock, unlock, lock again → 0", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim, { interruptible: true }, 0);
      while (exec.cleanup()) {
        let ret = await exec.lockObj(obj);
        if (exec.isContended) continue;
        expect(ret).toBe(0);
        exec.unlockObj(obj);
        expect(obj.resv.isLocked).toBe(false);
        expect(exec.numObjects).toBe(0);
        ret = await exec.lockObj(obj);
        if (exec.isContended) continue;
        expect(ret).toBe(0);
      }
      exec.fini();
    });
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_duplicates: 0 with IGNORE_DUPLICATES, EALREADY without", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    const rets: number[] = [];
    await sim.exec("p", async () => {
      for (const ignoreDuplicates of [true, false]) {
        const exec = new DrmExec(sim, { interruptible: true, ignoreDuplicates }, 0);
        while (exec.cleanup()) {
          rets.push(await exec.lockObj(obj));
          if (exec.isContended) continue;
          rets.push(await exec.lockObj(obj));
          if (exec.isContended) continue;
        }
        expect(exec.numObjects).toBe(1);
        exec.unlockObj(obj);
        exec.fini();
      }
    });
    expect(rets).toEqual([0, 0, 0, EALREADY]);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_prepare: prepareObj(obj, 1) → 0 and a reserved slot", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim, { interruptible: true }, 0);
      while (exec.cleanup()) {
        const ret = await exec.prepareObj(obj, 1);
        if (exec.isContended) continue;
        expect(ret).toBe(0);
      }
      expect(obj.resv.maxFences).toBeGreaterThanOrEqual(1);
      exec.unlockObj(obj);
      exec.fini();
    });
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_prepare_array: two objects → 0", async () => {
    const sim = new Simulator();
    const objs = [new MockObject(sim, "o1"), new MockObject(sim, "o2")];
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim, { interruptible: true }, 0);
      while (exec.cleanup()) {
        const ret = await exec.prepareArray(objs, 1);
        if (exec.isContended) continue;
        expect(ret).toBe(0);
      }
      expect(exec.lockedObjects()).toEqual(objs);
      expect(exec.lockedObjectsReverse()).toEqual([...objs].reverse());
      exec.fini();
    });
    for (const o of objs) o.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_multiple_loops: two init / until_all_locked{break} / fini cycles", async () => {
    const sim = new Simulator();
    await sim.exec("p", () => {
      for (let i = 0; i < 2; i++) {
        const exec = new DrmExec(sim, { interruptible: true }, 0);
        while (exec.cleanup()) break;
        exec.fini();
      }
    });
    expect(sim.teardown().findings).toEqual([]);
  });

  it("prepareObj unlocks the object again when reserving fails (ENOMEM)", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim);
      exec.cleanup();
      sim.mm.failNth(1, (i) => i.site === "dma_resv_reserve_fences");
      await expect(exec.prepareObj(obj, 1)).rejects.toMatchObject({ code: "ENOMEM" });
      expect(obj.resv.isLocked).toBe(false);
      expect(exec.numObjects).toBe(0);
      exec.fini();
    });
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("primitives: on contention the next pass slow-locks the contended object first", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    const b = new MockObject(sim, "b");
    const log: string[] = [];
    sim.spawn("old", async () => {
      const exec = new DrmExec(sim);
      while (exec.cleanup()) {
        await exec.lockObj(a);
        if (exec.isContended) continue;
      }
      await sleepNs(sim, 50);
      exec.fini();
    });
    sim.spawn("young", async () => {
      await sleepNs(sim, 1);
      const exec = new DrmExec(sim);
      let passes = 0;
      while (exec.cleanup()) {
        passes++;
        const rb = await exec.lockObj(b);
        if (exec.isContended) continue;
        const ra = await exec.lockObj(a);
        log.push(`pass ${passes}: b=${rb} a=${ra} @${sim.now}`);
        if (exec.isContended) continue;
      }
      // The contended object was locked first on the second pass.
      expect(exec.lockedObjects()).toEqual([a, b]);
      exec.fini();
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(log).toEqual([`pass 1: b=0 a=${EDEADLK} @1`, "pass 2: b=0 a=0 @50"]);
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("fini with a pending contended object drops its reference and the ticket", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    const b = new MockObject(sim, "b");
    sim.spawn("old", async () => {
      await DrmExec.run(sim, {}, async (exec) => {
        await exec.lockObj(a);
        await sleepNs(sim, 50);
      });
    });
    sim.spawn("young", async () => {
      await sleepNs(sim, 1);
      const exec = new DrmExec(sim);
      exec.cleanup();
      await exec.lockObj(b);
      expect(await exec.lockObj(a)).toBe(EDEADLK);
      // Ours, the old exec's and the contended reference.
      expect(a.refcount).toBe(3);
      exec.fini();
      expect(a.refcount).toBe(2);
      expect(b.resv.isLocked).toBe(false);
    });
    expect((await sim.run()).reason).toBe("idle");
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("lockObj outside the loop (before cleanup) is EINVAL", async () => {
    const sim = new Simulator();
    const obj = new MockObject(sim);
    await sim.exec("p", async () => {
      const exec = new DrmExec(sim);
      await expect(exec.lockObj(obj)).rejects.toThrow(KernelError);
      exec.fini();
    });
    obj.put();
  });
});

describe("DrmExec.run", () => {
  it("retries on contention, returns the callback's value and finishes", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    const b = new MockObject(sim, "b");
    let calls = 0;
    sim.spawn("old", () =>
      DrmExec.run(sim, {}, async (exec) => {
        await exec.lockObj(a);
        await sleepNs(sim, 50);
      }),
    );
    const young = sim.spawn("young", async () => {
      await sleepNs(sim, 1);
      return DrmExec.run(sim, { flags: { interruptible: true }, nrHint: 2 }, async (exec) => {
        calls++;
        await exec.prepareObj(b, 1);
        await exec.prepareObj(a, 1);
        return exec.lockedObjects().map((o) => (o as MockObject).label);
      });
    });
    expect((await sim.run()).reason).toBe("idle");
    expect(await young.result).toEqual(["a", "b"]);
    expect(calls).toBe(2);
    expect(a.resv.isLocked || b.resv.isLocked).toBe(false);
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("finishes (unlocks, drops references, ends the ticket) when the callback throws", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    const err = await sim
      .exec("p", () =>
        DrmExec.run(sim, {}, async (exec) => {
          await exec.lockObj(a);
          throw new KernelError("EINVAL", "driver said no");
        }),
      )
      .catch((e) => e);
    expect((err as KernelError).message).toContain("driver said no");
    expect(a.resv.isLocked).toBe(false);
    expect(a.refcount).toBe(1);
    a.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("duplicates throw EALREADY unless ignoreDuplicates", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    const ok = await sim.exec("p", () =>
      DrmExec.run(sim, { flags: { ignoreDuplicates: true } }, async (exec) => {
        await exec.lockObj(a);
        return exec.lockObj(a);
      }),
    );
    expect(ok).toBe(0);
    const err = await sim
      .exec("q", () =>
        DrmExec.run(sim, {}, async (exec) => {
          await exec.lockObj(a);
          await exec.lockObj(a);
        }),
      )
      .catch((e) => e);
    expect((err as KernelError).code).toBe("EALREADY");
    a.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an interruptible run throws EINTR on a signal and leaves nothing locked", async () => {
    const sim = new Simulator();
    const a = new MockObject(sim, "a");
    sim.spawn("holder", () =>
      DrmExec.run(sim, {}, async (exec) => {
        await exec.lockObj(a);
        await sleepNs(sim, 100);
      }),
    );
    const t = sim.spawn("waiter", async () => {
      await sleepNs(sim, 1);
      await DrmExec.run(sim, { flags: { interruptible: true } }, (exec) => exec.lockObj(a));
    });
    sim.schedule(10, () => t.signal());
    expect((await sim.run()).reason).toBe("idle");
    await expect(t.result).rejects.toMatchObject({ code: "EINTR" });
    expect(a.resv.isLocked).toBe(false);
    a.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("stress: 8 processes, random overlapping sets of 16 of 64 objects, 10,000 rounds", () => {
  it("completes without deadlock, loses no fence, and the validator stays quiet", async () => {
    const sim = new Simulator({ seed: 0x5eed, validator: "throw" });
    const NOBJ = 64;
    const PER_ROUND = 16;
    const TASKS = 8;
    const ROUNDS = 10_000;
    const objs = Array.from({ length: NOBJ }, (_, i) => new MockObject(sim, `bo${i}`));
    const indices = objs.map((_, i) => i);
    let rounds = 0;
    let retries = 0;
    let checked = 0;
    const lost: string[] = [];
    const usages = [DmaResvUsage.WRITE, DmaResvUsage.READ, DmaResvUsage.BOOKKEEP] as const;

    /** True if `obj` still holds `fence` or a later fence of its context with a usage at least as strong. */
    function covered(obj: MockObject, ctx: number, seqno: number, usage: DmaResvUsage): boolean {
      const resv = obj.resv;
      for (let i = 0; i < resv.numFences; i++) {
        const g = resv.fences[i]!;
        if (g.context === ctx && g.seqno >= seqno && resv.usages[i]! <= usage) return true;
      }
      return false;
    }

    for (let t = 0; t < TASKS; t++) {
      sim.spawn(`proc${t}`, async () => {
        const context = (await import("@drmsim/dma-fence")).dmaFenceContextAlloc(sim);
        let seqno = 0;
        let lastSignal = 0;
        for (let r = 0; r < ROUNDS / TASKS; r++) {
          const pick = sim.random.shuffle(indices.slice()).slice(0, PER_ROUND);
          const usage = sim.random.pick(usages);
          const fence = mockFence(sim, ++seqno, context);
          let passes = 0;
          const targets = await DrmExec.run(
            sim,
            { flags: { interruptible: true }, nrHint: PER_ROUND },
            async (exec) => {
              passes++;
              for (const i of pick) await exec.prepareObj(objs[i]!, 1);
              // Hold the locks for a while so that other processes contend.
              await sleepNs(sim, sim.random.int(0, 3));
              const locked = exec.lockedObjects() as MockObject[];
              for (const o of locked) o.resv.addFence(fence, usage);
              return locked;
            },
          );
          retries += passes - 1;
          // Every fence just added is visible to an unlocked query.
          for (const o of targets) {
            const got = o.resv.getFences(DmaResvUsage.BOOKKEEP);
            if (!got.some((g) => g.context === context && g.seqno >= fence.seqno))
              lost.push(`${fence.describe()} on ${o.label}`);
            for (const g of got) g.put();
          }
          // Fences of one context signal in order: never before the previous one.
          lastSignal = Math.max(lastSignal, sim.now + sim.random.int(1, 20));
          sim.schedule(lastSignal - sim.now, () => {
            // Until it signals, each object still has it (or a later fence of its context covering it).
            for (const o of targets) {
              checked++;
              if (!covered(o, fence.context, fence.seqno, usage))
                lost.push(`${fence.describe()} on ${o.label} before signal`);
            }
            fence.signal();
            fence.put();
          });
          rounds++;
          await sleepNs(sim, sim.random.int(0, 2));
        }
      });
    }
    const res = await sim.run();
    expect(res.reason).toBe("idle");
    expect(rounds).toBe(ROUNDS);
    expect(lost).toEqual([]);
    expect(checked).toBe(ROUNDS * PER_ROUND);
    // Contention really happened, and every back-off was resolved.
    expect(retries).toBeGreaterThan(0);
    for (const o of objs) {
      expect(o.resv.isLocked).toBe(false);
      expect(o.resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(true);
      o.put();
    }
    expect(sim.validator.findings).toEqual([]);
    expect(sim.teardown().findings).toEqual([]);
  });
});
