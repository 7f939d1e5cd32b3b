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

const TABLE = {};

/**
 * `file_priv->syncobj_idr`: the syncobj handle table of a DRM file, created on first use
 * (`drm_syncobj_open`) with the device's syncobj features and released with the file
 * (`drm_syncobj_release`). Drivers' submit ioctls use it to find in-fences (`findFence`) and to
 * install out-fences (`signalPoint`).
 */
export function drmSyncobjTable(file: DrmFile): SyncobjTable {
  return file.subsystem(TABLE, () => {
    const dev = file.device;
    const table = new SyncobjTable(dev.sim, {
      syncobj: dev.checkFeature(DrmDriverFeature.SYNCOBJ),
      timeline: dev.checkFeature(DrmDriverFeature.SYNCOBJ | DrmDriverFeature.SYNCOBJ_TIMELINE),
    });
    file.onRelease(() => table.release());
    return table;
  });
}

type Handler = (table: SyncobjTable, args: never, proc: import("@drmsim/runtime").Process) => unknown;

const defs: [name: string, nr: number, handler: Handler][] = [
  ["DRM_IOCTL_SYNCOBJ_CREATE", 0xbf, drmSyncobjCreateIoctl],
  ["DRM_IOCTL_SYNCOBJ_DESTROY", 0xc0, drmSyncobjDestroyIoctl],
  ["DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD", 0xc1, drmSyncobjHandleToFdIoctl],
  ["DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", 0xc2, drmSyncobjFdToHandleIoctl],
  ["DRM_IOCTL_SYNCOBJ_WAIT", 0xc3, drmSyncobjWaitIoctl],
  ["DRM_IOCTL_SYNCOBJ_RESET", 0xc4, drmSyncobjResetIoctl],
  ["DRM_IOCTL_SYNCOBJ_SIGNAL", 0xc5, drmSyncobjSignalIoctl],
  ["DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", 0xca, drmSyncobjTimelineWaitIoctl],
  ["DRM_IOCTL_SYNCOBJ_QUERY", 0xcb, drmSyncobjQueryIoctl],
  ["DRM_IOCTL_SYNCOBJ_TRANSFER", 0xcc, drmSyncobjTransferIoctl],
  ["DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", 0xcd, drmSyncobjTimelineSignalIoctl],
  ["DRM_IOCTL_SYNCOBJ_EVENTFD", 0xcf, drmSyncobjEventfdIoctl],
];

/** The syncobj rows of `drm_ioctls[]`, every one `DRM_RENDER_ALLOW`. */
export const DRM_SYNCOBJ_IOCTLS: readonly DrmIoctlDef[] = defs.map(([name, nr, handler]) =>
  drmIoctlDef(
    name,
    nr,
    (file, args: Record<string, unknown>, call) => handler(drmSyncobjTable(file), args as never, call.proc),
    DRM_RENDER_ALLOW,
  ),
);
