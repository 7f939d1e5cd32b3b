/**
 * libdrm's syncobj wrappers (`drmSyncobj*` in `xf86drm.c`): one ioctl each, so tests and examples
 * read like the Vulkan drivers' and compositors' userspace code. Where libdrm returns -errno these
 * throw the ioctl's `KernelError`; outputs are returned instead of written through pointers.
 */
import type { Process } from "@drmsim/runtime";
import { drmIoctl } from "../libdrm.js";
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
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
} from "./uapi.js";

/** A `__u64` timeline point or time as userspace passes it: a `number` while safe, else a `bigint`. */
export type U64 = number | bigint;

type Out = Record<string, number | U64[] | undefined>;
// Every wrapper goes through drmIoctl, as libdrm's do: EINTR and EAGAIN are retried.
const call = (proc: Process, fd: number, cmd: number, arg: object) => drmIoctl(proc, fd, cmd, arg as Out);

/** `drmSyncobjCreate(fd, flags, &handle)`: the new handle. */
export async function drmSyncobjCreate(proc: Process, fd: number, flags = 0): Promise<number> {
  return (await call(proc, fd, DRM_IOCTL_SYNCOBJ_CREATE, { flags })).handle as number;
}

/** `drmSyncobjDestroy(fd, handle)`. */
export async function drmSyncobjDestroy(proc: Process, fd: number, handle: number): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_DESTROY, { handle });
}

/** `drmSyncobjHandleToFD(fd, handle, &obj_fd)`: a syncobj fd another process can import. */
export async function drmSyncobjHandleToFD(proc: Process, fd: number, handle: number): Promise<number> {
  return (await call(proc, fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, { handle })).fd as number;
}

/** `drmSyncobjFDToHandle(fd, obj_fd, &handle)`: a new handle for the syncobj behind `objFd`. */
export async function drmSyncobjFDToHandle(proc: Process, fd: number, objFd: number): Promise<number> {
  return (await call(proc, fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, { fd: objFd })).handle as number;
}

/** `drmSyncobjImportSyncFile(fd, handle, sync_file_fd)`: the sync_file's fence replaces the syncobj's. */
export async function drmSyncobjImportSyncFile(
  proc: Process,
  fd: number,
  handle: number,
  syncFileFd: number,
): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, {
    handle,
    fd: syncFileFd,
    flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  });
}

/** `drmSyncobjExportSyncFile(fd, handle, &sync_file_fd)`: a sync_file of the current fence. */
export async function drmSyncobjExportSyncFile(proc: Process, fd: number, handle: number): Promise<number> {
  return (
    await call(proc, fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, {
      handle,
      flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
    })
  ).fd as number;
}

/** `drmSyncobjImportSyncFileTimeline`-style: the sync_file's fence becomes point `point`. */
export async function drmSyncobjImportSyncFileTimeline(
  proc: Process,
  fd: number,
  handle: number,
  point: U64,
  syncFileFd: number,
): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, {
    handle,
    fd: syncFileFd,
    point,
    flags: DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE | DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  });
}

/** `drmSyncobjExportSyncFileTimeline`-style: a sync_file of the fence at `point`. */
export async function drmSyncobjExportSyncFileTimeline(
  proc: Process,
  fd: number,
  handle: number,
  point: U64,
): Promise<number> {
  return (
    await call(proc, fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, {
      handle,
      point,
      flags: DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE | DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
    })
  ).fd as number;
}

/**
 * `drmSyncobjWait(fd, handles, num, timeout_nsec, flags, &first_signaled)`: `timeoutNsec` is an
 * absolute time on the simulator clock (0 polls). Returns `first_signaled`.
 */
export async function drmSyncobjWait(
  proc: Process,
  fd: number,
  handles: readonly number[],
  timeoutNsec: U64,
  flags = 0,
): Promise<number> {
  const out = await call(proc, fd, DRM_IOCTL_SYNCOBJ_WAIT, {
    handles,
    count_handles: handles.length,
    timeout_nsec: timeoutNsec,
    flags,
  });
  return out.first_signaled as number;
}

/** `drmSyncobjTimelineWait(fd, handles, points, num, timeout_nsec, flags, &first_signaled)`. */
export async function drmSyncobjTimelineWait(
  proc: Process,
  fd: number,
  handles: readonly number[],
  points: readonly U64[],
  timeoutNsec: U64,
  flags = 0,
): Promise<number> {
  const out = await call(proc, fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, {
    handles,
    points,
    count_handles: handles.length,
    timeout_nsec: timeoutNsec,
    flags,
  });
  return out.first_signaled as number;
}

/** `drmSyncobjReset(fd, handles, count)`. */
export async function drmSyncobjReset(proc: Process, fd: number, handles: readonly number[]): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_RESET, { handles, count_handles: handles.length });
}

/** `drmSyncobjSignal(fd, handles, count)`. */
export async function drmSyncobjSignal(proc: Process, fd: number, handles: readonly number[]): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_SIGNAL, { handles, count_handles: handles.length });
}

/** `drmSyncobjTimelineSignal(fd, handles, points, count)`. */
export async function drmSyncobjTimelineSignal(
  proc: Process,
  fd: number,
  handles: readonly number[],
  points: readonly U64[],
): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, {
    handles,
    points,
    count_handles: handles.length,
  });
}

/**
 * `drmSyncobjQuery2(fd, handles, points, count, flags)`: the points, one per handle (a `number`
 * while safe, else a `bigint`).
 */
export async function drmSyncobjQuery(
  proc: Process,
  fd: number,
  handles: readonly number[],
  flags = 0,
): Promise<U64[]> {
  const points: U64[] = handles.map(() => 0);
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_QUERY, { handles, points, count_handles: handles.length, flags });
  return points;
}

/** `drmSyncobjTransfer(fd, dst_handle, dst_point, src_handle, src_point, flags)`. */
export async function drmSyncobjTransfer(
  proc: Process,
  fd: number,
  dstHandle: number,
  dstPoint: U64,
  srcHandle: number,
  srcPoint: U64,
  flags = 0,
): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_TRANSFER, {
    dst_handle: dstHandle,
    dst_point: dstPoint,
    src_handle: srcHandle,
    src_point: srcPoint,
    flags,
  });
}

/** `drmSyncobjEventfd(fd, handle, point, ev_fd, flags)`. */
export async function drmSyncobjEventfd(
  proc: Process,
  fd: number,
  handle: number,
  point: U64,
  evFd: number,
  flags = 0,
): Promise<void> {
  await call(proc, fd, DRM_IOCTL_SYNCOBJ_EVENTFD, { handle, point, fd: evFd, flags });
}
