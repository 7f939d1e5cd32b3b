/**
 * `struct drm_sched_fence` (`drivers/gpu/drm/scheduler/sched_fence.c`): the pair of fences every
 * armed job carries. `scheduled` signals when the job was handed to the hardware (`run_job`
 * returned), `finished` when the hardware fence signalled — carrying its error. Userspace and
 * other drivers only ever see `finished`; the hardware fence stays inside the driver.
 *
 * Each entity owns two fence contexts: `ctx` for its scheduled fences and `ctx + 1` for its
 * finished fences, so both timelines are ordered per entity (seqno = ++entity counter at arm).
 */
import { DmaFence, DmaFenceFlag, type DmaFenceOps } from "@drmsim/dma-fence";
import type { Simulator } from "@drmsim/runtime";
import type { DrmGpuScheduler } from "./scheduler.js";

/**
 * `DRM_SCHED_FENCE_DONT_PIPELINE`: set on a finished fence to make jobs of the same scheduler that
 * depend on it wait for it to *finish*, not just to be scheduled (a dependency the hardware ring
 * order does not cover, e.g. a page-table update another engine must see).
 */
export const DRM_SCHED_FENCE_DONT_PIPELINE = DmaFenceFlag.USER_BITS;
/** `DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT`: a deadline was set and forwarded to the parent. */
export const DRM_SCHED_FENCE_FLAG_HAS_DEADLINE = DmaFenceFlag.USER_BITS << 1;

/** The scheduled half of a `DrmSchedFence`. */
export class DrmSchedFenceScheduled extends DmaFence {
  constructor(
    sim: Simulator,
    readonly schedFence: DrmSchedFence,
    context: number,
    seqno: number,
  ) {
    super(sim, scheduledOps, context, seqno);
  }
}

/** The finished half of a `DrmSchedFence`: the fence userspace and other drivers wait on. */
export class DrmSchedFenceFinished extends DmaFence {
  constructor(
    sim: Simulator,
    readonly schedFence: DrmSchedFence,
    context: number,
    seqno: number,
  ) {
    super(sim, finishedOps, context, seqno);
  }
}

const scheduledOps: DmaFenceOps<DrmSchedFenceScheduled> = {
  getDriverName: () => "drm_sched",
  getTimelineName: (f) => f.schedFence.sched.name,
  // The finished fence owns the scheduled one (its release drops this fence's first reference).
  release: () => {},
};

const finishedOps: DmaFenceOps<DrmSchedFenceFinished> = {
  getDriverName: () => "drm_sched",
  getTimelineName: (f) => f.schedFence.sched.name,
  release: (f) => f.schedFence.releaseFinished(),
  // drm_sched_fence_set_deadline_finished: remember it, and pass it on once there is a parent.
  setDeadline: (f, deadlineNs) => {
    const s = f.schedFence;
    if (s.deadlineNs !== null && s.deadlineNs <= deadlineNs) return;
    s.deadlineNs = deadlineNs;
    f.flags |= DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    s.parent?.setDeadline(deadlineNs);
  },
};

/**
 * `struct drm_sched_fence`. Created by `job.arm()`; owned by the finished fence's references.
 *
 * Nearly nobody looks at a scheduled fence — the scheduler itself needs only the instant it
 * signalled — so with the validator and tracing off it is created when first asked for
 * (`scheduled`), already signalled at that instant if the job has run. With either on it is
 * created at arm, as the kernel does, so the validator tracks it and the trace shows its init.
 * Either way it is the same fence: its context, seqno, timestamp and references are those it
 * would have had. (About 80 bytes less per queued job.)
 */
export class DrmSchedFence {
  readonly finished: DrmSchedFenceFinished;
  /** The hardware fence `runJob` returned (a reference held until the finished fence is released). */
  parent: DmaFence | null = null;
  /** Earliest deadline requested on `finished` (`drm_sched_fence.deadline`). */
  deadlineNs: number | null = null;
  /**
   * The scheduled fence once created; before that, null while the job has not been scheduled and
   * the virtual time it was scheduled after.
   */
  private sched_: DrmSchedFenceScheduled | number | null;

  constructor(
    sim: Simulator,
    /** The scheduler the job was armed for. */
    readonly sched: DrmGpuScheduler,
    /** `drm_sched_fence.owner`: the job's owner cookie (the DRM file, usually). */
    readonly owner: unknown,
    /** The entity's first fence context (scheduled); finished is `context + 1`. */
    context: number,
    seqno: number,
  ) {
    this.sched_ =
      sim.validator.enabled || sim.tracer.on ? new DrmSchedFenceScheduled(sim, this, context, seqno) : null;
    this.finished = new DrmSchedFenceFinished(sim, this, context + 1, seqno);
  }

  /** `drm_sched_fence.scheduled`: signals when the job was handed to the hardware. */
  get scheduled(): DrmSchedFenceScheduled {
    const s = this.sched_;
    if (typeof s === "object" && s !== null) return s;
    const f = this.finished;
    const scheduled = new DrmSchedFenceScheduled(f.sim, this, f.context - 1, f.seqno);
    this.sched_ = scheduled;
    if (s !== null) scheduled.signalTimestamp(s);
    return scheduled;
  }

  /** Whether the scheduled fence has signalled, without creating it. */
  get scheduledSignaled(): boolean {
    const s = this.sched_;
    return s !== null && (typeof s === "number" || s.signaled);
  }

  /**
   * `drm_sched_fence_scheduled(fence, parent)`: record the hardware fence (first, so a waiter woken
   * by `scheduled` sees it), forward a pending deadline, then signal `scheduled`.
   */
  signalScheduled(parent: DmaFence | null): void {
    if (parent !== null) {
      this.parent = parent.get();
      if (this.deadlineNs !== null) parent.setDeadline(this.deadlineNs);
    }
    const s = this.sched_;
    if (s === null) this.sched_ = this.finished.sim.now;
    else if (typeof s === "object") s.signal();
  }

  /** `drm_sched_fence_finished(fence, result)`: signal `finished`, with `result` as its error if negative. */
  signalFinished(result: number): void {
    const f = this.finished;
    if (result < 0 && !f.signaled) f.setError(result);
    f.signal();
  }

  /** @internal `drm_sched_fence_release_finished`: drops the parent and the scheduled fence. */
  releaseFinished(): void {
    const p = this.parent;
    this.parent = null;
    p?.put();
    const s = this.sched_;
    if (typeof s === "object" && s !== null) s.put();
  }
}

/** `to_drm_sched_fence(f)`: the scheduler fence behind a scheduled or finished fence, else null. */
export function toDrmSchedFence(f: DmaFence): DrmSchedFence | null {
  if (f instanceof DrmSchedFenceFinished || f instanceof DrmSchedFenceScheduled) return f.schedFence;
  return null;
}
