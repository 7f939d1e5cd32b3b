/**
 * A driver-like module small enough to read in one sitting: one hardware ring (a serial
 * `HardwareEngine`) behind one `DrmGpuScheduler` and one entity, the way a simple GPU driver
 * (v3d, etnaviv) is built. The seed fixtures derive their broken drivers from it by replacing one
 * op, so each fixture shows only its mistake.
 *
 * Every backend op runs inside a frame named `<driver>.<op>` (`alloc_in_runjob.run_job`), as the
 * DRM core's hook interceptors name a plugin's ops, so a finding's backtrace names the driver op
 * that broke the rule.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  DrmGpuSchedStat,
  DrmGpuScheduler,
  DrmSchedEntity,
  DrmSchedJob,
  DrmSchedPriority,
} from "@drmsim/drm-sched";
import { HardwareEngine, type Simulator, usecs } from "@drmsim/runtime";

/** The ops a fixture may replace; each runs inside its `<driver>.<op>` frame. */
export interface TinyRingOverrides {
  /** Called inside `run_job` before the command reaches the ring (the broken part goes here). */
  beforeRun?(job: DrmSchedJob): void;
  /** Replaces `prepare_job`. */
  prepareJob?(job: DrmSchedJob): DmaFence | null;
}

/** Options of `new TinyRing()`. */
export interface TinyRingOptions extends TinyRingOverrides {
  /** Ring time per job (default 100 µs). */
  jobNs?: number;
  /** TDR timeout (default none). */
  timeoutNs?: number;
}

/** One ring, one scheduler, one entity; `submit()` returns the job's finished fence. */
export class TinyRing {
  readonly engine: HardwareEngine;
  readonly sched: DrmGpuScheduler;
  readonly entity: DrmSchedEntity;
  /** Hardware fences not yet signalled, oldest first (what a shrinker would wait on). */
  readonly inflight: DmaFence[] = [];
  private readonly fenceOps: DmaFenceOps;
  private readonly context: number;
  private seqno = 0;

  constructor(
    readonly sim: Simulator,
    readonly name: string,
    opts: TinyRingOptions = {},
  ) {
    this.engine = new HardwareEngine(sim, `${name}-ring`, { device: name });
    this.context = dmaFenceContextAlloc(sim);
    this.fenceOps = { getDriverName: () => name, getTimelineName: () => "ring" };
    const jobNs = opts.jobNs ?? usecs(100);
    const frame = <T>(op: string, fn: () => T): T => sim.withFrame(`${name}.${op}`, fn);
    this.sched = new DrmGpuScheduler(sim, {
      name: `${name}-ring`,
      device: name,
      creditLimit: 16,
      ...(opts.timeoutNs !== undefined ? { timeoutNs: opts.timeoutNs } : {}),
      ops: {
        ...(opts.prepareJob !== undefined
          ? { prepareJob: (job: DrmSchedJob) => frame("prepare_job", () => opts.prepareJob!(job)) }
          : {}),
        runJob: (job) =>
          frame("run_job", () => {
            opts.beforeRun?.(job);
            return this.emit(jobNs);
          }),
        timedoutJob: () => frame("timedout_job", () => DrmGpuSchedStat.RESET),
        freeJob: (job) => frame("free_job", () => job.cleanup()),
      },
    });
    this.entity = new DrmSchedEntity(sim, DrmSchedPriority.NORMAL, [this.sched]);
  }

  /** Queues one job after `deps` (references are taken); returns its finished fence (a reference for the caller). */
  submit(deps: readonly DmaFence[] = []): DmaFence {
    const job = new DrmSchedJob(this.entity, 1);
    for (const d of deps) job.addDependency(d.get());
    job.arm();
    const done = job.finished.get();
    this.entity.pushJob(job);
    return done;
  }

  /** Flushes the entity and tears the scheduler down. */
  fini(): void {
    this.entity.fini();
    this.sched.fini();
  }

  private emit(jobNs: number): DmaFence {
    const hw = new DmaFence(this.sim, this.fenceOps, this.context, ++this.seqno);
    const mine = hw.get();
    this.inflight.push(mine);
    this.engine.submit({
      durationNs: jobNs,
      label: `${this.name} job ${this.seqno}`,
      onComplete: (status) => {
        if (status !== 0) mine.setError(status);
        mine.signal();
        this.inflight.splice(this.inflight.indexOf(mine), 1);
        mine.put();
      },
    });
    return hw;
  }
}
