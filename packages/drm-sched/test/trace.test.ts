/** The gpu_scheduler tracepoints and dependency flow arrows. */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DrmSchedPriority,
  traceDrmRunJob,
  traceDrmSchedJob,
  traceDrmSchedJobWaitDep,
  traceDrmSchedProcessJob,
} from "../src/index.js";
import { DrmMockScheduler, drmMockSchedEntityNew, drmMockSchedJobNew } from "../src/testing/index.js";

describe("tracing", () => {
  it("emits drm_sched_job, drm_sched_job_wait_dep, drm_run_job, drm_sched_process_job and a flow per dependency", async () => {
    const sim = new Simulator({ trace: true });
    const sched = new DrmMockScheduler(sim, { name: "traced" });
    const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const dep = new DmaFence(
      sim,
      { getDriverName: () => "ext", getTimelineName: () => "t" },
      dmaFenceContextAlloc(sim),
      4,
    );
    const depTrack = dep.track; // its names detach when it signals
    const job = drmMockSchedJobNew(entity).setDurationUs(10);
    job.addDependency(dep.get());
    job.submit();
    sim.schedule(1000, () => dep.signal());
    await sim.run();
    const t = sim.tracer;
    const queued = t.eventsOf(traceDrmSchedJob);
    const wait = t.eventsOf(traceDrmSchedJobWaitDep);
    const run = t.eventsOf(traceDrmRunJob);
    const done = t.eventsOf(traceDrmSchedProcessJob);
    expect([queued.length, wait.length, run.length, done.length]).toEqual([1, 1, 1, 1]);
    expect(queued[0]!.track).toEqual({ process: "drm_mock_sched", thread: "traced" });
    expect(queued[0]!.args).toMatchObject({ id: job.id, fenceContext: entity.fenceContext + 1, seqno: 1 });
    expect(wait[0]!.args).toMatchObject({ depContext: dep.context, depSeqno: 4, depDriver: "ext" });
    expect(run[0]!.ts).toBe(1000);
    expect(done[0]!.ts).toBe(1000 + 10_000);
    const flows = t.events.filter((e) => e.cat === "flow");
    expect(flows.map((e) => e.ph)).toEqual(["s", "f"]);
    expect(flows[0]!.id).toBe(flows[1]!.id);
    expect(flows[0]!.track).toEqual(depTrack);
    // Off records nothing.
    const quiet = new Simulator();
    const s2 = new DrmMockScheduler(quiet);
    const e2 = drmMockSchedEntityNew(quiet, 2, s2);
    drmMockSchedJobNew(e2).setDurationUs(1).submit();
    await quiet.run();
    expect(quiet.tracer.events).toEqual([]);
    for (const x of [e2]) x.fini();
    s2.fini();
    dep.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("priority changes", () => {
  it("setPriority takes effect at the next arm of an idle entity (the run queue changes)", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.LOW, sched);
    expect(entity.rq).toBe(sched.rqFor(DrmSchedPriority.LOW));
    const busy = drmMockSchedJobNew(entity).submit();
    drmMockSchedJobNew(entity).submit();
    entity.setPriority(DrmSchedPriority.HIGH);
    // Not idle (jobs queued, last one not finished): stays where it is.
    const j3 = drmMockSchedJobNew(entity).submit();
    expect(entity.rq).toBe(sched.rqFor(DrmSchedPriority.LOW));
    expect(j3.priority).toBe(DrmSchedPriority.HIGH); // the job records the entity's priority at arm
    await sim.run();
    sched.advance(3);
    await sim.run();
    expect(busy.isFinished).toBe(true);
    drmMockSchedJobNew(entity).submit();
    expect(entity.rq).toBe(sched.rqFor(DrmSchedPriority.HIGH));
    sched.advance(1);
    await sim.run();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});
