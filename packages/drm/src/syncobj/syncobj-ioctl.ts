/**
 * The `DRM_IOCTL_SYNCOBJ_*` handlers (`drm_syncobj_*_ioctl` in `drivers/gpu/drm/drm_syncobj.c`),
 * with the kernel's argument checks in the kernel's order: the driver features and the declared
 * pads and flag masks are checked by dispatch (see `syncobj-ioctl-defs.ts`), the rest here. Each
 * takes the file's `SyncobjTable`, the typed argument (`kdata`) and the calling process, writes
 * its outputs into the argument and throws a `KernelError` to fail — before changing anything,
 * so a rejected call leaves the syncobjs as they were.
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
import {
  type Allocation,
  GFP_KERNEL,
  KernelError,
  type Process,
  type UapiValue,
  uapiNsToNumber,
} from "@drmsim/runtime";
import { eventfdCtxFdget } from "./eventfd.js";
import { drmSyncobjFromFd, drmSyncobjGetFd, type SyncobjTable } from "./syncobj-table.js";
import { drmSyncobjArrayWait, drmTimeoutAbsToDeadline } from "./syncobj-wait.js";
import {
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
  DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
  DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
  DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE,
  type drm_syncobj_array,
  type drm_syncobj_create,
  type drm_syncobj_destroy,
  type drm_syncobj_eventfd,
  type drm_syncobj_handle,
  type drm_syncobj_timeline_array,
  type drm_syncobj_timeline_wait,
  type drm_syncobj_transfer,
  type drm_syncobj_wait,
} from "./uapi.js";

type Args<L> = UapiValue<L>;

/** `DRM_IOCTL_SYNCOBJ_CREATE` (`drm_syncobj_create_ioctl`): flags ⊆ {SIGNALED} (checked on entry); writes `handle`. */
export function drmSyncobjCreateIoctl(table: SyncobjTable, args: Args<typeof drm_syncobj_create>): void {
  args.handle = table.create(args.flags);
}

/** `DRM_IOCTL_SYNCOBJ_DESTROY` (`drm_syncobj_destroy_ioctl`): pad checked on entry; an unknown handle → `EINVAL` (not ENOENT). */
export function drmSyncobjDestroyIoctl(table: SyncobjTable, args: Args<typeof drm_syncobj_destroy>): void {
  table.destroy(args.handle);
}

function checkFlags(flags: number, allowed: number, name: string): void {
  if ((flags & ~allowed) !== 0)
    throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
}

/**
 * The point the fd ioctls act on (`drm_syncobj_handle_to_fd_ioctl`, `drm_syncobj_fd_to_handle_ioctl`):
 * `args->point` is read only with the TIMELINE flag; without it the point is 0 whatever the field
 * holds. That is the 7.1 rule (upstream commit 2e3649e23723, March 2026): userspace built before
 * the field existed may leave stack garbage in it, so only TIMELINE callers may be refused for it.
 */
function timelinePoint(args: Args<typeof drm_syncobj_handle>, timelineFlag: number): bigint {
  return (args.flags & timelineFlag) !== 0 ? args.point : 0n;
}

/**
 * `DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD` (`drm_syncobj_handle_to_fd_ioctl`): pad (on entry) or flags ⊄
 * {EXPORT_SYNC_FILE, TIMELINE} → `EINVAL`. EXPORT_SYNC_FILE: a sync_file fd of the fence at
 * `point` (TIMELINE) or of the current fence (`drm_syncobj_find_fence` errors: ENOENT, EINVAL).
 * Plain: a syncobj fd; a non-zero point *with TIMELINE* is `EINVAL` (without the flag `point` is
 * not read at all), an unknown handle is `EINVAL`. Writes `fd`.
 */
export async function drmSyncobjHandleToFdIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_handle>,
  proc: Process,
): Promise<void> {
  const name = "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD";
  const flags = args.flags;
  checkFlags(
    flags,
    DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE | DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE,
    name,
  );
  const point = timelinePoint(args, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE);
  if ((flags & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) !== 0) {
    const fence = await table.findFence(args.handle, point, 0);
    try {
      args.fd = syncFileInstall(proc, fence);
    } finally {
      fence.put();
    }
    return;
  }
  if (point !== 0n)
    throw new KernelError(
      "EINVAL",
      `${name}: a TIMELINE point needs EXPORT_SYNC_FILE (a syncobj fd carries the whole syncobj)`,
    );
  const s = table.lookup(args.handle, "EINVAL");
  try {
    args.fd = drmSyncobjGetFd(proc, s);
  } finally {
    s.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE` (`drm_syncobj_fd_to_handle_ioctl`): pad (on entry) or flags ⊄
 * {IMPORT_SYNC_FILE, TIMELINE} → `EINVAL`. IMPORT_SYNC_FILE: the sync_file's fence goes into
 * `handle` (not a sync_file → `EINVAL`, unknown handle → `ENOENT`) as point `point` (TIMELINE,
 * ≠ 0) or replacing the fence. Plain: a new handle for the syncobj behind the syncobj fd (any
 * other fd → `EINVAL`; a non-zero TIMELINE point → `EINVAL`; `point` without the flag is
 * ignored), written to `handle`; every import makes a new handle.
 */
export function drmSyncobjFdToHandleIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_handle>,
  proc: Process,
): void {
  const name = "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE";
  const flags = args.flags;
  checkFlags(
    flags,
    DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE | DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE,
    name,
  );
  const point = timelinePoint(args, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE);
  if ((flags & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) !== 0) {
    const fence = syncFileGetFence(proc, args.fd);
    if (fence === null) throw new KernelError("EINVAL", `${name}: fd ${args.fd} is not a sync_file`);
    try {
      table.signalPoint(args.handle, fence, point);
    } finally {
      fence.put();
    }
    return;
  }
  if (point !== 0n)
    throw new KernelError(
      "EINVAL",
      `${name}: a TIMELINE point needs IMPORT_SYNC_FILE (a syncobj fd imports the whole syncobj)`,
    );
  const s = drmSyncobjFromFd(proc, args.fd);
  args.handle = table.getHandle(s);
}

/** The wait shared by WAIT and TIMELINE_WAIT (`drm_syncobj_array_wait`); flags were checked on entry. */
async function arrayWait(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_wait> | Args<typeof drm_syncobj_timeline_wait>,
  points: readonly bigint[] | null,
): Promise<void> {
  const count = args.count_handles;
  const flags = args.flags;
  const hint =
    (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE) !== 0 ? uapiNsToNumber(args.deadline_nsec) : undefined;
  const syncobjs = table.findArray(args.handles.read(), count);
  try {
    const deadline = drmTimeoutAbsToDeadline(table.sim, args.timeout_nsec);
    args.first_signaled = await drmSyncobjArrayWait(table.sim, syncobjs, points, flags, deadline, hint);
  } finally {
    for (const s of syncobjs) s.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_WAIT` (`drm_syncobj_wait_ioctl`): flags ⊆ {WAIT_ALL, WAIT_FOR_SUBMIT,
 * WAIT_DEADLINE} (on entry); count 0 → success; unknown handle → `ENOENT`; a missing fence without
 * FOR_SUBMIT → `EINVAL`; `timeout_nsec` is absolute on the simulator clock (0 polls) → `ETIME`; a
 * signal → `ERESTARTSYS`. Writes `first_signaled` (`DRM_SYNCOBJ_NO_INDEX` when none was recorded).
 */
export async function drmSyncobjWaitIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_wait>,
): Promise<void> {
  if (args.count_handles === 0) return;
  await arrayWait(table, args, null);
}

/**
 * `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` (`drm_syncobj_timeline_wait_ioctl`): as WAIT, with one point
 * per handle (a NULL `points` is all zero) and WAIT_AVAILABLE (an existing point counts as done).
 */
export async function drmSyncobjTimelineWaitIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_timeline_wait>,
): Promise<void> {
  const count = args.count_handles;
  if (count === 0) return;
  const points = args.points.isNull ? null : args.points.read();
  await arrayWait(table, args, points);
}

/** The checks shared by RESET and SIGNAL (pad on entry); returns the syncobjs (references). */
function arrayArgs(table: SyncobjTable, args: Args<typeof drm_syncobj_array>, name: string) {
  const count = args.count_handles;
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  return table.findArray(args.handles.read(), count);
}

/** `DRM_IOCTL_SYNCOBJ_RESET` (`drm_syncobj_reset_ioctl`): count 0 → `EINVAL`; unknown handle → `ENOENT`; sets each fence to null. */
export function drmSyncobjResetIoctl(table: SyncobjTable, args: Args<typeof drm_syncobj_array>): void {
  for (const s of arrayArgs(table, args, "DRM_IOCTL_SYNCOBJ_RESET")) {
    s.replaceFence(null);
    s.put();
  }
}

/** `DRM_IOCTL_SYNCOBJ_SIGNAL` (`drm_syncobj_signal_ioctl`): as RESET, but installs a signalled stub in each. */
export function drmSyncobjSignalIoctl(table: SyncobjTable, args: Args<typeof drm_syncobj_array>): void {
  for (const s of arrayArgs(table, args, "DRM_IOCTL_SYNCOBJ_SIGNAL")) {
    s.assignNullHandle();
    s.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL` (`drm_syncobj_timeline_signal_ioctl`): flags ≠ 0 or count 0
 * → `EINVAL`; unknown handle → `ENOENT`; adds a signalled (stub-backed) chain point at each
 * `points[i]` (a NULL `points`: 0, which still adds a link).
 */
export function drmSyncobjTimelineSignalIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_timeline_array>,
): void {
  const name = "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL";
  if (args.flags !== 0) throw new KernelError("EINVAL", `${name}: flags must be 0`);
  const count = args.count_handles;
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  const handles = args.handles.read();
  const points = args.points.isNull ? new Array<bigint>(count).fill(0n) : args.points.read();
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
function queryPoint(fence: DmaFence | null, lastSubmitted: boolean): bigint {
  const chain = toDmaFenceChain(fence);
  if (chain === null) return 0n;
  if (lastSubmitted) return chain.point;
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
  const lastChain = toDmaFenceChain(last);
  const point = last.isSignaled() ? (lastChain?.point ?? BigInt(last.seqno)) : (lastChain?.prevSeqno ?? 0n);
  last.put();
  return point;
}

/**
 * `DRM_IOCTL_SYNCOBJ_QUERY` (`drm_syncobj_query_ioctl`): flags ⊆ {LAST_SUBMITTED} and count ≠ 0
 * else `EINVAL`; unknown handle → `ENOENT`; writes each `points[i]` (copy_to_user, one by one as
 * the kernel does): the last signalled point (or last submitted, with the flag).
 */
export function drmSyncobjQueryIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_timeline_array>,
): void {
  const name = "DRM_IOCTL_SYNCOBJ_QUERY";
  checkFlags(args.flags, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED, name);
  const count = args.count_handles;
  if (count === 0) throw new KernelError("EINVAL", `${name}: count_handles must not be 0`);
  const syncobjs = table.findArray(args.handles.read(), count);
  try {
    for (let i = 0; i < count; i++) {
      const fence = syncobjs[i]!.fenceGet();
      const point = queryPoint(fence, (args.flags & DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) !== 0);
      fence?.put();
      args.points.write([point], i);
    }
  } finally {
    for (const s of syncobjs) s.put();
  }
}

/**
 * `DRM_IOCTL_SYNCOBJ_TRANSFER` (`drm_syncobj_transfer_ioctl`): pad ≠ 0 → `EINVAL` (on entry); unknown dst → `ENOENT`; then the fence at
 * `src_point` of src (`drm_syncobj_find_fence` with `flags`: ENOENT, EINVAL, FOR_SUBMIT waits).
 * `dst_point` ≠ 0: the fence is flattened (`dma_fence_unwrap_merge`) and added as that point;
 * `dst_point` = 0: it replaces dst's fence.
 */
export async function drmSyncobjTransferIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_transfer>,
): Promise<void> {
  const dstPoint = args.dst_point;
  const dst = table.lookup(args.dst_handle, "ENOENT");
  try {
    const fence = await table.findFenceForUser(args.src_handle, args.src_point, args.flags);
    try {
      if (dstPoint === 0n) {
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
 * `DRM_IOCTL_SYNCOBJ_EVENTFD` (`drm_syncobj_eventfd_ioctl`): flags ⊆ {WAIT_AVAILABLE} and pad = 0 else `EINVAL` (on entry); unknown handle
 * → `ENOENT`; `fd` not open → `EBADF`, not an eventfd → `EINVAL`. The eventfd is signalled once
 * when point `point` signals (or, with WAIT_AVAILABLE, once it exists).
 */
export function drmSyncobjEventfdIoctl(
  table: SyncobjTable,
  args: Args<typeof drm_syncobj_eventfd>,
  proc: Process,
): void {
  const s = table.lookup(args.handle, "ENOENT");
  try {
    const ev = eventfdCtxFdget(proc, args.fd);
    s.addEventfd(ev, args.point, args.flags);
  } finally {
    s.put();
  }
}
