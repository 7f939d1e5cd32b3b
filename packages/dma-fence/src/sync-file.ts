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
  ioctlDef,
  ioctlTable,
  KernelError,
  O_CLOEXEC,
  O_RDWR,
  type Process,
  type UapiValue,
  uapiNsToNumber,
} from "@drmsim/runtime";
import type { DmaFence, DmaFenceCb } from "./dma-fence.js";
import { dmaFenceUnwrap, dmaFenceUnwrapMerge } from "./dma-fence-unwrap.js";
import {
  SYNC_IOC_FILE_INFO,
  SYNC_IOC_MERGE,
  SYNC_IOC_SET_DEADLINE,
  sync_fence_info,
  sync_file_info,
  sync_merge_data,
  sync_set_deadline,
} from "./sync-file-uapi.js";

/** `sizeof(sync_file->user_name)` and the uapi name fields: 32 bytes with the terminating NUL. */
const NAME_LEN = 32;
/** `sizeof(struct sync_file)` (file pointer, user_name, list, wait queue, flags, fence, cb), an estimate. */
const SYNC_FILE_BYTES = 128;

/**
 * `sync_file_alloc()`: the `kzalloc(sizeof(*sync_file), GFP_KERNEL)` every new sync_file starts
 * with. Throws `ENOMEM` (the kernel returns NULL and its callers turn that into `-ENOMEM`).
 */
function syncFileAlloc(fence: DmaFence): Allocation {
  return fence.sim.mm.kmalloc(SYNC_FILE_BYTES, GFP_KERNEL, "sync_file_alloc");
}

/** The `fops.kind` of sync_file files. */
export const SYNC_FILE_KIND = "sync_file";

/** `strscpy` into a fixed-size uapi char array: at most `NAME_LEN - 1` characters. */
function truncName(s: string): string {
  return s.length >= NAME_LEN ? s.slice(0, NAME_LEN - 1) : s;
}

const syncFileFops: FileOperations<SyncFile> = {
  kind: SYNC_FILE_KIND,
  ...ioctlTable<SyncFile>(
    [
      ioctlDef("SYNC_IOC_MERGE", SYNC_IOC_MERGE, sync_merge_data, (file, args, proc) =>
        file.priv.ioctlMerge(args, proc),
      ),
      ioctlDef("SYNC_IOC_FILE_INFO", SYNC_IOC_FILE_INFO, sync_file_info, (file, args) =>
        file.priv.ioctlFileInfo(args),
      ),
      ioctlDef("SYNC_IOC_SET_DEADLINE", SYNC_IOC_SET_DEADLINE, sync_set_deadline, (file, args) =>
        file.priv.ioctlSetDeadline(args),
      ),
    ],
    "sync_file",
  ),
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

  /** @internal `sync_file_ioctl_merge`: flags and pad were checked on entry. */
  ioctlMerge(args: UapiValue<typeof sync_merge_data>, proc: Process): void {
    const other = syncFileFdget(proc, args.fd2);
    if (other === null) throw new KernelError("ENOENT", `SYNC_IOC_MERGE: fd2 ${args.fd2} is not a sync_file`);
    // The kernel terminates the user's name itself: 31 characters at most.
    const merged = syncFileMerge(truncName(args.name), this, other);
    if (merged === null) throw new KernelError("ENOMEM", "SYNC_IOC_MERGE: out of memory merging fences");
    try {
      args.fence = proc.installFile(merged.file, true);
    } catch (e) {
      // No fd for it (the kernel reserves the fd first): the new file goes away again.
      merged.file.put();
      throw e;
    }
  }

  /**
   * @internal `sync_file_ioctl_fence_info`: with `num_fences` 0 only the count and the overall
   * status; otherwise one `sync_fence_info` per leaf into the user's array (`EINVAL` if it has
   * room for fewer), and the status of the first leaf still active or failed.
   */
  ioctlFileInfo(args: UapiValue<typeof sync_file_info>): void {
    let count = 0;
    for (const _ of dmaFenceUnwrap(this.fence)) count++;
    if (args.num_fences === 0) {
      args.status = this.fence.getStatus();
    } else {
      if (args.num_fences < count)
        throw new KernelError(
          "EINVAL",
          `SYNC_IOC_FILE_INFO: room for ${args.num_fences} fences, but the sync_file holds ${count}`,
        );
      const sim = this.fence.sim;
      const mem = sim.mm.kmalloc(count * sync_fence_info.size, GFP_KERNEL, "sync_file_ioctl_fence_info");
      try {
        const infos: UapiValue<typeof sync_fence_info>[] = [];
        let status = 1;
        for (const f of dmaFenceUnwrap(this.fence)) {
          const st = f.getStatus();
          infos.push({
            obj_name: truncName(f.timelineName),
            driver_name: truncName(f.driverName),
            status: st,
            flags: 0,
            timestamp_ns: f.isSignaled() ? BigInt(f.timestamp) : 0n,
          });
          if (status > 0) status = st;
        }
        args.sync_fence_info.write(infos);
        args.status = status;
      } finally {
        sim.mm.kfree(mem);
      }
    }
    args.name = this.name;
    args.num_fences = count;
  }

  /** @internal `sync_file_ioctl_set_deadline`: pad was checked on entry. */
  ioctlSetDeadline(args: UapiValue<typeof sync_set_deadline>): void {
    const f = this.fence.get();
    f.setDeadline(uapiNsToNumber(args.deadline_ns));
    f.put();
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
