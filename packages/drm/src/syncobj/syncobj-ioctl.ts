/**
 * The `DRM_IOCTL_SYNCOBJ_*` handlers (`drm_syncobj_*_ioctl` in `drivers/gpu/drm/drm_syncobj.c`),
 * with the kernel's argument checks in the kernel's order. Each takes the file's `SyncobjTable`,
 * the ioctl's private copy of the argument object and the calling process, writes its outputs
 * into the copy and throws a `KernelError` to fail — before changing anything, so a rejected call
 * leaves the syncobjs as they were (the vfs copies outputs back only on success).
 *
 * They are registered in the DRM core ioctl table by `syncobj-ioctl-defs.ts`; they are exported so
 * a test (or another file type) can drive them against a bare table.
 */
import {
  type DmaFence,
  dmaFenceChainAlloc,
  dmaFenceChainWalk,
  dmaFenceGetStub,
  dmaFenceUnwrapMerge,
  syncFileGetFence,
  syncFileInstall,
  toDmaFenceChain,
} from "@drmsim/dma-fence";
import { type Allocation, GFP_KERNEL, KernelError, type Process } from "@drmsim/runtime";
import { eventfdCtxFdget } from "./eventfd.js";
import { drmSyncobjFromFd, drmSyncobjGetFd, type SyncobjTable } from "./syncobj-table.js";
import { drmSyncobjArrayWait, drmTimeoutAbsToDeadline } from "./syncobj-wait.js";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
  DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  type DrmSyncobjArray,
  type DrmSyncobjCreate,
  type DrmSyncobjDestroy,
  type DrmSyncobjEventfd,
  type DrmSyncobjHandle,
  type DrmSyncobjTimelineArray,
  type DrmSyncobjTimelineWait,
  type DrmSyncobjTransfer,
  type DrmSyncobjWait,
} from "./uapi.js";

/** A `__u32`/`__u64` argument field: absent is 0; anything but a non-negative integer is `EINVAL`. */
function u(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new KernelError("EINVAL", `${field} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/**
 * A `__s64` time field: any number (INT64_MAX, or `Infinity`, means "never"; a negative or past time
 * polls, as in the kernel). Absent is 0. NaN and non-numbers are `EINVAL`.
 */
function s64(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || Number.isNaN(v))
    throw new KernelError("EINVAL", `${field} must be a number, got ${String(v)}`);
  return v;
}

/**
 * A userspace array (`u64_to_user_ptr(args->x)`) of `count` integers. A missing or short array is
 * a fault (`EFAULT`), as reading past a user buffer is; `optional` arrays read as zeros.
 */
function userArray(v: unknown, count: number, field: string, optional = false): number[] {
  if ((v === undefined || v === null) && optional) return new Array<number>(count).fill(0);
  if (!Array.isArray(v) || v.length < count)
    throw new KernelError("EFAULT", `${field} must point to ${count} values`);
  // Each element read as the u32/u64 it stands for: an absent one (null) is 0, like a field.
  const out = v.slice(0, count) as unknown[];
  for (let i = 0; i < count; i++) out[i] = u(out[i], `${field}[${i}]`);
  return out as number[];
}

/** The `pad` (must be 0) and `flags` (only `allowed` bits) checks both fd ioctls start with: `EINVAL`. */
function padAndFlags(args: DrmSyncobjHandle, allowed: number, name: string): number {
  if (u(args.pad, "pad") !== 0) throw new KernelError("EINVAL", `${name}: pad must be 0`);
  const flags = u(args.flags, "flags");
  if ((flags & ~allowed) !== 0)
    throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
  return flags;
}

/**
 * The point the fd ioctls act on (`drm_syncobj_handle_to_fd_ioctl`, `drm_syncobj_fd_to_handle_ioctl`):
 * `args->point` is read only with the TIMELINE flag; without it the point is 0 whatever the field
 * holds. That is the 7.1 rule (upstream commit 2e3649e23723, March 2026): userspace built before
 * the field existed may leave stack garbage in it, so only TIMELINE callers may be refused for it.
 */
function timelinePoint(args: DrmSyncobjHandle, flags: number, timelineFlag: number): number {
  return (flags & timelineFlag) !== 0 ? u(args.point, "point") : 0;
}

function requireFeature(table: SyncobjTable, timeline: boolean): void {
  if (!table.features.syncobj || (timeline && !table.features.timeline))
    throw new KernelError(
      "EOPNOTSUPP",
      timeline ? "the driver does not support timeline syncobjs" : "the driver does not support syncobjs",
    );
}

/** `drm_syncobj_create_ioctl`: flags ⊆ {SIGNALED} else `EINVAL`; writes `handle`. */
export function drmSyncobjCreateIoctl(table: SyncobjTable, args: DrmSyncobjCreate): void {
  requireFeature(table, false);
  const flags = u(args.flags, "flags");
  if ((flags & ~DRM_SYNCOBJ_CREATE_SIGNALED) !== 0)
    throw new KernelError("EINVAL", `DRM_IOCTL_SYNCOBJ_CREATE: unknown flags 0x${flags.toString(16)}`);
  args.handle = table.create(flags);
}

/** `drm_syncobj_destroy_ioctl`: pad ≠ 0 → `EINVAL`; an unknown handle → `EINVAL` (not ENOENT). */
export function drmSyncobjDestroyIoctl(table: SyncobjTable, args: DrmSyncobjDestroy): void {
  requireFeature(table, false);
  if (u(args.pad, "pad") !== 0) throw new KernelError("EINVAL", "DRM_IOCTL_SYNCOBJ_DESTROY: pad must be 0");
  table.destroy(u(args.handle, "handle"));
}

/**
 * `drm_syncobj_handle_to_fd_ioctl`: pad ≠ 0 or flags ⊄ {EXPORT_SYNC_FILE, TIMELINE} → `EINVAL`.
 * EXPORT_SYNC_FILE: a sync_file fd of the fence at `point` (TIMELINE) or of the current fence
 * (`drm_syncobj_find_fence` errors: ENOENT, EINVAL). Plain: a syncobj fd; a non-zero point *with
 * TIMELINE* is `EINVAL` (without the flag `point` is not read at all), an unknown handle is `EINVAL`.
 * Writes `fd`.
 */
export async function drmSyncobjHandleToFdIoctl(
  table: SyncobjTable,
  args: DrmSyncobjHandle,
  proc: Process,
): Promise<void> {
  requireFeature(table, false);
  const flags = padAndFlags(
    args,
    DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE | DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
    "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD",
  );
  const handle = u(args.handle, "handle");
  const point = timelinePoint(args, flags, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE);
  if ((flags & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) !== 0) {
    const fence = await table.findFence(handle, point, 0);
    try {
      args.fd = syncFileInstall(proc, fence);
    } finally {
      fence.put();
    }
    return;
  }
  if (point !== 0)
    throw new KernelError(
      "EINVAL",
      "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD: a TIMELINE point needs EXPORT_SYNC_FILE (a syncobj fd carries the whole syncobj)",
    );
  const s = table.lookup(handle, "EINVAL");
  try {
    args.fd = drmSyncobjGetFd(proc, s);
  } finally {
    s.put();
  }
}

/**
 * `drm_syncobj_fd_to_handle_ioctl`: pad ≠ 0 or flags ⊄ {IMPORT_SYNC_FILE, TIMELINE} → `EINVAL`.
 * IMPORT_SYNC_FILE: the sync_file's fence goes into `handle` (not a sync_file → `EINVAL`, unknown
 * handle → `ENOENT`) as point `point` (TIMELINE, ≠ 0) or replacing the fence. Plain: a new handle
 * for the syncobj behind the syncobj fd (any other fd → `EINVAL`; a non-zero TIMELINE point →
 * `EINVAL`; `point` without the flag is ignored), written to `handle`; every import makes a new handle.
 */
export function drmSyncobjFdToHandleIoctl(table: SyncobjTable, args: DrmSyncobjHandle, proc: Process): void {
  requireFeature(table, false);
  const flags = padAndFlags(
    args,
    DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE | DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
    "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE",
  );
  const fd = typeof args.fd === "number" ? args.fd : -1;
  const point = timelinePoint(args, flags, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE);
  if ((flags & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) !== 0) {
    const fence = syncFileGetFence(proc, fd);
    if (fence === null) throw new KernelError("EINVAL", `fd ${fd} is not a sync_file`);
    try {
      table.signalPoint(u(args.handle, "handle"), fence, point);
    } finally {
      fence.put();
    }
    return;
  }
  if (point !== 0)
    throw new KernelError(
      "EINVAL",
      "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE: a TIMELINE point needs IMPORT_SYNC_FILE (a syncobj fd imports the whole syncobj)",
    );
  const s = drmSyncobjFromFd(proc, fd);
  args.handle = table.getHandle(s);
}

/** The checks and the wait shared by WAIT and TIMELINE_WAIT (`drm_syncobj_array_wait`). */
async function arrayWait(
  table: SyncobjTable,
  args: DrmSyncobjTimelineWait,
  timeline: boolean,
  name: string,
): Promise<void> {
  requireFeature(table, timeline);
  const flags = u(args.flags, "flags");
  const valid =
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE |
    (timeline ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE : 0);
  if ((flags & ~valid) !== 0)
    throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
  const count = u(args.count_handles, "count_handles");
  if (count === 0) return;
  const timeoutNsec = s64(args.timeout_nsec, "timeout_nsec");
  const hint =
    (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE) !== 0 ? u(args.deadline_nsec, "deadline_nsec") : undefined;
  const handles = userArray(args.handles, count, "handles");
  const points = timeline ? userArray(args.points, count, "points", true) : null;
  const syncobjs = table.findArray(handles, count);
  try {
    const deadline = drmTimeoutAbsToDeadline(table.sim, timeoutNsec);
    const first = await drmSyncobjArrayWait(table.sim, syncobjs, points, flags, deadline, hint);
    args.first_signaled = first;
  } finally {
    for (const s of syncobjs) s.put();
  }
}

/**
 * `drm_syncobj_wait_ioctl`: flags ⊆ {WAIT_ALL, WAIT_FOR_SUBMIT, WAIT_DEADLINE} else `EINVAL`;
 * count 0 → success; unknown handle → `ENOENT`; a missing fence without FOR_SUBMIT → `EINVAL`;
 * `timeout_nsec` is absolute on the simulator clock (0 polls) → `ETIME`; a signal → `ERESTARTSYS`.
 * Writes `first_signaled` (`DRM_SYNCOBJ_NO_INDEX` when none was recorded).
 */
export function drmSyncobjWaitIoctl(table: SyncobjTable, args: DrmSyncobjWait): Promise<void> {
  return arrayWait(table, args, false, "DRM_IOCTL_SYNCOBJ_WAIT");
}

/**
 * `drm_syncobj_timeline_wait_ioctl`: as WAIT, with one point per handle and WAIT_AVAILABLE (an
 * existing point counts as done).
 */
export function drmSyncobjTimelineWaitIoctl(
  table: SyncobjTable,
  args: DrmSyncobjTimelineWait,
): Promise<void> {
  return arrayWait(table, args, true, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT");
}

/** The checks shared by RESET and SIGNAL; returns the syncobjs (references). */
function arrayArgs(table: SyncobjTable, args: DrmSyncobjArray, name: string) {
  requireFeature(table, false);
  if (u(args.pad, "pad") !== 0) throw new KernelError("EINVAL", `${name}: pad must be 0`);
  const count = u(args.count_handles, "count_handles");
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  return table.findArray(userArray(args.handles, count, "handles"), count);
}

/** `drm_syncobj_reset_ioctl`: pad ≠ 0 or count 0 → `EINVAL`; unknown handle → `ENOENT`; sets each fence to null. */
export function drmSyncobjResetIoctl(table: SyncobjTable, args: DrmSyncobjArray): void {
  for (const s of arrayArgs(table, args, "DRM_IOCTL_SYNCOBJ_RESET")) {
    s.replaceFence(null);
    s.put();
  }
}

/** `drm_syncobj_signal_ioctl`: as RESET, but installs a signalled stub in each. */
export function drmSyncobjSignalIoctl(table: SyncobjTable, args: DrmSyncobjArray): void {
  for (const s of arrayArgs(table, args, "DRM_IOCTL_SYNCOBJ_SIGNAL")) {
    s.assignNullHandle();
    s.put();
  }
}

/**
 * `drm_syncobj_timeline_signal_ioctl`: flags ≠ 0 or count 0 → `EINVAL`; unknown handle → `ENOENT`;
 * adds a signalled (stub-backed) chain point at each `points[i]` (absent: 0, which still adds a link).
 */
export function drmSyncobjTimelineSignalIoctl(table: SyncobjTable, args: DrmSyncobjTimelineArray): void {
  const name = "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL";
  requireFeature(table, true);
  if (u(args.flags, "flags") !== 0) throw new KernelError("EINVAL", `${name}: flags must be 0`);
  const count = u(args.count_handles, "count_handles");
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  const handles = userArray(args.handles, count, "handles");
  const points = userArray(args.points, count, "points", true);
  const syncobjs = table.findArray(handles, count);
  // Every chain link is allocated before any point is added, as the kernel does: running out of
  // memory part-way must not leave some timelines signalled and others not.
  const sim = table.sim;
  const chains: Allocation[] = [];
  let array: Allocation | undefined;
  try {
    array = sim.mm.kmalloc(8 * count, GFP_KERNEL, "drm_syncobj_timeline_signal_ioctl");
    for (let i = 0; i < count; i++) chains.push(dmaFenceChainAlloc(sim));
  } catch (e) {
    for (const c of chains) c.free();
    array?.free();
    for (const s of syncobjs) s.put();
    throw e;
  }
  for (let i = 0; i < count; i++) {
    const s = syncobjs[i]!;
    const stub = dmaFenceGetStub(sim);
    s.addPoint(stub, points[i]!, chains[i]!);
    stub.put();
    s.put();
  }
  array.free();
}

/**
 * The point QUERY reports for one syncobj: for a chain, walk back from the head over links of the
 * head's context to the oldest unsignalled one; its seqno if it has signalled, else the point
 * before it. LAST_SUBMITTED reports the head's seqno. Not a chain: 0.
 */
function queryPoint(fence: DmaFence | null, lastSubmitted: boolean): number {
  const chain = toDmaFenceChain(fence);
  if (chain === null) return 0;
  if (lastSubmitted) return chain.seqno;
  let last: DmaFence = chain.get();
  for (let it: DmaFence | null = chain.get(); it !== null; it = dmaFenceChainWalk(it)) {
    if (it.context !== chain.context) {
      // A point added out of order started a new context: stop there.
      it.put();
      break;
    }
    last.put();
    last = it.get();
  }
  const point = last.isSignaled() ? last.seqno : (toDmaFenceChain(last)?.prevSeqno ?? 0);
  last.put();
  return point;
}

/**
 * `drm_syncobj_query_ioctl`: flags ⊆ {LAST_SUBMITTED} and count ≠ 0 else `EINVAL`; unknown handle
 * → `ENOENT`; writes `points[i]`: the last signalled point (or last submitted, with the flag).
 */
export function drmSyncobjQueryIoctl(table: SyncobjTable, args: DrmSyncobjTimelineArray): void {
  const name = "DRM_IOCTL_SYNCOBJ_QUERY";
  requireFeature(table, true);
  const flags = u(args.flags, "flags");
  if ((flags & ~DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) !== 0)
    throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
  const count = u(args.count_handles, "count_handles");
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  const handles = userArray(args.handles, count, "handles");
  if (!Array.isArray(args.points) || args.points.length < count)
    throw new KernelError("EFAULT", `points must point to ${count} values`);
  const syncobjs = table.findArray(handles, count);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const s = syncobjs[i]!;
    const fence = s.fenceGet();
    out[i] = queryPoint(fence, (flags & DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) !== 0);
    fence?.put();
    s.put();
  }
  args.points = out;
}

/**
 * `drm_syncobj_transfer_ioctl`: pad ≠ 0 → `EINVAL`; unknown dst → `ENOENT`; then the fence at
 * `src_point` of src (`drm_syncobj_find_fence` with `flags`: ENOENT, EINVAL, FOR_SUBMIT waits).
 * `dst_point` ≠ 0: the fence is flattened (`dma_fence_unwrap_merge`) and added as that point;
 * `dst_point` = 0: it replaces dst's fence.
 */
export async function drmSyncobjTransferIoctl(table: SyncobjTable, args: DrmSyncobjTransfer): Promise<void> {
  requireFeature(table, true);
  if (u(args.pad, "pad") !== 0) throw new KernelError("EINVAL", "DRM_IOCTL_SYNCOBJ_TRANSFER: pad must be 0");
  const dstPoint = u(args.dst_point, "dst_point");
  const dst = table.lookup(u(args.dst_handle, "dst_handle"), "ENOENT");
  try {
    const fence = await table.findFenceForUser(
      u(args.src_handle, "src_handle"),
      u(args.src_point, "src_point"),
      u(args.flags, "flags"),
    );
    try {
      if (dstPoint === 0) {
        dst.replaceFence(fence);
        return;
      }
      const merged = dmaFenceUnwrapMerge(table.sim, fence);
      if (merged === null)
        throw new KernelError("ENOMEM", "DRM_IOCTL_SYNCOBJ_TRANSFER: out of memory merging fences");
      try {
        dst.addPoint(merged, dstPoint);
      } finally {
        merged.put();
      }
    } finally {
      fence.put();
    }
  } finally {
    dst.put();
  }
}

/**
 * `drm_syncobj_eventfd_ioctl`: flags ⊆ {WAIT_AVAILABLE} and pad = 0 else `EINVAL`; unknown handle
 * → `ENOENT`; `fd` not open → `EBADF`, not an eventfd → `EINVAL`. The eventfd is signalled once
 * when point `point` signals (or, with WAIT_AVAILABLE, once it exists).
 */
export function drmSyncobjEventfdIoctl(table: SyncobjTable, args: DrmSyncobjEventfd, proc: Process): void {
  const name = "DRM_IOCTL_SYNCOBJ_EVENTFD";
  requireFeature(table, true);
  const flags = u(args.flags, "flags");
  if ((flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) !== 0)
    throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
  if (u(args.pad, "pad") !== 0) throw new KernelError("EINVAL", `${name}: pad must be 0`);
  const point = u(args.point, "point");
  const s = table.lookup(u(args.handle, "handle"), "ENOENT");
  try {
    const ev = eventfdCtxFdget(proc, typeof args.fd === "number" ? args.fd : -1);
    s.addEventfd(ev, point, flags);
  } finally {
    s.put();
  }
}
