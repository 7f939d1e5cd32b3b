/**
 * `struct amdgpu_ring` (`amdgpu_ring.c`, `amdgpu_fence.c`): one hardware queue — gfx, a compute
 * pipe, an SDMA engine — with its own `drm_gpu_scheduler` (one scheduler per ring, as in the
 * kernel) and its own fence timeline. The hardware is a `HardwareEngine` from the device's
 * `HW_ENGINE_FACTORY`; the scheduler comes from its `DRM_SCHED_FACTORY`, so `amdgpu_sched_ops`
 * are the driver's `hooks.sched` taps (`amdgpu-drv.ts`), which call `runJob` and `timedoutJob`
 * here. `runJob` writes the job's IBs and a fence to the ring (`amdgpu_ib_schedule` +
 * `amdgpu_fence_emit`); the device's hardware model (`AMDGPU_HW_MODEL`) reads the IBs' bytes and
 * says what they cost, the engine executes them on the virtual clock and the completion interrupt
 * signals the fence (`amdgpu_fence_process`). A hang is an IB that never completes; the
 * scheduler's TDR notices. A packet the engine cannot execute stops it and raises a fault
 * interrupt, which runs the TDR at once (`drm_sched_fault`).
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import type { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedJob } from "@drmsim/drm-sched";
import { ERRNO, type HardwareEngine } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA, AMDGPU_HW_IP_GFX, type AmdgpuHwIp } from "./amdgpu-drm.js";
import { amdgpuGpuWriteDirect, amdgpuGpuWritesLand, amdgpuGpuWritesResolve } from "./amdgpu-gpu-writes.js";
import type { AmdgpuHwFault, AmdgpuHwWrite } from "./amdgpu-hw-model.js";
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

/** A packet an engine stopped on: the hardware model's fault and the GPU address of its IB. */
export type AmdgpuRingFault = AmdgpuHwFault & { readonly va: number };

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
  /**
   * The engine's fault interrupts, in order (the kernel log's "Illegal opcode in command
   * stream" lines): what the hardware model found, the IB's address, the job and the time.
   */
  readonly faults: (AmdgpuRingFault & { job: number; at: number })[] = [];

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
   * context, VRAM lost since it was submitted, a gang job after a reset); otherwise put it on the
   * ring with a fence (`amdgpu_ib_schedule` + `amdgpu_fence_emit`). The hardware fetches the IBs
   * now: the device's hardware model says how long they take, whether they hang and what they
   * store; the stores land when the ring completes the job without error. Runs in the signalling
   * section: no allocation with reclaim.
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
    const { durationNs, hang, fault } =
      job.kind === "cs" ? this.execute(job) : { durationNs: job.kernelNs, hang: false, fault: undefined };
    this.engine.submit({
      durationNs,
      hang,
      ...(fault !== undefined
        ? { stall: { afterNs: durationNs, irq: () => this.faultIrq(job, fault) } }
        : {}),
      label: job.label === "" ? job.describe() : `${job.label}: ${job.describe()}`,
      onComplete: (status) => {
        const err = status !== 0 ? status : amdgpuGpuWritesLand(job.writes);
        if (err !== 0) irqRef.setError(err);
        irqRef.signal();
        irqRef.put();
      },
    });
    return fence;
  }

  /** The CP fetches and runs the job's IBs through the hardware model; their stores are resolved in the job's VM. */
  private execute(job: AmdgpuJob): { durationNs: number; hang: boolean; fault: AmdgpuRingFault | undefined } {
    job.dropWrites();
    let durationNs = 0;
    let hang = false;
    const stores: AmdgpuHwWrite[] = [];
    for (const ib of job.ibs) {
      const bytes = ib.bo.store.read(ib.offset, ib.lengthDw * 4);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const dwords = new Uint32Array(ib.lengthDw);
      for (let i = 0; i < ib.lengthDw; i++) dwords[i] = view.getUint32(i * 4, true);
      const r = this.adev.hwModel.executeIb({
        ip: this.ip,
        ring: this.name,
        va: ib.va,
        dwords,
        flags: ib.flags,
      });
      durationNs += r.durationNs;
      hang ||= r.hang;
      stores.push(...r.writes);
      // The engine stops on the bad packet: nothing after it runs, nothing of the job lands.
      if (r.fault !== undefined) return { durationNs, hang: true, fault: { ...r.fault, va: ib.va } };
    }
    if (job.vm !== null) job.writes = amdgpuGpuWritesResolve(job.vm, stores);
    const uf = job.userFence;
    if (uf !== null) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigUint64(0, job.ufSequence, true);
      amdgpuGpuWriteDirect(job.writes, uf.bo, uf.offset, v);
    }
    return { durationNs, hang, fault: undefined };
  }

  /**
   * The engine's fault interrupt (irq context): logged, and `drm_sched_fault` — the timeout
   * handler runs now instead of at `lockup_timeout`, and recovers the GPU with the job guilty.
   */
  private faultIrq(job: AmdgpuJob, fault: AmdgpuRingFault): void {
    this.faults.push({ ...fault, job: job.id, at: this.adev.sim.now });
    this.sched.fault();
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
