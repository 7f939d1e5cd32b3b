/**
 * @drmsim/drm-sched — `drm_sched`, the DRM GPU scheduler (`drivers/gpu/drm/scheduler/`):
 * schedulers, entities, run queues, jobs, credits, fence dependencies, `prepareJob` fences and
 * timeout recovery. A job depends on fences and nothing else.
 *
 * The mock driver of the kernel's KUnit tests is in `@drmsim/drm-sched/testing`.
 */
export * from "./entity.js";
export * from "./job.js";
export * from "./ops.js";
export * from "./run-queue.js";
export * from "./sched-fence.js";
export * from "./scheduler.js";
export * from "./trace.js";
