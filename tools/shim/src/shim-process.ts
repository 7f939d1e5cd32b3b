/**
 * A real program's process as the simulation sees it: a runtime `Process` whose fd table is the
 * real kernel's. fds are bound to simulated files per request (by the backing the library names),
 * and a kernel `fd_install` (PRIME export, sync_file export, sw_sync fences) asks the calling
 * thread for a new backing pipe, so the fd the ioctl reports is a real fd of the program.
 */
import { FdTable, File, KernelError, O_RDWR, Process, type Simulator } from "@drmsim/runtime";
import type { BackingRegistry } from "./backing.js";
import type { ClientThread } from "./channel.js";

/**
 * How a shim fd table finds what a number is in the real program: `stamp` identifies the request
 * being served (what was learned during it stays good until it ends), `resolve` asks the calling
 * thread — a `File` for a simulated file, `null` for an open fd that is none, `undefined` for a
 * number that is not open.
 */
export interface ShimFdResolver {
  stamp(): object | undefined;
  resolve(fd: number): File | null | undefined;
  /** The stand-in for an open fd that is not simulated: a file of no simulated kind. */
  hostFile(): File;
}

/**
 * The fd table of a shim process. Its numbers are the real program's: an fd is what the program's
 * own table says at the moment of the lookup (`fdget`), asked of the calling thread once per
 * request — so an fd received over a socket, inherited, or closed and reused since is the file it
 * is now. Without a calling thread (release paths) the last binding answers. No references held.
 */
export class ShimFdTable extends FdTable {
  private readonly bound = new Map<number, { file: File; stamp: object | undefined }>();
  private resolver: ShimFdResolver | undefined;

  /** Connects the table to its process's threads. */
  attach(resolver: ShimFdResolver): void {
    this.resolver = resolver;
  }

  /** `fd` refers to `file` in the program now (the library said so with this request). */
  bind(fd: number, file: File): void {
    this.bound.set(fd, { file, stamp: this.resolver?.stamp() });
  }

  private resolve(fd: number): File | null | undefined {
    const entry = this.bound.get(fd);
    const stamp = this.resolver?.stamp();
    if (this.resolver === undefined || stamp === undefined) return entry?.file;
    if (entry !== undefined && entry.stamp === stamp) return entry.file;
    const found = this.resolver.resolve(fd);
    if (found) this.bound.set(fd, { file: found, stamp });
    else this.bound.delete(fd);
    return found;
  }

  override get size(): number {
    return this.bound.size;
  }

  override install(): number {
    throw new Error("ShimFdTable.install: the program's fds are real; use ShimProcess.installFile");
  }

  override get(fd: number): File {
    const f = this.resolve(fd);
    if (f === undefined) throw new KernelError("EBADF", `fd ${fd} is not open in the program`);
    // An open fd of a kind drmsim does not simulate: the handler's kind check refuses it (EINVAL).
    return f ?? this.resolver!.hostFile();
  }

  override lookup(fd: number): File | undefined {
    return this.resolve(fd) ?? undefined;
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
    let host: File | undefined;
    this.files.attach({
      stamp: () => this.threadOf()?.request,
      resolve: (fd) => {
        const ino = this.threadOf()!.fdIno(fd);
        if (ino < 0n) return undefined;
        return (ino === 0n ? undefined : this.registry.get(ino)?.file) ?? null;
      },
      hostFile: () => {
        host ??= new File(sim, { kind: "host" }, undefined, O_RDWR, "a file outside the simulation");
        return host;
      },
    });
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
