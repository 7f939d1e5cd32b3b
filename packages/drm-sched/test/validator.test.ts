/**
 * The scheduler's submission path is a dma-fence signalling section: a broken driver that
 * allocates with GFP_KERNEL in runJob, or waits on a fence in prepareJob, is reported on the
 * first job — not under memory pressure in production (seed 000).
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { dmaFenceMightWait, GFP_KERNEL, GFP_NOWAIT, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmMockScheduler, drmMockSchedEntityNew, drmMockSchedJobNew } from "../src/testing/index.js";

/** A shrinker like a GPU driver's: evicting a buffer waits for its fences. */
function registerFenceWaitingShrinker(sim: Simulator): void {
  sim.mm.registerShrinker({
    name: "gpu-bo-shrinker",
    count: () => 4096,
    scan: () => {
      dmaFenceMightWait(sim, "dma_resv_wait_timeout (evict)");
      return 4096;
    },
  });
}

describe("validator on the submission path", () => {
  it("runJob allocating with GFP_KERNEL is reported as alloc-in-signalling (collect mode)", async () => {
    const sim = new Simulator({ validator: "collect" });
    registerFenceWaitingShrinker(sim);
    sim.mm.reclaim(4096); // the shrinker ran once: fs_reclaim -> dma_fence_map is known
    const sched = new DrmMockScheduler(sim, {
      ops: {
        runJob: (job) => {
          const a = sim.mm.kmalloc(256, GFP_KERNEL, "broken_run_job");
          a.free();
          job.driverData = "ran";
          return null;
        },
      },
    });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const job = drmMockSchedJobNew(entity).submit();
    await sim.run();
    const found = sim.validator.findingsOf("alloc-in-signalling");
    expect(found.length).toBeGreaterThanOrEqual(1);
    expect(found[0]!.backtrace).toContain("drm_sched_run_job_work");
    expect(job.driverData).toBe("ran");
    entity.fini();
    sched.fini();
  });

  it("the same driver fails the run in throw mode; GFP_NOWAIT is fine", async () => {
    const bad = new Simulator();
    const sched = new DrmMockScheduler(bad, {
      ops: {
        runJob: () => {
          bad.mm.kmalloc(64, GFP_KERNEL, "broken_run_job").free();
          return null;
        },
      },
    });
    drmMockSchedJobNew(drmMockSchedEntityNew(bad, 2, sched)).submit();
    await expect(bad.run()).rejects.toThrow(ValidatorError);

    const good = new Simulator();
    const ok = new DrmMockScheduler(good, {
      ops: {
        runJob: () => {
          good.mm.kmalloc(64, GFP_NOWAIT, "run_job").free();
          return null;
        },
      },
    });
    const entity = drmMockSchedEntityNew(good, 2, ok);
    const job = drmMockSchedJobNew(entity).submit();
    await good.run();
    expect(job.finished.signaled).toBe(true);
    entity.fini();
    ok.fini();
    expect(good.teardown().findings).toEqual([]);
  });

  it("prepareJob waiting on a fence is reported as wait-in-signalling", async () => {
    const sim = new Simulator({ validator: "collect" });
    const other = new DmaFence(
      sim,
      { getDriverName: () => "fw", getTimelineName: () => "q" },
      dmaFenceContextAlloc(sim),
      1,
    );
    other.signal();
    const sched = new DrmMockScheduler(sim, {
      ops: {
        prepareJob: () => {
          // The mistake: block until the firmware queue has room, instead of returning its fence.
          void other.wait();
          return null;
        },
      },
    });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    drmMockSchedJobNew(entity).submit();
    await sim.run();
    const [f] = sim.validator.findingsOf("wait-in-signalling");
    expect(f).toBeDefined();
    expect(f!.backtrace).toContain("drm_sched_run_job_work");
    sched.advance(1);
    await sim.run();
    other.put();
    entity.fini();
    sched.fini();
  });
});
