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

const scheduledOps: DmaFenceOps<DrmSchedFenceScheduled> = {
  getDriverName: () => "drm_sched",
  getTimelineName: (f) => f.schedFence.sched.name,
  // The finished fence owns the scheduled one (its release drops this fence's first reference).
  release: () => {},
};

const finishedOps: DmaFenceOps<DrmSchedFence> = {
  getDriverName: () => "drm_sched",
  getTimelineName: (f) => f.sched.name,
  release: (f) => f.releaseFinished(),
  // drm_sched_fence_set_deadline_finished: remember it, and pass it on once there is a parent.
  setDeadline: (f, deadlineNs) => {
    const d = f.deadlineNs;
    if (d !== null && d <= deadlineNs) return;
    f.deadlineNs = deadlineNs;
    f.parent?.setDeadline(deadlineNs);
  },
};

/** Deadlines of the few fences that have one (`DRM_SCHED_FENCE_FLAG_HAS_DEADLINE` set). */
const deadlines = new WeakMap<DrmSchedFence, number>();

/**
 * `struct drm_sched_fence`. Created by `job.arm()`; owned by the finished fence's references.
 *
 * The object is the finished fence itself (`finished` is `this`), as `drm_sched_fence` embeds its
 * `finished` fence: the fence userspace and other drivers wait on, with the scheduler's state
 * beside it — one object per job rather than a fence and a holder pointing at each other.
 *
 * Nearly nobody looks at a scheduled fence — the scheduler itself needs only the instant it
 * signalled — so unless tracing is on it is created when first asked for (`scheduled`), already
 * signalled at that instant if the job has run. With tracing on it is created at arm, as the
 * kernel does, so the trace shows its init. Either way it is the same fence: its context, seqno,
 * timestamp and references are those it would have had, and from its creation on the validator
 * tracks it like any fence (what it cannot see is a scheduled fence nobody ever referenced: only
 * the scheduler signals those, and the finished fence, which it always sees, tells the same
 * story). (About 80 bytes less per queued job, and 40 less for having no separate holder.)
 */
export class DrmSchedFence extends DmaFence {
  // `parent` is a class field on purpose, the others are `declare`d: V8 does not inline a
  // constructor with field initializers, and it must not inline this one. Inlined into `arm()`
  // (a DmaFence subclass's constructor), TurboFan kept aborting the optimisation of `arm` and its
  // callers ("dependency change": StableMapDependency) and the whole submission path ran 3–4×
  // slower — what made the first attempt at this merge look hopeless. Measured with
  // `--trace-opt`; the old separate finished fence escaped it the same way, by its parameter
  // property.
  /** The hardware fence `runJob` returned (a reference held until the finished fence is released). */
  parent: DmaFence | null = null;
  /** The scheduler the job was armed for. */
  declare readonly sched: DrmGpuScheduler;
  /** `drm_sched_fence.owner`: the job's owner cookie (the DRM file, usually). */
  declare readonly owner: unknown;
  /**
   * The scheduled fence once created; before that, null while the job has not been scheduled and
   * the virtual time it was scheduled after.
   */
  declare private sched_: DrmSchedFenceScheduled | number | null;

  constructor(
    sim: Simulator,
    sched: DrmGpuScheduler,
    owner: unknown,
    /** The entity's first fence context (scheduled); finished is `context + 1`. */
    context: number,
    seqno: number,
  ) {
    super(sim, finishedOps as DmaFenceOps, context + 1, seqno);
    this.sched = sched;
    this.owner = owner;
    this.sched_ = sim.tracer.on ? new DrmSchedFenceScheduled(sim, this, context, seqno) : null;
  }

  /** `drm_sched_fence.finished`: this fence. */
  get finished(): DrmSchedFence {
    return this;
  }

  /** Earliest deadline requested on the finished fence (`drm_sched_fence.deadline`), or null. */
  get deadlineNs(): number | null {
    return (this.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) === 0 ? null : (deadlines.get(this) ?? null);
  }

  set deadlineNs(d: number | null) {
    if (d === null) {
      deadlines.delete(this);
      this.flags &= ~DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    } else {
      deadlines.set(this, d);
      this.flags |= DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    }
  }

  /** `drm_sched_fence.scheduled`: signals when the job was handed to the hardware. */
  get scheduled(): DrmSchedFenceScheduled {
    const s = this.sched_;
    if (typeof s === "object" && s !== null) return s;
    const scheduled = new DrmSchedFenceScheduled(this.sim, this, this.context - 1, this.seqno);
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
      if ((this.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) !== 0) parent.setDeadline(this.deadlineNs!);
    }
    const s = this.sched_;
    if (s === null) this.sched_ = this.sim.now;
    else if (typeof s === "object") s.signal();
  }

  /** `drm_sched_fence_finished(fence, result)`: signal `finished`, with `result` as its error if negative. */
  signalFinished(result: number): void {
    if (result < 0 && !this.signaled) this.setError(result);
    this.signal();
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
  if (f instanceof DrmSchedFence) return f;
  if (f instanceof DrmSchedFenceScheduled) return f.schedFence;
  return null;
}
