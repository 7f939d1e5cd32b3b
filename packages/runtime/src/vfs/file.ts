/**
 * `struct file` and `struct file_operations` (`include/linux/fs.h`): what an fd refers to. A
 * sync_file, a dma-buf and an open DRM device node are all files; a process reaches them only
 * through fds in its own table, and the object lives as long as any fd (in any process) or
 * kernel reference holds the file.
 */
import { KernelError } from "../errno.js";
import type { Sleeper } from "../internal/sleeper.js";
import { RefCounted } from "../kref.js";
import type { Simulator } from "../simulator.js";
import type { VmArea } from "./mm.js";
import type { Process } from "./process.js";

/** An ioctl command: the request number, e.g. `DRM_IOCTL_SYNCOBJ_CREATE` = `_IOWR('d', 0xbf, struct drm_syncobj_create)`. */
export type IoctlCmd = number;

/** `struct file_operations`. Optional ops fail the way the kernel's VFS does when absent. */
export interface FileOperations<P = unknown> {
  /** The kind of file, for reports and `/proc/<pid>/fd`-style listings: `sync_file`, `dma_buf`, `drm`. */
  readonly kind: string;
  /**
   * `unlocked_ioctl`. Receives the caller's argument as it is — user memory — and copies it in and
   * out itself by its declared layout (`ioctlTable`, `uapiIoctlCall`), as kernel ioctls call
   * `copy_from_user`/`copy_to_user`. Absent: `ENOTTY`.
   */
  ioctl?(file: File<P>, cmd: IoctlCmd, arg: unknown, proc: Process): unknown | Promise<unknown>;
  /** The uAPI macro name of `cmd` for backtraces and messages (`SYNC_IOC_MERGE`), if the file type has it. */
  ioctlName?(file: File<P>, cmd: IoctlCmd): string | undefined;
  /**
   * `mmap`: check the request and set `vma.vmOps` (the mapping's `vm_operations_struct`), or
   * throw. May sleep. Absent: `ENODEV`, as the VFS answers for a file that cannot be mapped.
   */
  mmap?(file: File<P>, vma: VmArea, proc: Process): void | Promise<void>;
  /** `poll`: the `EPOLL*` mask ready now. Absent: always readable and writable. */
  poll?(file: File<P>): number;
  /** `release`: the last reference to the file is gone. */
  release?(file: File<P>): void;
}

/** `O_*` open flags drmsim uses. */
export const O_RDONLY = 0x0;
/** `O_WRONLY`. */
export const O_WRONLY = 0x1;
/** `O_RDWR`. */
export const O_RDWR = 0x2;
/** `O_ACCMODE`: the access-mode bits of the open flags. */
export const O_ACCMODE = 0x3;
/** `O_CLOEXEC` (`DRM_CLOEXEC`). */
export const O_CLOEXEC = 0o2000000;

/** Per-simulator inode counter: a module-level one made traces depend on earlier runs in the process. */
const INODES = {};

/** `struct file`. `priv` is `file->private_data`. */
export class File<P = unknown> extends RefCounted {
  /** Sleepers in `poll()` on this file. @internal */
  readonly pollWaiters = new Set<Sleeper>();
  /** A stable id for reports (`inode` number), counted per simulator so a run's trace depends only on its seed. */
  readonly ino: number;

  constructor(
    readonly sim: Simulator,
    readonly fops: FileOperations<P>,
    /** `file->private_data`. */
    readonly priv: P,
    /** `file->f_flags`. */
    readonly flags = O_RDWR,
    /** A name for reports: `sync_file:gpu-fence`, `/dev/dri/renderD128`. */
    readonly name: string = fops.kind,
  ) {
    super(sim);
    const inodes = sim.subsystem(INODES, () => ({ next: 1 }));
    this.ino = inodes.next++;
  }

  describe(): string {
    return `file ${this.name} (${this.fops.kind}, ino ${this.ino})`;
  }

  /** Readiness now (`vfs_poll`). */
  pollMask(): number {
    return this.fops.poll?.(this) ?? 0x005;
  }

  /** `wake_up` of the file's poll wait queue: call when readiness may have changed. */
  notifyPoll(): void {
    if (this.pollWaiters.size === 0) return;
    const ws = [...this.pollWaiters];
    this.pollWaiters.clear();
    for (const w of ws) w.wake("woken");
  }

  protected release(): void {
    this.fops.release?.(this);
  }

  /** `fget`-style type check: the file's private data if it is of `kind`, else `EINVAL`. */
  privOf<T>(kind: string, what = kind): T {
    if (this.fops.kind !== kind)
      throw new KernelError("EINVAL", `the fd refers to a ${this.fops.kind}, not a ${what}`);
    return this.priv as unknown as T;
  }
}
