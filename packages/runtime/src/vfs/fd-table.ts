/** `struct files_struct`: a process's fd table (`fs/file.c`). */
import { KernelError } from "../errno.js";
import type { File } from "./file.js";

/** `RLIMIT_NOFILE` of simulated processes. */
export const NR_OPEN_DEFAULT = 1024;

/** The lowest fd handed out: 0–2 are the simulated process's stdio. */
const FIRST_FD = 3;

/**
 * `struct files_struct` / `struct fdtable` (`fs/file.c`): a process's descriptor table, handing
 * out the lowest free fd (`alloc_fd`).
 */
export class FdTable {
  private readonly fds = new Map<number, { file: File; cloexec: boolean }>();

  /** Number of open fds. */
  get size(): number {
    return this.fds.size;
  }

  /** `fd_install(get_unused_fd_flags())`: the lowest free fd now refers to `file` (taking over one reference). `EMFILE` when full. */
  install(file: File, cloexec = false): number {
    if (this.fds.size >= NR_OPEN_DEFAULT - FIRST_FD)
      throw new KernelError("EMFILE", `too many open files (${NR_OPEN_DEFAULT})`);
    let fd = FIRST_FD;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, { file, cloexec });
    return fd;
  }

  /** `fget`: the file behind `fd` (no new reference), or `EBADF`. */
  get(fd: number): File {
    const e = this.fds.get(fd);
    if (e === undefined) throw new KernelError("EBADF", `fd ${fd} is not open in this process`);
    return e.file;
  }

  /** The file behind `fd`, or undefined. */
  lookup(fd: number): File | undefined {
    return this.fds.get(fd)?.file;
  }

  /** `close(fd)`: drops the table's reference. `EBADF` for a closed fd. */
  close(fd: number): void {
    const e = this.fds.get(fd);
    if (e === undefined) throw new KernelError("EBADF", `close: fd ${fd} is not open`);
    this.fds.delete(fd);
    e.file.put();
  }

  /** `dup(fd)`: a second fd for the same file. */
  dup(fd: number): number {
    const file = this.get(fd);
    file.get();
    try {
      return this.install(file);
    } catch (e) {
      file.put();
      throw e;
    }
  }

  /** Open fds, ascending. */
  list(): number[] {
    return [...this.fds.keys()].sort((a, b) => a - b);
  }

  /** Closes everything (process exit). */
  closeAll(): void {
    for (const fd of this.list()) this.close(fd);
  }
}
