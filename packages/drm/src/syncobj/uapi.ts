/**
 * The drm_syncobj uAPI (`include/uapi/drm/drm.h`): flag bits and the argument structs of the
 * `DRM_IOCTL_SYNCOBJ_*` ioctls, as plain objects.
 *
 * Userspace pointers (`handles`, `points`) become plain JS arrays in the argument object; `u64`
 * fields are JS numbers (virtual time fits comfortably in a safe integer). Output fields
 * (`handle`, `fd`, `first_signaled`, `points` of QUERY) are written into the ioctl's private copy
 * and reach the caller only when the ioctl succeeds, as with `copy_to_user` after a good return.
 */

/** `DRM_SYNCOBJ_CREATE_SIGNALED`: create the syncobj with an already-signalled fence. */
export const DRM_SYNCOBJ_CREATE_SIGNALED = 1 << 0;

/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`: import a sync_file's fence into an existing handle. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE`: the import goes to `point` instead of replacing the fence. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE = 1 << 1;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`: export the fence (not the syncobj) as a sync_file. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE`: the export takes the fence at `point`. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE = 1 << 1;

/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`: wait for every fence, not the first. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL = 1 << 0;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`: wait for a missing fence/point to appear first. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT = 1 << 1;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE`: a point that exists counts as done (timeline wait, eventfd). */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE = 1 << 2;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE`: pass `deadline_nsec` to the fences as a deadline hint. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE = 1 << 3;

/** `DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`: report the last submitted point, not the last signalled. */
export const DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED = 1 << 0;

/** `DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT` (in the kernel a local define): 5 s, in ns. */
export const DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS = 5_000_000_000;

/** What `first_signaled` holds when no index was recorded (`~0u`). */
export const DRM_SYNCOBJ_NO_INDEX = 0xffff_ffff;

/** `struct drm_syncobj_create`. */
export interface DrmSyncobjCreate {
  /** Out: the new handle. */
  handle?: number;
  flags?: number;
}

/** `struct drm_syncobj_destroy`. */
export interface DrmSyncobjDestroy {
  handle: number;
  pad?: number;
}

/** `struct drm_syncobj_handle` (HANDLE_TO_FD and FD_TO_HANDLE). */
export interface DrmSyncobjHandle {
  /** In for HANDLE_TO_FD and sync_file import; out for a plain FD_TO_HANDLE. */
  handle?: number;
  flags?: number;
  /** In for FD_TO_HANDLE; out for HANDLE_TO_FD. */
  fd?: number;
  pad?: number;
  /** Timeline point of a sync_file import/export (with the TIMELINE flag). */
  point?: number;
}

/** `struct drm_syncobj_transfer`. */
export interface DrmSyncobjTransfer {
  src_handle: number;
  dst_handle: number;
  src_point?: number;
  dst_point?: number;
  flags?: number;
  pad?: number;
}

/** `struct drm_syncobj_wait`. */
export interface DrmSyncobjWait {
  handles: number[];
  /** Absolute time on the simulator clock (ns); 0 polls. */
  timeout_nsec?: number;
  count_handles: number;
  flags?: number;
  /** Out: index of the first signalled syncobj (WAIT_ANY), else `~0u`. */
  first_signaled?: number;
  pad?: number;
  /** With WAIT_DEADLINE: the deadline hint (absolute ns). */
  deadline_nsec?: number;
}

/** `struct drm_syncobj_timeline_wait`. */
export interface DrmSyncobjTimelineWait extends DrmSyncobjWait {
  /** One point per handle; absent means all zero (binary semantics). */
  points?: number[] | null;
}

/** `struct drm_syncobj_array` (RESET, SIGNAL). */
export interface DrmSyncobjArray {
  handles: number[];
  count_handles: number;
  pad?: number;
}

/** `struct drm_syncobj_timeline_array` (TIMELINE_SIGNAL, QUERY). */
export interface DrmSyncobjTimelineArray {
  handles: number[];
  /** In for TIMELINE_SIGNAL (absent: all zero); out for QUERY. */
  points?: number[] | null;
  count_handles: number;
  flags?: number;
}

/** `struct drm_syncobj_eventfd`. */
export interface DrmSyncobjEventfd {
  handle: number;
  flags?: number;
  point?: number;
  /** An eventfd in the calling process (see `eventfd()`). */
  fd: number;
  pad?: number;
}
