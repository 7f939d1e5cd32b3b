/**
 * `struct drm_gpu_scheduler` (`sched_main.c`): picks jobs from entities, hands them to the driver
 * when their dependencies have signalled and enough credits are free, tracks them until their
 * hardware fence signals, and recovers from hangs (TDR).
 *
 * The main loop is work-item driven, as in the current kernel: `drm_sched_run_job_work` runs one
 * job per invocation and re-queues itself; `drm_sched_free_job_work` frees finished jobs in
 * pending-list order; `drm_sched_job_timedout` is a delayed work on the timeout queue. The
 * submission work runs inside a dma-fence signalling section — it is on the path that signals
 * every finished fence — so a driver whose `prepareJob`/`runJob` allocates with `GFP_KERNEL` or
 * waits on a fence is reported on the first job, not under memory pressure in production.
 *
 * drmsim difference, on purpose: a job whose finished fence already carries an error when it is
 * picked (a dependency failed, or its entity is guilty → `-ECANCELED`) is not given to `runJob`;
 * its fences signal with that error. In the kernel each driver's `run_job` has to check this
 * itself (amdgpu does); here every driver gets it.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import {
  DelayedWork,
  ERRNO,
  type Frame,
  frameList,
  isKernelError,
  KernelError,
  MAX_SCHEDULE_TIMEOUT,
  type Simulator,
  type TrackRef,
  WaitQueue,
  Work,
  WorkQueue,
} from "@drmsim/runtime";
import { type DrmSchedEntity, systemWq } from "./entity.js";
import type { DrmSchedJob } from "./job.js";
import {
  DRM_SCHED_PRIORITY_COUNT,
  type DrmGpuSchedStat,
  type DrmSchedBackendOps,
  type DrmSchedPolicy,
  DrmGpuSchedStat as Stat,
} from "./ops.js";
import { DrmSchedRq } from "./run-queue.js";
import { installSchedProgress } from "./sched-progress.js";
import { probeCredits, traceHwFence, traceJobFinished } from "./sched-trace.js";
import { type DrmSchedJobTraceArgs, traceDrmRunJob, traceDrmSchedProcessJob } from "./trace.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** Queued jobs that the scheduler will never pick, with no fence left to wait for. */
    "sched-stall": true;
    /** `drm_sched_fini` with jobs still pending and no `cancelJob` op: they leak. */
    "sched-fini-pending": true;
  }
}

/** A score shared between schedulers (`atomic_t *score`): jobs and entities on them. */
export interface DrmSchedScore {
  value: number;
}

/** `struct drm_sched_init_args`. */
export interface DrmSchedInitArgs {
  ops: DrmSchedBackendOps;
  /** Used in fence timeline names, traces and reports. */
  name: string;
  /** Run queues = priorities served (≤ `DRM_SCHED_PRIORITY_COUNT`, default all four). Ignored (1) for `fair`. */
  numRqs?: number;
  /** Credits available to jobs in flight (`credit_limit`), ≥ 1. */
  creditLimit: number;
  /** Deprecated: hangs a job may cause before its entity is marked guilty (default 0). */
  hangLimit?: number;
  /** Job timeout for the TDR, in virtual ns; undefined (or `MAX_SCHEDULE_TIMEOUT`) disables it. */
  timeoutNs?: number;
  /** A score shared with other schedulers (load balancing); default a private one. */
  score?: DrmSchedScore;
  /** Submission workqueue; default an ordered `WQ_MEM_RECLAIM` queue owned by the scheduler. */
  submitWq?: WorkQueue;
  /** Workqueue for the TDR; default the system workqueue. */
  timeoutWq?: WorkQueue;
  /** Entity selection (default `fifo`). */
  policy?: DrmSchedPolicy;
  /** Trace process the scheduler's track belongs to (the device); default `drm_sched`. */
  device?: string;
}

/** Counters of one scheduler. */
export interface DrmSchedStats {
  /** Jobs given to `runJob`. */
  run: number;
  /** Jobs finished without `runJob` because their finished fence already carried an error. */
  skipped: number;
  /** Finished fences signalled by this scheduler. */
  finished: number;
  /** Jobs freed (`freeJob`). */
  freed: number;
  /** TDR expiries. */
  timeouts: number;
  /** Highest credit count seen. */
  maxCredits: number;
}

const SCHEDULERS = {};
const VRUNTIME_SHIFT = [1, 2, 4, 7];
/** Jobs run (or freed) per work-item invocation. */
const RUN_BATCH = 64;

/** `struct drm_gpu_scheduler`. `new DrmGpuScheduler(sim, args)` is `drm_sched_init`. */
export class DrmGpuScheduler {
  readonly ops: DrmSchedBackendOps;
  readonly name: string;
  readonly numRqs: number;
  readonly creditLimit: number;
  readonly hangLimit: number;
  /** Timeout in ns, `Infinity` when the TDR is disabled. */
  readonly timeoutNs: number;
  readonly policy: DrmSchedPolicy;
  readonly submitWq: WorkQueue;
  readonly timeoutWq: WorkQueue;
  /** `sched->sched_rq[]`. */
  readonly rqs: readonly DrmSchedRq[];
  /** `sched->credit_count`: credits of jobs handed to the hardware and not yet done. */
  creditCount = 0;
  /** `sched->job_id_count`. */
  jobIdCount = 0;
  /** `sched->ready`: false after `fini()`. */
  ready = true;
  /** `sched->pause_submit`: set by `stop()` / `wqueueStop()`. */
  paused = false;
  /** `sched->job_scheduled`: woken whenever a job was handed out or an entity killed. */
  readonly jobScheduled: WaitQueue;
  /** The scheduler's trace track. */
  readonly track: TrackRef;
  readonly stats: DrmSchedStats = { run: 0, skipped: 0, finished: 0, freed: 0, timeouts: 0, maxCredits: 0 };
  private readonly scoreRef: DrmSchedScore;
  /**
   * `sched->pending_list`, oldest first: a singly linked list through the jobs' `queueNext`, as the
   * kernel links `job->list`. A job is on it only after it left its entity's queue, so the one
   * link serves both (no field more per job). No array: the array with a moving head had to be
   * compacted every thousand jobs and regrew after each compaction (about 30 bytes of garbage
   * and copying per job).
   */
  private pFirst: DrmSchedJob | null = null;
  private pLast: DrmSchedJob | null = null;
  private pCount = 0;
  private readonly runWork: Work;
  private readonly freeWork: Work;
  private readonly tdrWork: DelayedWork;
  private freeGuilty = false;
  private submitSeq = 0;
  /** The `drm_sched_run_job_work` frame `freeJobWork` last pushed, kept for reuse. */
  private runFrame: Frame | null = null;
  /** True while `freeJobWork` frees jobs: it runs submission next, so `wakeup()` need not queue it. */
  private runFollows = false;

  /**
   * `drm_sched_init(sched, args)`. `EINVAL` for `numRqs` outside 1..4, a credit limit below 1, a
   * negative hang limit or timeout, or ops without `runJob`/`timedoutJob`/`freeJob`.
   */
  constructor(
    readonly sim: Simulator,
    args: DrmSchedInitArgs,
  ) {
    const ops = args?.ops;
    if (
      typeof ops?.runJob !== "function" ||
      typeof ops.timedoutJob !== "function" ||
      typeof ops.freeJob !== "function"
    )
      throw new KernelError(
        "EINVAL",
        "drm_sched_init: ops.runJob, ops.timedoutJob and ops.freeJob are mandatory",
      );
    const policy = args.policy ?? "fifo";
    if (policy !== "fifo" && policy !== "rr" && policy !== "fair")
      throw new KernelError("EINVAL", `drm_sched_init: unknown policy ${String(policy)}`);
    const numRqs = args.numRqs ?? DRM_SCHED_PRIORITY_COUNT;
    if (!Number.isInteger(numRqs) || numRqs < 1 || numRqs > DRM_SCHED_PRIORITY_COUNT)
      throw new KernelError(
        "EINVAL",
        `drm_sched_init: numRqs must be 1..${DRM_SCHED_PRIORITY_COUNT}, got ${numRqs}`,
      );
    if (!Number.isInteger(args.creditLimit) || args.creditLimit < 1)
      throw new KernelError(
        "EINVAL",
        `drm_sched_init: creditLimit must be an integer >= 1, got ${args.creditLimit}`,
      );
    const hang = args.hangLimit ?? 0;
    if (!Number.isInteger(hang) || hang < 0)
      throw new KernelError("EINVAL", `drm_sched_init: hangLimit must be >= 0, got ${hang}`);
    const t = args.timeoutNs;
    if (t !== undefined && !(t > 0))
      throw new KernelError(
        "EINVAL",
        `drm_sched_init: timeoutNs must be > 0 (or undefined for no timeout), got ${t}`,
      );
    this.ops = ops;
    this.name = args.name;
    this.policy = policy;
    this.numRqs = numRqs;
    this.creditLimit = args.creditLimit;
    this.hangLimit = hang;
    this.timeoutNs = t === undefined || t >= MAX_SCHEDULE_TIMEOUT ? Number.POSITIVE_INFINITY : t;
    this.scoreRef = args.score ?? { value: 0 };
    this.submitWq = args.submitWq ?? new WorkQueue(sim, args.name, { ordered: true, memReclaim: true });
    this.timeoutWq = args.timeoutWq ?? systemWq(sim);
    const rqs: DrmSchedRq[] = [];
    const n = policy === "fair" ? 1 : numRqs;
    for (let i = 0; i < n; i++) rqs.push(new DrmSchedRq(this, i, policy));
    this.rqs = rqs;
    this.jobScheduled = new WaitQueue(sim, `${args.name}->job_scheduled`);
    this.track = { process: args.device ?? "drm_sched", thread: args.name };
    this.runWork = new Work(() => this.runJobWork(), "drm_sched_run_job_work");
    this.freeWork = new Work(() => this.freeJobWork(), "drm_sched_free_job_work");
    this.tdrWork = new DelayedWork(() => this.jobTimedout(), "drm_sched_job_timedout");
    if (sim.validator.enabled) registerScheduler(sim, this);
    this.unprobe = probeCredits(this);
  }

  /** Stops the credits counter (`fini`). */
  private readonly unprobe: () => void;
  /** @internal The run-job work item (`sched->work_run_job`): what a ready job waits for. */
  get runWorkItem(): Work {
    return this.runWork;
  }

  /** `sched->score` (shared when `args.score` was given). */
  get score(): number {
    return this.scoreRef.value;
  }
  set score(v: number) {
    this.scoreRef.value = v;
  }

  /** The run queue an entity of `priority` joins. */
  rqFor(priority: number): DrmSchedRq {
    if (this.policy === "fair") return this.rqs[0]!;
    return this.rqs[Math.min(priority, this.rqs.length - 1)]!;
  }

  /** Jobs handed to the hardware and not yet freed (`pending_list`), oldest first. */
  pendingJobs(): DrmSchedJob[] {
    const out: DrmSchedJob[] = [];
    for (let j = this.pFirst; j !== null; j = j.queueNext) out.push(j);
    return out;
  }

  /** Number of pending jobs. */
  get pendingCount(): number {
    return this.pCount;
  }

  /** `drm_sched_available_credits`. */
  get availableCredits(): number {
    return this.creditLimit - this.creditCount;
  }

  // --- submission -----------------------------------------------------------------------------

  /**
   * `drm_sched_wakeup` / `drm_sched_run_job_queue`: queue the run-job work unless stopped. While
   * the free work frees jobs it is not queued: the free work runs submission right after, at the
   * same instant on the same queue (see `freeJobWork`), so the queued item would only find the
   * work done. (A driver's `freeJob` pushing its next job — one entity's first — wakes the
   * scheduler once per job: with thousands of entities that was a second work item per job.)
   */
  wakeup(): void {
    if (!this.paused && !this.runFollows) this.submitWq.queueWork(this.runWork);
  }

  /** @internal */
  nextSubmitSeq(): number {
    return ++this.submitSeq;
  }

  /**
   * `drm_sched_can_queue`: the head job of `entity` fits the free credits. A head job above the
   * limit (its entity moved to a smaller scheduler) is truncated here, as the kernel does.
   */
  canQueue(entity: DrmSchedEntity): boolean {
    const job = entity.peek();
    if (job === undefined) return false;
    if (job.credits > this.creditLimit) this.truncateCredits(job);
    return this.creditLimit - this.creditCount >= job.credits;
  }

  /** @internal Truncates a job's credits to the limit, reporting `sched-credits-truncated`. */
  truncateCredits(job: DrmSchedJob): void {
    if (job.credits <= this.creditLimit) return;
    const asked = job.credits;
    job.credits = this.creditLimit;
    const ctx = this.sim.current;
    this.sim.validator.report({
      kind: "sched-credits-truncated",
      title: `${job.describe()} asks for ${asked} credits but ${this.name} has only ${this.creditLimit}; truncated`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation:
        "A job larger than the scheduler's credit limit could never run. The kernel WARNs and truncates it so it can run alone (forward progress). Size jobs within the limit, or raise the limit.",
    });
  }

  /**
   * `drm_sched_select_entity`: scans run queues from KERNEL priority down; the first ready entity
   * whose head job does not fit the free credits stops the scan (no lower priority may overtake).
   */
  private selectEntity(): DrmSchedEntity | null {
    const rqs = this.rqs;
    for (let i = 0; i < rqs.length; i++) {
      const e = rqs[i]!.select();
      if (e === "ENOSPC") return null;
      if (e !== null) return e;
    }
    return null;
  }

  /**
   * `drm_sched_run_job_work`: hand jobs to the hardware. The kernel runs one job per invocation
   * and re-queues the work; drmsim runs up to `RUN_BATCH` per invocation — the same picks at the
   * same virtual instant, without a work-queue round trip per job — then re-queues itself.
   */
  private runJobWork(): void {
    if (this.paused) return;
    const v = this.sim.validator;
    const cookie = v.beginSignalling();
    try {
      for (let n = 0; n < RUN_BATCH; n++) {
        // No credit left: nothing fits (a job takes at least one), so the scan would stop at the
        // first ready entity anyway. Until a job completes, as `drm_sched_can_queue` answers.
        if (this.paused || this.creditCount >= this.creditLimit) return;
        const entity = this.selectEntity();
        if (entity === null) return;
        const job = entity.popJob();
        // null: the entity now waits on a dependency; another one may be ready.
        if (job !== null) this.runOne(job);
      }
      this.wakeup();
    } finally {
      v.endSignalling(cookie);
    }
  }

  /** The body of `drm_sched_run_job_work` for one popped job. */
  private runOne(job: DrmSchedJob): void {
    const sim = this.sim;
    this.creditCount += job.credits;
    if (this.creditCount > this.stats.maxCredits) this.stats.maxCredits = this.creditCount;
    this.jobBegin(job);
    if (sim.tracer.on) sim.tracer.instant(traceDrmRunJob, this.track, this.jobTraceArgs(job));
    const s = job.sFence!;
    job.runTs = sim.now;
    job.state = "running";
    let fence: DmaFence | null = null;
    let err = s.finished.error;
    if (err === 0) {
      this.stats.run++;
      const r = this.callRunJob(job);
      if (typeof r === "number") err = r;
      else {
        fence = r;
        if (sim.tracer.on && r !== null) traceHwFence(this, r);
      }
    } else this.stats.skipped++;
    s.signalScheduled(fence);
    if (fence !== null) {
      if (fence.addCallback(job.cb) !== 0) this.jobDone(job, fence.error);
      fence.put();
    } else this.jobDone(job, err);
    if (this.jobScheduled.active > 0) this.jobScheduled.wakeUpAll();
  }

  /** `drm_sched_job_begin`: onto the pending list; the TDR starts if the list was empty. */
  private jobBegin(job: DrmSchedJob): void {
    const last = this.pLast;
    if (last === null) this.pFirst = job;
    else last.queueNext = job;
    this.pLast = job;
    this.pCount++;
    this.startTimeout();
  }

  /**
   * `drm_sched_job_done`: the hardware fence signalled (or the job finished without one). Returns
   * the credits, signals the finished fence with `result`, and queues the free work. Runs in the
   * hardware fence's callback — irq context, inside its signalling section.
   */
  jobDone(job: DrmSchedJob, result: number): void {
    const sim = this.sim;
    this.creditCount -= job.credits;
    this.score--;
    job.state = "done";
    const s = job.sFence!;
    if (sim.tracer.on)
      sim.tracer.instant(traceDrmSchedProcessJob, this.track, {
        fenceContext: s.finished.context,
        seqno: s.finished.seqno,
        error: result,
      });
    if (this.policy === "fair" && job.runTs >= 0) {
      const e = job.entity;
      e.vruntime += (sim.now - job.runTs + 1) * 2 ** (VRUNTIME_SHIFT[job.priority] ?? 4);
      e.rq?.refresh(e);
    }
    this.stats.finished++;
    if (sim.tracer.on) traceJobFinished(job, result);
    s.signalFinished(result);
    if (!this.paused) this.submitWq.queueWork(this.freeWork);
  }

  /** `drm_sched_get_finished_job`: the head of the pending list, if its finished fence signalled. */
  private getFinishedJob(): DrmSchedJob | null {
    const job = this.pFirst;
    if (job === null || !job.sFence!.finished.signaled) return null;
    this.pendingShift(job);
    // The next job's clock starts now: re-arm the TDR for it (if there is one).
    if (this.timeoutNs !== Number.POSITIVE_INFINITY) {
      this.timeoutWq.cancelWork(this.tdrWork);
      this.startTimeout();
    }
    return job;
  }

  /**
   * `drm_sched_free_job_work`: frees finished jobs in pending-list order (up to `RUN_BATCH` per
   * invocation; the kernel frees one and re-queues), then runs submission. The kernel queues the
   * run-job work at that point; both items live on the same ordered queue at the same instant,
   * so drmsim runs it inline (under its own frame) and saves a work-queue round trip per job.
   */
  private freeJobWork(): void {
    this.runFollows = true;
    try {
      for (let n = 0; n < RUN_BATCH; n++) {
        if (this.paused) return;
        const job = this.getFinishedJob();
        if (job === null) break;
        this.callFreeJob(job);
      }
    } finally {
      this.runFollows = false;
    }
    const next = this.pFirst;
    if (next !== null && next.sFence!.finished.signaled) this.submitWq.queueWork(this.freeWork);
    const ctx = this.sim.current;
    // Frames are immutable: when the backtrace below is the usual one, reuse the frame made for
    // it rather than allocate one per invocation.
    const below = ctx.frame;
    let f = this.runFrame;
    if (f === null || f.parent !== below) {
      f = { name: "drm_sched_run_job_work", parent: below };
      this.runFrame = f;
    }
    ctx.frame = f;
    try {
      this.runJobWork();
    } finally {
      ctx.popFrame();
    }
  }

  // --- driver ops: every call into the driver goes through these -------------------------------

  /** @internal `ops->prepare_job`, inside the submission's signalling section. */
  callPrepareJob(job: DrmSchedJob, entity: DrmSchedEntity): DmaFence | null {
    const prepare = this.ops.prepareJob;
    if (prepare === undefined) return null;
    try {
      return prepare.call(this.ops, job, entity) ?? null;
    } catch (e) {
      // prepare_job has no error return in the kernel; a driver error fails the job instead.
      if (!isKernelError(e)) throw e;
      const f = job.sFence!.finished;
      if (f.error === 0) f.setError(e.errno);
      return null;
    }
  }

  /** @internal `ops->run_job`: a fence, null, or a negative errno. */
  callRunJob(job: DrmSchedJob): DmaFence | null | number {
    let r: DmaFence | null | number;
    try {
      r = this.ops.runJob(job);
    } catch (e) {
      if (isKernelError(e)) return e.errno;
      throw e;
    }
    if (typeof r === "number") return r < 0 ? r : -ERRNO.EINVAL;
    return r ?? null;
  }

  /** @internal `ops->timedout_job`, inside a signalling section. */
  callTimedoutJob(job: DrmSchedJob): DrmGpuSchedStat {
    const v = this.sim.validator;
    const cookie = v.beginSignalling();
    try {
      return this.ops.timedoutJob(job);
    } finally {
      v.endSignalling(cookie);
    }
  }

  /** @internal `ops->free_job`. */
  callFreeJob(job: DrmSchedJob): void {
    this.stats.freed++;
    this.ops.freeJob(job);
  }

  /** @internal `ops->cancel_job`. */
  callCancelJob(job: DrmSchedJob): void {
    this.ops.cancelJob?.(job);
  }

  // --- timeout and recovery -------------------------------------------------------------------

  /** `drm_sched_start_timeout`: arm the TDR if enabled, jobs are pending and it is not armed. */
  private startTimeout(): void {
    if (this.timeoutNs !== Number.POSITIVE_INFINITY && this.pendingCount > 0)
      this.timeoutWq.queueDelayedWork(this.tdrWork, this.timeoutNs);
  }

  /** `drm_sched_job_timedout`: the oldest pending job exceeded the timeout. */
  private jobTimedout(): void {
    let status: DrmGpuSchedStat = Stat.RESET;
    const job = this.pFirst;
    if (job !== null) {
      this.stats.timeouts++;
      // Off the list while the driver handles it, so the free work cannot free it under us.
      this.pendingShift(job);
      status = this.callTimedoutJob(job);
      // drm_sched_job_reinsert_on_false_timeout: it is still running; back to the head.
      if (status === Stat.NO_HANG) this.pendingUnshift(job);
      if (this.freeGuilty) {
        this.freeGuilty = false;
        this.callFreeJob(job);
      }
    }
    if (status !== Stat.ENODEV) this.startTimeout();
  }

  /** `drm_sched_fault`: run the timeout handler now (a driver saw a hang interrupt). */
  fault(): void {
    if (this.timeoutNs === Number.POSITIVE_INFINITY) return;
    this.timeoutWq.modDelayedWork(this.tdrWork, 0);
  }

  /** `drm_sched_wqueue_stop`: no more run/free work until `wqueueStart`. */
  wqueueStop(): void {
    this.paused = true;
    this.submitWq.cancelWork(this.runWork);
    this.submitWq.cancelWork(this.freeWork);
  }

  /** `drm_sched_wqueue_start`. */
  wqueueStart(): void {
    this.paused = false;
    this.submitWq.queueWork(this.runWork);
    this.submitWq.queueWork(this.freeWork);
  }

  /** `drm_sched_wqueue_ready` / `drm_sched_is_stopped` inverse. */
  get isStopped(): boolean {
    return this.paused;
  }

  /**
   * `drm_sched_stop(sched, bad)`: stops submission, and — newest first — detaches every pending
   * job from its hardware fence (returning its credits) or, if that fence already signalled,
   * frees it (the bad job is kept and freed after the timeout handler). Cancels the TDR.
   */
  stop(bad: DrmSchedJob | null = null): void {
    this.wqueueStop();
    let list = this.pendingJobs();
    if (bad !== null && bad.sched === this && !list.includes(bad)) {
      this.pendingUnshift(bad);
      list = this.pendingJobs();
    }
    for (let i = list.length - 1; i >= 0; i--) {
      const job = list[i]!;
      const s = job.sFence!;
      const parent = s.parent;
      if (parent?.removeCallback(job.cb)) {
        s.parent = null;
        parent.put();
        this.creditCount -= job.credits;
      } else {
        this.pendingRemove(job);
        if (job !== bad) this.callFreeJob(job);
        else this.freeGuilty = true;
      }
    }
    this.timeoutWq.cancelWork(this.tdrWork);
  }

  /**
   * `drm_sched_start(sched, errno)`: re-attach pending jobs to their hardware fences (returning
   * their credits). A job without one finishes with `errno` (or `-ECANCELED`); one whose fence
   * already signalled finishes with that fence's error (or `errno`). Restarts TDR and submission.
   */
  start(errno = 0): void {
    for (const job of this.pendingJobs()) {
      const parent = job.sFence!.parent;
      this.creditCount += job.credits;
      if (parent === null) {
        this.jobDone(job, errno !== 0 ? errno : -ERRNO.ECANCELED);
        continue;
      }
      if (parent.addCallback(job.cb) !== 0) this.jobDone(job, parent.error !== 0 ? parent.error : errno);
    }
    this.startTimeout();
    this.wqueueStart();
  }

  /**
   * `drm_sched_resubmit_jobs` (deprecated): calls `runJob` again for every pending job; the jobs of
   * the first context whose job exceeded `hangLimit` get `-ECANCELED`. Call between `stop()` and
   * `start()`.
   */
  resubmitJobs(): void {
    let guiltyCtx = -1;
    for (const job of this.pendingJobs()) {
      const s = job.sFence!;
      // The scheduled fences' context is the one below the finished fences' (asked without
      // creating a scheduled fence nobody asked for).
      if (guiltyCtx < 0 && job.karma > this.hangLimit) guiltyCtx = s.finished.context - 1;
      if (
        guiltyCtx >= 0 &&
        s.finished.context - 1 === guiltyCtx &&
        !s.finished.signaled &&
        s.finished.error === 0
      )
        s.finished.setError("ECANCELED");
      const old = s.parent;
      s.parent = null;
      old?.put();
      const v = this.sim.validator;
      const cookie = v.beginSignalling();
      let r: DmaFence | null | number;
      try {
        r = this.callRunJob(job);
      } finally {
        v.endSignalling(cookie);
      }
      if (typeof r === "number") {
        if (!s.finished.signaled) s.finished.setError(r);
      } else if (r !== null) s.parent = r;
    }
  }

  /**
   * `drm_sched_increase_karma`: count a hang against `bad`; past `hangLimit` its entity (if it has
   * a guilty flag) is marked guilty, so its later jobs finish with `-ECANCELED`.
   */
  increaseKarma(bad: DrmSchedJob): void {
    if (bad.priority === 0) return;
    bad.karma++;
    const g = bad.entity.guilty;
    if (g !== null && bad.karma > this.hangLimit) g.value = true;
  }

  /** `drm_sched_for_each_pending_job`: only meaningful while stopped (the kernel WARNs otherwise). */
  forEachPendingJob(fn: (job: DrmSchedJob) => void): void {
    for (const job of this.pendingJobs()) fn(job);
  }

  /**
   * `drm_sched_fini`: stop, cancel (`cancelJob`) and free pending jobs newest first, mark attached
   * entities stopped, cancel the TDR. Without `cancelJob` pending jobs are left behind and
   * reported (`sched-fini-pending`), as the kernel warns.
   */
  fini(): void {
    this.unprobe();
    this.wqueueStop();
    if (this.ops.cancelJob !== undefined) {
      // Newest first; each job leaves the list before the driver sees it.
      const list = this.pendingJobs();
      for (let i = list.length - 1; i >= 0; i--) {
        const job = list[i]!;
        this.pendingRemove(job);
        this.callCancelJob(job);
        this.callFreeJob(job);
      }
    }
    for (const rq of this.rqs) for (const e of rq.entities) e.stopped = true;
    this.jobScheduled.wakeUpAll();
    this.timeoutWq.cancelWork(this.tdrWork);
    this.ready = false;
    if (this.pCount > 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "sched-fini-pending",
        title: `drm_sched_fini(${this.name}) with ${this.pCount} job(s) still pending and no cancelJob op`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        details: this.pendingJobs()
          .slice(0, 10)
          .map((j) => j.describe()),
        explanation:
          "Tearing a scheduler down while jobs run leaks them (the kernel: 'Tearing down scheduler while jobs are pending!'). Implement cancelJob, or wait for the jobs first.",
      });
    }
  }

  /** Takes `job`, the head, off the pending list. */
  private pendingShift(job: DrmSchedJob): void {
    const next = job.queueNext;
    this.pFirst = next;
    if (next === null) this.pLast = null;
    else job.queueNext = null;
    this.pCount--;
  }

  /** Puts `job` (on no list) at the head of the pending list. */
  private pendingUnshift(job: DrmSchedJob): void {
    job.queueNext = this.pFirst;
    this.pFirst = job;
    if (this.pLast === null) this.pLast = job;
    this.pCount++;
  }

  /** Takes `job` off the pending list wherever it is (recovery paths only: a walk). */
  private pendingRemove(job: DrmSchedJob): void {
    let prev: DrmSchedJob | null = null;
    for (let j = this.pFirst; j !== null; prev = j, j = j.queueNext) {
      if (j !== job) continue;
      const next = j.queueNext;
      if (prev === null) this.pFirst = next;
      else prev.queueNext = next;
      if (this.pLast === j) this.pLast = prev;
      j.queueNext = null;
      this.pCount--;
      return;
    }
  }

  // --- tracing and diagnosis ------------------------------------------------------------------

  /** @internal */
  jobTraceArgs(job: DrmSchedJob): DrmSchedJobTraceArgs {
    const f = job.sFence!.finished;
    return {
      name: this.name,
      id: job.id,
      fenceContext: f.context,
      seqno: f.seqno,
      jobCount: job.entity.jobCount,
      creditCount: this.creditCount,
    };
  }

  /**
   * Why queued jobs are not moving, per entity — empty when every queued job either waits on a
   * fence or will be picked. The `sched-stall` check at teardown reports these; call it yourself
   * when the simulation went quiet to explain a hang.
   */
  stalls(): { entity: DrmSchedEntity; job: DrmSchedJob; reason: string }[] {
    const out: { entity: DrmSchedEntity; job: DrmSchedJob; reason: string }[] = [];
    const seen = new Set<DrmSchedEntity>();
    for (const rq of this.rqs) {
      for (const e of rq.entities) {
        seen.add(e);
        const job = e.peek();
        if (job === undefined || e.dependency !== null) continue;
        let reason: string;
        if (e.stopped) reason = `entity ${e.name} was killed/stopped, yet holds queued jobs`;
        else if (this.paused)
          reason = `submission on ${this.name} is stopped (drm_sched_stop / wqueue_stop) and nothing restarted it`;
        else if (!this.ready) reason = `${this.name} was torn down (drm_sched_fini)`;
        else if (this.availableCredits < job.credits)
          reason = `the job needs ${job.credits} credits but only ${this.availableCredits} of ${this.creditLimit} are free, and ${this.pendingCount} pending job(s) hold the rest`;
        else
          reason =
            "the job is runnable and waits on no fence, but no run-job work is queued (a lost wake-up)";
        if (this.submitWq.queued > 0 && !this.paused) continue;
        out.push({ entity: e, job, reason });
      }
    }
    return out;
  }
}

function registerScheduler(sim: Simulator, sched: DrmGpuScheduler): void {
  const list = sim.subsystem(SCHEDULERS, () => {
    installSchedProgress(sim);
    const l: DrmGpuScheduler[] = [];
    sim.onTeardown(() => {
      for (const s of l) {
        for (const { entity, job, reason } of s.stalls()) {
          sim.validator.report({
            kind: "sched-stall",
            title: `${job.describe()} on ${s.name} will never run: ${reason}`,
            context: sim.mainContext.label,
            details: [
              `entity ${entity.name}: ${entity.jobCount} queued job(s), waiting on no fence`,
              `scheduler ${s.name}: ${s.creditCount}/${s.creditLimit} credits in use, ${s.pendingCount} pending`,
            ],
            explanation:
              "A scheduler job may depend on fences and nothing else: the scheduler re-checks a job only when a fence it waits on signals or a job completes. A condition outside those (a boolean 'can run' check, a stopped queue nobody restarts) has no wake-up, so the job sits forever. Express it as a fence from prepareJob, or as credits.",
          });
        }
      }
    });
    return l;
  });
  list.push(sched);
}
