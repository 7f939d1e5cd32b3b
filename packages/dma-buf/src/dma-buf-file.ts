/**
 * The dma-buf file's uAPI (`include/uapi/linux/dma-buf.h`, `dma_buf_ioctl`, `dma_buf_poll`):
 * what userspace can do with a dma-buf fd besides passing it around.
 *
 * - `DMA_BUF_IOCTL_SYNC {flags}`: brackets CPU access (START → begin, END → end_cpu_access);
 *   flags must stay within `DMA_BUF_SYNC_VALID_FLAGS_MASK` and name READ and/or WRITE.
 * - `DMA_BUF_IOCTL_EXPORT_SYNC_FILE {flags} → {fd}` / `DMA_BUF_IOCTL_IMPORT_SYNC_FILE {flags, fd}`:
 *   bridges implicit sync (the resv) and explicit sync (sync_file fds).
 * - `DMA_BUF_SET_NAME {name}`: a debug name of at most `DMA_BUF_NAME_LEN - 1` characters.
 * - poll: `EPOLLIN` once the writers are done (WRITE-usage fences), `EPOLLOUT` once readers and
 *   writers are (READ usage) — implicit sync for userspace.
 * - mmap (`dma_buf_mmap_internal`): the exporter's pages in the process, offset 0 = the buffer's
 *   first byte; accesses are checked against the fences (`DmaBuf.mmap`).
 * Any other command is `ENOTTY`.
 */

import {
  type DmaFence,
  type DmaFenceCb,
  dmaFenceGetStub,
  dmaFenceUnwrap,
  syncFileGetFence,
  syncFileInstall,
} from "@drmsim/dma-fence";
import { DmaResvUsage, dmaResvUsageRw } from "@drmsim/dma-resv";
import {
  __s32,
  __u8,
  __u32,
  __u64,
  EPOLLIN,
  EPOLLOUT,
  type File,
  type FileOperations,
  flagsMask,
  ioctlDef,
  ioctlTable,
  iow,
  iowr,
  KernelError,
  O_CLOEXEC,
  type Process,
  type UapiArgsOf,
  type UapiValue,
  type UserPtr,
  uapiStrndupUser,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";
import { type DmaBuf, DmaDataDirection } from "./dma-buf.js";

/** The file kind of a dma-buf (`is_dma_buf_file`). @internal */
export const DMA_BUF_FILE_KIND = "dma_buf";

/** `DMA_BUF_SYNC_READ`. */
export const DMA_BUF_SYNC_READ = 1 << 0;
/** `DMA_BUF_SYNC_WRITE`. */
export const DMA_BUF_SYNC_WRITE = 2 << 0;
/** `DMA_BUF_SYNC_RW`. */
export const DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
/** `DMA_BUF_SYNC_START`. */
export const DMA_BUF_SYNC_START = 0 << 2;
/** `DMA_BUF_SYNC_END`. */
export const DMA_BUF_SYNC_END = 1 << 2;
/** `DMA_BUF_SYNC_VALID_FLAGS_MASK`. */
export const DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;
/** `DMA_BUF_NAME_LEN`, including the terminating NUL. */
export const DMA_BUF_NAME_LEN = 32;

/** `DMA_BUF_BASE`. */
export const DMA_BUF_BASE = "b";

/** `struct dma_buf_sync`: `flags` within `DMA_BUF_SYNC_VALID_FLAGS_MASK`. */
export const dma_buf_sync = uapiStruct(
  "dma_buf_sync",
  { flags: flagsMask(__u64, DMA_BUF_SYNC_VALID_FLAGS_MASK) },
  { size: 8 },
);
/** `struct dma_buf_export_sync_file`: in `flags`; out `fd`. */
export const dma_buf_export_sync_file = uapiStruct(
  "dma_buf_export_sync_file",
  { flags: flagsMask(__u32, DMA_BUF_SYNC_RW), fd: __s32 },
  { size: 8 },
);
/** `struct dma_buf_import_sync_file`: in `flags`, `fd`. */
export const dma_buf_import_sync_file = uapiStruct(
  "dma_buf_import_sync_file",
  { flags: flagsMask(__u32, DMA_BUF_SYNC_RW), fd: __s32 },
  { size: 8 },
);
/** `struct dma_buf_sync` as a caller passes it. */
export type DmaBufSync = UapiArgsOf<typeof dma_buf_sync>;
/** `struct dma_buf_export_sync_file` as a caller passes it. */
export type DmaBufExportSyncFile = UapiArgsOf<typeof dma_buf_export_sync_file>;
/** `struct dma_buf_import_sync_file` as a caller passes it. */
export type DmaBufImportSyncFile = UapiArgsOf<typeof dma_buf_import_sync_file>;
/** `DMA_BUF_SET_NAME`'s argument: the name itself, a `const char *`. */
export const dmaBufName = userPtr(__u8);

/** `DMA_BUF_IOCTL_SYNC`: `_IOW('b', 0, struct dma_buf_sync)`. */
export const DMA_BUF_IOCTL_SYNC = iow(DMA_BUF_BASE, 0, dma_buf_sync.size);
/**
 * `DMA_BUF_SET_NAME` (= `DMA_BUF_SET_NAME_B` on 64-bit): `_IOW('b', 1, const char *)`. The
 * 32-bit `DMA_BUF_SET_NAME_A` is not modelled: simulated processes are 64-bit.
 */
export const DMA_BUF_SET_NAME = iow(DMA_BUF_BASE, 1, dmaBufName.size);
/** `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`: `_IOWR('b', 2, struct dma_buf_export_sync_file)`. */
export const DMA_BUF_IOCTL_EXPORT_SYNC_FILE = iowr(DMA_BUF_BASE, 2, dma_buf_export_sync_file.size);
/** `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`: `_IOW('b', 3, struct dma_buf_import_sync_file)`. */
export const DMA_BUF_IOCTL_IMPORT_SYNC_FILE = iow(DMA_BUF_BASE, 3, dma_buf_import_sync_file.size);

/** `dma_buf_ioctl`'s SYNC case: the mask was checked on entry; READ and/or WRITE must be named. */
async function ioctlSync(buf: DmaBuf, args: UapiValue<typeof dma_buf_sync>): Promise<void> {
  const flags = Number(args.flags);
  let dir: DmaDataDirection;
  switch (flags & DMA_BUF_SYNC_RW) {
    case DMA_BUF_SYNC_READ:
      dir = DmaDataDirection.FROM_DEVICE;
      break;
    case DMA_BUF_SYNC_WRITE:
      dir = DmaDataDirection.TO_DEVICE;
      break;
    case DMA_BUF_SYNC_RW:
      dir = DmaDataDirection.BIDIRECTIONAL;
      break;
    default:
      throw new KernelError(
        "EINVAL",
        "DMA_BUF_IOCTL_SYNC: flags must include DMA_BUF_SYNC_READ and/or _WRITE",
      );
  }
  if ((flags & DMA_BUF_SYNC_END) !== 0) await buf.endCpuAccess(dir);
  else await buf.beginCpuAccess(dir);
}

/** `dma_buf_set_name`: `strndup_user(name, DMA_BUF_NAME_LEN)` — at most 31 bytes and the NUL. */
function ioctlSetName(buf: DmaBuf, name: UserPtr<number>): void {
  buf.name = uapiStrndupUser(name, DMA_BUF_NAME_LEN, "DMA_BUF_SET_NAME");
}

/** The `flags` both sync_file ioctls share: within `DMA_BUF_SYNC_RW` (checked on entry) and not 0. */
function syncRwFlags(flags: number, op: string): number {
  if ((flags & DMA_BUF_SYNC_RW) === 0)
    throw new KernelError("EINVAL", `${op}: flags must include DMA_BUF_SYNC_READ and/or _WRITE`);
  return flags;
}

/**
 * `dma_buf_export_sync_file`: a sync_file fd for what an access would wait on — readers wait
 * for writers (`WRITE` usage), writers for everyone (`READ`): the singleton of those fences, or
 * the signalled stub when there are none.
 */
function ioctlExportSyncFile(
  buf: DmaBuf,
  args: UapiValue<typeof dma_buf_export_sync_file>,
  proc: Process,
): void {
  const flags = syncRwFlags(args.flags, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE");
  const fence =
    buf.resv.getSingleton(dmaResvUsageRw((flags & DMA_BUF_SYNC_WRITE) !== 0)) ?? dmaFenceGetStub(buf.sim);
  try {
    args.fd = syncFileInstall(proc, fence, O_CLOEXEC);
  } finally {
    fence.put();
  }
}

/**
 * `dma_buf_import_sync_file`: adds every leaf fence of the sync_file (unwrapped from arrays and
 * chains) to the buffer's resv, as a writer (`WRITE`) with `DMA_BUF_SYNC_WRITE`, else as a reader
 * (`READ`). Slots are reserved first, so either all are added or none. `EINVAL` for bad flags or
 * an fd that is not a sync_file.
 */
async function ioctlImportSyncFile(
  buf: DmaBuf,
  args: UapiValue<typeof dma_buf_import_sync_file>,
  proc: Process,
): Promise<void> {
  const flags = syncRwFlags(args.flags, "DMA_BUF_IOCTL_IMPORT_SYNC_FILE");
  const fence = syncFileGetFence(proc, args.fd);
  if (fence === null)
    throw new KernelError("EINVAL", `DMA_BUF_IOCTL_IMPORT_SYNC_FILE: fd ${args.fd} is not a sync_file`);
  try {
    const usage = (flags & DMA_BUF_SYNC_WRITE) !== 0 ? DmaResvUsage.WRITE : DmaResvUsage.READ;
    const leaves = [...dmaFenceUnwrap(fence)];
    if (leaves.length === 0) return;
    await buf.resv.lock(null);
    try {
      buf.resv.reserveFences(leaves.length);
      for (const f of leaves) buf.resv.addFence(f, usage);
    } finally {
      buf.resv.unlock();
    }
  } finally {
    fence.put();
  }
}

const armed = new WeakMap<DmaBuf, Set<DmaFence>>();

/** Makes every pending fence of `buf` wake the file's pollers when it signals. */
function armPoll(file: File<DmaBuf>, buf: DmaBuf): void {
  let set = armed.get(buf);
  if (set === undefined) {
    set = new Set();
    armed.set(buf, set);
  }
  const s = set;
  for (const f of buf.resv.getFences(DmaResvUsage.READ)) {
    if (!s.has(f)) {
      s.add(f);
      const cb: DmaFenceCb = {
        func: (fence) => {
          s.delete(fence);
          file.notifyPoll();
        },
      };
      if (f.addCallback(cb) !== 0) s.delete(f);
    }
    f.put();
  }
}

/** `dma_buf_fops`. @internal */
export const dmaBufFops: FileOperations<DmaBuf> = {
  kind: DMA_BUF_FILE_KIND,
  ...ioctlTable<DmaBuf>(
    [
      ioctlDef("DMA_BUF_IOCTL_SYNC", DMA_BUF_IOCTL_SYNC, dma_buf_sync, (file, args) =>
        ioctlSync(file.priv, args),
      ),
      ioctlDef("DMA_BUF_SET_NAME", DMA_BUF_SET_NAME, dmaBufName, (file, name) =>
        ioctlSetName(file.priv, name),
      ),
      ioctlDef(
        "DMA_BUF_IOCTL_EXPORT_SYNC_FILE",
        DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
        dma_buf_export_sync_file,
        (file, args, proc) => ioctlExportSyncFile(file.priv, args, proc),
      ),
      ioctlDef(
        "DMA_BUF_IOCTL_IMPORT_SYNC_FILE",
        DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
        dma_buf_import_sync_file,
        (file, args, proc) => ioctlImportSyncFile(file.priv, args, proc),
      ),
    ],
    "dma-buf",
  ),
  mmap(file, vma) {
    file.priv.mmap(vma);
  },
  poll(file) {
    const buf = file.priv;
    let mask = 0;
    if (buf.resv.testSignaled(DmaResvUsage.WRITE)) mask |= EPOLLIN;
    if (buf.resv.testSignaled(DmaResvUsage.READ)) mask |= EPOLLOUT;
    if (mask !== (EPOLLIN | EPOLLOUT)) armPoll(file, buf);
    return mask;
  },
  release(file) {
    file.priv.releaseFromFile();
  },
};
