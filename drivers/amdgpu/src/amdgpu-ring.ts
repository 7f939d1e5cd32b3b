/**
 * `struct amdgpu_ring` (`amdgpu_ring.c`, `amdgpu_fence.c`): one hardware queue — gfx, a compute
 * pipe, an SDMA engine — with its own `drm_gpu_scheduler` (one scheduler per ring, as in the
 * kernel) and its own fence timeline. The hardware is a `HardwareEngine` from the device's
 * `HW_ENGINE_FACTORY`; the scheduler comes from its `DRM_SCHED_FACTORY`, so `amdgpu_sched_ops`
 * are the driver's `hooks.sched` taps (`amdgpu-drv.ts`), which call `runJob` and `timedoutJob`
 * here. `runJob` writes the job's IBs and a fence to the ring (`amdgpu_ib_schedule` +
 * `amdgpu_fence_emit`), the engine executes them on the virtual clock and the completion
 * interrupt signals the fence (`amdgpu_fence_process`). A hang is an IB that never completes;
 * the scheduler's TDR notices.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import type { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedJob } from "@drmsim/drm-sched";
import { ERRNO, type HardwareEngine } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA, AMDGPU_HW_IP_GFX, type AmdgpuHwIp } from "./amdgpu-drm.js";
import type { AmdgpuJob } from "./amdgpu-job.js";

/** The name prefix of each IP's rings, as in debugfs (`gfx_0.0.0`, `comp_1.0.0`, `sdma0`). */
export function amdgpuRingName(ip: AmdgpuHwIp, index: number): string {
  return ip === AMDGPU_HW_IP_GFX
    ? `gfx_0.0.${index}`
    : ip === AMDGPU_HW_IP_COMPUTE
      ? `comp_1.${index}.0`
      : `sdma${index}`;
}

/**
 * `struct amdgpu_fence`: the hardware fence of one job on one ring (`amdgpu_fence_ops` are the
 * driver's `hooks.fence` taps: driver "amdgpu", timeline the ring's name).
 */
export class AmdgpuFence extends DmaFence {
  constructor(
    readonly ring: AmdgpuRing,
    seqno: number,
  ) {
    super(ring.adev.sim, ring.adev.drm.fenceOps, ring.fenceContext, seqno);
  }
}

/** Options for one ring. */
export interface AmdgpuRingOptions {
  /** `amdgpu_sched_hw_submission` (default 2): jobs on the ring at once (the scheduler's credits). */
  hwSubmission: number;
  /** `lockup_timeout` for this ring, in virtual ns. */
  timeoutNs: number;
}

/** `struct amdgpu_ring`. */
export class AmdgpuRing {
  readonly name: string;
  /** The hardware queue. */
  readonly engine: HardwareEngine;
  /** `ring->sched`. */
  readonly sched: DrmGpuScheduler;
  /** `ring->fence_drv` context. */
  readonly fenceContext: number;
  private seq = 0;
  /** Jobs `runJob` sent to the hardware, in order: entity name, job id and virtual time (a debugfs-like log). */
  readonly ran: { entity: string; id: number; at: number }[] = [];

  constructor(
    readonly adev: AmdgpuDevice,
    readonly ip: AmdgpuHwIp,
    readonly index: number,
    opts: AmdgpuRingOptions,
  ) {
    this.name = amdgpuRingName(ip, index);
    this.engine = adev.engines.create(this.name, { device: adev.name });
    this.fenceContext = dmaFenceContextAlloc(adev.sim);
    this.sched = adev.scheds.create({
      name: this.name,
      creditLimit: opts.hwSubmission,
      timeoutNs: opts.timeoutNs,
      device: adev.name,
    });
  }

  /** The kind of queue. */
  get isSdma(): boolean {
    return this.ip === AMDGPU_HW_IP_DMA;
  }

  /**
   * `amdgpu_job_run`: skip a job whose finished fence already carries an error (cancelled guilty
   * context, VRAM lost since it was submitted, a gang job after a reset); otherwise put its IBs
   * and a fence on the ring. Runs in the signalling section: no allocation with reclaim.
   */
  runJob(job: AmdgpuJob): DmaFence | null {
    const finished = job.finished;
    if (job.vramLostCounter !== this.adev.vramLostCounter && finished.error === 0)
      finished.setError(-ERRNO.ECANCELED);
    if (finished.error !== 0) return null;
    this.ran.push({ entity: job.entity.name, id: job.id, at: this.adev.sim.now });
    const fence = new AmdgpuFence(this, ++this.seq);
    const irqRef = fence.get();
    job.hwSubmitted = true;
    this.engine.submit({
      durationNs: job.durationNs,
      hang: job.hangs,
      label: job.describe(),
      onComplete: (status) => {
        const err = status !== 0 ? status : job.writeBack();
        if (err !== 0) irqRef.setError(err);
        irqRef.signal();
        irqRef.put();
      },
    });
    return fence;
  }

  /** `amdgpu_job_timedout`: a job exceeded `lockup_timeout`; recover the whole GPU. */
  timedoutJob(job: DrmSchedJob): DrmGpuSchedStat {
    return this.adev.gpuRecover(this, job);
  }

  /** `amdgpu_job_cancel` (scheduler fini): the hardware is going away; abort what is on the ring. */
  cancel(): void {
    this.engine.reset(-ERRNO.ECANCELED, { abortQueued: true });
  }
}
