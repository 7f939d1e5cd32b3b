import { describe, expect, it } from "vitest";
import {
  type Allocation,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOFS,
  GFP_NOWAIT,
  gfpName,
  isKernelError,
  Mutex,
  PF_MEMALLOC_NOFS,
  type Shrinker,
  Simulator,
  withDmaFenceSignalling,
} from "../src/index.js";

/** A cache of allocations a shrinker can free with kfree. */
function cacheShrinker(sim: Simulator, name: string, chunks: number, chunkSize: number) {
  const cache: Allocation[] = [];
  for (let i = 0; i < chunks; i++) cache.push(sim.mm.kmalloc(chunkSize, GFP_NOWAIT, `${name}-fill`));
  const calls = { count: 0, scan: 0 };
  const shrinker: Shrinker = {
    name,
    count: () => {
      calls.count++;
      return cache.length * chunkSize;
    },
    scan: (sc) => {
      calls.scan++;
      let freed = 0;
      while (freed < sc.nrToScan && cache.length > 0) {
        cache.pop()!.free();
        freed += chunkSize;
      }
      return freed;
    },
  };
  return { cache, calls, shrinker };
}

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("MemoryManager: accounting", () => {
  it("tracks used and peak bytes", () => {
    const sim = new Simulator({ memoryBudget: 1000 });
    const a = sim.mm.kmalloc(600, GFP_KERNEL);
    const b = sim.mm.kmalloc(300, GFP_KERNEL);
    expect([sim.mm.used, sim.mm.peak]).toEqual([900, 900]);
    a.free();
    expect([sim.mm.used, sim.mm.peak]).toEqual([300, 900]);
    const c = sim.mm.kmalloc(700, GFP_KERNEL);
    expect([sim.mm.used, sim.mm.peak]).toEqual([1000, 1000]);
    b.free();
    c.free();
    expect(sim.mm.used).toBe(0);
    expect(sim.mm.attempts).toBe(3);
  });

  it("rejects a negative or non-integer size with EINVAL, counting nothing", () => {
    const sim = new Simulator();
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        isKernelError(
          errorOf(() => sim.mm.kmalloc(size, GFP_KERNEL, "bad")),
          "EINVAL",
        ),
      ).toBe(true);
    }
    expect(sim.mm.used).toBe(0);
    expect(sim.mm.attempts).toBe(0);
    expect(sim.mm.kmalloc(0, GFP_KERNEL).size).toBe(0);
  });

  it("a double kfree is a double-free finding and changes nothing", () => {
    const sim = new Simulator({ validator: "collect" });
    const a = sim.mm.kmalloc(100, GFP_KERNEL, "my_alloc");
    const b = sim.mm.kmalloc(50, GFP_KERNEL);
    a.free();
    a.free();
    expect(sim.mm.used).toBe(50);
    const [f] = sim.validator.findingsOf("double-free");
    expect(f?.title).toBe("kfree of an allocation from my_alloc (100 bytes) that was already freed");
    b.free();
    expect(sim.mm.used).toBe(0);
  });

  it("records allocation sites with their attempt counts, failed ones included", () => {
    const sim = new Simulator({ memoryBudget: 100 });
    sim.mm.kmalloc(10, GFP_KERNEL, "site_a");
    sim.mm.kmalloc(10, GFP_KERNEL, "site_a");
    sim.mm.kmalloc(10, GFP_ATOMIC, "site_b");
    errorOf(() => sim.mm.kmalloc(1000, GFP_NOWAIT, "site_c"));
    expect([...sim.mm.sites]).toEqual([
      ["site_a", 2],
      ["site_b", 1],
      ["site_c", 1],
    ]);
  });
});

describe("MemoryManager: budget and reclaim", () => {
  it("GFP_NOWAIT beyond the budget fails with ENOMEM without running shrinkers", () => {
    const sim = new Simulator({ memoryBudget: 1000 });
    const { calls, shrinker } = cacheShrinker(sim, "cache", 8, 100);
    sim.mm.registerShrinker(shrinker);
    const err = errorOf(() => sim.mm.kmalloc(500, GFP_NOWAIT, "no_wait"));
    expect(isKernelError(err, "ENOMEM")).toBe(true);
    expect((err as Error).message).toMatch(/GFP_NOWAIT \(800\/1000 bytes used\)/);
    expect(calls).toEqual({ count: 0, scan: 0 });
    expect(
      isKernelError(
        errorOf(() => sim.mm.kmalloc(500, GFP_ATOMIC)),
        "ENOMEM",
      ),
    ).toBe(true);
    expect(sim.mm.used).toBe(800);
  });

  it("GFP_KERNEL beyond the budget runs shrinkers, which free with kfree, and succeeds", () => {
    const sim = new Simulator({ memoryBudget: 1000 });
    const { cache, calls, shrinker } = cacheShrinker(sim, "cache", 8, 100);
    sim.mm.registerShrinker(shrinker);
    const a = sim.mm.kmalloc(500, GFP_KERNEL, "needs_reclaim");
    expect(a.size).toBe(500);
    expect(calls.scan).toBe(1);
    expect(cache).toHaveLength(5); // 300 bytes freed: exactly what was missing
    expect(sim.mm.used).toBe(1000);
  });

  it("GFP_KERNEL fails with ENOMEM when the shrinkers cannot free enough", () => {
    const sim = new Simulator({ memoryBudget: 1000 });
    const one = cacheShrinker(sim, "one", 2, 100);
    const two = cacheShrinker(sim, "two", 2, 100);
    sim.mm.registerShrinker(one.shrinker);
    sim.mm.registerShrinker(two.shrinker);
    sim.mm.kmalloc(500, GFP_NOWAIT, "pinned");
    const err = errorOf(() => sim.mm.kmalloc(800, GFP_KERNEL, "too_big"));
    expect(isKernelError(err, "ENOMEM")).toBe(true);
    expect([one.calls.scan, two.calls.scan]).toEqual([1, 1]);
    expect(sim.mm.used).toBe(500); // both caches were emptied, and the allocation still did not fit
  });

  it("an unregistered shrinker is not called", () => {
    const sim = new Simulator({ memoryBudget: 100 });
    const c = cacheShrinker(sim, "c", 1, 100);
    const unregister = sim.mm.registerShrinker(c.shrinker);
    unregister();
    expect(
      isKernelError(
        errorOf(() => sim.mm.kmalloc(1, GFP_KERNEL)),
        "ENOMEM",
      ),
    ).toBe(true);
    expect(c.calls.count).toBe(0);
  });

  it("shrinkers run inside fs_reclaim", () => {
    const sim = new Simulator();
    let inReclaim = false;
    sim.mm.registerShrinker({
      name: "probe",
      count: () => 1,
      scan: () => {
        inReclaim = sim.validator.isHeld(sim.validator.fsReclaim);
        return 1;
      },
    });
    expect(sim.mm.reclaim(1)).toBe(1);
    expect(inReclaim).toBe(true);
    expect(sim.validator.isHeld(sim.validator.fsReclaim)).toBe(false);
  });
});

describe("MemoryManager: fault injection", () => {
  it("failNth(n) fails exactly the n-th attempt from now", () => {
    const sim = new Simulator();
    sim.mm.failNth(2);
    const results = Array.from({ length: 4 }, (_, i) =>
      isKernelError(
        errorOf(() => sim.mm.kmalloc(8, GFP_KERNEL, `a${i}`)),
        "ENOMEM",
      ),
    );
    expect(results).toEqual([false, true, false, false]);
    expect(sim.mm.used).toBe(24);
  });

  it("failNth with a filter counts only matching attempts", () => {
    const sim = new Simulator();
    sim.mm.failNth(2, (info) => info.site === "target");
    const ok = (site: string) => errorOf(() => sim.mm.kmalloc(8, GFP_KERNEL, site)) === undefined;
    expect([ok("other"), ok("target"), ok("other"), ok("target"), ok("target")]).toEqual([
      true,
      true,
      true,
      false,
      true,
    ]);
  });

  it("failWhen fails every matching allocation until clearFaults", () => {
    const sim = new Simulator();
    sim.mm.failWhen((info) => info.size > 100);
    const err = errorOf(() => sim.mm.kmalloc(200, GFP_KERNEL, "big"));
    expect(isKernelError(err, "ENOMEM")).toBe(true);
    expect((err as Error).message).toMatch(/injected fault/);
    expect(errorOf(() => sim.mm.kmalloc(200, GFP_KERNEL, "big"))).toBeDefined();
    expect(sim.mm.kmalloc(50, GFP_KERNEL).size).toBe(50);
    sim.mm.clearFaults();
    expect(sim.mm.kmalloc(200, GFP_KERNEL, "big").size).toBe(200);
  });
});

describe("MemoryManager: reclaim annotations", () => {
  it("GFP_KERNEL records held-lock -> fs_reclaim; memallocSave(PF_MEMALLOC_NOFS) removes it", async () => {
    const sim = new Simulator({ validator: "collect" });
    const v = sim.validator;
    const nofs = new Mutex(sim, "&nofs->lock");
    const fs = new Mutex(sim, "&fs->lock");
    await sim.exec("p", async () => {
      await nofs.lock();
      const saved = sim.mm.memallocSave(PF_MEMALLOC_NOFS);
      sim.mm.kmalloc(8, GFP_KERNEL, "in_nofs_scope").free();
      sim.mm.memallocRestore(saved);
      nofs.unlock();
      await fs.lock();
      sim.mm.kmalloc(8, GFP_KERNEL, "normal").free();
      fs.unlock();
    });
    expect(v.hasEdge(nofs.cls, v.fsReclaim)).toBe(false);
    expect(v.hasEdge(nofs.cls, v.mmuNotifier)).toBe(true); // NOFS still may reclaim
    expect(v.hasEdge(fs.cls, v.fsReclaim)).toBe(true);
    expect(v.findings).toEqual([]);
    expect(sim.current.memallocMask).toBe(0);
  });

  it("GFP_NOFS and GFP_NOWAIT: no fs_reclaim edge; NOWAIT no reclaim edge at all", async () => {
    const sim = new Simulator({ validator: "collect" });
    const v = sim.validator;
    const a = new Mutex(sim, "&a");
    const b = new Mutex(sim, "&b");
    await sim.exec("p", async () => {
      await a.lock();
      sim.mm.kmalloc(8, GFP_NOFS).free();
      a.unlock();
      await b.lock();
      sim.mm.kmalloc(8, GFP_NOWAIT).free();
      b.unlock();
    });
    expect(v.hasEdge(a.cls, v.fsReclaim)).toBe(false);
    expect(v.hasEdge(a.cls, v.mmuNotifier)).toBe(true);
    expect(v.hasEdge(b.cls, v.fsReclaim)).toBe(false);
    expect(v.hasEdge(b.cls, v.mmuNotifier)).toBe(false);
  });

  it("GFP_KERNEL inside a signalling section is reported even without memory pressure", async () => {
    const sim = new Simulator({ validator: "collect" });
    await sim.exec("p", () =>
      withDmaFenceSignalling(sim, () => sim.mm.kmalloc(8, GFP_KERNEL, "run_job").free()),
    );
    expect(sim.validator.findingsOf("alloc-in-signalling")).toHaveLength(1);
  });

  it("names GFP masks for reports", () => {
    expect([gfpName(GFP_KERNEL), gfpName(GFP_NOFS), gfpName(GFP_NOWAIT), gfpName(GFP_ATOMIC)]).toEqual([
      "GFP_KERNEL",
      "GFP_NOFS",
      "GFP_NOWAIT",
      "GFP_ATOMIC",
    ]);
  });
});
