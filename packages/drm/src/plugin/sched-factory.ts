/**
 * `drm_sched_init` for a driver: every scheduler a driver makes comes from its device's factory
 * (`DRM_SCHED_FACTORY` in the container), which passes the device's `drm_sched_backend_ops` —
 * the ones that call `hooks.sched` behind the framework's interceptors. A driver never hands
 * the scheduler an ops object of its own.
 */
import { DrmGpuScheduler, type DrmSchedInitArgs } from "@drmsim/drm-sched";
import type { DrmDevice } from "../drm-device.js";

/** What a driver passes to `DrmSchedFactory.create`: `drm_sched_init_args` without `ops`. */
export type DrmSchedFactoryArgs = Omit<DrmSchedInitArgs, "ops">;

/** The device's scheduler factory. */
export class DrmSchedFactory {
  constructor(private readonly device: DrmDevice) {}

  /** `drm_sched_init(sched, args)` with the device's hook-routed ops; traced under the device. */
  create(args: DrmSchedFactoryArgs): DrmGpuScheduler {
    return new DrmGpuScheduler(this.device.sim, {
      device: this.device.dmaDev.name,
      ...args,
      ops: this.device.schedOps,
    });
  }
}
