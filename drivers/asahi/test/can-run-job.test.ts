/**
 * Seed 002, both designs on one workload. A 4-slot firmware ring; job 1 has one render command,
 * jobs 2 and 3 three each. Job 3 cannot start until job 2's fragments retire.
 *
 * - The driver as shipped: `prepareJob` returns the fence of the oldest pending command on the
 *   full ring; the scheduler waits on it and asks again, until it returns null. Every job runs.
 * - The rejected `can_run_job` design (fixtures/can-run-job): a boolean stops submission and one
 *   kick is armed for when the oldest job retires. That job frees one slot, job 3 needs three,
 *   the kick sees "still false", and nothing ever kicks again. drmsim finds the stall when the
 *   simulation goes quiet and the report names the rule that was broken.
 */
import { drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { MAX_SCHEDULE_TIMEOUT, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { agxOpenContext, agxRenderCommand } from "../src/user/index.js";
import { CanRunJobPlugin } from "./fixtures/can-run-job/can-run-job.js";
import { outSyncs, queueOf, setup, submit } from "./helpers.js";

const FOREVER = 2n ** 62n;

async function workload(sim: import("@drmsim/runtime").Simulator, app: Process) {
  return sim.exec("app", async () => {
    const { fd, queue } = await agxOpenContext(app);
    const last = await drmSyncobjCreate(app, fd);
    const r = () => agxRenderCommand({ vertex_ns: usecs(50), fragment_ns: usecs(50) });
    await submit(app, fd, { queue_id: queue, commands: [r()] });
    await submit(app, fd, { queue_id: queue, commands: [r(), r(), r()] });
    await submit(app, fd, {
      queue_id: queue,
      commands: [r(), r(), r()],
      syncs: outSyncs(last),
      out_sync_count: 1,
    });
    return { fd, queue, last };
  });
}

describe("can_run_job vs prepareJob fences (seed 002)", () => {
  it("the shipped driver: the full ring's oldest fence from prepareJob — all three jobs complete", async () => {
    const { sim, host, dev } = setup({ slots: 4 });
    const app = new Process(sim, "app");
    const { fd, queue, last } = await workload(sim, app);
    const waiter = sim.spawn("waiter", () => drmSyncobjWait(app, fd, [last], FOREVER));
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(waiter.state).toBe("done");
    const q = queueOf(dev, app, queue);
    expect(q.stats.jobs).toBe(3);
    expect(q.stats.prepareFences).toBeGreaterThan(0);
    expect(q.sched.stalls()).toEqual([]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the rejected design: a missed kick stalls job 3 forever; drmsim reports it at quiescence with the rule", async () => {
    // The TDR is off (MAX_SCHEDULE_TIMEOUT) so the run can go quiet: with submission stopped the
    // finished job 2 is never freed, and the timeout handler would find it every 100 s forever —
    // while the stalled job 3, never handed out, is not on the pending list for the TDR to see.
    const fixture = new CanRunJobPlugin();
    const { sim, dev } = setup({
      slots: 4,
      validator: "collect",
      timeoutNs: MAX_SCHEDULE_TIMEOUT,
      plugins: [fixture],
    });
    const counters = fixture.counters;
    const app = new Process(sim, "app");
    const { fd, queue, last } = await workload(sim, app);
    const waiter = sim.spawn("waiter", () => drmSyncobjWait(app, fd, [last], FOREVER));
    const r = await sim.run();
    // The process waits on a syncobj nothing will ever signal.
    expect(r.reason).toBe("deadlock");
    expect(waiter.state).toBe("running");
    // The side channel said "no" once, its single kick came, found "still no", and never re-armed.
    expect(counters).toEqual({ refusals: 1, kicks: 1, restarts: 0 });
    const q = queueOf(dev, app, queue);
    expect(q.stats.jobs).toBe(2);
    expect(q.pendingCommands).toBe(0); // the firmware is idle: room appeared, nobody looked
    const stalls = q.sched.stalls();
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.entity).toBe(q.entity);
    expect(stalls[0]!.reason).toMatch(/submission on asahi-q1 is stopped/);
    const report = sim.teardown();
    const stall = report.findings.filter((f) => f.kind === "sched-stall");
    expect(stall).toHaveLength(1);
    expect(stall[0]!.title).toMatch(/will never run/);
    expect(stall[0]!.explanation).toMatch(/a scheduler job may depend on fences and nothing else/i);
  });
});
