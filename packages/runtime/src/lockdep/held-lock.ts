/** An entry of a context's held-lock stack (`struct held_lock` in kernel/locking/lockdep.c). */
import type { Frame } from "../context.js";
import type { LockClass } from "./lock-class.js";

/**
 * - `write`: exclusive (mutex, spinlock, write side of an rwsem).
 * - `read`: shared, not recursive (`down_read`, `dma_fence_begin_signalling`'s read trylock).
 * - `recursive-read`: shared and recursive (`rcu_read_lock`, `lock_map_acquire_read`).
 */
export type LockMode = "write" | "read" | "recursive-read";

export interface HeldLock {
  readonly cls: LockClass;
  /** The lock object (a `Mutex`, a `DmaResv`…), or the class itself for fake maps. */
  readonly instance: object;
  readonly mode: LockMode;
  readonly trylock: boolean;
  /** What took it: `mutex_lock(&vm->lock)` style. */
  readonly op: string;
  /** The backtrace when it was taken. */
  readonly frame: Frame | null;
  readonly timeNs: number;
  /** Nesting allowed under this lock for the same class (ww_mutex acquire contexts). */
  readonly nestKey: object | null;
}
