/**
 * A program's address space for one forwarded call (`UserMemory`): reads and writes go to the
 * calling thread, except the argument block, which came with the request and goes back with the
 * reply (so most ioctls cost one round trip).
 */
import type { UserMemory } from "@drmsim/runtime";
import type { ClientThread } from "./channel.js";

/** The calling thread's memory, with the argument block at `argAddr` cached. */
export class ShimUserMemory implements UserMemory {
  private block: Uint8Array | undefined;
  private dirty = false;

  constructor(
    private readonly thread: ClientThread,
    private readonly argAddr: bigint,
    private readonly argSize: number,
    prefetched: Uint8Array | undefined,
  ) {
    this.block =
      prefetched !== undefined && prefetched.length === argSize ? new Uint8Array(prefetched) : undefined;
  }

  private inBlock(addr: bigint, length: number): number | undefined {
    const off = addr - this.argAddr;
    return off >= 0n && off + BigInt(length) <= BigInt(this.argSize) ? Number(off) : undefined;
  }

  read(addr: bigint, length: number): Uint8Array {
    const off = this.block !== undefined ? this.inBlock(addr, length) : undefined;
    if (off !== undefined) return this.block!.slice(off, off + length);
    return this.thread.memRead(addr, length);
  }

  write(addr: bigint, data: Uint8Array): void {
    const off = this.inBlock(addr, data.length);
    // The whole block, or a part of a block we hold: deferred to the reply.
    if (off !== undefined && (this.block !== undefined || (off === 0 && data.length === this.argSize))) {
      if (this.block === undefined) this.block = new Uint8Array(this.argSize);
      this.block.set(data, off);
      this.dirty = true;
      return;
    }
    this.thread.memWrite(addr, data);
  }

  /** The argument block to write back with the reply, if the call changed it. */
  writeback(): Uint8Array | undefined {
    return this.dirty ? this.block : undefined;
  }
}
