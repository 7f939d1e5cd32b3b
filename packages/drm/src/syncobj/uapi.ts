/**
 * The drm_syncobj uAPI (`include/uapi/drm/drm.h`): flag bits, the argument structs of the
 * `DRM_IOCTL_SYNCOBJ_*` ioctls as the header lays them out, and their request numbers.
 *
 * Timeline points are `__u64`: a handler sees them as `bigint`, so every point up to 2^64−1 is
 * exact; a simulated process may pass `number` or `bigint` and reads `number` back while the
 * value is a safe integer.
 */
import {
  __s32,
  __s64,
  __u32,
  __u64,
  flagsMask,
  mbz,
  type UapiArgsOf,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";
import { DRM_IOWR } from "../drm-uapi.js";

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

const WAIT_FLAGS =
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;

/** `struct drm_syncobj_create`: in `flags`, out `handle`. */
export const drm_syncobj_create = uapiStruct(
  "drm_syncobj_create",
  { handle: __u32, flags: flagsMask(__u32, DRM_SYNCOBJ_CREATE_SIGNALED) },
  { size: 8 },
);
/** `struct drm_syncobj_create` as a caller passes it. */
export type DrmSyncobjCreate = UapiArgsOf<typeof drm_syncobj_create>;

/** `struct drm_syncobj_destroy`. */
export const drm_syncobj_destroy = uapiStruct(
  "drm_syncobj_destroy",
  { handle: __u32, pad: mbz(__u32) },
  { size: 8 },
);
/** `struct drm_syncobj_destroy` as a caller passes it. */
export type DrmSyncobjDestroy = UapiArgsOf<typeof drm_syncobj_destroy>;

/**
 * `struct drm_syncobj_handle` (HANDLE_TO_FD and FD_TO_HANDLE): `handle` in for HANDLE_TO_FD and
 * sync_file import, out for a plain FD_TO_HANDLE; `fd` the other way; `point` the timeline point
 * of a sync_file import/export with the TIMELINE flag.
 */
export const drm_syncobj_handle = uapiStruct(
  "drm_syncobj_handle",
  { handle: __u32, flags: __u32, fd: __s32, pad: mbz(__u32), point: __u64 },
  { size: 24 },
);
/** `struct drm_syncobj_handle` as a caller passes it. */
export type DrmSyncobjHandle = UapiArgsOf<typeof drm_syncobj_handle>;

/** `struct drm_syncobj_transfer`. */
export const drm_syncobj_transfer = uapiStruct(
  "drm_syncobj_transfer",
  {
    src_handle: __u32,
    dst_handle: __u32,
    src_point: __u64,
    dst_point: __u64,
    flags: __u32,
    pad: mbz(__u32),
  },
  { size: 32 },
);
/** `struct drm_syncobj_transfer` as a caller passes it. */
export type DrmSyncobjTransfer = UapiArgsOf<typeof drm_syncobj_transfer>;

/**
 * `struct drm_syncobj_wait`: `handles` points to `count_handles` handles; `timeout_nsec` is
 * absolute on CLOCK_MONOTONIC (the simulator's clock; 0 polls); out `first_signaled`, the index of
 * the first signalled syncobj (WAIT_ANY), else `~0u`. `deadline_nsec` is the hint WAIT_DEADLINE
 * passes on. `pad` is not checked.
 */
export const drm_syncobj_wait = uapiStruct(
  "drm_syncobj_wait",
  {
    handles: userPtr(__u32, "count_handles"),
    timeout_nsec: __s64,
    count_handles: __u32,
    flags: flagsMask(__u32, WAIT_FLAGS),
    first_signaled: __u32,
    pad: __u32,
    deadline_nsec: __u64,
  },
  { size: 40 },
);
/** `struct drm_syncobj_wait` as a caller passes it. */
export type DrmSyncobjWait = UapiArgsOf<typeof drm_syncobj_wait>;

/**
 * `struct drm_syncobj_timeline_wait`: as `drm_syncobj_wait` with one point per handle (a NULL
 * `points` reads as all zero: binary semantics). 48 bytes since `deadline_nsec` (Linux 6.4); older
 * userspace passes 40 and the rest reads as zero.
 */
export const drm_syncobj_timeline_wait = uapiStruct(
  "drm_syncobj_timeline_wait",
  {
    handles: userPtr(__u32, "count_handles"),
    points: userPtr(__u64, "count_handles"),
    timeout_nsec: __s64,
    count_handles: __u32,
    flags: flagsMask(__u32, WAIT_FLAGS | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE),
    first_signaled: __u32,
    pad: __u32,
    deadline_nsec: __u64,
  },
  { size: 48 },
);
/** `struct drm_syncobj_timeline_wait` as a caller passes it. */
export type DrmSyncobjTimelineWait = UapiArgsOf<typeof drm_syncobj_timeline_wait>;

/** `struct drm_syncobj_array` (RESET, SIGNAL). */
export const drm_syncobj_array = uapiStruct(
  "drm_syncobj_array",
  { handles: userPtr(__u32, "count_handles"), count_handles: __u32, pad: mbz(__u32) },
  { size: 16 },
);
/** `struct drm_syncobj_array` as a caller passes it. */
export type DrmSyncobjArray = UapiArgsOf<typeof drm_syncobj_array>;

/**
 * `struct drm_syncobj_timeline_array` (TIMELINE_SIGNAL, QUERY): `points` in for TIMELINE_SIGNAL (a
 * NULL pointer reads as zeros), out for QUERY.
 */
export const drm_syncobj_timeline_array = uapiStruct(
  "drm_syncobj_timeline_array",
  {
    handles: userPtr(__u32, "count_handles"),
    points: userPtr(__u64, "count_handles"),
    count_handles: __u32,
    flags: __u32,
  },
  { size: 24 },
);
/** `struct drm_syncobj_timeline_array` as a caller passes it. */
export type DrmSyncobjTimelineArray = UapiArgsOf<typeof drm_syncobj_timeline_array>;

/** `struct drm_syncobj_eventfd`: `fd` is an eventfd of the calling process (see `eventfd()`). */
export const drm_syncobj_eventfd = uapiStruct(
  "drm_syncobj_eventfd",
  {
    handle: __u32,
    flags: flagsMask(__u32, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE),
    point: __u64,
    fd: __s32,
    pad: mbz(__u32),
  },
  { size: 24 },
);
/** `struct drm_syncobj_eventfd` as a caller passes it. */
export type DrmSyncobjEventfd = UapiArgsOf<typeof drm_syncobj_eventfd>;

/** `DRM_IOCTL_SYNCOBJ_CREATE`. */
export const DRM_IOCTL_SYNCOBJ_CREATE = DRM_IOWR(0xbf, drm_syncobj_create);
/** `DRM_IOCTL_SYNCOBJ_DESTROY`. */
export const DRM_IOCTL_SYNCOBJ_DESTROY = DRM_IOWR(0xc0, drm_syncobj_destroy);
/** `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD`. */
export const DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD = DRM_IOWR(0xc1, drm_syncobj_handle);
/** `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE`. */
export const DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE = DRM_IOWR(0xc2, drm_syncobj_handle);
/** `DRM_IOCTL_SYNCOBJ_WAIT`. */
export const DRM_IOCTL_SYNCOBJ_WAIT = DRM_IOWR(0xc3, drm_syncobj_wait);
/** `DRM_IOCTL_SYNCOBJ_RESET`. */
export const DRM_IOCTL_SYNCOBJ_RESET = DRM_IOWR(0xc4, drm_syncobj_array);
/** `DRM_IOCTL_SYNCOBJ_SIGNAL`. */
export const DRM_IOCTL_SYNCOBJ_SIGNAL = DRM_IOWR(0xc5, drm_syncobj_array);
/** `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`. */
export const DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT = DRM_IOWR(0xca, drm_syncobj_timeline_wait);
/** `DRM_IOCTL_SYNCOBJ_QUERY`. */
export const DRM_IOCTL_SYNCOBJ_QUERY = DRM_IOWR(0xcb, drm_syncobj_timeline_array);
/** `DRM_IOCTL_SYNCOBJ_TRANSFER`. */
export const DRM_IOCTL_SYNCOBJ_TRANSFER = DRM_IOWR(0xcc, drm_syncobj_transfer);
/** `DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL`. */
export const DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL = DRM_IOWR(0xcd, drm_syncobj_timeline_array);
/** `DRM_IOCTL_SYNCOBJ_EVENTFD`. */
export const DRM_IOCTL_SYNCOBJ_EVENTFD = DRM_IOWR(0xcf, drm_syncobj_eventfd);
