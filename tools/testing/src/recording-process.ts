/**
 * A userspace process that keeps a log of its ioctls, as `strace -e ioctl` would: for each call
 * the fd, the request, its name, a copy of the argument as passed, and a copy of it after a
 * successful return (what the kernel filled in). The conformance suite lets a driver's own
 * userspace library make the valid call, then replays that exact argument corrupted. There is no
 * kernel counterpart.
 */
import { type IoctlCmd, Process } from "@drmsim/runtime";

/** One ioctl `RecordingProcess` saw. */
export interface RecordedIoctl {
  readonly fd: number;
  readonly cmd: number;
  /** The name the file type gives the request (`ASAHI_VM_CREATE`), or its number in hex. */
  readonly name: string;
  /** A deep copy of the argument as passed, before the kernel wrote anything into it. */
  readonly arg: unknown;
  /** A deep copy of the argument after the call returned successfully; undefined if it failed. */
  after?: unknown;
  /** What the call threw, if it failed. */
  error?: unknown;
}

/** A deep copy of an ioctl argument (plain objects, arrays, bigints, byte arrays). */
export function copyIoctlArg<T>(arg: T): T {
  return structuredClone(arg);
}

/** A `Process` whose ioctls are recorded in `calls` (see the module comment). */
export class RecordingProcess extends Process {
  /** Every ioctl since the last `calls.length = 0`, in call order. */
  readonly calls: RecordedIoctl[] = [];

  override async ioctl<R = Record<string, unknown>>(
    fd: number,
    cmd: IoctlCmd,
    arg: object | number | bigint | string | null = {},
  ): Promise<R> {
    const rec: RecordedIoctl = { fd, cmd, name: this.ioctlName(fd, cmd), arg: copyIoctlArg(arg) };
    this.calls.push(rec);
    try {
      const r = await super.ioctl<R>(fd, cmd, arg);
      rec.after = copyIoctlArg(arg);
      return r;
    } catch (e) {
      rec.error = e;
      throw e;
    }
  }
}
