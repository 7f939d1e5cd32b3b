/**
 * `struct drm_sched_backend_ops` and the scheduler's small enums (`include/drm/gpu_scheduler.h`).
 *
 * DOC: why there is no `canRunJob` and no `updateJobCredits`. A scheduler job depends on fences
 * and nothing else. In 2023 Asahi Lina proposed a boolean `can_run_job` callback so a firmware
 * queue with 128 slots could say "full"; Christian König NAKed it: a boolean has no wake-up, so
 * the scheduler cannot know when to ask again, and the first missed wake-up is a hang nobody can
 * see (seed 002). Firmware-queue limits are expressed either as job credits (credits = slots,
 * `creditLimit` = queue size) or as a fence returned from `prepareJob` — the fence of the oldest
 * command that must retire first. The credit-based `update_job_credits` op that briefly existed
 * was removed in 2025 for the same reason: credits are fixed at `job.init()` time. drmsim keeps
 * both out of the type, so a driver cannot express a dependency the scheduler cannot wait on.
 *
 * All calls into a driver's ops happen in `DrmGpuScheduler`'s `call*` methods (one place), so the
 * DRM core can route them through hooks and interceptors later.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import type { DrmSchedEntity } from "./entity.js";
import type { DrmSchedJob } from "./job.js";

/** `enum drm_sched_priority`: lower is more important. */
export const DrmSchedPriority = {
  /** `DRM_SCHED_PRIORITY_KERNEL`: kernel-internal work (page table updates, moves). */
  KERNEL: 0,
  /** `DRM_SCHED_PRIORITY_HIGH`. */
  HIGH: 1,
  /** `DRM_SCHED_PRIORITY_NORMAL`. */
  NORMAL: 2,
  /** `DRM_SCHED_PRIORITY_LOW`. */
  LOW: 3,
} as const;
/** A `DrmSchedPriority` value. */
export type DrmSchedPriority = (typeof DrmSchedPriority)[keyof typeof DrmSchedPriority];
/** `DRM_SCHED_PRIORITY_COUNT`. */
export const DRM_SCHED_PRIORITY_COUNT = 4;

/** `enum drm_gpu_sched_stat`: what `timedoutJob` reports. */
export const DrmGpuSchedStat = {
  /** `DRM_GPU_SCHED_STAT_NONE`: reserved, never returned by a driver. */
  NONE: 0,
  /** `DRM_GPU_SCHED_STAT_RESET`: the hardware was reset; the timer is re-armed. */
  RESET: 1,
  /** `DRM_GPU_SCHED_STAT_ENODEV`: the device is gone; the timer is not re-armed. */
  ENODEV: 2,
  /** `DRM_GPU_SCHED_STAT_NO_HANG`: false alarm; the job goes back to the pending list and keeps running. */
  NO_HANG: 3,
} as const;
/** A `DrmGpuSchedStat` value. */
export type DrmGpuSchedStat = (typeof DrmGpuSchedStat)[keyof typeof DrmGpuSchedStat];

/**
 * Entity selection policy. `fifo` (the ≤ 7.1 default: oldest submitted job first, per priority
 * run queue) and `rr` (round robin per priority run queue) mirror the `sched_policy` module
 * parameter; `fair` is the post-7.1 single run queue ordered by priority-weighted virtual GPU time.
 */
export type DrmSchedPolicy = "fifo" | "rr" | "fair";

/**
 * `struct drm_sched_backend_ops`: what a driver gives the scheduler.
 *
 * Every op runs on the scheduler's submission path. `prepareJob` and `runJob` run inside a
 * dma-fence signalling section, and so does `timedoutJob`: no `GFP_KERNEL` allocations, no fence
 * waits, no dma_resv locks there — the validator reports each on the first run.
 */
export interface DrmSchedBackendOps {
  /**
   * `prepare_job`: called once every explicit dependency has signalled, and again after each
   * fence it returns has signalled, until it returns null. Return the fence of whatever must
   * happen first (a firmware queue slot, a VMID, a gang leader). Not called for killed jobs.
   */
  prepareJob?(job: DrmSchedJob, entity: DrmSchedEntity): DmaFence | null;
  /**
   * `run_job`: hand the job to the hardware. Return the hardware fence, with a reference for the
   * scheduler; null finishes the job at once without error; throwing a `KernelError` (or
   * returning a negative errno) finishes it with that error.
   */
  runJob(job: DrmSchedJob): DmaFence | null | number;
  /** `timedout_job`: the job at the head of the pending list exceeded the timeout. */
  timedoutJob(job: DrmSchedJob): DrmGpuSchedStat;
  /** `free_job`: the job finished and left the pending list; call `job.cleanup()` and drop it. */
  freeJob(job: DrmSchedJob): void;
  /**
   * `cancel_job` (optional): at `fini()`, signal the job's hardware fence with an error (e.g.
   * `-ECANCELED`). Must not free the job: `freeJob` follows.
   */
  cancelJob?(job: DrmSchedJob): void;
}
