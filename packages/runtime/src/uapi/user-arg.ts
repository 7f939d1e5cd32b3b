/**
 * The argument of an ioctl as a C program passes it: `unsigned long arg`, an address in the
 * caller's memory, from which the kernel copies `_IOC_SIZE(cmd)` bytes in and to which it copies
 * them back. A simulated process passes a JavaScript object instead (see `codec.ts`); a real
 * program behind the preload bridge, or a test that wants the byte-level rules, passes a
 * `UapiUserArg`, and the dispatcher then works on bytes as `drm_ioctl` does — zero-extending a
 * shorter struct, ignoring the tail of a longer one, copying back `out_size` bytes.
 */
import { KernelError } from "../errno.js";
import type { UserMemory } from "./user-ptr.js";

/** `(void __user *)arg`: an argument block at `addr` in `mem`. */
export class UapiUserArg {
  constructor(
    /** The user address of the argument block. */
    readonly addr: bigint,
    /** The caller's address space (`copy_from_user`/`copy_to_user` go through it). */
    readonly mem: UserMemory,
  ) {}
}

/**
 * A `UserMemory` of one region: `bytes` mapped at `base`, everything else unmapped (`EFAULT`).
 * For tests, tools and simulated callers that hand over a raw argument block.
 */
export class UapiRegionMemory implements UserMemory {
  constructor(
    /** The region's bytes, read and written in place. */
    readonly bytes: Uint8Array,
    /** Its user address. */
    readonly base = 0x10000n,
  ) {}

  read(addr: bigint, length: number): Uint8Array {
    const off = this.offset(addr, length);
    return this.bytes.slice(off, off + length);
  }

  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.offset(addr, data.length));
  }

  private offset(addr: bigint, length: number): number {
    const off = addr - this.base;
    if (off < 0n || off + BigInt(length) > BigInt(this.bytes.length))
      throw new KernelError(
        "EFAULT",
        `${length} byte(s) at 0x${addr.toString(16)} are outside the mapped argument block`,
      );
    return Number(off);
  }
}

/** The argument block `bytes` as a user argument (its own one-region address space). */
export function uapiUserArgOf(bytes: Uint8Array): UapiUserArg {
  const mem = new UapiRegionMemory(bytes);
  return new UapiUserArg(mem.base, mem);
}
