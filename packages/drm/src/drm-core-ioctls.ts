/**
 * The core ioctls that need nothing but the device and the file: VERSION and GET_CAP
 * (`drm_ioctl.c`), and the authentication and master ioctls (`drm_auth.c`).
 */
import { KernelError } from "@drmsim/runtime";
import { drmMagicAuth, drmMagicGet, drmMasterDrop, drmMasterSet } from "./drm-auth.js";
import { DrmDriverFeature } from "./drm-drv.js";
import type { DrmFile } from "./drm-file.js";
import { drmArgU } from "./drm-ioctl-args.js";
import type { DrmIoctlCall } from "./drm-ioctl-def.js";

/** `DRM_CAP_*` numbers (`include/uapi/drm/drm.h`). */
export const DrmCap = {
  DUMB_BUFFER: 0x1,
  VBLANK_HIGH_CRTC: 0x2,
  DUMB_PREFERRED_DEPTH: 0x3,
  DUMB_PREFER_SHADOW: 0x4,
  PRIME: 0x5,
  TIMESTAMP_MONOTONIC: 0x6,
  ASYNC_PAGE_FLIP: 0x7,
  CURSOR_WIDTH: 0x8,
  CURSOR_HEIGHT: 0x9,
  ADDFB2_MODIFIERS: 0x10,
  PAGE_FLIP_TARGET: 0x11,
  CRTC_IN_VBLANK_EVENT: 0x12,
  SYNCOBJ: 0x13,
  SYNCOBJ_TIMELINE: 0x14,
} as const;

/** `DRM_PRIME_CAP_IMPORT`. */
export const DRM_PRIME_CAP_IMPORT = 0x1;
/** `DRM_PRIME_CAP_EXPORT`. */
export const DRM_PRIME_CAP_EXPORT = 0x2;

/** `struct drm_version` as returned. */
export interface DrmVersion {
  version_major: number;
  version_minor: number;
  version_patchlevel: number;
  name: string;
  name_len: number;
  date: string;
  date_len: number;
  desc: string;
  desc_len: number;
}

/** `DRM_IOCTL_VERSION` (`drm_version`). */
export function drmVersion(file: DrmFile, args: Partial<DrmVersion>): void {
  const d = file.device.driver;
  // Linux 6.14 dropped drm_driver.date; drm_version reports "0" since.
  const name = d.name;
  const date = "0";
  const desc = d.desc ?? d.name;
  Object.assign(args, {
    version_major: d.major ?? 1,
    version_minor: d.minor ?? 0,
    version_patchlevel: d.patchlevel ?? 0,
    name,
    name_len: name.length,
    date,
    date_len: date.length,
    desc,
    desc_len: desc.length,
  });
}

/** `DRM_IOCTL_GET_CAP` (`drm_getcap`). */
export function drmGetcap(file: DrmFile, args: { capability?: number; value?: number }): void {
  const dev = file.device;
  const cap = drmArgU(args, "capability", "DRM_IOCTL_GET_CAP");
  // drm_getcap: these caps make sense for every driver …
  switch (cap) {
    case DrmCap.TIMESTAMP_MONOTONIC:
      args.value = 1;
      return;
    case DrmCap.PRIME:
      args.value = DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT;
      return;
    case DrmCap.SYNCOBJ:
      args.value = dev.checkFeature(DrmDriverFeature.SYNCOBJ) ? 1 : 0;
      return;
    case DrmCap.SYNCOBJ_TIMELINE:
      args.value = dev.checkFeature(DrmDriverFeature.SYNCOBJ_TIMELINE) ? 1 : 0;
      return;
  }
  // … the others only for KMS drivers: a render-only driver (vgem) answers EOPNOTSUPP, not EINVAL.
  if (!dev.checkFeature(DrmDriverFeature.MODESET))
    throw new KernelError(
      "EOPNOTSUPP",
      `capability 0x${cap.toString(16)} needs a KMS (DRIVER_MODESET) driver`,
    );
  switch (cap) {
    case DrmCap.DUMB_BUFFER:
      args.value = dev.hooks.driver.dumbCreate.taps.length > 0 ? 1 : 0;
      return;
    case DrmCap.DUMB_PREFERRED_DEPTH:
    case DrmCap.DUMB_PREFER_SHADOW:
      args.value = 0;
      return;
  }
  throw new KernelError("EINVAL", `unknown capability 0x${cap.toString(16)}`);
}

/** `DRM_IOCTL_GET_MAGIC` (`drm_getmagic`): a magic in the file's master's map (`drm-auth.ts`). */
export function drmGetmagic(file: DrmFile, args: { magic?: number }): void {
  args.magic = drmMagicGet(file);
}

/** `DRM_IOCTL_AUTH_MAGIC` (`drm_authmagic`): looked up under the caller's (current) master only. */
export function drmAuthmagic(file: DrmFile, args: { magic?: number }): void {
  drmMagicAuth(file, drmArgU(args, "magic", "DRM_IOCTL_AUTH_MAGIC"));
}

/** `DRM_IOCTL_SET_MASTER` (`drm_setmaster_ioctl`): the caller's privilege decides (`drm_master_check_perm`). */
export function drmSetmasterIoctl(file: DrmFile, _args: unknown, call: DrmIoctlCall): void {
  drmMasterSet(file, call.proc);
}

/** `DRM_IOCTL_DROP_MASTER` (`drm_dropmaster_ioctl`): the caller's privilege decides (`drm_master_check_perm`). */
export function drmDropmasterIoctl(file: DrmFile, _args: unknown, call: DrmIoctlCall): void {
  drmMasterDrop(file, call.proc);
}
