/**
 * The dma-buf file's uAPI (`include/uapi/linux/dma-buf.h`, `dma_buf_ioctl`, `dma_buf_poll`):
 * what userspace can do with a dma-buf fd besides passing it around.
 *
 * - `DMA_BUF_IOCTL_SYNC {flags}`: brackets CPU access (START → begin, END → end_cpu_access);
 *   flags must stay within `DMA_BUF_SYNC_VALID_FLAGS_MASK` and name READ and/or WRITE.
 * - `DMA_BUF_SET_NAME {name}`: a debug name of at most `DMA_BUF_NAME_LEN - 1` characters.
 * - poll: `EPOLLIN` once the writers are done (WRITE-usage fences), `EPOLLOUT` once readers and
 *   writers are (READ usage) — implicit sync for userspace.
 * Any other command is `ENOTTY`.
 */

import type { DmaFence, DmaFenceCb } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  EPOLLIN,
  EPOLLOUT,
  type File,
  type FileOperations,
  KernelError,
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

/** Extra ioctls registered by other modules of this package (the sync_file ones). @internal */
export const extraIoctls = new Map<
  string,
  (buf: DmaBuf, arg: Record<string, unknown>, proc: Process) => unknown
>();

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
      default: {
        const h = extraIoctls.get(cmd);
        if (h === undefined) throw new KernelError("ENOTTY", `dma-buf: unknown ioctl ${cmd}`);
        return await h(buf, arg, proc);
      }
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
