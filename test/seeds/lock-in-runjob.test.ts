/**
 * Seed 000: a lock taken in `run_job` that another path holds while waiting on a fence. drmsim
 * reports the cycle through `dma_fence_map` and names both paths.
 */
import { Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  CTX_LOCK,
  LOCK_IN_RUNJOB_DRIVER,
  LockInRunJobDriver,
} from "../fixtures/lock-in-runjob/lock-in-runjob.js";

describe("seed fixture: lock-in-runjob", () => {
  it("reports circular-dependency through dma_fence_map naming run_job and ctx_destroy", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new LockInRunJobDriver(sim);
    drv.submit();
    await sim.run(); // run_job took the lock inside the signalling section
    drv.submit();
    // The ioctl races the second job: it holds the lock and waits for the fence.
    sim.spawn("app", () => drv.ctxDestroy());
    await sim.run();

    const [f] = sim.validator.findingsOf("circular-dependency");
    expect(f).toBeDefined();
    expect(f!.kind).toBe("circular-dependency");
    expect(f!.title).toBe(
      `possible circular locking dependency: ${CTX_LOCK} is taken inside a dma-fence signalling section and held across a fence wait`,
    );
    expect(f!.cycle).toEqual(expect.arrayContaining([CTX_LOCK, "dma_fence_map"]));
    const text = f!.toString();
    expect(text).toContain(`${LOCK_IN_RUNJOB_DRIVER}: drm_sched_backend_ops.run_job`);
    expect(text).toContain(`${LOCK_IN_RUNJOB_DRIVER}: ctx_destroy ioctl`);
    const paths = f!.chain.flatMap((l) => l.backtrace);
    expect(paths).toContain(`${LOCK_IN_RUNJOB_DRIVER}: drm_sched_backend_ops.run_job`);
    expect(paths).toContain(`${LOCK_IN_RUNJOB_DRIVER}: ctx_destroy ioctl`);
    drv.fini();
  });

  it("throw mode stops the run at the wait that closes the cycle", async () => {
    const sim = new Simulator();
    const drv = new LockInRunJobDriver(sim);
    drv.submit();
    await sim.run();
    drv.submit();
    sim.spawn("app", () => drv.ctxDestroy());
    const err = await sim.run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidatorError);
    expect((err as ValidatorError).finding.kind).toBe("circular-dependency");
  });
});
