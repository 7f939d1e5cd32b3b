/**
 * Seed 002, the backlog shape: run_job parks a job in a driver-private list that nothing kicks.
 * The deadlock verdict follows the waiter back to the job and names the root.
 */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { BACKLOG_DRIVER, BacklogDriver } from "../fixtures/driver-backlog/driver-backlog.js";

describe("fixture: driver-backlog", () => {
  it("the waiter's chain leads to the job whose hardware fence nothing will signal: job-in-driver-backlog", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new BacklogDriver(sim);
    const fences = [drv.submit(), drv.submit(), drv.submit()];
    const app = sim.spawn("app", () => fences[2]!.wait());
    const r = await sim.run();

    expect(r.reason).toBe("deadlock");
    expect(app.state).toBe("running");
    expect(drv.backlog).toHaveLength(1);
    const dl = r.finding!;
    expect(dl.kind).toBe("deadlock");
    expect(dl.progress).toEqual([
      expect.stringMatching(/^process:app\/\d+ sleeps on dma_fence drm_sched:backlog_gpu-ring ctx \d+#3$/),
      expect.stringMatching(/is the finished fence of job 3 \(backlog_gpu-client \d+#3\)$/),
      expect.stringMatching(
        new RegExp(
          `^job 3 .* was handed to run_job on ${BACKLOG_DRIVER}-ring, which returned dma_fence ${BACKLOG_DRIVER}:fw-ring ctx \\d+#3; nothing will signal that fence$`,
        ),
      ),
    ]);
    const [root] = sim.validator.findingsOf("job-in-driver-backlog");
    expect(dl.details).toEqual([`root cause [job-in-driver-backlog]: ${root!.title}`]);
    expect(root!.title).toMatch(/the driver keeps the job in a backlog nothing kicks$/);
    expect(root!.explanation).toMatch(/A scheduler job may depend on fences and nothing else \(seed 002\)/);
    expect(root!.progress).toEqual(dl.progress);
    expect(root!.toString()).toContain("what it waits for, back to the root cause:");
    // Teardown finds the same root again for the never-signalled fences: counted, not repeated.
    sim.teardown();
    expect(sim.validator.findingsOf("job-in-driver-backlog")).toHaveLength(1);
    for (const f of fences) f.put();
  });

  it("the fixed driver (a full ring is a prepare_job fence) runs the same workload quietly", async () => {
    const sim = new Simulator();
    const drv = new BacklogDriver(sim, { fixed: true });
    const fences = [drv.submit(), drv.submit(), drv.submit()];
    const app = sim.spawn("app", () => fences[2]!.wait());
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(app.state).toBe("done");
    for (const f of fences) f.put();
    drv.fini();
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
