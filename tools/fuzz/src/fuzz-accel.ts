/**
 * A tiny `DRIVER_COMPUTE_ACCEL` driver for the fuzzer: an accel node (`/dev/accel/accelN`) with
 * syncobjs (binary and timeline) and two driver ioctls, so the accel-node permission rule and the
 * syncobj uAPI are fuzzed even before a real accel driver (habanalabs) lands.
 *
 * - `FUZZACCEL_CREATE_BO` (render-allowed): `{ size, flags }` → `{ handle }`, a shmem GEM object.
 * - `FUZZACCEL_ADMIN` (no `DRM_RENDER_ALLOW`): must be refused on the accel node with `EACCES`.
 */
import {
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmHooks,
  type DrmPluginHost,
  drmArgU,
  drmCheckZero,
  drmIoctlDefDrv,
} from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";

/** Largest object `FUZZACCEL_CREATE_BO` accepts (1 GiB), as a driver would cap a BO size. */
export const FUZZACCEL_MAX_BO = 1 << 30;

/** The fuzzer's accel driver plugin. */
export class FuzzAccelDriver {
  apply(hooks: DrmHooks, device: DrmDevice): void {
    hooks.driver.ioctls.tap("fuzzaccel", (ioctls) => {
      ioctls.add(
        drmIoctlDefDrv(
          "DRM_IOCTL_FUZZACCEL_CREATE_BO",
          0x00,
          (file, args: Record<string, unknown>) => {
            drmCheckZero(args, "flags", "FUZZACCEL_CREATE_BO");
            const size = drmArgU(args, "size", "FUZZACCEL_CREATE_BO");
            if (size === 0 || size > FUZZACCEL_MAX_BO)
              throw new KernelError(
                "EINVAL",
                `FUZZACCEL_CREATE_BO: size ${size} is outside 1..${FUZZACCEL_MAX_BO}`,
              );
            const obj = device.gemCreateObject(size);
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
      ioctls.add(drmIoctlDefDrv("DRM_IOCTL_FUZZACCEL_ADMIN", 0x01, () => ({ ok: 1 }), 0));
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
