/**
 * A scheduler stopped for runtime suspend and never restarted on resume's error path. The
 * verdict follows the waiter to the job and names the stopped scheduler.
 */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { PM_DRIVER, PmDriver } from "../fixtures/sched-stopped/sched-stopped.js";

describe("fixture: sched-stopped", () => {
  it("a job queued across a failed resume never runs: the root is the stopped scheduler", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new PmDriver(sim);
    drv.suspend();
    const job = drv.submit();
    drv.resume(true);
    const app = sim.spawn("app", () => job.wait());
    const r = await sim.run();

    expect(r.reason).toBe("deadlock");
    expect(app.state).toBe("running");
    const dl = r.finding!;
    expect(dl.progress).toEqual([
      expect.stringMatching(/^process:app\/\d+ sleeps on dma_fence drm_sched:pm_gpu-ring /),
      expect.stringMatching(/is the finished fence of job 1 /),
      expect.stringMatching(
        new RegExp(`^job 1 .* is ready, but submission on ${PM_DRIVER}-ring is stopped$`),
      ),
    ]);
    const [root] = sim.validator.findingsOf("sched-stopped");
    expect(root!.title).toBe(
      `submission on ${PM_DRIVER}-ring was stopped (drm_sched_wqueue_stop / drm_sched_stop) and nothing restarts it`,
    );
    expect(root!.explanation).toMatch(/must be paired with drm_sched_wqueue_start/);
    expect(dl.details).toEqual([`root cause [sched-stopped]: ${root!.title}`]);
    // The scheduler's own teardown check agrees, with its reason.
    const report = sim.teardown();
    expect(report.findings.map((f) => f.kind)).toContain("sched-stall");
    job.put();
  });

  it("the fixed driver restarts submission on every path, and the job completes", async () => {
    const sim = new Simulator();
    const drv = new PmDriver(sim, { fixed: true });
    drv.suspend();
    const job = drv.submit();
    drv.resume(true);
    const app = sim.spawn("app", () => job.wait());
    expect((await sim.run()).reason).toBe("idle");
    expect(app.state).toBe("done");
    job.put();
    drv.ring.fini();
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
