/**
 * The DRM core's ioctl table (`drm_ioctls[]` in `drivers/gpu/drm/drm_ioctl.c`): every core ioctl
 * with its request number, argument layout and permission flags, written out as one explicit
 * list. The kernel's table is static and so is this one — nothing registers itself when a module
 * loads, so a bundler that drops modules imported only for their side effects keeps every ioctl.
 */
import {
  drmAuthmagicIoctl,
  drmDropmasterIoctl,
  drmGetcapIoctl,
  drmGetmagicIoctl,
  drmSetmasterIoctl,
  drmVersionIoctl,
} from "./drm-core-ioctls.js";
import { DrmDriverFeature } from "./drm-drv.js";
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
import {
  DRM_IOCTL_AUTH_MAGIC,
  DRM_IOCTL_DROP_MASTER,
  DRM_IOCTL_GEM_CHANGE_HANDLE,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_GEM_FLINK,
  DRM_IOCTL_GEM_OPEN,
  DRM_IOCTL_GET_CAP,
  DRM_IOCTL_GET_MAGIC,
  DRM_IOCTL_MODE_CREATE_DUMB,
  DRM_IOCTL_MODE_DESTROY_DUMB,
  DRM_IOCTL_MODE_MAP_DUMB,
  DRM_IOCTL_PRIME_FD_TO_HANDLE,
  DRM_IOCTL_PRIME_HANDLE_TO_FD,
  DRM_IOCTL_SET_MASTER,
  DRM_IOCTL_VERSION,
  drm_auth,
  drm_gem_change_handle,
  drm_gem_close,
  drm_gem_flink,
  drm_gem_open,
  drm_get_cap,
  drm_mode_create_dumb,
  drm_mode_destroy_dumb,
  drm_mode_map_dumb,
  drm_prime_handle,
  drm_version,
  drmNoArg,
} from "./drm-uapi.js";
import { DRM_SYNCOBJ_IOCTLS } from "./syncobj/syncobj-ioctl-defs.js";

const GEM = { requires: DrmDriverFeature.GEM };

/** `drm_ioctls[]`: the core ioctls, by ascending number. */
export const DRM_CORE_IOCTLS: readonly DrmIoctlDef[] = [
  drmIoctlDef("DRM_IOCTL_VERSION", DRM_IOCTL_VERSION, drm_version, drmVersionIoctl, DRM_RENDER_ALLOW),
  drmIoctlDef("DRM_IOCTL_GET_MAGIC", DRM_IOCTL_GET_MAGIC, drm_auth, drmGetmagicIoctl, 0),
  drmIoctlDef(
    "DRM_IOCTL_GEM_CLOSE",
    DRM_IOCTL_GEM_CLOSE,
    drm_gem_close,
    drmGemCloseIoctl,
    DRM_RENDER_ALLOW,
    GEM,
  ),
  // No DRM_RENDER_ALLOW: global names are exactly what render nodes exist to avoid.
  drmIoctlDef("DRM_IOCTL_GEM_FLINK", DRM_IOCTL_GEM_FLINK, drm_gem_flink, drmGemFlinkIoctl, DRM_AUTH, GEM),
  drmIoctlDef("DRM_IOCTL_GEM_OPEN", DRM_IOCTL_GEM_OPEN, drm_gem_open, drmGemOpenIoctl, DRM_AUTH, GEM),
  drmIoctlDef("DRM_IOCTL_GET_CAP", DRM_IOCTL_GET_CAP, drm_get_cap, drmGetcapIoctl, DRM_RENDER_ALLOW),
  drmIoctlDef(
    "DRM_IOCTL_AUTH_MAGIC",
    DRM_IOCTL_AUTH_MAGIC,
    drm_auth,
    drmAuthmagicIoctl,
    DRM_AUTH | DRM_MASTER,
  ),
  drmIoctlDef("DRM_IOCTL_SET_MASTER", DRM_IOCTL_SET_MASTER, drmNoArg, drmSetmasterIoctl, 0),
  drmIoctlDef("DRM_IOCTL_DROP_MASTER", DRM_IOCTL_DROP_MASTER, drmNoArg, drmDropmasterIoctl, 0),
  // Render-allowed and nothing else: the kernel dropped DRM_AUTH from both PRIME ioctls (Linux 5.2),
  // because a dma-buf fd is a capability the caller already holds, unlike a guessable flink name.
  // An unauthenticated primary client may share buffers through PRIME.
  drmIoctlDef(
    "DRM_IOCTL_PRIME_HANDLE_TO_FD",
    DRM_IOCTL_PRIME_HANDLE_TO_FD,
    drm_prime_handle,
    drmPrimeHandleToFdIoctl,
    DRM_RENDER_ALLOW,
  ),
  drmIoctlDef(
    "DRM_IOCTL_PRIME_FD_TO_HANDLE",
    DRM_IOCTL_PRIME_FD_TO_HANDLE,
    drm_prime_handle,
    drmPrimeFdToHandleIoctl,
    DRM_RENDER_ALLOW,
  ),
  drmIoctlDef(
    "DRM_IOCTL_MODE_CREATE_DUMB",
    DRM_IOCTL_MODE_CREATE_DUMB,
    drm_mode_create_dumb,
    drmModeCreateDumbIoctl,
    0,
  ),
  drmIoctlDef(
    "DRM_IOCTL_MODE_MAP_DUMB",
    DRM_IOCTL_MODE_MAP_DUMB,
    drm_mode_map_dumb,
    drmModeMmapDumbIoctl,
    0,
    GEM,
  ),
  drmIoctlDef(
    "DRM_IOCTL_MODE_DESTROY_DUMB",
    DRM_IOCTL_MODE_DESTROY_DUMB,
    drm_mode_destroy_dumb,
    drmModeDestroyDumbIoctl,
    0,
    GEM,
  ),
  ...DRM_SYNCOBJ_IOCTLS,
  // For CRIU, which restores a process's objects at the handles it had.
  drmIoctlDef(
    "DRM_IOCTL_GEM_CHANGE_HANDLE",
    DRM_IOCTL_GEM_CHANGE_HANDLE,
    drm_gem_change_handle,
    drmGemChangeHandleIoctl,
    DRM_RENDER_ALLOW,
    GEM,
  ),
];

const BY_NAME = new Map<string, DrmIoctlDef>();
const BY_NR = new Map<number, DrmIoctlDef>();
for (const def of DRM_CORE_IOCTLS) {
  if (BY_NAME.has(def.name) || BY_NR.has(def.nr))
    throw new Error(`${def.name} (nr 0x${def.nr.toString(16)}) appears twice in drm_ioctls[]`);
  BY_NAME.set(def.name, def);
  BY_NR.set(def.nr, def);
}

/** The core ioctl called `name` (`DRM_IOCTL_GEM_CLOSE`), or undefined. */
export function coreIoctl(name: string): DrmIoctlDef | undefined {
  return BY_NAME.get(name);
}

/** The core ioctl with number `nr` (`DRM_IOCTL_NR`), or undefined. */
export function coreIoctlByNr(nr: number): DrmIoctlDef | undefined {
  return BY_NR.get(nr);
}

/** Every core ioctl, by ascending number (`drm_ioctls[]` order). */
export function coreIoctls(): DrmIoctlDef[] {
  return [...DRM_CORE_IOCTLS].sort((a, b) => a.nr - b.nr);
}
