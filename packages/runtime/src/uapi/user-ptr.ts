/**
 * User memory as a kernel handler sees it: `void __user *` pointers that can only be read with
 * `copy_from_user` and written with `copy_to_user`, either of which may fault (`EFAULT`), and
 * both of which may sleep on a page fault (the validator sees `mmap_lock`, so a copy inside a
 * fence-signalling section is reported, as `might_fault()` makes lockdep report it).
 *
 * For a simulated process, user memory is whatever JavaScript array or typed array the caller put
 * in the argument object; for a real program behind the preload bridge it is the program's address
 * space, reached through a `UserMemory`. Handlers cannot tell the difference.
 */

import type { UapiElem } from "./layout.js";

/**
 * A program's address space as the bridge exposes it: `read` and `write` copy bytes at a user
 * address and throw `EFAULT` (a `KernelError`) where nothing is mapped.
 */
export interface UserMemory {
  read(addr: bigint, length: number): Uint8Array;
  write(addr: bigint, data: Uint8Array): void;
}

/**
 * A user pointer to an array of `T` (`u64_to_user_ptr(args->handles)`).
 *
 * `read(n)` is `copy_from_user` of `n` elements (default: the member the header pairs with the
 * pointer, e.g. `count_handles`), starting at element `at`; `write(values, at)` is
 * `copy_to_user`. A NULL pointer or memory too short for the access is `EFAULT`; reading zero
 * elements never faults, as copying zero bytes does not. Elements are checked as they are copied
 * in, like the argument itself.
 */
export interface UserPtr<T> {
  /** The pointer is NULL. */
  readonly isNull: boolean;
  /** The user address, for messages and the bridge; 0n when NULL (a simulated process's arrays have none). */
  readonly addr: bigint;
  /** The element count member the header pairs with this pointer, when there is one. */
  readonly count: number | undefined;
  /** `copy_from_user`: `n` elements from element `at`. */
  read(n?: number, at?: number): T[];
  /** `copy_to_user`: `values` from element `at`. */
  write(values: readonly T[], at?: number): void;
  /**
   * `copy_from_user` of `length` raw bytes from the start (a byte buffer the kernel parses
   * itself: a command stream, an array of ops at a stride). User memory given as an array of
   * elements is laid out as its C bytes first.
   */
  readBytes(length: number): Uint8Array;
  /**
   * `access_ok`: `EFAULT` unless `n` elements from element `at` could be copied — checked before a
   * handler's first `copy_to_user`, so a fault on a later pointer leaves the earlier ones untouched.
   */
  accessOk(n: number, at?: number): void;
  /**
   * The same memory seen as elements of another type — what a kernel does when it casts a
   * `u64_to_user_ptr()` by some other member (amdgpu's `chunk_data`, read as the chunk kind's
   * struct). Its `count` is undefined.
   */
  as<U>(elem: UapiElem): UserPtr<U>;
}
