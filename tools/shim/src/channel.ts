/**
 * One program thread as the server sees it: its socket (requests), the down pipe it reads and
 * the up pipe it answers on. While a handler runs, `memRead`/`memWrite`/`newFd` are synchronous
 * round trips on the pipes — the simulation stands still until the thread answers, as a kernel
 * handler stands still in `copy_from_user` — so the handler's `UserMemory` is synchronous.
 */
import * as fs from "node:fs";
import type * as net from "node:net";
import { KernelError } from "@drmsim/runtime";
import { Down, frame, HDR } from "./protocol.js";

/** What a thread is doing, for the virtual-time rule. */
export type ThreadState =
  | { readonly kind: "running" }
  | { readonly kind: "call"; readonly what: string }
  /** In a real blocking call the server cannot see (pthread_join, waitpid). */
  | { readonly kind: "external"; readonly block: number; readonly target: number };

/** A thread of a program attached to the server. */
export class ClientThread {
  state: ThreadState = { kind: "running" };
  /** Cancels the call in progress when a signal interrupts it (set by the request handler). */
  interrupt: (() => void) | undefined;
  /** Set once the thread or its process is gone: replies go nowhere. */
  gone = false;
  /** A new object per request: what the fd table learned during one request is good for that request only. */
  request: object = {};

  constructor(
    readonly pid: number,
    readonly tid: number,
    readonly socket: net.Socket,
    private readonly downFd: number,
    private readonly upFd: number,
  ) {}

  toString(): string {
    return `${this.pid}/${this.tid}`;
  }

  private send(type: number, payload?: Uint8Array): void {
    const b = frame(type, payload);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.downFd, b, off, b.length - off);
  }

  private readExact(n: number): Buffer {
    const b = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const got = fs.readSync(this.upFd, b, off, n - off, null);
      if (got === 0) throw new KernelError("EFAULT", `thread ${this} went away during a user copy`);
      off += got;
    }
    return b;
  }

  private answer(): Buffer {
    const h = this.readExact(HDR);
    return this.readExact(h.readUInt32LE(0));
  }

  /** `copy_from_user` in the program: `EFAULT` where nothing is mapped. */
  memRead(addr: bigint, length: number): Uint8Array {
    if (this.gone) throw new KernelError("EFAULT", `thread ${this} is gone`);
    const p = Buffer.alloc(12);
    p.writeBigUInt64LE(addr, 0);
    p.writeUInt32LE(length, 8);
    this.send(Down.MEM_READ, p);
    const a = this.answer();
    if (a.readInt32LE(0) !== 0)
      throw new KernelError("EFAULT", `copy_from_user of ${length} bytes at 0x${addr.toString(16)} faulted`);
    return new Uint8Array(a.subarray(4, 4 + length));
  }

  /** `copy_to_user` in the program. */
  memWrite(addr: bigint, data: Uint8Array): void {
    if (this.gone) throw new KernelError("EFAULT", `thread ${this} is gone`);
    const p = Buffer.alloc(12 + data.length);
    p.writeBigUInt64LE(addr, 0);
    p.writeUInt32LE(data.length, 8);
    p.set(data, 12);
    this.send(Down.MEM_WRITE, p);
    if (this.answer().readInt32LE(0) !== 0)
      throw new KernelError(
        "EFAULT",
        `copy_to_user of ${data.length} bytes at 0x${addr.toString(16)} faulted`,
      );
  }

  /** A new backing pipe in the program (for `fd_install`): its read and write ends' numbers. */
  newFd(cloexec: boolean): { rfd: number; wfd: number } {
    if (this.gone) throw new KernelError("EBADF", `thread ${this} is gone`);
    const p = Buffer.alloc(4);
    p.writeUInt32LE(cloexec ? 1 : 0, 0);
    this.send(Down.NEWFD, p);
    const a = this.answer();
    const rfd = a.readInt32LE(0);
    if (rfd < 0) throw new KernelError(rfd === -24 ? "EMFILE" : "ENFILE", `no fd for the new file (${rfd})`);
    return { rfd, wfd: a.readInt32LE(4) };
  }

  /**
   * What `fd` is in the program now: the backing pipe's inode of a simulated file, `0n` for an open
   * fd that is not one, `-9n` (`EBADF`) for a number that is not open.
   */
  fdIno(fd: number): bigint {
    if (this.gone) return -9n;
    const p = Buffer.alloc(4);
    p.writeInt32LE(fd, 0);
    this.send(Down.FDINO, p);
    return this.answer().readBigInt64LE(0);
  }

  /** Moves the write end `wfd` onto `rfd` (the server holds its read end now). No answer. */
  moveFd(rfd: number, wfd: number, cloexec: boolean): void {
    const p = Buffer.alloc(12);
    p.writeInt32LE(rfd, 0);
    p.writeInt32LE(wfd, 4);
    p.writeInt32LE(cloexec ? 1 : 0, 8);
    this.send(Down.CLOSEFD, p);
  }

  /** The reply to the thread's request: the value (negative errno) and a payload. */
  reply(ret: number | bigint, data?: Uint8Array): void {
    this.state = { kind: "running" };
    this.interrupt = undefined;
    this.request = {};
    if (this.gone) return;
    const p = Buffer.alloc(8 + (data?.length ?? 0));
    p.writeBigInt64LE(BigInt(ret), 0);
    if (data !== undefined) p.set(data, 8);
    try {
      this.send(Down.REPLY, p);
    } catch {
      this.gone = true;
    }
  }

  /** Closes the server's ends. */
  close(): void {
    this.gone = true;
    for (const fd of [this.downFd, this.upFd])
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    this.socket.destroy();
  }
}
