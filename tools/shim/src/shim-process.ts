/**
 * A real program's process as the simulation sees it: a runtime `Process` whose fd table is the
 * real kernel's. fds are bound to simulated files per request (by the backing the library names),
 * and a kernel `fd_install` (PRIME export, sync_file export, sw_sync fences) asks the calling
 * thread for a new backing pipe, so the fd the ioctl reports is a real fd of the program.
 */
import { FdTable, type File, KernelError, Process, type Simulator } from "@drmsim/runtime";
import type { BackingRegistry } from "./backing.js";
import type { ClientThread } from "./channel.js";

/** The fd table of a shim process: bindings refreshed from each request, no references held. */
export class ShimFdTable extends FdTable {
  private readonly bound = new Map<number, File>();

  /** `fd` refers to `file` in the program now (the library said so with this request). */
  bind(fd: number, file: File): void {
    this.bound.set(fd, file);
  }

  override get size(): number {
    return this.bound.size;
  }

  override install(): number {
    throw new Error("ShimFdTable.install: the program's fds are real; use ShimProcess.installFile");
  }

  override get(fd: number): File {
    const f = this.bound.get(fd);
    if (f === undefined) throw new KernelError("EBADF", `fd ${fd} is not a simulated file of this process`);
    return f;
  }

  override lookup(fd: number): File | undefined {
    return this.bound.get(fd);
  }

  override close(fd: number): void {
    this.bound.delete(fd);
  }

  override dup(): number {
    throw new Error("ShimFdTable.dup: the program dups its own fds");
  }

  override list(): number[] {
    return [...this.bound.keys()].sort((a, b) => a - b);
  }

  override closeAll(): void {
    this.bound.clear();
  }
}

/** The thread whose call is running in a simulated context (set by the server per request). */
export type ThreadOf = () => ClientThread | undefined;

/** A real process (`realPid`) in the simulation. */
export class ShimProcess extends Process {
  override readonly files: ShimFdTable = new ShimFdTable();

  constructor(
    sim: Simulator,
    name: string,
    readonly realPid: number,
    readonly parentPid: number,
    private readonly registry: BackingRegistry,
    private readonly threadOf: ThreadOf,
  ) {
    super(sim, name);
  }

  /**
   * `fd_install` in the real program: the calling thread makes a backing pipe, the server opens its
   * read end and registers `file` (taking over the caller's reference), and the write end takes
   * the lowest free number, which is returned. `EMFILE` when the program has no fd left.
   */
  override installFile(file: File, cloexec = false): number {
    const thread = this.threadOf();
    if (thread === undefined) throw new Error(`installFile in ${this}: no program thread is calling`);
    const { rfd, wfd } = thread.newFd(cloexec);
    this.registry.add(this.realPid, rfd, file);
    thread.moveFd(rfd, wfd, cloexec);
    this.files.bind(rfd, file);
    return rfd;
  }
}
