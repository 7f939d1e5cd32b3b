/**
 * A tiny `DRIVER_COMPUTE_ACCEL` driver for the fuzzer: an accel node (`/dev/accel/accelN`) with
 * syncobjs (binary and timeline) and two driver ioctls, so the accel-node permission rule and the
 * syncobj uAPI are fuzzed even before a real accel driver (habanalabs) lands.
 *
 * - `FUZZACCEL_CREATE_BO` (render-allowed): `struct drm_fuzzaccel_create_bo` → `handle`, a shmem
 *   GEM object.
 * - `FUZZACCEL_ADMIN` (`DRM_MASTER`): an accel node has no master, so it must always be refused
 *   with `EACCES` (in 7.1 an accel client needs no `DRM_RENDER_ALLOW`: that alone would not refuse it).
 */
import {
  DRM_COMMAND_BASE,
  DRM_IO,
  DRM_IOWR,
  DRM_MASTER,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmHooks,
  type DrmPluginHost,
  drmIoctlDefDrv,
  drmNoArg,
} from "@drmsim/drm";
import { __u32, __u64, KernelError, mbz, type UapiArgsOf, uapiStruct } from "@drmsim/runtime";

/** `struct drm_fuzzaccel_create_bo`: in `size` (bytes) and `flags` (must be 0); out `handle`. */
export const drm_fuzzaccel_create_bo = uapiStruct(
  "drm_fuzzaccel_create_bo",
  { size: __u64, flags: mbz(__u32), handle: __u32 },
  { size: 16 },
);
/** `struct drm_fuzzaccel_create_bo` as a caller passes it. */
export type DrmFuzzaccelCreateBo = UapiArgsOf<typeof drm_fuzzaccel_create_bo>;
/** `DRM_IOCTL_FUZZACCEL_CREATE_BO`. */
export const DRM_IOCTL_FUZZACCEL_CREATE_BO = DRM_IOWR(DRM_COMMAND_BASE + 0x00, drm_fuzzaccel_create_bo);
/** `DRM_IOCTL_FUZZACCEL_ADMIN`: no argument. */
export const DRM_IOCTL_FUZZACCEL_ADMIN = DRM_IO(DRM_COMMAND_BASE + 0x01);

/** Largest object `FUZZACCEL_CREATE_BO` accepts (1 GiB), as a driver would cap a BO size. */
export const FUZZACCEL_MAX_BO = 1 << 30;

/** The fuzzer's accel driver plugin. */
export class FuzzAccelDriver {
  apply(hooks: DrmHooks, device: DrmDevice): void {
    hooks.driver.ioctls.tap("fuzzaccel", (ioctls) => {
      ioctls.add(
        drmIoctlDefDrv(
          "FUZZACCEL_CREATE_BO",
          DRM_IOCTL_FUZZACCEL_CREATE_BO,
          drm_fuzzaccel_create_bo,
          (file, args) => {
            const size = args.size;
            if (size === 0n || size > BigInt(FUZZACCEL_MAX_BO))
              throw new KernelError(
                "EINVAL",
                `FUZZACCEL_CREATE_BO: size ${size} is outside 1..${FUZZACCEL_MAX_BO}`,
              );
            const obj = device.gemCreateObject(Number(size));
            try {
              args.handle = file.gem.handleCreate(obj);
            } finally {
              obj.put();
            }
          },
          DRM_RENDER_ALLOW,
        ),
      );
      // No DRM_RENDER_ALLOW: accel clients are refused it (EACCES).
      ioctls.add(
        drmIoctlDefDrv("FUZZACCEL_ADMIN", DRM_IOCTL_FUZZACCEL_ADMIN, drmNoArg, () => undefined, DRM_MASTER),
      );
    });
  }
}

/** Probes a fuzzaccel device (`/dev/accel/accelN`). */
export function fuzzAccelProbe(host: DrmPluginHost): DrmDevice {
  return host.probe(FuzzAccelDriver, {
    name: "fuzzaccel",
    desc: "drmsim fuzzer accel device",
    features:
      DrmDriverFeature.COMPUTE_ACCEL |
      DrmDriverFeature.GEM |
      DrmDriverFeature.SYNCOBJ |
      DrmDriverFeature.SYNCOBJ_TIMELINE,
  });
}
