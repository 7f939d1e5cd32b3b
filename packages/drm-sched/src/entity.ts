/**
 * `struct drm_sched_entity` (`sched_entity.c`): a submission queue — usually one per userspace
 * context and engine — feeding one of a list of schedulers.
 *
 * Jobs of one entity run in push order. The entity owns two fence contexts (scheduled, finished)
 * and remembers the finished fence of the last job it handed out (`lastScheduled`), which is what
 * kill ordering and load balancing look at.
 */
import type { DmaFence, DmaFenceCb } from "@drmsim/dma-fence";
import { dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  ERRNO,
  type ExecutionContext,
  frameList,
  isKernelError,
  KernelError,
  type Simulator,
  secs,
  Work,
  WorkQueue,
} from "@drmsim/runtime";
import type { DrmSchedJob } from "./job.js";
import type { DrmSchedRq } from "./run-queue.js";
import { DRM_SCHED_FENCE_DONT_PIPELINE, toDrmSchedFence } from "./sched-fence.js";
import {
  traceEntityFences,
  traceEntityQueue,
  traceJobFinished,
  traceJobQueued,
  traceJobWaits,
} from "./sched-trace.js";
import type { DrmGpuScheduler } from "./scheduler.js";
import { traceDrmSchedJob, traceDrmSchedJobWaitDep } from "./trace.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A job was pushed to an entity that was already killed (it will never run). */
    "sched-push-to-killed-entity": true;
  }
}

/** `guilty`: shared flag the driver passes so a hang can mark a whole context as guilty. */
export interface DrmSchedGuilty {
  value: boolean;
}

const SYSTEM_WQ = {};
/** `system_wq`: the shared workqueue for kill work and schedulers without a timeout queue. */
export function systemWq(sim: Simulator): WorkQueue {
  return sim.subsystem(SYSTEM_WQ, () => new WorkQueue(sim, "events", { maxActive: 4 }));
}

/** `struct drm_sched_entity`. */
export class DrmSchedEntity {
  // Fields are `declare`d and assigned in the constructor rather than written as class fields
  // (V8 inlines such a constructor), and the name and the dependency callback are made when first
  // needed: a client that creates an entity per submission — or a benchmark with 65,536 of them —
  // pays for the entity on every job.
  /** `entity->rq`: null when it has no scheduler. */
  declare rq: DrmSchedRq | null;
  /** `entity->priority`. */
  declare priority: number;
  /** `entity->sched_list` (null once pinned to its only scheduler). */
  declare schedList: DrmGpuScheduler[] | null;
  /** `entity->fence_context`: scheduled fences; finished fences use `fenceContext + 1`. */
  declare readonly fenceContext: number;
  /** `entity->fence_seq`. */
  declare fenceSeq: number;
  /** `entity->last_scheduled`: finished fence of the last job popped (a reference). */
  declare lastScheduled: DmaFence | null;
  /** `entity->dependency`: the fence the head job waits on now. */
  declare dependency: DmaFence | null;
  /** `entity->stopped`: killed; nothing it holds will run. */
  declare stopped: boolean;
  /** `entity->guilty`. */
  declare readonly guilty: DrmSchedGuilty | null;
  /** `entity->last_user`: the context that pushed last (for kill-on-SIGKILL in `flush`). */
  declare lastUser: ExecutionContext | null;
  /** Fair policy: priority-weighted GPU time used. */
  declare vruntime: number;
  /** @internal */ declare rqMember: boolean;
  /** @internal Index in `rq.entities`. */ declare rqPos: number;
  /** @internal */ declare heapIndex: number;
  /** @internal */ declare heapKey: number;
  /** @internal */ declare heapTie: number;
  /** @internal Absolute slot in the run queue's FIFO arrival list, -1 when not in it. */
  declare ordPos: number;
  /**
   * @internal The job queue (`entity->job_queue`, an spsc queue): a singly linked list through
   * the jobs' `queueNext`, as the kernel links `job->queue_node`. No array per entity: the pick
   * reaches the head job straight from the entity, one memory load fewer per job when thousands
   * of entities take turns (each one cold in the cache), and nothing to compact.
   */
  declare private qFirst: DrmSchedJob | null;
  declare private qLast: DrmSchedJob | null;
  /** `spsc_queue.job_count`. */
  declare private qCount: number;
  /** The dependency callback, made on the first dependency the entity waits for. */
  declare private depCb_: DmaFenceCb | null;
  declare private depPipelined: boolean;
  /** `opts.name`, or null for the default name (`entity-<fence context>`, built when asked). */
  declare private readonly name_: string | null;
  declare readonly sim: Simulator;

  /**
   * `drm_sched_entity_init(entity, priority, sched_list, num_sched_list, guilty)`. `EINVAL` for a
   * list containing no scheduler where one is expected. A priority beyond the schedulers' run
   * queues is clamped to the lowest valid one (the kernel logs it). An empty list gives an entity
   * without a run queue: `job.init()` on it fails with `ENOENT`.
   */
  constructor(
    sim: Simulator,
    priority: number,
    scheds: readonly DrmGpuScheduler[],
    opts: { guilty?: DrmSchedGuilty; name?: string } = {},
  ) {
    if (!Array.isArray(scheds) || scheds.some((s) => s === null || s === undefined))
      throw new KernelError("EINVAL", "drm_sched_entity_init: the scheduler list contains no scheduler");
    if (!Number.isInteger(priority) || priority < 0)
      throw new KernelError("EINVAL", `drm_sched_entity_init: invalid priority ${priority}`);
    this.sim = sim;
    this.rq = null;
    this.priority = priority;
    this.schedList = scheds.length > 1 ? [...scheds] : null;
    this.fenceContext = dmaFenceContextAlloc(sim, 2);
    this.fenceSeq = 0;
    this.lastScheduled = null;
    this.dependency = null;
    this.stopped = false;
    this.guilty = opts.guilty ?? null;
    this.lastUser = null;
    this.vruntime = 0;
    this.rqMember = false;
    this.rqPos = -1;
    this.heapIndex = -1;
    this.heapKey = 0;
    this.heapTie = 0;
    this.ordPos = -1;
    this.qFirst = null;
    this.qLast = null;
    this.qCount = 0;
    this.depCb_ = null;
    this.depPipelined = false;
    this.name_ = opts.name ?? null;
    const first = scheds[0];
    if (first !== undefined) {
      if (priority >= first.numRqs) this.priority = Math.max(first.numRqs - 1, 0);
      this.rq = first.rqFor(this.priority);
      if (sim.tracer.on) traceEntityFences(this, first);
    }
  }

  /** Shown in reports and traces. */
  get name(): string {
    return this.name_ ?? `entity-${this.fenceContext}`;
  }

  /** `entity->cb`: wakes the entity when the fence its head job waits on signals. */
  private get depCb(): DmaFenceCb {
    let cb = this.depCb_;
    if (cb === null) {
      cb = { func: () => this.dependencyDone() };
      this.depCb_ = cb;
    }
    return cb;
  }

  /** Jobs pushed and not yet handed to the scheduler (`spsc_queue_count`). */
  get jobCount(): number {
    return this.qCount;
  }

  /** @internal The head job, not removed (`spsc_queue_peek`). */
  peek(): DrmSchedJob | undefined {
    return this.qFirst ?? undefined;
  }

  /** @internal FIFO key: push order of the head job. */
  headSeq(): number {
    return this.qFirst?.submitSeq ?? Number.POSITIVE_INFINITY;
  }

  /** @internal The queued jobs, oldest first (for forward-progress verdicts). */
  queuedJobs(): DrmSchedJob[] {
    const out: DrmSchedJob[] = [];
    for (let j = this.qFirst; j !== null; j = j.queueNext) out.push(j);
    return out;
  }

  /** `drm_sched_entity_is_ready`: a queued job and no pending dependency (and not killed). */
  isReady(): boolean {
    return this.qFirst !== null && this.dependency === null && !this.stopped;
  }

  /** `drm_sched_entity_is_idle`: nothing queued, detached, or killed. */
  isIdle(): boolean {
    return !this.rqMember || this.jobCount === 0 || this.stopped;
  }

  /**
   * `drm_sched_entity_push_job(job)`: queue an armed job. The first queued job attaches the entity
   * to its run queue and wakes the scheduler. Pushing to a killed entity is reported
   * (`sched-push-to-killed-entity`; the kernel only logs it) and the job never runs.
   */
  pushJob(job: DrmSchedJob): void {
    if (job.state !== "armed")
      throw new KernelError(
        "EINVAL",
        `drm_sched_entity_push_job: ${job.describe()} is not armed (or was pushed already)`,
      );
    const sim = this.sim;
    const sched = job.sched;
    sched.score++;
    this.lastUser = sim.current;
    job.submitTs = sim.now;
    job.submitSeq = sched.nextSubmitSeq();
    job.state = "queued";
    const last = this.qLast;
    const first = last === null;
    if (first) this.qFirst = job;
    else last.queueNext = job;
    this.qLast = job;
    this.qCount++;
    if (sim.tracer.on) {
      sim.tracer.instant(traceDrmSchedJob, sched.track, sched.jobTraceArgs(job));
      traceJobQueued(job);
      traceEntityQueue(this);
    }
    if (!first) return;
    if (this.stopped) {
      const ctx = sim.current;
      sim.validator.report({
        kind: "sched-push-to-killed-entity",
        title: `${job.describe()} pushed to entity ${this.name}, which was already killed`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation:
          "After drm_sched_entity_flush/fini killed an entity nothing pushed to it runs: its fences never signal. Stop submitting before tearing the entity down.",
      });
      return;
    }
    const rq = this.rq!;
    rq.addEntity(this);
    // fair: an entity coming back from idle joins at the queue's current virtual time, so time
    // spent idle is not a credit it can spend monopolising the GPU (sched_rq.c places it
    // relative to the minimum; drmsim clamps to it).
    if (rq.policy === "fair" && this.vruntime < rq.minVruntime) this.vruntime = rq.minVruntime;
    rq.refresh(this);
    rq.sched.wakeup();
  }

  /**
   * @internal `drm_sched_entity_pop_job`: resolve the head job's dependencies; returns it once it
   * may run, or null while it waits on a fence (the entity is then not ready; the fence's callback
   * makes it ready again and wakes the scheduler).
   */
  popJob(): DrmSchedJob | null {
    const job = this.peek();
    if (job === undefined) return null;
    for (;;) {
      const dep = this.nextDependency(job);
      if (dep === null) break;
      if (this.addDependencyCb(job, dep)) {
        this.rq?.refresh(this);
        return null;
      }
    }
    // Dependencies all resolved: take the job off the queue.
    this.unlinkHead(job);
    if (this.sim.tracer.on) traceEntityQueue(this);
    const s = job.sFence!;
    if (this.guilty?.value === true && !s.finished.signaled) s.finished.setError("ECANCELED");
    const last = this.lastScheduled;
    this.lastScheduled = s.finished.get();
    last?.put();
    this.rq?.refresh(this);
    return job;
  }

  /**
   * `drm_sched_job_dependency`: the next explicit dependency, then — once those are done — the
   * driver's `prepareJob` fences, until it returns null. A dependency that already failed marks
   * the job's finished fence with its error (the job will be skipped, not run).
   */
  private nextDependency(job: DrmSchedJob): DmaFence | null {
    // Most jobs have no explicit dependency: nothing to look at for them.
    // Each dependency taken is deleted, so the first entry left is the next: a Map iterates in
    // insertion order (`last_dependency` needs no cursor of its own).
    const deps = job.deps;
    if (deps.size > 0) {
      const r = deps.values().next();
      if (r.done !== true) {
        const f = r.value;
        deps.delete(f.context);
        return f;
      }
    }
    if (this.stopped) return null;
    return job.sched.callPrepareJob(job, this);
  }

  /**
   * `drm_sched_entity_add_dependency_cb`: true if the entity now waits on the fence (reference
   * kept in `dependency`), false if the fence needs no wait (reference dropped).
   */
  private addDependencyCb(job: DrmSchedJob, fence: DmaFence): boolean {
    // A fence from this entity's own timelines is ordered by the entity already.
    this.depPipelined = false;
    const ctx = fence.context;
    if (ctx === this.fenceContext || ctx === this.fenceContext + 1) {
      fence.put();
      return false;
    }
    if (fence.signaled || fence.isSignaled()) {
      this.noteDependencyError(job, fence);
      fence.put();
      return false;
    }
    let wait = fence;
    const s = toDrmSchedFence(fence);
    if (
      s !== null &&
      s.sched === job.sched &&
      fence === s.finished &&
      fence.error === 0 &&
      (fence.flags & DRM_SCHED_FENCE_DONT_PIPELINE) === 0
    ) {
      // Same scheduler: the hardware runs its jobs in order, so being scheduled after it is enough.
      this.depPipelined = true;
      // Asked without creating the scheduled fence (see DrmSchedFence): it exists only if needed.
      if (s.scheduledSignaled) {
        fence.put();
        return false;
      }
      wait = s.scheduled.get();
      fence.put();
    }
    const sim = this.sim;
    if (sim.tracer.on) {
      const sched = job.sched;
      sim.tracer.instant(traceDrmSchedJobWaitDep, sched.track, {
        id: job.id,
        depContext: wait.context,
        depSeqno: wait.seqno,
        depDriver: wait.driverName,
        depTimeline: wait.timelineName,
      });
      traceJobWaits(job, wait);
    }
    this.dependency = wait;
    if (wait.addCallback(this.depCb) === 0) return true;
    this.dependency = null;
    this.noteDependencyError(job, wait);
    wait.put();
    return false;
  }

  private noteDependencyError(job: DrmSchedJob, fence: DmaFence): void {
    if (fence.error === 0 || this.depPipelined) return;
    const f = job.sFence!.finished;
    if (f.error === 0 && !f.signaled) f.setError(fence.error);
  }

  /** `drm_sched_entity_wakeup`: the fence the head job waited on signalled. */
  private dependencyDone(): void {
    const dep = this.dependency;
    if (dep === null) return;
    const job = this.peek();
    if (job !== undefined && job.sFence !== null) this.noteDependencyError(job, dep);
    this.dependency = null;
    dep.put();
    if (this.stopped) return;
    const rq = this.rq;
    if (rq === null) return;
    rq.refresh(this);
    rq.sched.wakeup();
  }

  /**
   * `drm_sched_entity_select_rq`: at `arm()`, move an idle entity (nothing queued, last job done)
   * to the least loaded scheduler of its list, and apply a priority change.
   */
  selectRq(): void {
    if (this.jobCount > 0 || this.stopped) return;
    const list = this.schedList;
    // Pinned to one scheduler and no priority change: nothing would move, so the last job's
    // fence need not be looked at (with thousands of entities it is long out of the cache).
    if (list === null) {
      const cur = this.rq;
      if (cur === null || cur.sched.rqFor(this.priority) === cur) return;
    }
    const last = this.lastScheduled;
    if (last !== null && !last.signaled) return;
    let sched = this.rq?.sched ?? null;
    if (list !== null) {
      sched = pickBest(list);
      if (list.length === 1) this.schedList = null;
    }
    const rq = sched === null ? null : sched.rqFor(this.priority);
    if (rq !== this.rq) {
      this.rq?.removeEntity(this);
      this.rq = rq;
    }
  }

  /** `drm_sched_entity_set_priority`: takes effect at the next `arm()` of an idle entity. */
  setPriority(priority: number): void {
    if (!Number.isInteger(priority) || priority < 0)
      throw new KernelError("EINVAL", `drm_sched_entity_set_priority: invalid priority ${priority}`);
    const n = this.rq?.sched.numRqs ?? priority + 1;
    this.priority = Math.min(priority, Math.max(n - 1, 0));
  }

  /** `drm_sched_entity_modify_sched`: a new scheduler list, used from the next idle `arm()`. */
  modifySched(scheds: readonly DrmGpuScheduler[]): void {
    if (scheds.length === 0 || scheds.some((s) => s === null || s === undefined))
      throw new KernelError("EINVAL", "drm_sched_entity_modify_sched: empty scheduler list");
    this.schedList = [...scheds];
  }

  /** `drm_sched_entity_error`: the error of the last job handed out (0 if none or no error). */
  entityError(): number {
    const f = this.lastScheduled;
    return f === null ? 0 : f.error;
  }

  /**
   * `drm_sched_entity_flush(entity, timeout)`: waits (killable) until the scheduler took every
   * queued job, or `timeoutNs` passed. If the caller was killed (fatal signal) and was the last
   * user, the entity is killed: its remaining jobs finish with `-ESRCH` without running. Returns
   * the time left (0 on timeout).
   */
  async flush(timeoutNs: number): Promise<number> {
    const sim = this.sim;
    const rq = this.rq;
    let left = timeoutNs;
    const me = sim.current;
    if (rq !== null) {
      try {
        left = await rq.sched.jobScheduled.waitEvent(
          () => this.isIdle(),
          { timeoutNs, killable: true },
          `drm_sched_entity_flush(${this.name})`,
        );
      } catch (e) {
        if (!isKernelError(e, "ERESTARTSYS")) throw e;
        left = 0;
      }
    }
    const last = this.lastUser;
    if ((last === null || last === me) && me.fatalSignalPending) {
      this.lastUser = null;
      this.kill();
    }
    return left;
  }

  /**
   * `drm_sched_entity_kill`: stop the entity and finish every queued job with `-ESRCH` — each after
   * the previous job's finished fence and its own dependencies, never calling `runJob` or
   * `prepareJob` — then free it.
   */
  kill(): void {
    this.stopped = true;
    const rq = this.rq;
    rq?.removeEntity(this);
    const dep = this.dependency;
    if (dep?.removeCallback(this.depCb)) {
      this.dependency = null;
      dep.put();
    }
    let prev: DmaFence | null = this.lastScheduled?.get() ?? null;
    for (let job = this.takeHead(); job !== undefined; job = this.takeHead()) {
      const finished = job.sFence!.finished;
      killJob(this.sim, job, prev);
      prev?.put();
      prev = finished.get();
    }
    prev?.put();
    if (this.sim.tracer.on) traceEntityQueue(this);
    rq?.sched.jobScheduled.wakeUpAll();
  }

  /** `drm_sched_entity_fini`: kill what is left and drop `lastScheduled`. */
  fini(): void {
    this.kill();
    const last = this.lastScheduled;
    this.lastScheduled = null;
    last?.put();
  }

  /** `drm_sched_entity_destroy`: `flush(1 s)` then `fini()`. */
  async destroy(): Promise<void> {
    await this.flush(secs(1));
    this.fini();
  }

  private takeHead(): DrmSchedJob | undefined {
    const job = this.qFirst;
    if (job === null) return undefined;
    this.unlinkHead(job);
    return job;
  }

  /** `spsc_queue_pop`: `job` is the head; it leaves the queue. */
  private unlinkHead(job: DrmSchedJob): void {
    const next = job.queueNext;
    this.qFirst = next;
    if (next === null) this.qLast = null;
    else job.queueNext = null;
    this.qCount--;
  }
}

/** `drm_sched_pick_best`: the ready scheduler with the lowest score. */
export function pickBest(list: readonly DrmGpuScheduler[]): DrmGpuScheduler | null {
  let best: DrmGpuScheduler | null = null;
  for (const s of list) {
    if (!s.ready) continue;
    if (best === null || s.score < best.score) best = s;
  }
  return best;
}

/**
 * The kill chain (`drm_sched_entity_kill_jobs_cb` / `_work`): wait for `prev` (the previous job's
 * finished fence), then for the job's remaining dependencies, then — from a work item — signal
 * scheduled, finish with `-ESRCH` and free the job.
 */
function killJob(sim: Simulator, job: DrmSchedJob, prev: DmaFence | null): void {
  job.state = "running";
  const pending: DmaFence[] = [];
  if (prev !== null) pending.push(prev.get());
  for (const f of job.deps.values()) pending.push(f.get());
  const step = (): void => {
    for (;;) {
      const f = pending.shift();
      if (f === undefined) break;
      if (f.addCallback({ func: step2 }) === 0) {
        waiting = f;
        return;
      }
      f.put();
    }
    systemWq(sim).queueWork(
      new Work(() => {
        const s = job.sFence!;
        s.signalScheduled(null);
        if (sim.tracer.on) traceJobFinished(job, -ERRNO.ESRCH);
        s.signalFinished(-ERRNO.ESRCH);
        job.state = "done";
        job.sched.score--;
        job.sched.callFreeJob(job);
      }, "drm_sched_entity_kill_jobs_work"),
    );
  };
  let waiting: DmaFence | null = null;
  const step2 = (): void => {
    const w = waiting;
    waiting = null;
    w?.put();
    step();
  };
  step();
}
