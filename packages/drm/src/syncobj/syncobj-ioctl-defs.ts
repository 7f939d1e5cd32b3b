/**
 * The syncobj rows of the DRM core ioctl table (`drm_ioctls[]` in `drm_ioctl.c`): every
 * `DRM_IOCTL_SYNCOBJ_*` with its number and `DRM_RENDER_ALLOW`, bound to the file's syncobj table.
 */

import { DrmDriverFeature } from "../drm-drv.js";
import type { DrmFile } from "../drm-file.js";
import { DRM_RENDER_ALLOW, type DrmIoctlDef, drmIoctlDef } from "../drm-ioctl-def.js";
import {
  drmSyncobjCreateIoctl,
  drmSyncobjDestroyIoctl,
  drmSyncobjEventfdIoctl,
  drmSyncobjFdToHandleIoctl,
  drmSyncobjHandleToFdIoctl,
  drmSyncobjQueryIoctl,
  drmSyncobjResetIoctl,
  drmSyncobjSignalIoctl,
  drmSyncobjTimelineSignalIoctl,
  drmSyncobjTimelineWaitIoctl,
  drmSyncobjTransferIoctl,
  drmSyncobjWaitIoctl,
} from "./syncobj-ioctl.js";
import { SyncobjTable } from "./syncobj-table.js";
import {
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_EVENTFD,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_QUERY,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  DRM_IOCTL_SYNCOBJ_TRANSFER,
  DRM_IOCTL_SYNCOBJ_WAIT,
  drm_syncobj_array,
  drm_syncobj_create,
  drm_syncobj_destroy,
  drm_syncobj_eventfd,
  drm_syncobj_handle,
  drm_syncobj_timeline_array,
  drm_syncobj_timeline_wait,
  drm_syncobj_transfer,
  drm_syncobj_wait,
} from "./uapi.js";

const TABLE = {};

/**
 * `file_priv->syncobj_idr`: the syncobj handle table of a DRM file, created on first use
 * (`drm_syncobj_open`) and released with the file
 * (`drm_syncobj_release`). Drivers' submit ioctls use it to find in-fences (`findFence`) and to
 * install out-fences (`signalPoint`).
 */
export function drmSyncobjTable(file: DrmFile): SyncobjTable {
  return file.subsystem(TABLE, () => {
    const table = new SyncobjTable(file.device.sim);
    file.onRelease(() => table.release());
    return table;
  });
}

const SYNCOBJ = { requires: DrmDriverFeature.SYNCOBJ };
const TIMELINE = { requires: DrmDriverFeature.SYNCOBJ | DrmDriverFeature.SYNCOBJ_TIMELINE };

/** The syncobj rows of `drm_ioctls[]`, every one `DRM_RENDER_ALLOW`. */
export const DRM_SYNCOBJ_IOCTLS: readonly DrmIoctlDef[] = [
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_CREATE",
    DRM_IOCTL_SYNCOBJ_CREATE,
    drm_syncobj_create,
    (file, args) => drmSyncobjCreateIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_DESTROY",
    DRM_IOCTL_SYNCOBJ_DESTROY,
    drm_syncobj_destroy,
    (file, args) => drmSyncobjDestroyIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
    DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
    drm_syncobj_handle,
    (file, args, call) => drmSyncobjHandleToFdIoctl(drmSyncobjTable(file), args, call.proc),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
    DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
    drm_syncobj_handle,
    (file, args, call) => drmSyncobjFdToHandleIoctl(drmSyncobjTable(file), args, call.proc),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_WAIT",
    DRM_IOCTL_SYNCOBJ_WAIT,
    drm_syncobj_wait,
    (file, args) => drmSyncobjWaitIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_RESET",
    DRM_IOCTL_SYNCOBJ_RESET,
    drm_syncobj_array,
    (file, args) => drmSyncobjResetIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_SIGNAL",
    DRM_IOCTL_SYNCOBJ_SIGNAL,
    drm_syncobj_array,
    (file, args) => drmSyncobjSignalIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    SYNCOBJ,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT",
    DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
    drm_syncobj_timeline_wait,
    (file, args) => drmSyncobjTimelineWaitIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    TIMELINE,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_QUERY",
    DRM_IOCTL_SYNCOBJ_QUERY,
    drm_syncobj_timeline_array,
    (file, args) => drmSyncobjQueryIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    TIMELINE,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_TRANSFER",
    DRM_IOCTL_SYNCOBJ_TRANSFER,
    drm_syncobj_transfer,
    (file, args) => drmSyncobjTransferIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    TIMELINE,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL",
    DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
    drm_syncobj_timeline_array,
    (file, args) => drmSyncobjTimelineSignalIoctl(drmSyncobjTable(file), args),
    DRM_RENDER_ALLOW,
    TIMELINE,
  ),
  drmIoctlDef(
    "DRM_IOCTL_SYNCOBJ_EVENTFD",
    DRM_IOCTL_SYNCOBJ_EVENTFD,
    drm_syncobj_eventfd,
    (file, args, call) => drmSyncobjEventfdIoctl(drmSyncobjTable(file), args, call.proc),
    DRM_RENDER_ALLOW,
    TIMELINE,
  ),
];
