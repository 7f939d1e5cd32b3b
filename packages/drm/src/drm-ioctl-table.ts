/**
 * The DRM core's ioctl table (`drm_ioctls[]` in `drivers/gpu/drm/drm_ioctl.c`): every core ioctl
 * with its number and permission flags, written out as one explicit list. The kernel's table is
 * static and so is this one — nothing registers itself when a module loads, so a bundler that
 * drops modules imported only for their side effects still keeps every ioctl.
 */
import {
  drmAuthmagic,
  drmDropmasterIoctl,
  drmGetcap,
  drmGetmagic,
  drmSetmasterIoctl,
  drmVersion,
} from "./drm-core-ioctls.js";
import {
  drmGemChangeHandleIoctl,
  drmGemCloseIoctl,
  drmGemFlinkIoctl,
  drmGemOpenIoctl,
  drmModeCreateDumbIoctl,
  drmModeDestroyDumbIoctl,
  drmModeMmapDumbIoctl,
} from "./drm-gem-ioctls.js";
import { DRM_AUTH, DRM_MASTER, DRM_RENDER_ALLOW, type DrmIoctlDef, drmIoctlDef } from "./drm-ioctl-def.js";
import { drmPrimeFdToHandleIoctl, drmPrimeHandleToFdIoctl } from "./drm-prime-ioctls.js";
import { DRM_SYNCOBJ_IOCTLS } from "./syncobj/syncobj-ioctl-defs.js";

/** `drm_ioctls[]`: the core ioctls, by ascending number. */
export const DRM_CORE_IOCTLS: readonly DrmIoctlDef[] = [
  drmIoctlDef("DRM_IOCTL_VERSION", 0x00, drmVersion, DRM_RENDER_ALLOW),
  drmIoctlDef("DRM_IOCTL_GET_MAGIC", 0x02, drmGetmagic, 0),
  drmIoctlDef("DRM_IOCTL_GEM_CLOSE", 0x09, drmGemCloseIoctl, DRM_RENDER_ALLOW),
  // No DRM_RENDER_ALLOW: global names are exactly what render nodes exist to avoid.
  drmIoctlDef("DRM_IOCTL_GEM_FLINK", 0x0a, drmGemFlinkIoctl, DRM_AUTH),
  drmIoctlDef("DRM_IOCTL_GEM_OPEN", 0x0b, drmGemOpenIoctl, DRM_AUTH),
  drmIoctlDef("DRM_IOCTL_GET_CAP", 0x0c, drmGetcap, DRM_RENDER_ALLOW),
  drmIoctlDef("DRM_IOCTL_AUTH_MAGIC", 0x11, drmAuthmagic, DRM_AUTH | DRM_MASTER),
  drmIoctlDef("DRM_IOCTL_SET_MASTER", 0x1e, drmSetmasterIoctl, 0),
  drmIoctlDef("DRM_IOCTL_DROP_MASTER", 0x1f, drmDropmasterIoctl, 0),
  // Render-allowed and nothing else: the kernel dropped DRM_AUTH from both PRIME ioctls (Linux 5.2),
  // because a dma-buf fd is a capability the caller already holds, unlike a guessable flink name.
  // An unauthenticated primary client may share buffers through PRIME.
  drmIoctlDef("DRM_IOCTL_PRIME_HANDLE_TO_FD", 0x2d, drmPrimeHandleToFdIoctl, DRM_RENDER_ALLOW),
  drmIoctlDef("DRM_IOCTL_PRIME_FD_TO_HANDLE", 0x2e, drmPrimeFdToHandleIoctl, DRM_RENDER_ALLOW),
  drmIoctlDef("DRM_IOCTL_MODE_CREATE_DUMB", 0xb2, drmModeCreateDumbIoctl, 0),
  drmIoctlDef("DRM_IOCTL_MODE_MAP_DUMB", 0xb3, drmModeMmapDumbIoctl, 0),
  drmIoctlDef("DRM_IOCTL_MODE_DESTROY_DUMB", 0xb4, drmModeDestroyDumbIoctl, 0),
  ...DRM_SYNCOBJ_IOCTLS,
  // For CRIU, which restores a process's objects at the handles it had.
  drmIoctlDef("DRM_IOCTL_GEM_CHANGE_HANDLE", 0xd2, drmGemChangeHandleIoctl, DRM_RENDER_ALLOW),
];

const BY_NAME = new Map<string, DrmIoctlDef>();
for (const def of DRM_CORE_IOCTLS) {
  if (BY_NAME.has(def.name) || DRM_CORE_IOCTLS.some((d) => d !== def && d.nr === def.nr))
    throw new Error(`${def.name} (nr 0x${def.nr.toString(16)}) appears twice in drm_ioctls[]`);
  BY_NAME.set(def.name, def);
}

/** The core ioctl called `name`, or undefined. */
export function coreIoctl(name: string): DrmIoctlDef | undefined {
  return BY_NAME.get(name);
}

/** Every core ioctl, by ascending number (`drm_ioctls[]` order). */
export function coreIoctls(): DrmIoctlDef[] {
  return [...DRM_CORE_IOCTLS].sort((a, b) => a.nr - b.nr);
}
