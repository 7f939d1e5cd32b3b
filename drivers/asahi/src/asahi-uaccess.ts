/**
 * Byte copies from user memory as the driver makes them (`UserSlice::read_all`): one kernel
 * buffer of the whole length, filled by `copy_from_user`.
 */
import { KernelError, type UserPtr } from "@drmsim/runtime";

/** `INT_MAX`: the largest buffer `kvmalloc` hands out (a bigger request fails without trying). */
const KVMALLOC_MAX = 0x7fff_ffff;

/**
 * `length` bytes at `ptr`: `ENOMEM` for more than `INT_MAX` (the kernel buffer cannot be
 * allocated, checked before user memory is touched), `EFAULT` where user memory ends first.
 */
export function asahiCopyFromUser(ptr: UserPtr<number>, length: number, what: string): Uint8Array {
  if (length > KVMALLOC_MAX)
    throw new KernelError("ENOMEM", `${what}: a ${length}-byte kernel copy is more than kvmalloc hands out`);
  return ptr.readBytes(length);
}
