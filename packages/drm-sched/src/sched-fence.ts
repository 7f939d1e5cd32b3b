/**
 * `struct drm_sched_fence` (`drivers/gpu/drm/scheduler/sched_fence.c`): the pair of fences every
 * armed job carries. `scheduled` signals when the job was handed to the hardware (`run_job`
 * returned), `finished` when the hardware fence signalled — carrying its error. Userspace and
 * other drivers only ever see `finished`; the hardware fence stays inside the driver.
 *
 * Each entity owns two fence contexts: `ctx` for its scheduled fences and `ctx + 1` for its
 * finished fences, so both timelines are ordered per entity (seqno = ++entity counter at arm).
 *
 * Layout. The kernel embeds both fences in one `drm_sched_fence` allocation; drmsim makes the
 * finished fence that object (`DrmSchedFence` is `DrmSchedFenceFinished`: it holds the parent,
 * the owner and the scheduled fence), which is one object and one header fewer per job. Nearly
 * nobody looks at a scheduled fence — the scheduler itself needs only the instant it signalled —
 * so with the validator off and tracing off it is created when first asked for (`scheduled`,
 * a same-scheduler dependency), already signalled at that instant if the job ran; with either on
 * it is created at arm, as the kernel does, so the validator tracks it and the trace shows its
 * init. Either way it is the same fence: its context, seqno, timestamp and references are those
 * it would have had.
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
  /** The scheduler fence (its finished half) this fence belongs to. */
  declare schedFence: DrmSchedFence;

  /** @internal Created by `DrmSchedFence`; `schedFence` is set right after. */
  constructor(sim: Simulator, context: number, seqno: number) {
    super(sim, scheduledOps, context, seqno);
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
  getTimelineName: (f) => f.sched.name,
  release: (f) => f.releaseFinished(),
  // drm_sched_fence_set_deadline_finished: remember it, and pass it on once there is a parent.
  setDeadline: (f, deadlineNs) => {
    const prev = f.deadlineNs;
    if (prev !== null && prev <= deadlineNs) return;
    f.deadlineNs = deadlineNs;
    f.parent?.setDeadline(deadlineNs);
  },
};

/** Deadlines of the scheduler fences that have one (few do): `drm_sched_fence.deadline`. */
const deadlines = new WeakMap<DrmSchedFenceFinished, number>();

/**
 * `struct drm_sched_fence`, as its finished fence: the fence userspace and other drivers wait on,
 * with the scheduler's state of the job beside it. Created by `job.arm()`; owned by its references.
 */
export class DrmSchedFenceFinished extends DmaFence {
  /** The hardware fence `runJob` returned (a reference held until this fence is released). */
  declare parent: DmaFence | null;
  /** The scheduler the job was armed for. */
  declare readonly sched: DrmGpuScheduler;
  /** `drm_sched_fence.owner`: the job's owner cookie (the DRM file, usually). */
  declare readonly owner: unknown;
  /**
   * The scheduled fence; null while it was not created and the job not scheduled; the virtual
   * time it signalled while it was not created and the job was (see the module comment).
   */
  declare private sched_: DrmSchedFenceScheduled | number | null;

  /**
   * @internal `drm_sched_fence_alloc` + `drm_sched_fence_init`: `context` is the entity's first
   * fence context (scheduled); this fence is on `context + 1`.
   */
  constructor(sim: Simulator, sched: DrmGpuScheduler, owner: unknown, context: number, seqno: number) {
    // The scheduled fence first, as the kernel initialises it first (the trace shows that order).
    const scheduled =
      sim.validator.enabled || sim.tracer.on ? new DrmSchedFenceScheduled(sim, context, seqno) : null;
    super(sim, finishedOps, context + 1, seqno);
    this.parent = null;
    (this as { sched: DrmGpuScheduler }).sched = sched;
    (this as { owner: unknown }).owner = owner;
    this.sched_ = scheduled;
    if (scheduled !== null) scheduled.schedFence = this;
  }

  /** `drm_sched_fence.finished`: this fence. */
  get finished(): DrmSchedFenceFinished {
    return this;
  }

  /** The scheduler fence this fence belongs to: itself. */
  get schedFence(): DrmSchedFence {
    return this;
  }

  /** `drm_sched_fence.scheduled`: signals when the job was handed to the hardware. */
  get scheduled(): DrmSchedFenceScheduled {
    const s = this.sched_;
    if (s !== null && typeof s === "object") return s;
    const f = new DrmSchedFenceScheduled(this.sim, this.context - 1, this.seqno);
    f.schedFence = this;
    this.sched_ = f;
    if (s !== null) f.signalTimestamp(s);
    return f;
  }

  /** Whether the scheduled fence has signalled, without creating it. */
  get scheduledSignaled(): boolean {
    const s = this.sched_;
    return s !== null && (typeof s === "number" || s.signaled);
  }

  /** Earliest deadline requested on this fence (`drm_sched_fence.deadline`), or null. */
  get deadlineNs(): number | null {
    return (this.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) === 0 ? null : (deadlines.get(this) ?? null);
  }

  set deadlineNs(v: number | null) {
    if (v === null) {
      deadlines.delete(this);
      this.flags &= ~DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    } else {
      deadlines.set(this, v);
      this.flags |= DRM_SCHED_FENCE_FLAG_HAS_DEADLINE;
    }
  }

  /**
   * `drm_sched_fence_scheduled(fence, parent)`: record the hardware fence (first, so a waiter woken
   * by `scheduled` sees it), forward a pending deadline, then signal `scheduled`.
   */
  signalScheduled(parent: DmaFence | null): void {
    if (parent !== null) {
      this.parent = parent.get();
      if ((this.flags & DRM_SCHED_FENCE_FLAG_HAS_DEADLINE) !== 0) {
        const d = this.deadlineNs;
        if (d !== null) parent.setDeadline(d);
      }
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
    if (s !== null && typeof s === "object") s.put();
  }
}

/**
 * `struct drm_sched_fence`: in drmsim, the finished fence itself (see the module comment) —
 * `s.finished === s`, `s.scheduled` its other half.
 */
export type DrmSchedFence = DrmSchedFenceFinished;

/** `to_drm_sched_fence(f)`: the scheduler fence behind a scheduled or finished fence, else null. */
export function toDrmSchedFence(f: DmaFence): DrmSchedFence | null {
  if (f instanceof DrmSchedFenceFinished) return f;
  if (f instanceof DrmSchedFenceScheduled) return f.schedFence;
  return null;
}
