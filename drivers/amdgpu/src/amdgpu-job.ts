/**
 * `struct amdgpu_job` (`drivers/gpu/drm/amd/amdgpu/amdgpu_job.c`): a drm_sched job plus what the
 * ring needs to run it — the IBs, the VM and its VMID, the gang it belongs to, and the VRAM-lost
 * counter it was submitted under.
 *
 * `amdgpuJobPrepareJob` is the kernel's `amdgpu_job_prepare_job`, the model of seed 002's rule:
 * everything a job must wait for before it may run is a fence. Three steps, in the kernel's
 * order: an entity error is copied to the finished fence; a gang job that finds another gang on
 * the hardware returns that gang leader's fence (`amdgpu_device_switch_gang`); a job that needs a
 * VMID and finds none free returns the fence of the oldest holder (`amdgpu_vmid_grab`). Nothing
 * here allocates or waits: it runs inside the scheduler's fence-signalling section.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { type DrmSchedEntity, DrmSchedJob } from "@drmsim/drm-sched";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { type AmdgpuIbMem, amdgpuIbMemApply, amdgpuIbMemRelease } from "./amdgpu-ib-mem.js";
import type { AmdgpuVm } from "./amdgpu-ids.js";

/** One IB of a job (`struct amdgpu_ib`), reduced to how long it runs, whether it hangs and what it writes. */
export interface AmdgpuIb {
  durationNs: number;
  hang: boolean;
  /** drmsim extension: what the IB writes and copies when the job completes (`amdgpu-ib-mem.ts`). */
  mem?: AmdgpuIbMem;
}

/** What the job does: a userspace submission or a kernel buffer move (`amdgpu_copy_buffer`). */
export type AmdgpuJobKind = "cs" | "move";

/** `struct amdgpu_job`. */
export class AmdgpuJob extends DrmSchedJob {
  /** `job->ibs`. */
  readonly ibs: AmdgpuIb[] = [];
  /** `job->vm`: null for kernel jobs (moves run in the kernel's address space, no VMID). */
  vm: AmdgpuVm | null = null;
  /** `job->vmid`: 0 until `amdgpu_vmid_grab` assigned one. */
  vmid = 0;
  /** `job->gang_submit`: the gang leader's scheduled fence, null outside a CS. */
  gangSubmit: DmaFence | null = null;
  /** Jobs in this job's gang (1: a plain submission). */
  gangSize = 1;
  /** `job->vram_lost_counter`: the device's counter when the job was created. */
  readonly vramLostCounter: number;
  /** `runJob` put the job on the hardware at least once (a gang job is never put there again after a reset). */
  hwSubmitted = false;

  constructor(
    readonly adev: AmdgpuDevice,
    entity: DrmSchedEntity,
    readonly kind: AmdgpuJobKind,
    owner: unknown = null,
  ) {
    super(entity, 1, owner);
    this.vramLostCounter = adev.vramLostCounter;
  }

  /** Total execution time of the IBs. */
  get durationNs(): number {
    let t = 0;
    for (const ib of this.ibs) t += ib.durationNs;
    return t;
  }

  /** Any IB hangs. */
  get hangs(): boolean {
    return this.ibs.some((ib) => ib.hang);
  }

  /** `amdgpu_job_free_cb`'s body: drop the gang fence reference and the scheduler's state. */
  release(): void {
    this.gangSubmit?.put();
    this.gangSubmit = null;
    for (const ib of this.ibs) {
      if (ib.mem !== undefined) amdgpuIbMemRelease(ib.mem);
      delete ib.mem;
    }
    this.cleanup();
  }

  /**
   * drmsim extension: the IBs' writes land (the hardware completed the job without error). Irq
   * context. Returns 0, or the negative errno the fence must carry when memory the job used is
   * gone (an imported buffer's exporter was removed).
   */
  writeBack(): number {
    for (const ib of this.ibs) {
      if (ib.mem === undefined) continue;
      const err = amdgpuIbMemApply(ib.mem);
      if (err !== 0) return err;
    }
    return 0;
  }
}

/** `amdgpu_job_prepare_job(sched_job, s_entity)`. See the module comment. */
export function amdgpuJobPrepareJob(job: DrmSchedJob, entity: DrmSchedEntity): DmaFence | null {
  if (!(job instanceof AmdgpuJob)) return null;
  const finished = job.finished;
  // 1. An earlier job of the entity failed: this one carries the error and will be skipped.
  const err = entity.entityError();
  if (err !== 0 && finished.error === 0 && !finished.signaled) finished.setError(err);
  // 2. Gang submit: only one gang on the hardware at a time.
  if (job.gangSubmit !== null) {
    const f = job.adev.switchGang(job.gangSubmit);
    if (f !== null) return f;
  }
  // 3. A VMID, or the fence after which one becomes free.
  if (job.vm !== null && job.vmid === 0) {
    const f = job.adev.vmids.grab(job.vm, job);
    if (f !== null) return f;
  }
  return null;
}
