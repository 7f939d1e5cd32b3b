/** A small driver on a `HardwareEngine` for TDR and recovery tests: one ring, one fence per job. */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, type Simulator } from "@drmsim/runtime";
import {
  DrmGpuSchedStat,
  DrmGpuScheduler,
  type DrmSchedBackendOps,
  type DrmSchedInitArgs,
  type DrmSchedJob,
} from "../src/index.js";

const ringOps: DmaFenceOps = { getDriverName: () => "ringdrv", getTimelineName: () => "ring0" };

/** Per-job instructions for the ring. */
export interface RingJobSpec {
  durationNs: number;
  hang?: boolean;
}

export class RingDriver {
  readonly engine: HardwareEngine;
  readonly sched: DrmGpuScheduler;
  private readonly ctx: number;
  private seqno = 0;
  readonly runs: number[] = [];
  readonly freed: DrmSchedJob[] = [];

  constructor(
    readonly sim: Simulator,
    args: Partial<DrmSchedInitArgs> & { timedoutJob: (job: DrmSchedJob, drv: RingDriver) => DrmGpuSchedStat },
  ) {
    this.engine = new HardwareEngine(sim, "ring0", { device: "ringdrv" });
    this.ctx = dmaFenceContextAlloc(sim);
    const ops: DrmSchedBackendOps = {
      runJob: (job) => this.run(job),
      timedoutJob: (job) => args.timedoutJob(job, this),
      freeJob: (job) => {
        this.freed.push(job);
        job.cleanup();
      },
      ...(args.ops ?? {}),
    };
    const { timedoutJob: _t, ...rest } = args;
    this.sched = new DrmGpuScheduler(sim, { name: "ring0", creditLimit: 64, ...rest, ops });
  }

  private run(job: DrmSchedJob): DmaFence | null {
    this.runs.push(job.id);
    // A job already marked failed (guilty context on resubmit) is not sent to the ring.
    if (job.finished.error !== 0) return null;
    const spec = job.driverData as RingJobSpec;
    const fence = new DmaFence(this.sim, ringOps, this.ctx, ++this.seqno);
    const mine = fence.get();
    this.engine.submit({
      durationNs: spec.durationNs,
      hang: spec.hang === true,
      label: job.describe(),
      onComplete: (status) => {
        if (status !== 0) mine.setError(status);
        mine.signal();
        mine.put();
      },
    });
    return fence;
  }
}

/** The usual TDR of a ring driver: stop, blame, reset the ring, resubmit the innocent, restart. */
export function resetAndResubmit(job: DrmSchedJob, drv: RingDriver): DrmGpuSchedStat {
  const sched = drv.sched;
  sched.stop(job);
  sched.increaseKarma(job);
  drv.engine.reset(-110, { abortQueued: true });
  sched.resubmitJobs();
  sched.start(0);
  return DrmGpuSchedStat.RESET;
}

export { DrmGpuSchedStat };
