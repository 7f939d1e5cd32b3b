/**
 * What the scheduler adds to a trace besides its tracepoints: a span per job on the
 * scheduler's `jobs` track, the dependency arrows into it, counters of credits in flight and of
 * each entity's queue, and the fence timelines it knows belong to its device. Callers check
 * `sim.tracer.on` first.
 */
import { type DmaFence, dmaFenceContextHasDevice, setDmaFenceContextDevice } from "@drmsim/dma-fence";
import type { TraceCounter, TrackRef } from "@drmsim/runtime";
import type { DrmSchedEntity } from "./entity.js";
import type { DrmSchedJob } from "./job.js";
import type { DrmGpuScheduler } from "./scheduler.js";
import { traceDrmSchedJobSpan } from "./trace.js";

const jobTracks = new WeakMap<DrmGpuScheduler, TrackRef>();
const queueCounters = new WeakMap<DrmSchedEntity, TraceCounter>();

/** The track of `sched`'s job spans: `<ring> jobs`, beside the ring in its device. */
export function jobsTrack(sched: DrmGpuScheduler): TrackRef {
  let t = jobTracks.get(sched);
  if (t === undefined) {
    t = { process: sched.track.process, thread: `${sched.track.thread} jobs` };
    jobTracks.set(sched, t);
  }
  return t;
}

/** Opens the span of a job just pushed. */
export function traceJobQueued(job: DrmSchedJob): void {
  const f = job.sFence!.finished;
  job.sched.sim.tracer.begin(traceDrmSchedJobSpan, jobsTrack(job.sched), job, {
    id: job.id,
    entity: job.entity.name,
    fenceContext: f.context,
    seqno: f.seqno,
    credits: job.credits,
  });
}

/** Closes the span of a job whose finished fence signals with `result`. */
export function traceJobFinished(job: DrmSchedJob, result: number): void {
  job.sched.sim.tracer.end(job, job.runTs >= 0 ? { error: result, ranAt: job.runTs } : { error: result });
}

/** An arrow from the fence `dep` to the job that now waits for it. */
export function traceJobWaits(job: DrmSchedJob, dep: DmaFence): void {
  const tracer = job.sched.sim.tracer;
  if (tracer.isOpen(dep)) tracer.flow("dependency", dep, job);
}

/** Samples the entity's queue depth (jobs pushed, not yet handed to the scheduler). */
export function traceEntityQueue(entity: DrmSchedEntity): void {
  let c = queueCounters.get(entity);
  if (c === undefined) {
    const sched = entity.rq?.sched;
    if (sched === undefined) return;
    c = entity.sim.tracer.counterTrack(sched.track, entity.name, "queued jobs");
    queueCounters.set(entity, c);
  }
  c.set(entity.jobCount);
}

/** Draws an entity's scheduled and finished fence timelines with the scheduler's device. */
export function traceEntityFences(entity: DrmSchedEntity, sched: DrmGpuScheduler): void {
  setDmaFenceContextDevice(entity.sim, entity.fenceContext, sched.track.process);
  setDmaFenceContextDevice(entity.sim, entity.fenceContext + 1, sched.track.process);
}

/** The hardware fence `run_job` returned is the ring's: draw its timeline with the device. */
export function traceHwFence(sched: DrmGpuScheduler, fence: DmaFence): void {
  if (!dmaFenceContextHasDevice(sched.sim, fence.context))
    setDmaFenceContextDevice(sched.sim, fence.context, sched.track.process);
}

/** Polls `sched.creditCount` into a `credits in flight` counter while tracing; returns the unregister function. */
export function probeCredits(sched: DrmGpuScheduler): () => void {
  const tracer = sched.sim.tracer;
  return tracer.probe(
    tracer.counterTrack(sched.track, sched.name, "credits in flight"),
    () => sched.creditCount,
  );
}
