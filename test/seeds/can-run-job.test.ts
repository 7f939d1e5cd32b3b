/**
 * Seed 002: a boolean `can_run_job` side channel misses its wake-up. drmsim reports the hang at
 * quiescence (who waits on what) and the stalled job with the rule it broke.
 */
import { drmSyncobjWait } from "@drmsim/drm";
import { KernelError, S64_MAX } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import { CanRunJobPlugin, canRunJobProbe, canRunJobWorkload } from "../fixtures/can-run-job/can-run-job.js";

/** INT64_MAX nanoseconds: wait forever. */
const FOREVER = S64_MAX;

describe("seed fixture: can-run-job", () => {
  it("the missed kick is a deadlock at quiescence plus a sched-stall naming the stopped queue and the rule", async () => {
    const fixture = new CanRunJobPlugin();
    const w = createWorld({
      validator: "collect",
      devices: [(host) => canRunJobProbe(host, [fixture])],
      processes: ["app"],
    });
    const counters = fixture.counters;
    const app = w.procs["app"]!;
    const { fd, last } = await w.exec("app", () => canRunJobWorkload(app));
    const waiter = w.sim.spawn("compositor", () => drmSyncobjWait(app, fd, [last], FOREVER));
    const r = await w.sim.run();

    expect(counters).toEqual({ refusals: 1, kicks: 1, restarts: 0 });
    expect(r.reason).toBe("deadlock");
    expect(waiter.state).toBe("running");
    const dl = r.finding!;
    expect(dl.kind).toBe("deadlock");
    expect(dl.title).toMatch(/no event is pending/);
    const stuck = dl.waitFor.find((e) => e.context.includes("compositor"));
    expect(stuck).toBeDefined();
    expect(stuck!.backtrace.join("\n")).toMatch(/SYNCOBJ_WAIT/);
    // Why: the syncobj's fence is the last job's, queued on a scheduler whose submission the
    // side channel stopped and its missed kick never restarts.
    expect(dl.details).toEqual([
      expect.stringMatching(
        /^root cause \[sched-stopped\]: submission on asahi-q\d+ was stopped .* and nothing restarts it$/,
      ),
    ]);
    expect(dl.progress[dl.progress.length - 1]).toMatch(/is ready, but submission on asahi-q\d+ is stopped$/);

    const report = w.sim.teardown();
    const stalls = report.findings.filter((f) => f.kind === "sched-stall");
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.title).toMatch(/on asahi-q\d+ will never run: submission on asahi-q\d+ is stopped/);
    expect(stalls[0]!.explanation).toMatch(/depend on fences and nothing else/);
    expect(stalls[0]!.toString()).toContain("[sched-stall]");
  });

  it("the driver as shipped (prepareJob fences) runs the same workload to completion, quietly", async () => {
    const w = createWorld({ devices: [canRunJobProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    // The last job is still pending once the workload has submitted it (a poll of its syncobj
    // times out), so the wait below has something to wait for.
    const { fd, last, poll } = await w.exec("app", async () => {
      const submitted = await canRunJobWorkload(app);
      const polled = await drmSyncobjWait(app, submitted.fd, [submitted.last], 0).then(
        () => "signalled",
        (e: unknown) => (e instanceof KernelError ? e.code : e),
      );
      return { ...submitted, poll: polled };
    });
    expect(poll).toBe("ETIME");
    const waited = await w.exec("compositor", () => drmSyncobjWait(app, fd, [last], FOREVER));
    expect(waited).toBe(0);
    expect(await w.teardown()).toEqual([]);
  });
});
