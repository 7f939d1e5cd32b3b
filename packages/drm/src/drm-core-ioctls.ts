/**
 * The core ioctls that need nothing but the device and the file: VERSION and GET_CAP
 * (`drm_ioctl.c`), and the authentication and master ioctls (`drm_auth.c`).
 */
import { KernelError, type UapiValue, type UserPtr } from "@drmsim/runtime";
import { drmMagicAuth, drmMagicGet, drmMasterDrop, drmMasterSet } from "./drm-auth.js";
import { DrmDriverFeature } from "./drm-drv.js";
import type { DrmFile } from "./drm-file.js";
import type { DrmIoctlCall } from "./drm-ioctl-def.js";
import type { drm_auth, drm_get_cap, drm_version } from "./drm-uapi.js";

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

/**
 * `drm_copy_field`: copies `value` into the user buffer — at most `*_len` bytes, no NUL — and
 * sets `*_len` to its full length, so a caller with a NULL buffer learns how much room to make.
 */
function drmCopyField(buf: UserPtr<number>, bufLen: bigint, value: string, check = false): bigint {
  const bytes = new TextEncoder().encode(value);
  const len = Math.min(bytes.length, Number(bufLen > BigInt(bytes.length) ? BigInt(bytes.length) : bufLen));
  if (len > 0 && !buf.isNull) {
    if (check) buf.accessOk(len);
    else buf.write([...bytes.subarray(0, len)]);
  }
  return BigInt(bytes.length);
}

/** `DRM_IOCTL_VERSION` (`drm_version`): the driver's version and its name, date and description. */
export function drmVersionIoctl(file: DrmFile, args: UapiValue<typeof drm_version>): void {
  const d = file.device.driver;
  // The kernel copies the three strings one by one and leaves the first in place when a later one
  // faults; drmsim checks all three buffers first so a failed call changes nothing.
  drmCopyField(args.name, args.name_len, d.name, true);
  drmCopyField(args.date, args.date_len, "0", true);
  drmCopyField(args.desc, args.desc_len, d.desc ?? d.name, true);
  args.version_major = d.major ?? 1;
  args.version_minor = d.minor ?? 0;
  args.version_patchlevel = d.patchlevel ?? 0;
  args.name_len = drmCopyField(args.name, args.name_len, d.name);
  // Linux 6.14 dropped drm_driver.date; drm_version reports "0" since.
  args.date_len = drmCopyField(args.date, args.date_len, "0");
  args.desc_len = drmCopyField(args.desc, args.desc_len, d.desc ?? d.name);
}

/**
 * `DRM_IOCTL_GET_CAP` (`drm_getcap`): the caps every driver answers, then (KMS drivers only,
 * `EOPNOTSUPP` otherwise) the dumb-buffer caps; `EINVAL` for an unknown capability.
 */
export function drmGetcapIoctl(file: DrmFile, args: UapiValue<typeof drm_get_cap>): void {
  const dev = file.device;
  const cap = args.capability;
  const yes = (b: boolean) => (b ? 1n : 0n);
  args.value = 0n;
  // drm_getcap: these caps make sense for every driver …
  switch (cap) {
    case BigInt(DrmCap.TIMESTAMP_MONOTONIC):
      args.value = 1n;
      return;
    case BigInt(DrmCap.PRIME):
      args.value = BigInt(DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT);
      return;
    case BigInt(DrmCap.SYNCOBJ):
      args.value = yes(dev.checkFeature(DrmDriverFeature.SYNCOBJ));
      return;
    case BigInt(DrmCap.SYNCOBJ_TIMELINE):
      args.value = yes(dev.checkFeature(DrmDriverFeature.SYNCOBJ_TIMELINE));
      return;
  }
  // … the others only for KMS drivers: a render-only driver (vgem) answers EOPNOTSUPP, not EINVAL.
  if (!dev.checkFeature(DrmDriverFeature.MODESET))
    throw new KernelError(
      "EOPNOTSUPP",
      `capability 0x${cap.toString(16)} needs a KMS (DRIVER_MODESET) driver`,
    );
  switch (cap) {
    case BigInt(DrmCap.DUMB_BUFFER):
      args.value = yes(dev.hooks.driver.dumbCreate.taps.length > 0);
      return;
    case BigInt(DrmCap.DUMB_PREFERRED_DEPTH):
    case BigInt(DrmCap.DUMB_PREFER_SHADOW):
      return;
  }
  throw new KernelError("EINVAL", `unknown capability 0x${cap.toString(16)}`);
}

/** `DRM_IOCTL_GET_MAGIC` (`drm_getmagic`): a magic in the file's master's map (`drm-auth.ts`). */
export function drmGetmagicIoctl(file: DrmFile, args: UapiValue<typeof drm_auth>): void {
  args.magic = drmMagicGet(file);
}

/** `DRM_IOCTL_AUTH_MAGIC` (`drm_authmagic`): looked up under the caller's (current) master only. */
export function drmAuthmagicIoctl(file: DrmFile, args: UapiValue<typeof drm_auth>): void {
  drmMagicAuth(file, args.magic);
}

/** `DRM_IOCTL_SET_MASTER` (`drm_setmaster_ioctl`): the caller's privilege decides (`drm_master_check_perm`). */
export function drmSetmasterIoctl(file: DrmFile, _args: unknown, call: DrmIoctlCall): void {
  drmMasterSet(file, call.proc);
}

/** `DRM_IOCTL_DROP_MASTER` (`drm_dropmaster_ioctl`): the caller's privilege decides (`drm_master_check_perm`). */
export function drmDropmasterIoctl(file: DrmFile, _args: unknown, call: DrmIoctlCall): void {
  drmMasterDrop(file, call.proc);
}
