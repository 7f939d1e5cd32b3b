/**
 * drm_syncobj: binary and timeline sync objects, their per-file handle table, the
 * `DRM_IOCTL_SYNCOBJ_*` ioctls, and the simulated eventfd they notify.
 */
export { DrmSyncobj } from "./drm-syncobj.js";
export { EFD_SEMAPHORE, EventfdCtx, eventfd, eventfdCtxFdget, eventfdRead } from "./eventfd.js";
export * from "./libdrm-syncobj.js";
export * from "./syncobj-ioctl.js";
export { DRM_SYNCOBJ_IOCTLS, drmSyncobjTable } from "./syncobj-ioctl-defs.js";
export {
  drmSyncobjFromFd,
  drmSyncobjGetFd,
  SYNCOBJ_FILE_KIND,
  SyncobjTable,
} from "./syncobj-table.js";
export { drmSyncobjArrayWait, drmTimeoutAbsToDeadline } from "./syncobj-wait.js";
export * from "./uapi.js";
