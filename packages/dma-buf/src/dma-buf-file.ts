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
  EPOLLIN,
  EPOLLOUT,
  type File,
  type FileOperations,
  KernelError,
  O_CLOEXEC,
  type Process,
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

/** ioctl command names. */
export const DMA_BUF_IOCTL_SYNC = "DMA_BUF_IOCTL_SYNC";
/** `DMA_BUF_SET_NAME` (also reachable as `_A`/`_B`, which differ only in the C pointer size). */
export const DMA_BUF_SET_NAME = "DMA_BUF_SET_NAME";
/** `DMA_BUF_IOCTL_EXPORT_SYNC_FILE`. */
export const DMA_BUF_IOCTL_EXPORT_SYNC_FILE = "DMA_BUF_IOCTL_EXPORT_SYNC_FILE";
/** `DMA_BUF_IOCTL_IMPORT_SYNC_FILE`. */
export const DMA_BUF_IOCTL_IMPORT_SYNC_FILE = "DMA_BUF_IOCTL_IMPORT_SYNC_FILE";

/** `struct dma_buf_sync`. */
export interface DmaBufSync {
  flags: number;
}

async function ioctlSync(buf: DmaBuf, arg: Record<string, unknown>): Promise<void> {
  const flags = arg.flags;
  if (typeof flags !== "number" || !Number.isInteger(flags) || (flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) !== 0)
    throw new KernelError("EINVAL", `DMA_BUF_IOCTL_SYNC: unknown flags ${String(flags)}`);
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

function ioctlSetName(buf: DmaBuf, arg: Record<string, unknown>): void {
  const name = arg.name;
  if (typeof name !== "string") throw new KernelError("EFAULT", "DMA_BUF_SET_NAME: name is not a string");
  if (name.length >= DMA_BUF_NAME_LEN)
    throw new KernelError("EINVAL", `DMA_BUF_SET_NAME: name longer than ${DMA_BUF_NAME_LEN - 1} characters`);
  buf.name = name;
}

/** `struct dma_buf_export_sync_file`. */
export interface DmaBufExportSyncFile {
  flags: number;
  /** Out: the new sync_file fd. */
  fd?: number;
}

/** `struct dma_buf_import_sync_file`. */
export interface DmaBufImportSyncFile {
  flags: number;
  fd: number;
}

function syncRwFlags(arg: Record<string, unknown>, op: string): number {
  const flags = arg.flags;
  if (typeof flags !== "number" || !Number.isInteger(flags) || (flags & ~DMA_BUF_SYNC_RW) !== 0)
    throw new KernelError("EINVAL", `${op}: flags ${String(flags)} are not within DMA_BUF_SYNC_RW`);
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
  arg: Record<string, unknown>,
  proc: Process,
): Record<string, unknown> {
  const flags = syncRwFlags(arg, DMA_BUF_IOCTL_EXPORT_SYNC_FILE);
  const fence =
    buf.resv.getSingleton(dmaResvUsageRw((flags & DMA_BUF_SYNC_WRITE) !== 0)) ?? dmaFenceGetStub(buf.sim);
  try {
    const fd = syncFileInstall(proc, fence, O_CLOEXEC);
    return { ...arg, fd };
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
async function ioctlImportSyncFile(buf: DmaBuf, arg: Record<string, unknown>, proc: Process): Promise<void> {
  const flags = syncRwFlags(arg, DMA_BUF_IOCTL_IMPORT_SYNC_FILE);
  const fd = arg.fd;
  const fence = typeof fd === "number" ? syncFileGetFence(proc, fd) : null;
  if (fence === null)
    throw new KernelError("EINVAL", `${DMA_BUF_IOCTL_IMPORT_SYNC_FILE}: fd ${String(fd)} is not a sync_file`);
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
  async ioctl(file, cmd, arg, proc) {
    const buf = file.priv;
    switch (cmd) {
      case DMA_BUF_IOCTL_SYNC:
        await ioctlSync(buf, arg);
        return arg;
      case DMA_BUF_SET_NAME:
      case "DMA_BUF_SET_NAME_A":
      case "DMA_BUF_SET_NAME_B":
        ioctlSetName(buf, arg);
        return arg;
      case DMA_BUF_IOCTL_EXPORT_SYNC_FILE:
        return ioctlExportSyncFile(buf, arg, proc);
      case DMA_BUF_IOCTL_IMPORT_SYNC_FILE:
        await ioctlImportSyncFile(buf, arg, proc);
        return arg;
      default:
        throw new KernelError("ENOTTY", `dma-buf: unknown ioctl ${cmd}`);
    }
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
