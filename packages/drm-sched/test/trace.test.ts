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
    // The arrow's ends are bound to the dependency's span and the job's span, at their starts.
    const depSpan = t.eventsOf("dma_fence").find((e) => (e.args as { seqno: number }).seqno === 4)!;
    const jobSpan = t.eventsOf("job")[0]!;
    expect([flows[0]!.span, flows[0]!.ts]).toEqual([depSpan.span, depSpan.ts]);
    expect([flows[1]!.span, flows[1]!.ts]).toEqual([jobSpan.span, jobSpan.ts]);
    // The job: queued at 0, finished when its hardware fence signalled, on the scheduler's jobs track.
    expect(jobSpan).toMatchObject({
      ts: 0,
      dur: 1000 + 10_000,
      track: { process: "drm_mock_sched", thread: "traced jobs" },
      args: { id: job.id, entity: entity.name, credits: 1, error: 0, ranAt: 1000 },
    });
    // The entity's timelines are drawn with the scheduler's device; the foreign dependency is not.
    const fenceProcesses = new Set(
      t.eventsOf("dma_fence").map((e) => `${e.track.process}/${(e.args as { context: number }).context}`),
    );
    expect(fenceProcesses).toEqual(
      new Set([
        `drm_mock_sched/${entity.fenceContext}`,
        `drm_mock_sched/${entity.fenceContext + 1}`,
        `drm_mock_sched/${sched.hwTimeline.context}`,
        `dma_fence/${dep.context}`,
      ]),
    );
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

  it("counts credits in flight per scheduler and jobs queued per entity", async () => {
    const sim = new Simulator({ trace: true });
    const sched = new DrmMockScheduler(sim, { name: "counted" });
    const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const dep = new DmaFence(
      sim,
      { getDriverName: () => "ext", getTimelineName: () => "t" },
      dmaFenceContextAlloc(sim),
      1,
    );
    const a = drmMockSchedJobNew(entity).setDurationUs(10);
    a.addDependency(dep.get());
    a.submit();
    drmMockSchedJobNew(entity).setDurationUs(10).submit();
    sim.schedule(1000, () => dep.signal());
    await sim.run();
    sim.tracer.finish();
    const series = (name: string) => sim.tracer.eventsOf(name).map((e) => [e.ts, Object.values(e.args!)[0]]);
    // Both queued at 0; the first leaves the queue when its dependency signals, the second right after.
    expect(series(entity.name)).toEqual([
      [0, 2],
      [1000, 0],
    ]);
    expect(sim.tracer.eventsOf(entity.name)[0]!.args).toEqual({ "queued jobs": 2 });
    // One credit each: both on the hardware from 1000 µs… the mock runs them one after the other.
    expect(series("counted")).toEqual([
      [1000, 2],
      [11_000, 1],
      [21_000, 0],
    ]);
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
