/**
 * Fence-level validator scenarios (issue #4): the rules of the DMA fence cross-driver contract
 * caught on the first run — a wait inside a signalling section, and a signalling path that
 * allocates with reclaim while a shrinker waits on the fence — plus the race of
 * `test_race_signal_callback` (st-dma-fence.c) adapted to simulated tasks.
 */
import {
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMightWait,
  GFP_ATOMIC,
  GFP_KERNEL,
  Simulator,
  ValidatorError,
  Work,
  WorkQueue,
  withDmaFenceSignalling,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { type DmaFence, dmaFenceArrayCreate, dmaFenceContextAlloc } from "../src/index.js";
import { mockFence } from "./mock-fence.js";

describe("validator: fence signalling rules", () => {
  it("(a) waiting on a fence inside a signalling section is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const other = mockFence(sim);
    other.signal();
    const ret = await sim.exec("signaller", async () => {
      const cookie = dmaFenceBeginSignalling(sim);
      const r = await other.wait({ timeoutNs: 0 });
      dmaFenceEndSignalling(sim, cookie);
      return r;
    });
    expect(ret).toBe(1);
    const found = sim.validator.findingsOf("wait-in-signalling");
    expect(found).toHaveLength(1);
    expect(found[0]!.context).toMatch(/signaller/);
    other.put();
    expect(sim.teardown().findings.filter((f) => f.kind !== "wait-in-signalling")).toEqual([]);
  });

  it("(a) in throw mode the wait fails with a ValidatorError", async () => {
    const sim = new Simulator();
    const other = mockFence(sim);
    const task = sim.spawn("signaller", async () => {
      const cookie = dmaFenceBeginSignalling(sim);
      try {
        await other.wait();
      } finally {
        dmaFenceEndSignalling(sim, cookie);
      }
    });
    await expect(sim.run()).rejects.toBeInstanceOf(ValidatorError);
    await expect(task.result).rejects.toBeInstanceOf(ValidatorError);
  });

  it("(a) the same wait outside a section is fine", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    sim.schedule(100, () => f.signal());
    expect(await sim.exec("waiter", () => f.wait())).toBeGreaterThan(0);
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  /**
   * A driver with a shrinker that waits for its fences before freeing buffers, and a completion
   * worker that signals those fences — but allocates with GFP_KERNEL on the way. Under memory
   * pressure the allocation enters reclaim, the shrinker waits on the fence, and the fence waits
   * on the worker: a deadlock the kernel's lockdep annotations prove without it ever happening.
   */
  function shrinkerScenario(sim: Simulator, gfp: number): { fence: DmaFence; wq: WorkQueue } {
    const fence = mockFence(sim);
    sim.mm.registerShrinker({
      name: "mydrv_shrinker",
      count: () => 1,
      scan: () =>
        sim.withFrame("mydrv_shrinker_scan", () => {
          // A sync shrinker may not sleep here, but it annotates the wait it would do.
          dmaFenceMightWait(sim, "dma_fence_wait(mydrv bo idle)");
          return 0;
        }),
    });
    const wq = new WorkQueue(sim, "mydrv_done");
    const work = new Work(
      () =>
        withDmaFenceSignalling(sim, () =>
          sim.withFrame("mydrv_complete_work", () => {
            const a = sim.mm.kmalloc(64, gfp, "mydrv_complete_work");
            sim.mm.kfree(a);
            fence.signal();
          }),
        ),
      "mydrv_complete_work",
    );
    // First memory pressure: reclaim runs the shrinker, which records fs_reclaim → dma_fence_map.
    sim.mm.reclaim(4096);
    wq.queueWork(work);
    return { fence, wq };
  }

  it("(b) a shrinker waits on a fence whose signalling path allocates with GFP_KERNEL: alloc-in-signalling with both paths", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { fence } = shrinkerScenario(sim, GFP_KERNEL);
    await sim.run();
    expect(fence.signaled).toBe(true);
    const found = sim.validator.findingsOf("alloc-in-signalling");
    expect(found).toHaveLength(1);
    const f = found[0]!;
    // The new link: the worker takes fs_reclaim inside the signalling section...
    expect(f.chain[0]).toMatchObject({ from: "dma_fence_map", to: "fs_reclaim" });
    expect(f.chain[0]!.context).toMatch(/kworker\/mydrv_done/);
    expect(f.chain[0]!.backtrace).toContain("mydrv_complete_work");
    // ...and the existing path back: reclaim (the shrinker) waits on a fence.
    const back = f.chain.slice(1);
    expect(back.at(-1)!.to).toBe("dma_fence_map");
    expect(back.some((l) => l.backtrace.includes("mydrv_shrinker_scan"))).toBe(true);
    expect(f.cycle).toEqual(["dma_fence_map", "fs_reclaim"]);
    fence.put();
  });

  it("(b) in throw mode the worker's allocation fails with a ValidatorError", async () => {
    const sim = new Simulator();
    const { fence } = shrinkerScenario(sim, GFP_KERNEL);
    await expect(sim.run()).rejects.toBeInstanceOf(ValidatorError);
    expect(fence.signaled).toBe(false);
  });

  it("(b) the same path with GFP_ATOMIC is clean", async () => {
    const sim = new Simulator();
    const { fence } = shrinkerScenario(sim, GFP_ATOMIC);
    await sim.run();
    expect(fence.signaled).toBe(true);
    fence.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("merging fences (a GFP_KERNEL allocation) inside a signalling section is reported", () => {
    const sim = new Simulator({ validator: "collect" });
    const fs = [mockFence(sim), mockFence(sim)];
    withDmaFenceSignalling(sim, () => dmaFenceArrayCreate(sim, fs, dmaFenceContextAlloc(sim), 1, false));
    expect(sim.validator.findingsOf("alloc-in-signalling")).toHaveLength(1);
  });
});

describe("test_race_signal_callback, on simulated tasks", () => {
  for (const before of [false, true]) {
    it(`a successfully added callback always runs exactly once (signal ${before ? "before" : "after"} add)`, async () => {
      const sim = new Simulator({ seed: before ? 11 : 12 });
      const slots: (DmaFence | null)[] = [null, null];
      const finished = [false, false];
      const rnd = sim.random;
      const ITER = 300;
      const stats = { pass: 0, miss: 0, errors: [] as string[] };
      const pause = () =>
        sim.sleep({ kind: "timer", what: "race" }, { op: "udelay", deadlineNs: sim.now + rnd.int(0, 3) })
          .promise;
      const thread = async (id: number): Promise<void> => {
        for (let pass = 0; pass < ITER; pass++) {
          const f1 = mockFence(sim);
          slots[id] = f1;
          await pause();
          let f2: DmaFence | null = null;
          while (f2 === null && !finished[1 - id]) {
            f2 = slots[1 - id]?.get() ?? null;
            if (f2 === null) await pause();
          }
          if (before) f1.signal();
          await pause();
          const cb = { calls: 0, func: () => void cb.calls++ };
          let added = false;
          if (f2 === null || f2.addCallback(cb) !== 0) stats.miss++;
          else added = true;
          await pause();
          if (!before) f1.signal();
          if (added && cb.calls === 0) await f2!.wait();
          await pause();
          if (added && cb.calls !== 1)
            stats.errors.push(`thread ${id} pass ${pass}: callback ran ${cb.calls} times`);
          slots[id] = null;
          f1.put();
          f2?.put();
          stats.pass++;
        }
        finished[id] = true;
      };
      sim.spawn("race/0", () => thread(0));
      sim.spawn("race/1", () => thread(1));
      const res = await sim.run();
      expect(res.reason).toBe("idle");
      expect(stats.errors).toEqual([]);
      expect(stats.pass).toBe(2 * ITER);
      // Both outcomes of the race happened: some adds won, some lost.
      expect(stats.miss).toBeGreaterThan(0);
      expect(stats.miss).toBeLessThan(2 * ITER);
      expect(sim.teardown().findings).toEqual([]);
    });
  }
});
