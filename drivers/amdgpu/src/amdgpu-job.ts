/**
 * `struct amdgpu_job` (`drivers/gpu/drm/amd/amdgpu/amdgpu_job.c`): a drm_sched job plus what the
 * ring needs to run it — the IBs (addresses in the submitter's VM), the VM and its VMID, the gang
 * it belongs to, the user fence, and the VRAM-lost counter it was submitted under. Kernel jobs
 * (buffer moves, page-table updates) have no IBs, only the time their copy or update takes.
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
import { type AmdgpuGpuWrites, amdgpuGpuWritesRelease } from "./amdgpu-gpu-writes.js";
import { amdgpuIbMemCreate } from "./amdgpu-ib-mem.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import type { AmdgpuVm } from "./amdgpu-vm.js";

/**
 * `struct amdgpu_ib`: `lengthDw` dwords at GPU address `va`, flags from the chunk. CS resolved
 * the address to `bo` at byte `offset` (the job holds a reference); the hardware reads the bytes
 * from there when the job runs.
 */
export interface AmdgpuIb {
  readonly va: number;
  readonly lengthDw: number;
  readonly flags: number;
  readonly bo: AmdgpuBo;
  readonly offset: number;
}

/** What the job does: a userspace submission, a kernel buffer move, or a page-table update. */
export type AmdgpuJobKind = "cs" | "move" | "pt";

/** `struct amdgpu_job`. */
export class AmdgpuJob extends DrmSchedJob {
  /** `job->ibs`. */
  readonly ibs: AmdgpuIb[] = [];
  /** Time a kernel job (move, page-table update) takes on its ring. */
  kernelNs = 0;
  /** What a kernel job is, for traces and reports. */
  label = "";
  /** `job->vm`: null for kernel jobs (they run in the kernel's address space, no VMID). */
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
  /** `job->uf_addr`'s target: the user fence BO and offset (a reference), leader only. */
  userFence: { bo: AmdgpuBo; offset: number } | null = null;
  /** `job->uf_sequence`: the value the user fence gets. */
  ufSequence = 0n;
  /** The stores the hardware resolved at `run_job`; they land when the job completes without error. */
  writes: AmdgpuGpuWrites = amdgpuIbMemCreate();

  constructor(
    readonly adev: AmdgpuDevice,
    entity: DrmSchedEntity,
    readonly kind: AmdgpuJobKind,
    owner: unknown = null,
  ) {
    super(entity, 1, owner);
    this.vramLostCounter = adev.vramLostCounter;
  }

  /** Drops the stores resolved by an earlier `run_job` (a resubmission after a reset resolves them again). */
  dropWrites(): void {
    amdgpuGpuWritesRelease(this.writes);
  }

  /** `amdgpu_job_free_cb`'s body: drop the gang fence, the IB and user-fence BOs, the stores, the scheduler's state. */
  release(): void {
    this.gangSubmit?.put();
    this.gangSubmit = null;
    for (const ib of this.ibs) ib.bo.put();
    this.ibs.length = 0;
    this.userFence?.bo.put();
    this.userFence = null;
    this.dropWrites();
    this.cleanup();
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
