/**
 * vgem (`drivers/gpu/drm/vgem/vgem_drv.c`): "a (non-hardware-backed) GEM service", used by Mesa's
 * software renderer and IGT for buffer sharing and implicit-sync tests. It is the smallest useful
 * driver: everything a driver does is in `apply()`.
 *
 * - GEM objects come from the shmem helper (the default helper plugins), so vgem taps nothing
 *   for `gemCreateObject`, the object funcs or PRIME: the helpers' defaults are the kernel's.
 * - `dumbCreate` sizes a buffer as the shmem helper does (`drm_gem_shmem_dumb_create`: the
 *   scanline rounded up to an 8-byte pitch, the size to a page) and hands back a handle.
 * - `open`/`postclose` keep the per-file fence idr; closing the file signals every outstanding fence.
 * - vgem fences: `vgem_fence_ops` through `hooks.fence` (`vgemFenceApply`).
 * - Two driver ioctls: `VGEM_FENCE_ATTACH` and `VGEM_FENCE_SIGNAL`, both render-allowed, their
 *   arguments declared as `vgem_drm.h` lays them out.
 */
import {
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmHooks,
  type DrmPluginHost,
  drmIoctlDefDrv,
  drmModeSizeDumb,
  SIMULATOR,
} from "@drmsim/drm";
import type { Simulator } from "@drmsim/runtime";
import { inject } from "tsyringe";
import {
  DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  drm_vgem_fence_attach,
  drm_vgem_fence_signal,
  drmsim_vgem_fence_error,
} from "./vgem-drm.js";
import {
  VgemFile,
  vgemFenceApply,
  vgemFenceAttachIoctl,
  vgemFenceErrorIoctl,
  vgemFenceSignalIoctl,
  vgemFileOf,
} from "./vgem-fence.js";

/** vgem's `struct drm_driver` data: name, version and features (`DRIVER_GEM | DRIVER_RENDER`). */
export const VGEM_DRIVER_INFO = {
  name: "vgem",
  desc: "Virtual GEM provider",
  major: 1,
  minor: 0,
  patchlevel: 0,
  features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER,
} as const;

/** The vgem driver plugin. */
export class VgemDriver {
  constructor(@inject(SIMULATOR) readonly sim: Simulator) {}

  apply(hooks: DrmHooks, device: DrmDevice): void {
    const name = "vgem";
    hooks.driver.open.tap(name, (file) => {
      file.driverPriv = new VgemFile();
    });
    hooks.driver.postclose.tap(name, (file) => {
      vgemFileOf(file).close();
      file.driverPriv = undefined;
    });
    // drm_gem_shmem_dumb_create (DRM_GEM_SHMEM_DRIVER_OPS): pitch aligned to 8 bytes, size to a page.
    hooks.driver.dumbCreate.tapPromise(name, async (file, args) => {
      const sized = { ...args };
      drmModeSizeDumb(sized, 8, 0);
      const obj = device.gemCreateObject(Number(sized.size));
      try {
        args.handle = file.gem.handleCreate(obj);
      } finally {
        obj.put();
      }
      args.pitch = sized.pitch;
      args.size = BigInt(obj.size);
      return true;
    });
    vgemFenceApply(hooks, name);
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // vgem_ioctls[]
      ioctls.add(
        drmIoctlDefDrv(
          "VGEM_FENCE_ATTACH",
          DRM_IOCTL_VGEM_FENCE_ATTACH,
          drm_vgem_fence_attach,
          vgemFenceAttachIoctl,
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "VGEM_FENCE_SIGNAL",
          DRM_IOCTL_VGEM_FENCE_SIGNAL,
          drm_vgem_fence_signal,
          vgemFenceSignalIoctl,
          DRM_RENDER_ALLOW,
        ),
      );
      // drmsim only (the side channel of vgem-drm.ts), above the header's range.
      ioctls.add(
        drmIoctlDefDrv(
          "DRMSIM_VGEM_FENCE_ERROR",
          DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
          drmsim_vgem_fence_error,
          vgemFenceErrorIoctl,
          DRM_RENDER_ALLOW,
        ),
      );
    });
  }
}

/** `vgem_init`: probes a vgem device on `host` (card N and renderD 128+N). */
export function vgemProbe(host: DrmPluginHost): DrmDevice {
  return host.probe(VgemDriver, VGEM_DRIVER_INFO);
}
