/**
 * The kernel's drm_sched KUnit mock driver (`drivers/gpu/drm/scheduler/tests/mock_scheduler.c`),
 * in drmsim: a scheduler whose "GPU" is one in-order hardware timeline.
 *
 * - A job with a duration completes at `previous job's finish time + duration` (a serial GPU); a
 *   job without one completes only when the test calls `advance(n)`.
 * - Timeout: the hardware fence gets `-ETIMEDOUT`, the job the `TIMEDOUT` flag, and the handler
 *   returns `RESET` — unless the job has `DONT_RESET`, which answers `NO_HANG` and sets
 *   `RESET_SKIPPED` (the job keeps running).
 * - `cancelJob` (at `fini()`) signals the hardware fence with `-ECANCELED`.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { Completion, ERRNO, type Simulator, type TimerHandle, usecs } from "@drmsim/runtime";
import { DrmSchedEntity } from "../entity.js";
import { DrmSchedJob } from "../job.js";
import { DrmGpuSchedStat, type DrmSchedBackendOps, type DrmSchedPolicy } from "../ops.js";
import { DrmGpuScheduler } from "../scheduler.js";

/** `DRM_MOCK_SCHED_JOB_*` flags. */
export const DrmMockSchedJobFlag = {
  /** The timeout handler must not reset this job (it reports NO_HANG). */
  DONT_RESET: 1,
  /** Set by the timeout handler when it killed the job. */
  TIMEDOUT: 2,
  /** Set by the timeout handler when DONT_RESET made it skip the reset. */
  RESET_SKIPPED: 4,
} as const;

const hwOps: DmaFenceOps<DmaFence> = {
  getDriverName: () => "drm_mock_sched",
  getTimelineName: () => "hw",
};

/** `struct drm_mock_sched_job`. */
export class DrmMockSchedJob extends DrmSchedJob {
  /** `DrmMockSchedJobFlag` bits. */
  flags = 0;
  /** Duration on the mock GPU (0: completes only through `advance`). */
  durationNs = 0;
  /** Absolute completion time on the mock GPU (0 until run with a duration). */
  finishAt = 0;
  /** The hardware fence, once run. */
  hwFence: DmaFence | null = null;
  /** @internal */ timer: TimerHandle | null = null;
  /** `free_job` ran. */
  freed = false;
  /** `job->done`: completed when the mock GPU finishes the job (not by a timeout or cancel). */
  readonly done: Completion = new Completion(this.entity.sim, "drm_mock_sched_job.done");

  /** `drm_mock_sched_job_set_duration_us`. */
  setDurationUs(us: number): this {
    this.durationNs = usecs(us);
    return this;
  }

  /** Arms and pushes the job (`drm_sched_job_arm` + `drm_sched_entity_push_job`). */
  submit(): this {
    this.arm();
    const sched = this.sched;
    if (sched instanceof DrmMockScheduler) sched.holdFences(this);
    this.entity.pushJob(this);
    return this;
  }

  /** `drm_mock_sched_job_wait_scheduled`: true if the scheduled fence signalled within the timeout. */
  async waitScheduled(timeoutNs: number): Promise<boolean> {
    return (await this.scheduled.wait({ timeoutNs })) > 0;
  }

  /**
   * `drm_mock_sched_job_wait_finished`: true if the mock GPU completed the job within the timeout.
   * A job killed by the timeout handler or cancelled never "finishes" in this sense (its finished
   * fence signals with the error instead).
   */
  async waitFinished(timeoutNs: number): Promise<boolean> {
    return (await this.done.wait({ timeoutNs })) > 0;
  }

  /** The scheduled fence signalled. */
  get isScheduled(): boolean {
    return this.sFence?.scheduledSignaled === true;
  }
}

/** Options of `new DrmMockScheduler()`. */
export interface DrmMockSchedulerOptions {
  /** Job timeout (ns); default none. */
  timeoutNs?: number;
  /** Default `2^32 - 1` (the kernel's U32_MAX: credits never limit). */
  creditLimit?: number;
  policy?: DrmSchedPolicy;
  name?: string;
  /** Override (some of) the mock's ops, e.g. to build a broken driver for validator tests. */
  ops?: Partial<DrmSchedBackendOps>;
}

/** `struct drm_mock_scheduler`. */
export class DrmMockScheduler extends DrmGpuScheduler {
  /** `hw_timeline`: the mock GPU's fence context and seqnos. */
  readonly hwTimeline: { context: number; nextSeqno: number; curSeqno: number };
  /** Jobs on the mock GPU, in submission order, not yet complete. */
  readonly jobList: DrmMockSchedJob[] = [];
  /** Every job submitted, so their fences can be read after free (references dropped at `fini`). */
  private readonly held: DmaFence[] = [];

  /** `drm_mock_sched_new(test, timeout)`. */
  constructor(sim: Simulator, opts: DrmMockSchedulerOptions = {}) {
    const self: { s: DrmMockScheduler | null } = { s: null };
    const ops: DrmSchedBackendOps = {
      runJob: (job) => self.s!.runMockJob(job as DrmMockSchedJob),
      timedoutJob: (job) => self.s!.timedoutMockJob(job as DrmMockSchedJob),
      freeJob: (job) => {
        const j = job as DrmMockSchedJob;
        j.freed = true;
        j.hwFence?.put();
        j.hwFence = null;
        j.cleanup();
      },
      cancelJob: (job) => self.s!.cancelMockJob(job as DrmMockSchedJob),
      ...opts.ops,
    };
    super(sim, {
      ops,
      name: opts.name ?? "drm-mock-sched",
      creditLimit: opts.creditLimit ?? 0xffff_ffff,
      hangLimit: 1,
      ...(opts.timeoutNs !== undefined ? { timeoutNs: opts.timeoutNs } : {}),
      policy: opts.policy ?? "fifo",
      device: "drm_mock_sched",
    });
    self.s = this;
    this.hwTimeline = { context: dmaFenceContextAlloc(sim), nextSeqno: 0, curSeqno: 0 };
  }

  /** @internal Keeps a reference to the job's fences until `fini()`, as the KUnit test owns its jobs. */
  holdFences(job: DrmMockSchedJob): void {
    this.held.push(job.finished.get());
  }

  /** `drm_mock_sched_job_run`: a hardware fence on the mock timeline, completing in order. */
  private runMockJob(job: DrmMockSchedJob): DmaFence {
    const sim = this.sim;
    const fence = new DmaFence(sim, hwOps, this.hwTimeline.context, ++this.hwTimeline.nextSeqno);
    job.hwFence = fence.get(); // the job list's reference
    if (job.durationNs > 0) {
      const prev = this.jobList.at(-1);
      let prevFinish = prev?.finishAt ?? 0;
      if (prevFinish === 0) prevFinish = sim.now;
      job.finishAt = prevFinish + job.durationNs;
    }
    this.jobList.push(job);
    if (job.finishAt > 0)
      job.timer = sim.at(job.finishAt, () => this.timerFired(), sim.irqContext(this.name));
    return fence;
  }

  /** `drm_mock_sched_job_signal_timer`: complete every timed job whose time has come, in order. */
  private timerFired(): void {
    const now = this.sim.now;
    while (this.jobList.length > 0) {
      const job = this.jobList[0]!;
      if (job.durationNs === 0 || now < job.finishAt) break;
      this.hwTimeline.curSeqno = job.hwFence!.seqno;
      this.complete(job);
    }
  }

  /**
   * `drm_mock_sched_advance(sched, n)`: moves the mock GPU `n` jobs forward; completes jobs up to
   * the new position in order and returns how many completed.
   */
  advance(n: number): number {
    this.hwTimeline.curSeqno += n;
    let done = 0;
    const irq = this.sim.irqContext(this.name);
    this.sim.runAs(irq, () => {
      while (this.jobList.length > 0) {
        const job = this.jobList[0]!;
        if (job.hwFence!.seqno > this.hwTimeline.curSeqno) break;
        this.complete(job);
        done++;
      }
    });
    return done;
  }

  private complete(job: DrmMockSchedJob): void {
    this.jobList.shift();
    job.timer?.cancel();
    job.timer = null;
    job.hwFence!.signal();
    job.done.completeAll();
  }

  private unlist(job: DrmMockSchedJob): void {
    const i = this.jobList.indexOf(job);
    if (i >= 0) this.jobList.splice(i, 1);
    job.timer?.cancel();
    job.timer = null;
  }

  /** `mock_sched_timedout_job`. */
  private timedoutMockJob(job: DrmMockSchedJob): DrmGpuSchedStat {
    if ((job.flags & DrmMockSchedJobFlag.DONT_RESET) !== 0) {
      job.flags |= DrmMockSchedJobFlag.RESET_SKIPPED;
      return DrmGpuSchedStat.NO_HANG;
    }
    const hw = job.hwFence;
    if (hw !== null && !hw.signaled) {
      this.unlist(job);
      job.flags |= DrmMockSchedJobFlag.TIMEDOUT;
      hw.setError(-ERRNO.ETIMEDOUT);
      hw.signal();
    }
    hw?.put();
    job.hwFence = null;
    job.cleanup();
    return DrmGpuSchedStat.RESET;
  }

  /** `mock_sched_cancel_job`. */
  private cancelMockJob(job: DrmMockSchedJob): void {
    const hw = job.hwFence;
    if (hw !== null && !hw.signaled) {
      this.unlist(job);
      hw.setError(-ERRNO.ECANCELED);
      hw.signal();
    }
  }

  /** `drm_mock_sched_fini`: `drm_sched_fini`, then drops the references the test held. */
  override fini(): void {
    super.fini();
    for (const f of this.held.splice(0)) f.put();
  }
}

/** `drm_mock_sched_entity_new(test, priority, sched)`. */
export function drmMockSchedEntityNew(
  sim: Simulator,
  priority: number,
  scheds: DrmGpuScheduler | readonly DrmGpuScheduler[],
  name?: string,
): DrmSchedEntity {
  return new DrmSchedEntity(
    sim,
    priority,
    Array.isArray(scheds) ? scheds : [scheds as DrmGpuScheduler],
    name === undefined ? {} : { name },
  );
}

/** `drm_mock_sched_job_new(test, entity)`: a 1-credit job. */
export function drmMockSchedJobNew(entity: DrmSchedEntity, credits = 1): DrmMockSchedJob {
  return new DrmMockSchedJob(entity, credits);
}
