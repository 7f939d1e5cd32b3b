import { describe, expect, it } from "vitest";
import {
  __GFP_NOLOCKDEP,
  fsReclaimAcquire,
  fsReclaimRelease,
  GFP_KERNEL,
  GFP_NOFS,
  isKernelError,
  PF_MEMALLOC_NOFS,
  Simulator,
  withDmaFenceSignalling,
} from "../src/index.js";

describe("reclaim context (PF_MEMALLOC, current_gfp_context)", () => {
  it("a shrinker that allocates with GFP_KERNEL inside direct reclaim neither re-enters reclaim nor is reported as recursive fs_reclaim", async () => {
    const sim = new Simulator({ memoryBudget: 4096 });
    let scans = 0;
    sim.mm.registerShrinker({
      name: "bo-cache",
      count: () => 4096,
      scan: (sc) => {
        scans++;
        // Shrinkers allocate (bookkeeping): in reclaim, that must not recurse into reclaim.
        expect(() => sim.mm.kmalloc(8192, GFP_KERNEL, "shrinker_scratch")).toThrow(/out of memory/);
        return sc.nrToScan;
      },
    });
    await sim.exec("p", () => {
      const a = sim.mm.kmalloc(4096, GFP_KERNEL, "fill");
      a.free();
      sim.mm.reclaim(1024);
    });
    expect(scans).toBe(1);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("fs_reclaim_acquire() honours memalloc_nofs scopes and __GFP_NOLOCKDEP, and passes the mmu-notifier map", async () => {
    const sim = new Simulator({ validator: "collect" });
    const v = sim.validator;
    await sim.exec("p", () => {
      const prev = sim.mm.memallocSave(PF_MEMALLOC_NOFS);
      fsReclaimAcquire(sim, GFP_KERNEL);
      expect(v.isHeld(v.fsReclaim)).toBe(false); // GFP_KERNEL became GFP_NOFS in the scope
      fsReclaimRelease(sim, GFP_KERNEL);
      sim.mm.memallocRestore(prev);
      fsReclaimAcquire(sim, GFP_KERNEL | __GFP_NOLOCKDEP);
      expect(v.isHeld(v.fsReclaim)).toBe(false);
      fsReclaimRelease(sim, GFP_KERNEL | __GFP_NOLOCKDEP);
    });
    expect(v.findings).toEqual([]);
    // Inside a signalling section, even GFP_NOFS reclaim passes the mmu-notifier map: reported.
    await sim.exec("q", () =>
      withDmaFenceSignalling(sim, () => {
        fsReclaimAcquire(sim, GFP_NOFS);
        fsReclaimRelease(sim, GFP_NOFS);
      }),
    );
    expect(v.findingsOf("alloc-in-signalling")).toHaveLength(1);
  });

  it("an allocation over budget without blocking fails with ENOMEM and runs no shrinker", async () => {
    const sim = new Simulator({ memoryBudget: 10 });
    let scans = 0;
    sim.mm.registerShrinker({ name: "s", count: () => 100, scan: () => ++scans });
    let err: unknown;
    await sim.exec("p", () => {
      try {
        sim.mm.kmalloc(100, 0, "atomic");
      } catch (e) {
        err = e;
      }
    });
    expect(isKernelError(err, "ENOMEM")).toBe(true);
    expect(scans).toBe(0);
  });
});
