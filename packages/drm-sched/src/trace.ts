/** The `gpu_scheduler` trace system (`drivers/gpu/drm/scheduler/gpu_scheduler_trace.h`). */
import { defineTracepoint } from "@drmsim/runtime";

/** Arguments every scheduler job event carries. */
export interface DrmSchedJobTraceArgs {
  name: string;
  /** `job->id`. */
  id: number;
  /** Context and seqno of the job's finished fence. */
  fenceContext: number;
  seqno: number;
  /** Jobs queued on the entity. */
  jobCount: number;
  /** Credits in use on the scheduler. */
  creditCount: number;
}

/** `drm_sched_job` (`drm_sched_job_queue` in newer kernels): a job was pushed to its entity. */
export const traceDrmSchedJob = defineTracepoint<DrmSchedJobTraceArgs>("drm_sched_job", "gpu_scheduler");
/** `drm_run_job` (`drm_sched_job_run`): the job was handed to the driver's `run_job`. */
export const traceDrmRunJob = defineTracepoint<DrmSchedJobTraceArgs>("drm_run_job", "gpu_scheduler");
/** `drm_sched_process_job` (`drm_sched_job_done`): the job's hardware fence signalled. */
export const traceDrmSchedProcessJob = defineTracepoint<{
  fenceContext: number;
  seqno: number;
  error: number;
}>("drm_sched_process_job", "gpu_scheduler");
/** `drm_sched_job_wait_dep` (`drm_sched_job_unschedulable`): the job waits on a dependency fence. */
export const traceDrmSchedJobWaitDep = defineTracepoint<{
  id: number;
  depContext: number;
  depSeqno: number;
  depDriver: string;
  depTimeline: string;
}>("drm_sched_job_wait_dep", "gpu_scheduler");
/**
 * A job's life on its scheduler's `jobs` track: from `drm_sched_entity_push_job` (queued) to its
 * finished fence signalling (with `error`), `ranAt` the time `run_job` was called. Dependency
 * arrows end on it; the hardware work is on the ring's own track.
 */
export const traceDrmSchedJobSpan = defineTracepoint<{
  id: number;
  entity: string;
  fenceContext: number;
  seqno: number;
  credits: number;
  error?: number;
  ranAt?: number;
}>("job", "gpu_scheduler");
