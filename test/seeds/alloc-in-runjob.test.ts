/**
 * Seed 000 / 002: a `GFP_KERNEL` allocation in `run_job` while the driver's shrinker waits on the
 * driver's fences. drmsim reports it on the first job, names the rule and the driver op.
 */
import { Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  ALLOC_IN_RUNJOB_DRIVER,
  allocInRunJobProbe,
  GFP_KERNEL,
  GFP_NOWAIT,
} from "../fixtures/alloc-in-runjob/alloc-in-runjob.js";

describe("seed fixture: alloc-in-runjob", () => {
  it("reports alloc-in-signalling with the driver's run_job in the backtrace", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { ring, stats, unregister } = allocInRunJobProbe(sim, GFP_KERNEL);
    const first = ring.submit();
    // Memory pressure while the first job is on the ring: the shrinker waits on its fence.
    sim.schedule(50_000, () => sim.spawn("memhog", () => sim.mm.reclaim(1 << 16)));
    const second = ring.submit();
    await sim.run();
    expect(stats.shrinkerWaits).toBe(1);
    // One report, for the first job: the second job's allocation breaks the same rule on the same
    // path, which the validator does not report again.
    const found = sim.validator.findingsOf("alloc-in-signalling");
    expect(found).toHaveLength(1);
    const f = found[0];
    expect(f!.kind).toBe("alloc-in-signalling");
    expect(f!.title).toBe(
      "possible circular locking dependency: allocation that may reclaim (alloc_in_runjob: firmware cmdbuf(GFP_KERNEL)) inside a dma-fence signalling section",
    );
    expect(f!.backtrace).toContain(`${ALLOC_IN_RUNJOB_DRIVER}: drm_sched_backend_ops.run_job`);
    expect(f!.backtrace).toContain("drm_sched_run_job_work");
    expect(f!.toString()).toContain("dma_fence_map");
    // The jobs still ran (collect mode reports and goes on).
    expect(first.signaled && second.signaled).toBe(true);
    first.put();
    second.put();
    ring.fini();
    unregister();
  });

  it("fails the run at the first job in throw mode", async () => {
    const sim = new Simulator();
    const { ring } = allocInRunJobProbe(sim, GFP_KERNEL);
    const done = ring.submit();
    const err = await sim.run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("alloc-in-signalling");
    expect((err as ValidatorError).finding.backtrace).toContain(
      `${ALLOC_IN_RUNJOB_DRIVER}: drm_sched_backend_ops.run_job`,
    );
    done.put();
  });

  it("the fixed driver (GFP_NOWAIT in run_job) is quiet under the same pressure", async () => {
    const sim = new Simulator();
    const { ring, stats, unregister } = allocInRunJobProbe(sim, GFP_NOWAIT);
    const first = ring.submit();
    sim.schedule(50_000, () => sim.spawn("memhog", () => sim.mm.reclaim(1 << 16)));
    const second = ring.submit();
    await sim.run();
    expect(stats.shrinkerWaits).toBe(1);
    expect(first.signaled && second.signaled).toBe(true);
    first.put();
    second.put();
    ring.fini();
    unregister();
    expect(sim.teardown().findings).toEqual([]);
  });
});
