/**
 * The wire protocol between the preload library (`csrc/`) and the server: little-endian
 * messages of an 8-byte header (`u32 len` of the payload, `u16 type`, `u16 flags`) and a payload.
 *
 * A program thread sends requests on its unix socket (`Msg`); the server answers on the thread's
 * "down" pipe (`Down`) — replies, and, while a handler runs, its copy_from_user / copy_to_user and
 * new-fd requests, which the thread answers on its "up" pipe. Keep in step with `csrc/shim.h`.
 */

/** Client → server requests and notices (`MSG_*` in shim.h). */
export const Msg = {
  HELLO: 1,
  OPEN: 2,
  IOCTL: 3,
  POLL: 4,
  SLEEP: 5,
  INTERRUPT: 6,
  QUERY: 7,
  READ: 8,
  MMAP: 9,
  FORK_BEGIN: 11,
  FORK_END: 12,
  BLOCK_BEGIN: 13,
  BLOCK_END: 14,
  BYE: 15,
  /** `eventfd(2)`: a simulated eventfd, installed as a real fd (`DRM_IOCTL_SYNCOBJ_EVENTFD` takes it). */
  EVENTFD: 16,
} as const;

/** Server → client messages on the down pipe (`DOWN_*` in shim.h). */
export const Down = {
  REPLY: 100,
  MEM_READ: 101,
  MEM_WRITE: 102,
  NEWFD: 103,
  /** Move the new write end onto the read end's number (the server holds the read end now). */
  CLOSEFD: 104,
  /** Which backing an fd of the thread's process has now (`fdget` of an fd inside an argument). */
  FDINO: 105,
} as const;

/** Header size. */
export const HDR = 8;

/** One message. */
export interface Message {
  readonly type: number;
  readonly payload: Buffer;
}

/** A message as bytes. */
export function frame(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(HDR + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b.writeUInt16LE(type, 4);
  b.set(payload, HDR);
  return b;
}

/** Splits a byte stream (a socket's chunks) into messages. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds a chunk; returns the messages it completed. */
  push(chunk: Buffer): Message[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Message[] = [];
    while (this.buf.length >= HDR) {
      const len = this.buf.readUInt32LE(0);
      if (this.buf.length < HDR + len) break;
      out.push({ type: this.buf.readUInt16LE(4), payload: this.buf.subarray(HDR, HDR + len) });
      this.buf = this.buf.subarray(HDR + len);
    }
    return out;
  }
}
