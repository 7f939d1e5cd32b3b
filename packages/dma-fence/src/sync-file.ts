/**
 * `struct sync_file` (`include/linux/sync_file.h`, `drivers/dma-buf/sync_file.c`, uapi
 * `linux/sync_file.h`): a dma_fence handed to userspace as a file descriptor — explicit
 * synchronisation. Userspace can poll it (readable once the fence signalled), merge two into one,
 * ask what is inside (`SYNC_IOC_FILE_INFO`), hint a deadline, and pass it to another process or
 * driver, which turns it back into the fence (`syncFileGetFence`).
 *
 * The file holds one reference to its fence; the fence outlives every fd and driver reference to
 * the file, and no longer.
 *
 * ioctls (`proc.ioctl(fd, cmd, arg)`), with the kernel's argument checks:
 * - `SYNC_IOC_MERGE {name, fd2, flags: 0, pad: 0}` → `{fence: newFd}`: a new sync_file for
 *   `dmaFenceUnwrapMerge(this, fd2)` (newest point per context). Non-zero flags/pad: `EINVAL`;
 *   fd2 not a sync_file: `ENOENT`; out of memory: `ENOMEM`.
 * - `SYNC_IOC_FILE_INFO {flags: 0, pad: 0, num_fences, sync_fence_info}` → name, status and
 *   count; with `num_fences` > 0 also one `{obj_name, driver_name, status, flags, timestamp_ns}`
 *   per leaf fence in `sync_fence_info`. Too small a `num_fences`: `EINVAL`.
 * - `SYNC_IOC_SET_DEADLINE {deadline_ns, pad: 0}`: forwards the hint to the fence.
 */
import {
  type Allocation,
  EPOLLIN,
  File,
  type FileOperations,
  GFP_KERNEL,
  KernelError,
  O_CLOEXEC,
  O_RDWR,
  type Process,
} from "@drmsim/runtime";
import type { DmaFence, DmaFenceCb } from "./dma-fence.js";
import { dmaFenceUnwrap, dmaFenceUnwrapMerge } from "./dma-fence-unwrap.js";

/** `sizeof(sync_file->user_name)` and the uapi name fields: 32 bytes with the terminating NUL. */
const NAME_LEN = 32;
/** `sizeof(struct sync_fence_info)`, for the temporary buffer FILE_INFO allocates. */
const FENCE_INFO_BYTES = 72;
/** `sizeof(struct sync_file)` (file pointer, user_name, list, wait queue, flags, fence, cb), an estimate. */
const SYNC_FILE_BYTES = 128;

/**
 * `sync_file_alloc()`: the `kzalloc(sizeof(*sync_file), GFP_KERNEL)` every new sync_file starts
 * with. Throws `ENOMEM` (the kernel returns NULL and its callers turn that into `-ENOMEM`).
 */
function syncFileAlloc(fence: DmaFence): Allocation {
  return fence.sim.mm.kmalloc(SYNC_FILE_BYTES, GFP_KERNEL, "sync_file_alloc");
}

/** `struct sync_merge_data`. */
export interface SyncMergeData {
  name?: string;
  fd2: number;
  /** Out: the new sync_file's fd. */
  fence?: number;
  flags?: number;
  pad?: number;
}

/** `struct sync_fence_info`: one leaf fence, as FILE_INFO reports it. */
export interface SyncFenceInfo {
  /** The fence's timeline name. */
  obj_name: string;
  driver_name: string;
  /** 0 active, 1 signalled, negative error. */
  status: number;
  flags: number;
  /** The signal time (virtual ns); 0 while active. */
  timestamp_ns: number;
}

/** `struct sync_file_info`. */
export interface SyncFileInfo {
  name?: string;
  /** Out: 0 active, 1 signalled, negative error. */
  status?: number;
  flags?: number;
  /** In: room in `sync_fence_info` (0: just count). Out: the number of leaf fences. */
  num_fences?: number;
  pad?: number;
  /** Out (when `num_fences` was > 0): the leaves. */
  sync_fence_info?: SyncFenceInfo[];
}

/** `struct sync_set_deadline`. */
export interface SyncSetDeadline {
  deadline_ns: number;
  pad?: number;
}

/** The `fops.kind` of sync_file files. */
export const SYNC_FILE_KIND = "sync_file";

/** Reads an integer field of a uapi struct: absent means 0, anything but an integer is `EINVAL`. */
export function uapiInt(arg: Record<string, unknown>, key: string, op: string): number {
  const v = arg[key];
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new KernelError("EINVAL", `${op}: ${key} must be an integer, got ${String(v)}`);
  return v;
}

/** `strscpy` into a fixed-size uapi char array: at most `NAME_LEN - 1` characters. */
function truncName(s: string): string {
  return s.length >= NAME_LEN ? s.slice(0, NAME_LEN - 1) : s;
}

const syncFileFops: FileOperations<SyncFile> = {
  kind: SYNC_FILE_KIND,
  ioctl: (file, cmd, arg, proc) => {
    const sf = file.priv;
    switch (cmd) {
      case "SYNC_IOC_MERGE":
        return sf.ioctlMerge(arg, proc);
      case "SYNC_IOC_FILE_INFO":
        return sf.ioctlFileInfo(arg);
      case "SYNC_IOC_SET_DEADLINE":
        return sf.ioctlSetDeadline(arg);
      default:
        throw new KernelError("ENOTTY", `sync_file: unknown ioctl ${cmd}`);
    }
  },
  poll: (file) => file.priv.poll(),
  release: (file) => file.priv.release(),
};

/** `struct sync_file`. Create with `syncFileCreate`; its `file` is what an fd refers to. */
export class SyncFile {
  /** `sync_file->file`: the caller of `syncFileCreate` owns its first reference. */
  readonly file: File<SyncFile>;
  /** `sync_file->user_name`: set by MERGE; empty means "derive from the fence". */
  userName = "";
  /** `POLL_ENABLED`: the poll callback is installed on the fence. */
  private pollEnabled = false;
  private readonly pollCb: DmaFenceCb;

  /** @internal Use `syncFileCreate`. */
  constructor(
    /** `sync_file->fence`: this file owns a reference. */
    readonly fence: DmaFence,
    /** The struct's memory from `sync_file_alloc`, freed on release. */
    private readonly mem: Allocation,
  ) {
    this.file = new File(fence.sim, syncFileFops, this, O_RDWR, SYNC_FILE_KIND);
    this.pollCb = { func: () => this.file.notifyPoll() };
  }

  /**
   * `sync_file_get_name()`: the name given at merge, else `driver-timeline<context>-<seqno>` of
   * the fence, cut to 31 characters.
   */
  get name(): string {
    if (this.userName !== "") return this.userName;
    const f = this.fence;
    return truncName(`${f.driverName}-${f.timelineName}${f.context}-${f.seqno}`);
  }

  /** @internal `sync_file_poll`: installs the wake-up callback once; readable once signalled. */
  poll(): number {
    if (!this.pollEnabled) {
      this.pollEnabled = true;
      // A negative return means it already signalled: nothing to wait for.
      this.fence.addCallback(this.pollCb);
    }
    return this.fence.isSignaled() ? EPOLLIN : 0;
  }

  /** @internal `sync_file_release`. */
  release(): void {
    if (this.pollEnabled) this.fence.removeCallback(this.pollCb);
    this.fence.put();
    this.mem.free();
  }

  /** @internal `sync_file_ioctl_merge`. */
  ioctlMerge(arg: Record<string, unknown>, proc: Process): SyncMergeData {
    const op = "SYNC_IOC_MERGE";
    const flags = uapiInt(arg, "flags", op);
    const pad = uapiInt(arg, "pad", op);
    if (flags !== 0 || pad !== 0) throw new KernelError("EINVAL", `${op}: flags and pad must be 0`);
    const fd2 = uapiInt(arg, "fd2", op);
    const other = syncFileFdget(proc, fd2);
    if (other === null) throw new KernelError("ENOENT", `${op}: fd2 ${fd2} is not a sync_file`);
    const name = typeof arg.name === "string" ? arg.name : "";
    const merged = syncFileMerge(name, this, other);
    if (merged === null) throw new KernelError("ENOMEM", `${op}: out of memory merging fences`);
    let fd: number;
    try {
      fd = proc.installFile(merged.file, true);
    } catch (e) {
      // No fd for it (the kernel reserves the fd first): the new file goes away again.
      merged.file.put();
      throw e;
    }
    return { ...(arg as unknown as SyncMergeData), fence: fd };
  }

  /** @internal `sync_file_ioctl_fence_info`. */
  ioctlFileInfo(arg: Record<string, unknown>): SyncFileInfo {
    const op = "SYNC_IOC_FILE_INFO";
    const flags = uapiInt(arg, "flags", op);
    const pad = uapiInt(arg, "pad", op);
    if (flags !== 0 || pad !== 0) throw new KernelError("EINVAL", `${op}: flags and pad must be 0`);
    const room = uapiInt(arg, "num_fences", op);
    if (room < 0) throw new KernelError("EINVAL", `${op}: num_fences must be >= 0`);
    let count = 0;
    for (const _ of dmaFenceUnwrap(this.fence)) count++;
    const out: SyncFileInfo = { ...(arg as SyncFileInfo), name: this.name };
    if (room === 0) {
      // Only the count (and the overall status) were asked for.
      out.status = this.fence.getStatus();
      out.num_fences = count;
      return out;
    }
    if (room < count)
      throw new KernelError("EINVAL", `${op}: room for ${room} fences, but the sync_file holds ${count}`);
    const sim = this.fence.sim;
    const mem = sim.mm.kmalloc(count * FENCE_INFO_BYTES, GFP_KERNEL, "sync_file_ioctl_fence_info");
    try {
      const infos: SyncFenceInfo[] = [];
      let status = 1;
      for (const f of dmaFenceUnwrap(this.fence)) {
        const s = f.getStatus();
        infos.push({
          obj_name: truncName(f.timelineName),
          driver_name: truncName(f.driverName),
          status: s,
          flags: 0,
          timestamp_ns: f.isSignaled() ? f.timestamp : 0,
        });
        // The first leaf that is still active or failed decides.
        if (status > 0) status = s;
      }
      out.status = status;
      out.num_fences = infos.length;
      out.sync_fence_info = infos;
      return out;
    } finally {
      sim.mm.kfree(mem);
    }
  }

  /** @internal `sync_file_ioctl_set_deadline`. */
  ioctlSetDeadline(arg: Record<string, unknown>): SyncSetDeadline {
    const op = "SYNC_IOC_SET_DEADLINE";
    if (uapiInt(arg, "pad", op) !== 0) throw new KernelError("EINVAL", `${op}: pad must be 0`);
    const ns = uapiInt(arg, "deadline_ns", op);
    const f = this.fence.get();
    f.setDeadline(ns);
    f.put();
    return arg as unknown as SyncSetDeadline;
  }
}

/**
 * `sync_file_create(fence)`: a new sync_file holding a new reference to `fence`. The caller owns
 * the file's first reference: install it (`proc.installFile(sf.file)`, which takes it over) or
 * drop it (`sf.file.put()`). Throws `ENOMEM` when `sync_file_alloc` fails (the kernel returns
 * NULL), with no reference taken.
 */
export function syncFileCreate(fence: DmaFence): SyncFile {
  const mem = syncFileAlloc(fence);
  return new SyncFile(fence.get(), mem);
}

/**
 * `sync_file_create` + `get_unused_fd_flags(O_CLOEXEC)` + `fd_install`: exports `fence` to
 * `proc` as a new sync_file fd (what a driver's out-fence ioctl does).
 */
export function syncFileInstall(proc: Process, fence: DmaFence, flags = O_CLOEXEC): number {
  const sf = syncFileCreate(fence);
  try {
    return proc.installFile(sf.file, (flags & O_CLOEXEC) !== 0);
  } catch (e) {
    sf.file.put();
    throw e;
  }
}

/** `sync_file_fdget(fd)`: the sync_file behind `fd` in `proc`, or null if it is not one (or not open). */
export function syncFileFdget(proc: Process, fd: number): SyncFile | null {
  const file = proc.files.lookup(fd);
  if (file === undefined || file.fops.kind !== SYNC_FILE_KIND) return null;
  return (file as File<SyncFile>).priv;
}

/**
 * `sync_file_get_fence(fd)`: a new reference to the fence of the sync_file behind `fd` in
 * `proc`, or null when `fd` is not a sync_file (callers turn that into `EINVAL`/`ENOENT`).
 */
export function syncFileGetFence(proc: Process, fd: number): DmaFence | null {
  const sf = syncFileFdget(proc, fd);
  return sf === null ? null : sf.fence.get();
}

/**
 * `sync_file_merge(name, a, b)`: a new sync_file (the caller owns the file) whose fence is
 * `dmaFenceUnwrapMerge(a, b)`. Null when memory runs out (merging, or `sync_file_alloc`), with
 * nothing left behind.
 */
export function syncFileMerge(name: string, a: SyncFile, b: SyncFile): SyncFile | null {
  const fence = dmaFenceUnwrapMerge(a.fence.sim, a.fence, b.fence);
  if (fence === null) return null;
  let sf: SyncFile;
  try {
    // sync_file_create takes its own reference; ours goes either way, as in the kernel.
    sf = syncFileCreate(fence);
  } catch (e) {
    if (e instanceof KernelError && e.code === "ENOMEM") return null;
    throw e;
  } finally {
    fence.put();
  }
  sf.userName = truncName(name);
  return sf;
}
