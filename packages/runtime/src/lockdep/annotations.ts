/**
 * The kernel's lockdep annotations, as free functions named after them. Drivers call these
 * where the kernel code they model would.
 */
import type { Gfp } from "../memory.js";
import type { Simulator } from "../simulator.js";

/**
 * `dma_fence_begin_signalling()`: opens a fence-signalling critical section in the current
 * context. Everything until the matching `dmaFenceEndSignalling` is on the path that signals a
 * fence: no reclaim, no fence waits, no dma_resv locks. Returns the cookie for the end call.
 */
export function dmaFenceBeginSignalling(sim: Simulator): boolean {
  return sim.validator.beginSignalling();
}

/** `dma_fence_end_signalling(cookie)`. */
export function dmaFenceEndSignalling(sim: Simulator, cookie: boolean): void {
  sim.validator.endSignalling(cookie);
}

/** Runs `fn` inside a fence-signalling critical section (`DEFINE_GUARD(dma_fence_signalling, …)`). */
export function withDmaFenceSignalling<T>(sim: Simulator, fn: () => T): T {
  const cookie = sim.validator.beginSignalling();
  try {
    return fn();
  } finally {
    sim.validator.endSignalling(cookie);
  }
}

/** `__dma_fence_might_wait()`: what every fence wait tells the validator. */
export function dmaFenceMightWait(sim: Simulator, op = "dma_fence_wait"): void {
  sim.validator.mightSleep(op);
  sim.validator.mightWaitFence(op);
}

/** `might_fault()`: a user-memory access (`copy_from_user`) may fault and take `mmap_lock` (read). */
export function mightFault(sim: Simulator, op = "copy_from_user"): void {
  const v = sim.validator;
  v.mightSleep(op);
  v.acquireRelease(v.mmapLock, op, "read");
}

/**
 * `fs_reclaim_acquire(gfp)`: enter reclaim context (shrinkers, kswapd-like workers). Follows the
 * kernel's mask rules: see `MemoryManager.fsReclaimAcquire`.
 */
export function fsReclaimAcquire(sim: Simulator, gfp: Gfp): void {
  sim.mm.fsReclaimAcquire(gfp);
}

/** `fs_reclaim_release(gfp)`. */
export function fsReclaimRelease(sim: Simulator, gfp: Gfp): void {
  sim.mm.fsReclaimRelease(gfp);
}

/**
 * Runs `fn` as an mmu-notifier invalidation callback (`mmu_notifier_invalidate_range_start`):
 * inside the notifier map, where drivers wait on their fences before the pages go away.
 */
export function mmuNotifierInvalidate<T>(sim: Simulator, fn: () => T): T {
  const v = sim.validator;
  v.acquire(v.mmuNotifier, v.mmuNotifier, "mmu_notifier_invalidate_range_start");
  try {
    return fn();
  } finally {
    v.release(v.mmuNotifier, v.mmuNotifier, "mmu_notifier_invalidate_range_end");
  }
}
