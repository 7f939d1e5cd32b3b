/**
 * A simulated userspace process: a name, a pid, an fd table, an address space, and the tasks
 * (threads) it runs.
 * Interop tests act through it the way userspace does — open device nodes, call ioctls with
 * argument objects, poll, pass fds to other processes (`SCM_RIGHTS`), exit.
 *
 * Every system call here behaves like the kernel's entry path: the fd must be in *this*
 * process's table (`EBADF` otherwise), the argument is copied in (`copy_from_user`, a simulated
 * fault the validator sees) and back as the file type does it: most copy back only on success,
 * `drm_ioctl` copies back whatever the handler returned.
 */

import { type ExecutionContext, frameList } from "../context.js";
import { KernelError } from "../errno.js";
import { isThenable } from "../internal/thenable.js";
import type { Simulator } from "../simulator.js";
import type { Task } from "../task.js";
import { lookupCharDevice } from "./devices.js";
import { FdTable } from "./fd-table.js";
import { type File, type IoctlCmd, O_ACCMODE, O_CLOEXEC, O_RDONLY, O_RDWR, O_WRONLY } from "./file.js";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  type VmArea,
  type VmMapping,
} from "./mm.js";
import { EPOLLNVAL, type PollFd } from "./poll.js";
import {
  killedBy,
  type SigAction,
  type SignalTarget,
  sigaction,
  kill as signalKill,
  signalThreadRegister,
  syscallEnter,
  syscallExit,
} from "./signal.js";

const PIDS = {};

const PAGE = 4096;

/**
 * A simulated userspace process (`struct task_struct` with its `mm` and `files`): makes system
 * calls — `ioctl`, `poll`, `mmap`/`munmap`, `close`, SCM_RIGHTS fd passing — reads and writes its
 * memory, and exits (`do_exit`).
 */
export class Process {
  /** Process id, per simulator from 1000. */
  readonly pid: number;
  /** `current->files`. */
  readonly files = new FdTable();
  /** `current->mm`: the address space (`mmap`, `readMemory`, `writeMemory`). */
  readonly mm = new MmStruct();
  /** True after `exit()`. */
  exited = false;

  constructor(
    readonly sim: Simulator,
    /** `comm`. */
    readonly name: string,
  ) {
    const pids = sim.subsystem(PIDS, () => ({ next: 1000 }));
    this.pid = pids.next++;
  }

  /** Starts a thread of this process running `fn` (a simulated task in process context). */
  run<T>(fn: (proc: this) => Promise<T> | T, threadName = this.name): Task<T> {
    this.checkAlive("run");
    const task = this.sim.spawn(threadName, () => fn(this));
    task.context.process = this;
    signalThreadRegister(this, task.context);
    return task;
  }

  /** `sigaction(sig, act)`: installs the process's action for `sig`; returns the old one. See `signal.ts`. */
  sigaction(sig: number, act: SigAction): SigAction {
    return sigaction(this, sig, act);
  }

  /**
   * `kill(pid, sig)` — or `tgkill(pid, tid, sig)` with `thread` — from whoever calls it, at the
   * current virtual time. `ESRCH` once the process has exited. See `signal.ts` for what the
   * signalled thread's system call then does.
   */
  kill(sig: number, opts?: { thread?: SignalTarget }): void {
    signalKill(this, sig, opts?.thread);
  }

  /** The fatal signal that ended this process (`WTERMSIG`), or 0. */
  get killedBy(): number {
    return killedBy(this);
  }

  /** `open(path, flags)`: opens a device node and returns the new fd. `ENOENT` for an unknown path. */
  async open(path: string, flags = O_RDWR): Promise<number> {
    this.checkAlive("open");
    const opener = lookupCharDevice(this.sim, path);
    const file = await opener(this, flags);
    try {
      return this.files.install(file, (flags & O_CLOEXEC) !== 0);
    } catch (e) {
      file.put();
      throw e;
    }
  }

  /** Installs a file the kernel created for this process (`fd_install`); returns the fd. Takes over the caller's reference. */
  installFile(file: File, cloexec = false): number {
    this.checkAlive("fd_install");
    return this.files.install(file, cloexec);
  }

  /** `fget(fd)`: the file behind `fd` in this process, or `EBADF`. */
  file(fd: number): File {
    return this.files.get(fd);
  }

  /** `close(fd)`. */
  close(fd: number): void {
    this.checkAlive("close");
    this.files.close(fd);
  }

  /** `dup(fd)`. */
  dup(fd: number): number {
    this.checkAlive("dup");
    return this.files.dup(fd);
  }

  /** Sends `fd` to another process over a unix socket (`SCM_RIGHTS`): returns its fd there. */
  sendFd(to: Process, fd: number): number {
    this.checkAlive("sendmsg");
    to.checkAlive("recvmsg");
    const file = this.files.get(fd);
    file.get();
    try {
      return to.files.install(file);
    } catch (e) {
      file.put();
      throw e;
    }
  }

  /**
   * `ioctl(fd, cmd, arg)`: `arg` is the caller's user memory — the file type copies it in and out
   * by the command's declared layout, so output members land in `arg` itself (on success; for DRM
   * files on failure too, as `drm_ioctl` copies back regardless) and output arrays in the arrays
   * `arg` points to. A `UapiUserArg` passes the argument as bytes in an address space, as C does. Returns `arg`. `ENOTTY` when the
   * file has no ioctls. On the way back to userspace pending signals are delivered: a call
   * interrupted with `ERESTARTSYS` is restarted (handler with `SA_RESTART`, or none) or fails with
   * `EINTR`; a killed process's call fails with `ESRCH` and never returns to it (`signal.ts`).
   */
  async ioctl<R = Record<string, unknown>>(
    fd: number,
    cmd: IoctlCmd,
    arg: object | number | bigint | string | null = {},
  ): Promise<R> {
    for (;;) {
      this.checkAlive("ioctl");
      const ctx = this.sim.current;
      const name = this.ioctlName(fd, cmd);
      syscallEnter(this, ctx, name);
      let failed: unknown;
      let out: R | undefined;
      try {
        // A handler that did not sleep has finished by the time `ioctlOnce` returns: nothing to
        // await, so the call costs its caller one promise (this function's) instead of one per layer.
        const r = this.ioctlOnce<R>(ctx, fd, cmd, arg, name);
        out = r instanceof Promise ? await r : r;
      } catch (e) {
        failed = e ?? new Error("ioctl threw a nullish value");
      }
      if (syscallExit(this, ctx, failed, name)) continue;
      if (failed !== undefined) throw failed;
      return out!;
    }
  }

  /**
   * One attempt of `ioctl`: the fd lookup, the copy in, the handler, the copy back. Returns `arg`
   * when the handler returned without sleeping, else a promise of it.
   */
  private ioctlOnce<R>(
    ctx: ExecutionContext,
    fd: number,
    cmd: IoctlCmd,
    arg: object | number | bigint | string | null,
    name: string,
  ): R | Promise<R> {
    const file = this.files.get(fd);
    const ioctl = file.fops.ioctl;
    if (ioctl === undefined)
      throw new KernelError("ENOTTY", `${file.name} has no ioctls (${name})`, { syscall: name });
    file.get();
    ctx.pushFrame(`ioctl(${name})`);
    let r: unknown;
    try {
      r = ioctl.call(file.fops, file, cmd, arg, this);
    } catch (e) {
      this.ioctlDone(ctx, file, name);
      throw ioctlError(e, name);
    }
    if (isThenable(r)) return this.ioctlSlept<R>(r, ctx, file, arg, name);
    this.ioctlDone(ctx, file, name);
    return arg as R;
  }

  /** The rest of `ioctlOnce` for a handler that sleeps. */
  private async ioctlSlept<R>(
    r: PromiseLike<unknown>,
    ctx: ExecutionContext,
    file: File,
    arg: object | number | bigint | string | null,
    name: string,
  ): Promise<R> {
    try {
      await r;
      return arg as R;
    } catch (e) {
      throw ioctlError(e, name);
    } finally {
      this.ioctlDone(ctx, file, name);
    }
  }

  /** What every ioctl does on its way out, returned or failed: the backtrace frame, the locks-held check, the file reference. */
  private ioctlDone(ctx: ExecutionContext, file: File, name: string): void {
    ctx.popFrame();
    if (ctx.held.length > 0) this.sim.validator.checkExit(ctx, `ioctl ${name}`);
    file.put();
  }

  /** How backtraces and errors name `cmd` on `fd`: the file type's name for it, else its number. */
  ioctlName(fd: number, cmd: IoctlCmd): string {
    const file = this.files.lookup(fd);
    return file?.fops.ioctlName?.(file, cmd) ?? `0x${(cmd >>> 0).toString(16)}`;
  }

  /**
   * `mmap(NULL, length, prot, flags, fd, offset)`: maps `length` bytes (rounded up to pages) of
   * the file behind `fd` from `offset` — a GEM object's fake offset on a DRM node, 0 for a dma-buf
   * — or, with `MAP_ANONYMOUS` (`fd` -1), fresh zeroed memory. Returns the mapping; the CPU reads
   * and writes through it. `EINVAL` for a zero length, an offset that is not page aligned, or not
   * exactly one of `MAP_SHARED`/`MAP_PRIVATE`; `EBADF` for a closed fd; `EACCES` when the file
   * was not opened for reading, or for writing and `PROT_WRITE | MAP_SHARED` is asked; `ENODEV`
   * for a file that cannot be mapped; otherwise what the file's `mmap` op says. Nothing is
   * mapped on failure.
   */
  async mmap(
    fd: number,
    offset: number | bigint,
    length: number,
    prot: number,
    flags: number = MAP_SHARED,
  ): Promise<VmMapping> {
    this.checkAlive("mmap");
    const ctx = this.sim.current;
    syscallEnter(this, ctx, "mmap");
    let failed: unknown;
    let out: VmMapping | undefined;
    try {
      out = await this.mmapOnce(fd, offset, length, prot, flags);
    } catch (e) {
      failed = e ?? new Error("mmap threw a nullish value");
    }
    // mmap sleeps only uninterruptibly here (a reservation lock), so it is never restarted.
    syscallExit(this, ctx, failed, "mmap");
    if (failed !== undefined) throw failed;
    return out!;
  }

  private async mmapOnce(
    fd: number,
    offset: number | bigint,
    length: number,
    prot: number,
    flags: number,
  ): Promise<VmMapping> {
    const bad = (why: string): never => {
      throw new KernelError("EINVAL", `mmap: ${why}`, { syscall: "mmap" });
    };
    if (!Number.isSafeInteger(length) || length <= 0) bad(`length ${length} is not a positive integer`);
    if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) bad(`unknown prot bits 0x${prot.toString(16)}`);
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type !== MAP_SHARED && type !== MAP_PRIVATE)
      bad("flags must hold exactly one of MAP_SHARED and MAP_PRIVATE");
    if ((flags & ~(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS)) !== 0)
      bad(`unsupported flags 0x${flags.toString(16)}`);
    const off = typeof offset === "bigint" ? offset : BigInt(Number.isSafeInteger(offset) ? offset : -1);
    if (off < 0n || off % BigInt(PAGE) !== 0n) bad(`offset ${offset} is not a page-aligned file offset`);
    const len = Math.ceil(length / PAGE) * PAGE;
    const pgoff = Number(off / BigInt(PAGE));
    if ((flags & MAP_ANONYMOUS) !== 0) {
      const vma: VmArea = { length: len, pgoff: 0, prot, flags };
      return this.mm.insert(len, prot, flags, null, vma);
    }
    const file = this.files.get(fd);
    const mode = file.flags & O_ACCMODE;
    if (mode === O_WRONLY)
      throw new KernelError("EACCES", `mmap: ${file.name} is not open for reading`, { syscall: "mmap" });
    if (type === MAP_SHARED && (prot & PROT_WRITE) !== 0 && mode === O_RDONLY)
      throw new KernelError("EACCES", `mmap: a shared writable mapping of ${file.name}, opened read-only`, {
        syscall: "mmap",
      });
    const op = file.fops.mmap;
    if (op === undefined)
      throw new KernelError("ENODEV", `mmap: ${file.name} (${file.fops.kind}) cannot be mapped`, {
        syscall: "mmap",
      });
    const vma: VmArea = { length: len, pgoff, prot, flags };
    file.get();
    const ctx = this.sim.current;
    ctx.pushFrame("mmap");
    try {
      await op.call(file.fops, file, vma, this);
    } catch (e) {
      file.put();
      if (e instanceof KernelError && e.syscall === undefined)
        throw new KernelError(e.code, e.message.slice(e.code.length + 2), {
          syscall: "mmap",
          cause: e.cause,
        });
      throw e;
    } finally {
      ctx.popFrame();
    }
    // The mapping keeps the file reference taken above (vma->vm_file).
    return this.mm.insert(len, prot, flags, file, vma);
  }

  /** `munmap` of a whole mapping: its `close` runs and its file reference goes. `EINVAL` if not mapped here. */
  munmap(mapping: VmMapping): void {
    this.checkAlive("munmap");
    this.mm.remove(mapping);
  }

  /** A CPU load of `length` bytes at address `addr` of this process. `EFAULT` where nothing is mapped. */
  readMemory(addr: number, length: number): Uint8Array {
    return this.mm.read(addr, length);
  }

  /** A CPU store of `bytes` at address `addr` of this process. `EFAULT` where nothing is mapped. */
  writeMemory(addr: number, bytes: Uint8Array): void {
    this.mm.write(addr, bytes);
  }

  /**
   * `poll(fds, nfds, timeout)`: fills `revents` and returns how many fds are ready. Sleeps until
   * one is, or until `timeoutNs` (undefined: forever; 0: just look). `EINTR` on a signal.
   */
  async poll(fds: PollFd[], timeoutNs?: number): Promise<number> {
    this.checkAlive("poll");
    const ctx = this.sim.current;
    syscallEnter(this, ctx, "poll");
    let failed: unknown;
    let n = 0;
    try {
      n = await this.pollOnce(fds, timeoutNs);
    } catch (e) {
      failed = e;
    }
    // Handlers run on the way out; poll itself fails with EINTR (never restarts), so the answer
    // is only ever replaced by a kill.
    syscallExit(this, ctx, failed, "poll");
    if (failed !== undefined) throw failed;
    return n;
  }

  private async pollOnce(fds: PollFd[], timeoutNs?: number): Promise<number> {
    const sim = this.sim;
    const deadline = timeoutNs === undefined ? Number.POSITIVE_INFINITY : sim.now + timeoutNs;
    if (timeoutNs !== undefined && !(timeoutNs >= 0))
      throw new KernelError("EINVAL", `poll: negative timeout ${timeoutNs}`);
    for (;;) {
      let ready = 0;
      const files: File[] = [];
      for (const p of fds) {
        const file = this.files.lookup(p.fd);
        if (file === undefined) p.revents = EPOLLNVAL;
        else {
          files.push(file);
          p.revents = file.pollMask() & (p.events | 0x18); // POLLERR | POLLHUP always reported
        }
        if (p.revents !== 0) ready++;
      }
      if (ready > 0 || sim.now >= deadline) return ready;
      const ctx = sim.current;
      if (ctx.signalPending) {
        ctx.signalPending = false;
        throw new KernelError("EINTR", "poll was interrupted by a signal", { syscall: "poll" });
      }
      const sleeper = sim.sleep(
        { kind: "poll", what: files.map((f) => f.name).join(", ") || "nothing" },
        { op: "poll", deadlineNs: deadline, wakeOn: "interruptible" },
      );
      for (const f of files) f.pollWaiters.add(sleeper);
      const why = await sleeper.promise;
      for (const f of files) f.pollWaiters.delete(sleeper);
      if (why === "signal") {
        sim.current.signalPending = false;
        throw new KernelError("EINTR", "poll was interrupted by a signal", { syscall: "poll" });
      }
    }
  }

  /** `exit()`: unmaps everything, closes every fd; the process can make no more calls. */
  exit(): void {
    if (this.exited) return;
    // do_exit: exit_mm before exit_files.
    this.mm.exitMmap();
    this.files.closeAll();
    this.exited = true;
  }

  toString(): string {
    return `${this.name}[${this.pid}]`;
  }

  private checkAlive(op: string): void {
    if (this.exited) {
      const ctx = this.sim.current;
      throw new KernelError(
        "ESRCH",
        `${op} by ${this} after it exited (${ctx.label}: ${frameList(ctx.frame).join(" <- ")})`,
      );
    }
  }
}

/** A handler's `KernelError` names the syscall it failed in, as the error reaches userspace. */
function ioctlError(e: unknown, name: string): unknown {
  if (e instanceof KernelError && e.syscall === undefined)
    return new KernelError(e.code, e.message.slice(e.code.length + 2), { syscall: name, cause: e.cause });
  return e;
}
