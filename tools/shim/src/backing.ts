/**
 * Simulated files backed by real pipes. The program holds the write end (that is the fd it sees,
 * dup'd, inherited and passed over sockets by the real kernel); the server holds a read end it
 * opened through `/proc/<pid>/fd/<n>`. When the last write end closes anywhere, the read end
 * sees end-of-file — the kernel's own "last reference to the file" — and the simulated file is
 * released (`fput`). Files are found by the pipe's inode, never by fd number.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import type { File } from "@drmsim/runtime";

/** A simulated file and its backing. */
export interface Backing {
  readonly ino: bigint;
  readonly file: File;
  /** Index into the node table when the file is an open device node. */
  readonly node: number | undefined;
}

/** Every live backing, by pipe inode. */
export class BackingRegistry {
  private readonly byIno = new Map<bigint, Backing & { sock: net.Socket }>();

  constructor(private readonly release: (file: File) => void) {}

  /**
   * Opens the read end `rfd` of process `pid` and registers `file` under its inode; the registry
   * takes over one reference to `file`. Returns the inode.
   */
  add(pid: number, rfd: number, file: File, node?: number): bigint {
    const fd = fs.openSync(`/proc/${pid}/fd/${rfd}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const ino = fs.fstatSync(fd, { bigint: true }).ino;
    const sock = new net.Socket({ fd, readable: true, writable: false });
    const entry = { ino, file, node, sock };
    this.byIno.set(ino, entry);
    const done = () => {
      if (this.byIno.get(ino) !== entry) return;
      this.byIno.delete(ino);
      this.release(file);
    };
    sock.on("data", () => {}); // nothing is written; a program's stray write() lands here
    sock.on("end", done);
    sock.on("close", done);
    sock.on("error", done);
    sock.unref();
    return ino;
  }

  get(ino: bigint): Backing | undefined {
    return this.byIno.get(ino);
  }

  get size(): number {
    return this.byIno.size;
  }

  /** Drops every backing (server shutdown). */
  closeAll(): void {
    for (const e of [...this.byIno.values()]) e.sock.destroy();
  }
}
