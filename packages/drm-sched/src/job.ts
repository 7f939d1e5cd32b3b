/**
 * `struct drm_sched_job` (`sched_main.c`): one submission, from `init()` through `arm()` (the
 * point of no return), `entity.pushJob()`, its dependencies, `runJob`, the hardware fence, and
 * `freeJob`.
 *
 * Dependencies are fences and only fences (seed 002). They are kept in insertion order and
 * de-duplicated per fence context, keeping the later fence (seed 003: a job that waits on fence
 * 7 of a timeline need not also wait on fence 5).
 */
import { type DmaFence, type DmaFenceCb, dmaFenceIsLater } from "@drmsim/dma-fence";
import {
  type DmaResv,
  DmaResvIter,
  type DmaResvUsage,
  dmaResvForEachFence,
  dmaResvUsageRw,
} from "@drmsim/dma-resv";
import { frameList, KernelError } from "@drmsim/runtime";
import type { DrmSchedEntity } from "./entity.js";
import { DrmSchedFence } from "./sched-fence.js";
import type { DrmGpuScheduler } from "./scheduler.js";

/** Shared by every job without dependencies; never written to. */
const NO_DEPS: Map<number, DmaFence> = new Map();
/** `job->karma` of the jobs that were involved in a hang (few are), so it is no field of every job. */
const karmas = new WeakMap<DrmSchedJob, number>();

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A job asked for more credits than its scheduler's limit and was truncated to it. */
    "sched-credits-truncated": true;
    /** A job's scheduled/finished fence was read before `arm()` created it. */
    "sched-job-misuse": true;
  }
}

/** Why `drm_sched_job_init(entity, credits)` fails: `EINVAL` for the credits first, then `ENOENT`. */
function jobInitError(entity: DrmSchedEntity, credits: number): KernelError {
  if (!Number.isInteger(credits) || credits < 1)
    return new KernelError("EINVAL", `drm_sched_job_init: a job needs at least 1 credit, got ${credits}`);
  return new KernelError(
    "ENOENT",
    `drm_sched_job_init: entity ${entity.name} has no run queue (no scheduler to run on)`,
  );
}

/**
 * What `addSyncobjDependency` needs from the DRM core: `drm_syncobj_find_fence(file, handle,
 * point, flags)` — the fence, with a new reference, or a thrown `KernelError` (`ENOENT` for an
 * unknown handle, `EINVAL` for a point that has no fence yet without WAIT_FOR_SUBMIT).
 */
export interface DrmSchedSyncobjLookup {
  findFence(handle: number, point: number, flags: number): DmaFence;
}

/** Where a job is in its life. */
export type DrmSchedJobState = "init" | "armed" | "queued" | "running" | "done" | "cleaned";

/** `struct drm_sched_job`. Drivers extend it (the kernel embeds it) or attach data to `driverData`. */
export class DrmSchedJob {
  // Fields are `declare`d and assigned in the constructor, every one with its final type, rather
  // than written as class fields: V8 does not inline a constructor with field initializers, and a
  // job is created for every submission.
  /** The scheduler that will run the job: the entity's at `init()`, possibly another after `arm()`. */
  declare sched: DrmGpuScheduler;
  /** `job->entity`. */
  declare entity: DrmSchedEntity;
  /** `job->s_fence`: null until `arm()`. */
  declare sFence: DrmSchedFence | null;
  /** `job->credits`: fixed at init (truncated to the limit if above it). */
  declare credits: number;
  /** `job->id`: unique per scheduler, assigned at `arm()`. */
  declare id: number;
  /** `job->s_priority`. */
  declare priority: number;
  /** `job->submit_ts`: virtual time of `pushJob`. */
  declare submitTs: number;
  /** @internal Global push order (FIFO key). */
  declare submitSeq: number;
  /** Virtual time `runJob` was called, -1 before. */
  declare runTs: number;
  declare state: DrmSchedJobState;
  /** Driver payload (the kernel's container_of). */
  declare driverData: unknown;
  /** @internal `job->dependencies`: insertion-ordered, one fence per context (shared empty map until the first). */
  declare deps: Map<number, DmaFence>;
  /** `owner`: who submitted it (a DRM file, a client id); shown in reports and on the fences. */
  declare readonly owner: unknown;
  /**
   * @internal `job->queue_node`, then `job->list`: the next job in its entity's queue while
   * queued, then in its scheduler's pending list while running; null at either tail. A job is
   * on one list at a time (popped from the entity before it is pending), so one link serves both.
   */
  declare queueNext: DrmSchedJob | null;
  /** `job->karma`: how often this job was involved in a hang (kept aside: most jobs never are). */
  get karma(): number {
    return karmas.get(this) ?? 0;
  }

  set karma(n: number) {
    karmas.set(this, n);
  }

  /** @internal The hardware fence callback (`job->cb`): the job itself, so it costs no allocation. */
  get cb(): DmaFenceCb {
    return this;
  }

  /** @internal `drm_sched_job_done_cb`: the hardware fence signalled (irq context). */
  func(fence: DmaFence): void {
    this.sched.jobDone(this, fence.error);
  }

  /**
   * `drm_sched_job_init(job, entity, credits, owner)`. `EINVAL` for credits < 1 (or not an
   * integer), `ENOENT` for an entity without a run queue (no schedulers). Credits above the
   * scheduler's limit are truncated to it — a WARN in the kernel, a `sched-credits-truncated`
   * finding here — so the job can still run alone (forward progress).
   */
  constructor(entity: DrmSchedEntity, credits: number, owner: unknown = null) {
    const rq = entity.rq;
    // The errors are built out of line: a small constructor is inlined where jobs are made.
    if (rq === null || !(credits >= 1) || !Number.isInteger(credits)) throw jobInitError(entity, credits);
    this.sched = rq.sched;
    this.entity = entity;
    this.sFence = null;
    this.credits = credits;
    this.id = 0;
    this.priority = 0;
    this.submitTs = 0;
    this.submitSeq = 0;
    this.runTs = -1;
    this.state = "init";
    this.driverData = undefined;
    this.deps = NO_DEPS;
    this.owner = owner;
    this.queueNext = null;
    if (credits > rq.sched.creditLimit) rq.sched.truncateCredits(this);
  }

  /** `drm_sched_job_init` as a function, for code that reads like the kernel. */
  static init(entity: DrmSchedEntity, credits: number, owner: unknown = null): DrmSchedJob {
    return new DrmSchedJob(entity, credits, owner);
  }

  /** The finished fence (after `arm()`): what userspace, syncobjs and dma_resv get. */
  get finished(): DmaFence {
    return this.requireArmed("finished").finished;
  }

  /** The scheduled fence (after `arm()`). */
  get scheduled(): DmaFence {
    return this.requireArmed("scheduled").scheduled;
  }

  /**
   * `drm_sched_job_arm()`: the point of no return. Picks the scheduler (load balancing for a
   * multi-scheduler entity), assigns the job id and creates the scheduled/finished fences with
   * seqno = ++entity counter. After this the job must be pushed; errors must be handled before.
   */
  arm(): void {
    if (this.state !== "init")
      throw new KernelError("EINVAL", `drm_sched_job_arm: job ${this.describe()} is already armed`);
    const entity = this.entity;
    entity.selectRq();
    const rq = entity.rq;
    if (rq === null)
      throw new KernelError("ENOENT", `drm_sched_job_arm: entity ${entity.name} has no run queue any more`);
    const sched = rq.sched;
    this.sched = sched;
    this.priority = entity.priority;
    this.id = ++sched.jobIdCount;
    this.sFence = new DrmSchedFence(sched.sim, sched, this.owner, entity.fenceContext, ++entity.fenceSeq);
    this.state = "armed";
  }

  /**
   * `drm_sched_job_add_dependency(job, fence)`: the job will not run before `fence` signals.
   * Consumes the caller's reference. A fence from a context already present replaces the earlier
   * one only if it is later; otherwise it is dropped. Null is accepted and ignored. Only before
   * `pushJob` (`EINVAL` after, the reference dropped).
   */
  addDependency(fence: DmaFence | null): void {
    if (fence === null) return;
    if (this.state !== "init" && this.state !== "armed") {
      fence.put();
      throw new KernelError(
        "EINVAL",
        `drm_sched_job_add_dependency: job ${this.describe()} is past dependency collection`,
      );
    }
    const ctx = fence.context;
    if (this.deps === NO_DEPS) this.deps = new Map();
    const prev = this.deps.get(ctx);
    if (prev === undefined) {
      this.deps.set(ctx, fence);
      return;
    }
    if (prev !== fence && dmaFenceIsLater(fence, prev)) {
      // Map.set on an existing key keeps its position: the later fence takes the earlier one's slot.
      this.deps.set(ctx, fence);
      prev.put();
    } else fence.put();
  }

  /**
   * `drm_sched_job_add_resv_dependencies(job, resv, usage)`: every unsignalled fence of `resv` at
   * `usage` (and stricter), walked under the reservation lock, which the caller must hold (the
   * walk reports it otherwise).
   */
  addResvDependencies(resv: DmaResv, usage: DmaResvUsage): void {
    for (const f of dmaResvForEachFence(new DmaResvIter(resv, usage))) this.addDependency(f.get());
  }

  /**
   * `drm_sched_job_add_implicit_dependencies(job, obj, write)`: implicit sync on a GEM object
   * (anything with a `resv`). A writer waits for readers and writers, a reader for writers
   * (`dma_resv_usage_rw`).
   */
  addImplicitDependencies(obj: { resv: DmaResv }, write: boolean): void {
    this.addResvDependencies(obj.resv, dmaResvUsageRw(write));
  }

  /**
   * `drm_sched_job_add_syncobj_dependency(job, file, handle, point)`: the fence behind a syncobj
   * (timeline point), looked up with flags 0. Lookup errors propagate (`ENOENT`, `EINVAL`).
   */
  addSyncobjDependency(lookup: DrmSchedSyncobjLookup, handle: number, point: number): void {
    this.addDependency(lookup.findFence(handle, point, 0));
  }

  /** `drm_sched_job_has_dependency(job, fence)`. */
  hasDependency(fence: DmaFence): boolean {
    return this.deps.get(fence.context) === fence;
  }

  /**
   * `drm_sched_job_cleanup()`: drops the dependencies and, once armed, the job's reference to its
   * finished fence. Called by the driver's `freeJob`, or to abort a job before `arm()`.
   */
  cleanup(): void {
    if (this.state === "cleaned") return;
    const deps = this.deps;
    // Most jobs never had a dependency: no iterator to make for the shared empty map.
    if (deps !== NO_DEPS) {
      for (const f of deps.values()) f.put();
      this.deps = NO_DEPS;
    }
    const s = this.sFence;
    if (s !== null && this.state !== "init") s.finished.put();
    this.state = "cleaned";
  }

  /** `drm_sched_job_is_signaled`-style check: the finished fence has signalled. */
  get isFinished(): boolean {
    return this.sFence?.finished.signaled === true;
  }

  /** `job 12 (entity gfx-client/0 ctx 5#3)` for reports. */
  describe(): string {
    const s = this.sFence;
    return s === null
      ? `job (unarmed) on ${this.entity.name}`
      : `job ${this.id} (${this.entity.name} ${s.finished.context}#${s.finished.seqno})`;
  }

  private requireArmed(what: string): DrmSchedFence {
    const s = this.sFence;
    if (s === null) {
      const sim = this.entity.sim;
      const ctx = sim.current;
      sim.validator.report({
        kind: "sched-job-misuse",
        title: `${what} fence of ${this.describe()} read before drm_sched_job_arm()`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation: "A job's fences exist only after arm(); publish them after arming, before pushing.",
      });
      throw new KernelError("EINVAL", `${what} fence of ${this.describe()} does not exist before arm()`);
    }
    return s;
  }
}
