import {
  type DmaFenceArray,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  dmaFenceIsArray,
  withDmaFenceSignalling,
} from "@drmsim/dma-fence";
import { KernelError, MAX_SCHEDULE_TIMEOUT, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DmaResv,
  DmaResvIter,
  DmaResvUsage,
  dmaResvForEachFence,
  dmaResvForEachFenceUnlocked,
  dmaResvUsageRw,
  reservationWwClass,
  WwAcquireCtx,
} from "../src/index.js";
import { mockFence } from "./helpers.js";

const USAGES = [
  ["kernel", DmaResvUsage.KERNEL],
  ["write", DmaResvUsage.WRITE],
  ["read", DmaResvUsage.READ],
  ["bookkeep", DmaResvUsage.BOOKKEEP],
] as const;

/** Runs `fn` in a task, with `resv` locked without a context around it. */
async function locked<T>(sim: Simulator, resv: DmaResv, fn: () => T | Promise<T>): Promise<T> {
  return sim.exec("locker", async () => {
    expect(await resv.lock(null)).toBe(0);
    try {
      return await fn();
    } finally {
      resv.unlock();
    }
  });
}

describe("st-dma-resv (dma-buf-resv)", () => {
  it("sanitycheck: init, lock(NULL), unlock, fini", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    await sim.exec("p", async () => {
      expect(await resv.lock(null)).toBe(0);
      expect(resv.isLocked).toBe(true);
      expect(resv.lockingCtx).toBeNull();
      resv.assertHeld();
      resv.unlock();
    });
    expect(resv.isLocked).toBe(false);
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  for (const [name, usage] of USAGES) {
    describe(`usage ${name}`, () => {
      it("test_signaling: testSignaled is false until the fence signals", async () => {
        const sim = new Simulator();
        const resv = new DmaResv(sim);
        const f = mockFence(sim);
        await locked(sim, resv, () => {
          resv.reserveFences(1);
          resv.addFence(f, usage);
        });
        expect(resv.testSignaled(usage)).toBe(false);
        // A query for a lower usage does not see it (unless it is KERNEL).
        if (usage > DmaResvUsage.KERNEL) expect(resv.testSignaled((usage - 1) as DmaResvUsage)).toBe(true);
        f.signal();
        expect(resv.testSignaled(usage)).toBe(true);
        f.put();
        resv.fini();
        expect(sim.teardown().findings).toEqual([]);
      });

      it("test_for_each: the locked iterator yields f once, with its usage", async () => {
        const sim = new Simulator();
        const resv = new DmaResv(sim);
        const f = mockFence(sim);
        await locked(sim, resv, () => {
          resv.reserveFences(1);
          resv.addFence(f, usage);
          const cursor = new DmaResvIter(resv, usage);
          const seen: [unknown, number][] = [];
          for (const fence of dmaResvForEachFence(cursor)) seen.push([fence, cursor.currentUsage]);
          expect(seen).toEqual([[f, usage]]);
          // Signalled fences are included in the locked walk.
          f.signal();
          expect([...dmaResvForEachFence(new DmaResvIter(resv, usage))]).toEqual([f]);
        });
        f.put();
        resv.fini();
        expect(sim.teardown().findings).toEqual([]);
      });

      it("test_for_each_unlocked: yields f with isRestarted; a change underneath restarts once", async () => {
        const sim = new Simulator();
        const resv = new DmaResv(sim);
        const f = mockFence(sim);
        await locked(sim, resv, () => {
          resv.reserveFences(1);
          resv.addFence(f, usage);
        });
        const cursor = new DmaResvIter(resv, usage);
        let count = 0;
        let restarts = 0;
        await sim.exec("reader", () => {
          for (const fence of dmaResvForEachFenceUnlocked(cursor)) {
            expect(fence).toBe(f);
            expect(cursor.isRestarted()).toBe(true);
            expect(cursor.currentUsage).toBe(usage);
            // The cursor holds its own reference while it points at f.
            expect(f.refcount).toBe(3);
            restarts++;
            if (count++ === 0) {
              // Change the object underneath: another reservation reallocates the list.
              expect(resv.trylock()).toBe(true);
              resv.reserveFences(8);
              resv.unlock();
            }
          }
          cursor.end();
        });
        expect(count).toBe(2);
        expect(restarts).toBe(2);
        expect(f.refcount).toBe(2);
        // Signalled fences are skipped without the lock.
        f.signal();
        const c2 = new DmaResvIter(resv, usage);
        expect(c2.firstUnlocked()).toBeNull();
        c2.end();
        f.put();
        resv.fini();
        expect(sim.teardown().findings).toEqual([]);
      });

      it("test_get_fences: returns exactly [f] with a new reference", async () => {
        const sim = new Simulator();
        const resv = new DmaResv(sim);
        const f = mockFence(sim);
        await locked(sim, resv, () => {
          resv.reserveFences(1);
          resv.addFence(f, usage);
        });
        const got = resv.getFences(usage);
        expect(got).toEqual([f]);
        expect(f.refcount).toBe(3);
        for (const g of got) g.put();
        f.signal();
        expect(resv.getFences(usage)).toEqual([]);
        f.put();
        resv.fini();
        expect(sim.teardown().findings).toEqual([]);
      });
    });
  }
});

describe("DmaResvUsage", () => {
  it("orders KERNEL < WRITE < READ < BOOKKEEP and maps usage_rw", () => {
    expect([DmaResvUsage.KERNEL, DmaResvUsage.WRITE, DmaResvUsage.READ, DmaResvUsage.BOOKKEEP]).toEqual([
      0, 1, 2, 3,
    ]);
    expect(dmaResvUsageRw(true)).toBe(DmaResvUsage.READ);
    expect(dmaResvUsageRw(false)).toBe(DmaResvUsage.WRITE);
  });

  it("a query sees every fence with usage <= its own", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const fs = [0, 1, 2, 3].map(() => mockFence(sim));
    await locked(sim, resv, () => {
      resv.reserveFences(4);
      for (const [u, f] of fs.entries()) resv.addFence(f, u as DmaResvUsage);
    });
    for (let u = 0; u < 4; u++) {
      const got = resv.getFences(u as DmaResvUsage);
      expect(got).toEqual(fs.slice(0, u + 1));
      for (const g of got) g.put();
    }
    for (const f of fs) {
      f.signal();
      f.put();
    }
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DmaResv.reserveFences", () => {
  it("grows to max(4, pow2(n)), then to max(num + n, 2 * max); keeps slots while locked", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const fences = Array.from({ length: 5 }, () => mockFence(sim));
    await locked(sim, resv, () => {
      resv.reserveFences(1);
      expect(resv.maxFences).toBe(4);
      resv.reserveFences(3); // 0 + 3 <= 4: nothing to do
      expect(resv.maxFences).toBe(4);
      for (const f of fences.slice(0, 4)) resv.addFence(f, DmaResvUsage.READ);
      resv.reserveFences(1);
      expect(resv.maxFences).toBe(8);
      resv.addFence(fences[4]!, DmaResvUsage.READ);
      resv.reserveFences(6);
      expect(resv.maxFences).toBe(16);
    });
    // Unlock forgets the unused reservations.
    expect(resv.maxFences).toBe(5);
    await locked(sim, resv, () => {
      resv.reserveFences(5);
      expect(resv.maxFences).toBe(10);
    });
    for (const f of fences) {
      f.signal();
      f.put();
    }
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("n = 0 is EINVAL; without the lock it is resv-not-locked + EINVAL", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    await locked(sim, resv, () => {
      expect(() => resv.reserveFences(0)).toThrow(KernelError);
    });
    await sim.exec("p", () => {
      expect(() => resv.reserveFences(1)).toThrow(/not held/);
    });
    expect(resv.maxFences).toBe(0);
    expect(sim.validator.findingsOf("resv-not-locked")).toHaveLength(1);
  });

  it("fails with ENOMEM through fault injection and leaves the object unchanged", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    await locked(sim, resv, () => {
      sim.mm.failNth(1, (i) => i.site === "dma_resv_reserve_fences");
      expect(() => resv.reserveFences(2)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
      expect(resv.maxFences).toBe(0);
      resv.reserveFences(2);
      expect(resv.maxFences).toBe(4);
    });
    resv.fini();
    expect(sim.mm.used).toBe(0);
  });

  it("drops signalled fences when the list is rebuilt", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    const b = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(2);
      resv.addFence(a, DmaResvUsage.READ);
      resv.addFence(b, DmaResvUsage.READ);
      a.signal();
      resv.reserveFences(3);
      expect(resv.numFences).toBe(1);
      expect([...dmaResvForEachFence(new DmaResvIter(resv, DmaResvUsage.BOOKKEEP))]).toEqual([b]);
    });
    expect(a.refcount).toBe(1);
    b.signal();
    a.put();
    b.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DmaResv.addFence", () => {
  async function withSlots(sim: Simulator, resv: DmaResv, n: number, fn: () => void): Promise<void> {
    await locked(sim, resv, () => {
      resv.reserveFences(n);
      fn();
    });
  }

  it("replaces a later-or-same fence of the same context when the old usage >= new", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const ctx = dmaFenceContextAlloc(sim);
    const f1 = mockFence(sim, 1, ctx);
    const f2 = mockFence(sim, 2, ctx);
    await withSlots(sim, resv, 2, () => {
      resv.addFence(f1, DmaResvUsage.READ);
      resv.addFence(f2, DmaResvUsage.READ);
      expect(resv.numFences).toBe(1);
      expect(resv.fences[0]).toBe(f2);
    });
    expect(f1.refcount).toBe(1); // the resv dropped its reference to f1
    // An earlier fence of the context does not replace a later one.
    const f0 = mockFence(sim, 0, ctx);
    await withSlots(sim, resv, 1, () => {
      resv.addFence(f0, DmaResvUsage.READ);
      expect(resv.numFences).toBe(2);
    });
    for (const f of [f0, f1, f2]) {
      f.signal();
      f.put();
    }
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("promotes usage (BOOKKEEP → READ) but never degrades it (WRITE stays; READ takes a new slot)", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const ctx = dmaFenceContextAlloc(sim);
    const f1 = mockFence(sim, 1, ctx);
    const f2 = mockFence(sim, 2, ctx);
    const g1 = mockFence(sim, 1);
    const g2 = mockFence(sim, 2, g1.context);
    await withSlots(sim, resv, 4, () => {
      resv.addFence(f1, DmaResvUsage.BOOKKEEP);
      resv.addFence(f2, DmaResvUsage.READ);
      expect(resv.numFences).toBe(1);
      expect(resv.usages[0]).toBe(DmaResvUsage.READ);
      resv.addFence(g1, DmaResvUsage.WRITE);
      resv.addFence(g2, DmaResvUsage.READ);
      expect(resv.numFences).toBe(3);
      expect(resv.usages.slice(1)).toEqual([DmaResvUsage.WRITE, DmaResvUsage.READ]);
    });
    for (const f of [f1, f2, g1, g2]) {
      f.signal();
      f.put();
    }
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("reuses the slot of any signalled fence", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    const b = mockFence(sim);
    await withSlots(sim, resv, 1, () => {
      resv.addFence(a, DmaResvUsage.WRITE);
      a.signal();
      resv.addFence(b, DmaResvUsage.BOOKKEEP); // no slot left, but a's is free again
      expect(resv.fences).toEqual([b]);
    });
    b.signal();
    a.put();
    b.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without a reserved slot: resv-no-slot + EINVAL, nothing added; reservations die at unlock", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    const b = mockFence(sim);
    await locked(sim, resv, () => {
      expect(() => resv.addFence(a, DmaResvUsage.READ)).toThrow(KernelError);
      resv.reserveFences(2);
    });
    await locked(sim, resv, () => {
      // Reserved in the previous lock hold: gone.
      expect(() => resv.addFence(b, DmaResvUsage.READ)).toThrow(KernelError);
    });
    expect(resv.numFences).toBe(0);
    expect(a.refcount).toBe(1);
    expect(b.refcount).toBe(1);
    expect(sim.validator.findingsOf("resv-no-slot")).toHaveLength(1);
    expect(sim.validator.findingsOf("resv-no-slot")[0]!.repeats).toBe(1);
  });

  it("without the lock: resv-not-locked (ValidatorError in throw mode)", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    const err = await sim.exec("p", () => resv.addFence(a, DmaResvUsage.READ)).catch((e) => e);
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("resv-not-locked");
    expect(resv.numFences).toBe(0);
    a.signal();
    a.put();
  });

  it("a container fence is reported (the kernel WARNs) and still added", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    const arr = dmaFenceArrayCreate(
      sim,
      [mockFence(sim), mockFence(sim)],
      dmaFenceContextAlloc(sim),
      1,
      false,
    )!;
    await locked(sim, resv, () => {
      resv.reserveFences(1);
      resv.addFence(arr, DmaResvUsage.READ);
    });
    expect(sim.validator.findingsOf("resv-container-fence")).toHaveLength(1);
    expect(resv.numFences).toBe(1);
    for (const f of (arr as DmaFenceArray).fences) f.signal();
    arr.put();
    resv.fini();
  });
});

describe("DmaResv queries", () => {
  it("replaceFences swaps every slot of a context", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const ctx = dmaFenceContextAlloc(sim);
    const a = mockFence(sim, 1, ctx);
    const b = mockFence(sim, 1, ctx);
    const other = mockFence(sim);
    const repl = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(3);
      resv.addFence(a, DmaResvUsage.WRITE);
      resv.addFence(other, DmaResvUsage.READ);
      resv.addFence(b, DmaResvUsage.READ); // same seqno but READ < WRITE? no: old usage WRITE < READ -> new slot
      expect(resv.numFences).toBe(3);
      resv.replaceFences(ctx, repl, DmaResvUsage.BOOKKEEP);
      expect(resv.fences).toEqual([repl, other, repl]);
      expect(resv.usages).toEqual([DmaResvUsage.BOOKKEEP, DmaResvUsage.READ, DmaResvUsage.BOOKKEEP]);
    });
    expect(repl.refcount).toBe(3);
    expect(a.refcount).toBe(1);
    for (const f of [a, b, other, repl]) {
      f.signal();
      f.put();
    }
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("getSingleton: null, the fence, or a new array of the pending fences", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    expect(resv.getSingleton(DmaResvUsage.BOOKKEEP)).toBeNull();
    const a = mockFence(sim);
    const b = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(2);
      resv.addFence(a, DmaResvUsage.WRITE);
    });
    const one = resv.getSingleton(DmaResvUsage.READ)!;
    expect(one).toBe(a);
    one.put();
    await locked(sim, resv, () => {
      resv.reserveFences(1);
      resv.addFence(b, DmaResvUsage.READ);
    });
    const s = resv.getSingleton(DmaResvUsage.READ)!;
    expect(dmaFenceIsArray(s)).toBe(true);
    expect((s as DmaFenceArray).fences).toEqual([a, b]);
    a.signal();
    expect(s.isSignaled()).toBe(false);
    b.signal();
    expect(s.isSignaled()).toBe(true);
    for (const f of [s, a, b]) f.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("copyFences copies the pending fences with their usages, replacing the destination's", async () => {
    const sim = new Simulator();
    const src = new DmaResv(sim);
    const dst = new DmaResv(sim);
    const a = mockFence(sim);
    const b = mockFence(sim);
    const c = mockFence(sim);
    const old = mockFence(sim);
    await locked(sim, src, () => {
      src.reserveFences(3);
      src.addFence(a, DmaResvUsage.WRITE);
      src.addFence(b, DmaResvUsage.BOOKKEEP);
      src.addFence(c, DmaResvUsage.READ);
    });
    c.signal();
    await locked(sim, dst, () => {
      dst.reserveFences(1);
      dst.addFence(old, DmaResvUsage.KERNEL);
      dst.copyFences(src);
      expect(dst.fences).toEqual([a, b]);
      expect(dst.usages).toEqual([DmaResvUsage.WRITE, DmaResvUsage.BOOKKEEP]);
    });
    expect(old.refcount).toBe(1);
    expect(a.refcount).toBe(3);
    for (const f of [a, b, c, old]) {
      f.signal();
      f.put();
    }
    src.fini();
    dst.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("waitTimeout follows the fence-wait conventions", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    const b = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(2);
      resv.addFence(a, DmaResvUsage.WRITE);
      resv.addFence(b, DmaResvUsage.BOOKKEEP);
    });
    sim.schedule(100, () => a.signal());
    sim.schedule(300, () => b.signal());
    const rets = await sim.exec("w", async () => [
      await resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: 0 }),
      await resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: 50 }),
      await resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: 1000 }),
      await resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: 0 }),
      await resv.waitTimeout(DmaResvUsage.BOOKKEEP),
      sim.now,
    ]);
    // 0 (pending), 0 (timed out at 50), 1000-50 left at 100, 1 (zero timeout, all signalled), forever.
    expect(rets).toEqual([0, 0, 950, 1, MAX_SCHEDULE_TIMEOUT, 300]);
    a.put();
    b.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an interruptible waitTimeout throws ERESTARTSYS on a signal", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(1);
      resv.addFence(a, DmaResvUsage.WRITE);
    });
    const t = sim.spawn("w", () => resv.waitTimeout(DmaResvUsage.WRITE, { interruptible: true }));
    sim.schedule(10, () => t.signal());
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ERESTARTSYS" });
    a.signal();
    a.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("setDeadline reaches pending fences in range; describe lists every slot", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim, "bo0.resv");
    const deadlines: number[] = [];
    const ops = {
      getDriverName: () => "gpu",
      getTimelineName: () => "ring0",
      setDeadline: (_f: unknown, d: number) => deadlines.push(d),
    };
    const { DmaFence } = await import("@drmsim/dma-fence");
    const a = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 7);
    const b = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(2);
      resv.addFence(a, DmaResvUsage.WRITE);
      resv.addFence(b, DmaResvUsage.BOOKKEEP);
    });
    b.signal();
    resv.setDeadline(DmaResvUsage.READ, 1234);
    expect(deadlines).toEqual([1234]);
    expect(resv.describe()).toBe(
      // 7.1 detaches the ops of a signalled fence without a release op, so its names change.
      "\twrite fence: gpu ring0 seq 7 unsignalled\n\tbookkeep fence: detached-driver signaled-timeline seq 1 signalled",
    );
    a.signal();
    a.put();
    b.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("locked iteration without the lock is resv-not-locked", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    await sim.exec("p", () => {
      expect(() => new DmaResvIter(resv, DmaResvUsage.READ).first()).toThrow(KernelError);
    });
    expect(sim.validator.findingsOf("resv-not-locked")).toHaveLength(1);
  });

  it("getFences fails with ENOMEM under fault injection and drops what it gathered", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    await locked(sim, resv, () => {
      resv.reserveFences(1);
      resv.addFence(a, DmaResvUsage.WRITE);
    });
    sim.mm.failNth(1, (i) => i.site === "dma_resv_get_fences");
    expect(() => resv.getFences(DmaResvUsage.READ)).toThrow(expect.objectContaining({ code: "ENOMEM" }));
    expect(a.refcount).toBe(2);
    a.signal();
    a.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DmaResv locking and the validator", () => {
  it("taking a resv lock inside a fence-signalling section is lock-in-signalling (boot priming)", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    await sim.exec("p", async () => {
      const cookie = sim.validator.beginSignalling();
      await resv.lock(null);
      resv.unlock();
      sim.validator.endSignalling(cookie);
    });
    expect(sim.validator.findingsOf("lock-in-signalling")).toHaveLength(1);
    expect(reservationWwClass(sim).mutexClass).toBe(sim.validator.reservation);
  });

  it("the same through withDmaFenceSignalling, in throw mode", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const err = await sim.exec("p", () => withDmaFenceSignalling(sim, () => resv.lock(null))).catch((e) => e);
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("lock-in-signalling");
    expect(resv.isLocked).toBe(false);
  });

  it("waiting on a fence while holding a resv lock is allowed", async () => {
    const sim = new Simulator();
    const resv = new DmaResv(sim);
    const a = mockFence(sim);
    sim.schedule(5, () => a.signal());
    await sim.exec("p", async () => {
      const t = new WwAcquireCtx(sim, reservationWwClass(sim));
      await resv.lock(t);
      expect(resv.lockingCtx).toBe(t);
      await a.wait();
      resv.unlock();
      t.fini();
    });
    a.put();
    resv.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("unlocking a resv that is not held is unbalanced-unlock + EPERM; fini of a locked resv is EBUSY", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resv = new DmaResv(sim);
    await sim.exec("p", async () => {
      expect(() => resv.unlock()).toThrow(expect.objectContaining({ code: "EPERM" }));
      await resv.lock(null);
      expect(() => resv.fini()).toThrow(expect.objectContaining({ code: "EBUSY" }));
      resv.unlock();
    });
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(1);
  });
});
