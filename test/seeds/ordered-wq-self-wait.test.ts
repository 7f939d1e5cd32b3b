/**
 * A work item that waits for a job whose run-job work is queued behind it on the same ordered
 * workqueue. The verdict follows the loop and names it.
 */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { SHARED_WQ_DRIVER, SharedWqDriver } from "../fixtures/ordered-wq-self-wait/ordered-wq-self-wait.js";

describe("fixture: ordered-wq-self-wait", () => {
  it("the flush's wait loops back to its own worker through the job and the run-job work: ordered-wq-self-wait", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new SharedWqDriver(sim);
    const job = drv.submitAndUnmap();
    const r = await sim.run();

    expect(r.reason).toBe("deadlock");
    expect(drv.flushed).toBe(false);
    const dl = r.finding!;
    const worker = `worker:kworker/${SHARED_WQ_DRIVER}-ring:0/`;
    expect(dl.progress).toEqual([
      expect.stringMatching(
        new RegExp(`^${worker}\\d+ sleeps in ${SHARED_WQ_DRIVER}.flush_unmap on dma_fence drm_sched:`),
      ),
      expect.stringMatching(/is the finished fence of job 1 /),
      expect.stringMatching(
        new RegExp(`^job 1 .* is ready and waits for ${SHARED_WQ_DRIVER}-ring's run-job work$`),
      ),
      expect.stringMatching(
        new RegExp(
          `^work item drm_sched_run_job_work is queued on ordered workqueue ${SHARED_WQ_DRIVER}-ring behind ${SHARED_WQ_DRIVER}_flush_unmap, running on ${worker}\\d+$`,
        ),
      ),
      expect.stringMatching(new RegExp(`^… back to: ${worker}`)),
    ]);
    const [root] = sim.validator.findingsOf("ordered-wq-self-wait");
    expect(root!.title).toBe(
      `work item drm_sched_run_job_work is queued on ordered workqueue ${SHARED_WQ_DRIVER}-ring behind the item that waits for it (${SHARED_WQ_DRIVER}_flush_unmap)`,
    );
    expect(root!.explanation).toMatch(/runs one item at a time/);
    expect(dl.details).toEqual([`root cause [ordered-wq-self-wait]: ${root!.title}`]);
    // No lock order is involved: lockdep alone says nothing.
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["deadlock", "ordered-wq-self-wait"]);
    job.put();
  });

  it("the fixed driver (the flush on a queue of its own) completes quietly", async () => {
    const sim = new Simulator();
    const drv = new SharedWqDriver(sim, { fixed: true });
    const job = drv.submitAndUnmap();
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(drv.flushed).toBe(true);
    job.put();
    drv.ring.fini();
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
