/**
 * `struct drm_prime_file_private` (`drivers/gpu/drm/drm_prime.c`): the per-file PRIME cache.
 *
 * It maps each dma-buf this file has exported or imported to the file's handle for it, so that
 * importing the same dma-buf twice gives the same handle — userspace (Mesa) relies on this to
 * recognise a buffer it already knows. Each entry holds a reference to the dma-buf, dropped when
 * the handle is deleted. (drm_syncobj has no such cache: the same sync_file imports as a new
 * syncobj each time.)
 */
import { KernelError } from "@drmsim/runtime";

/** A reference-counted dma-buf as the cache holds it. */
export interface DrmPrimeBufRef {
  get(): unknown;
  put(): unknown;
}

/** `struct drm_prime_file_private`. */
export class DrmPrimeFilePrivate<B extends DrmPrimeBufRef = DrmPrimeBufRef> {
  private readonly byBuf = new Map<B, number>();
  private readonly byHandle = new Map<number, B>();

  /** Number of cached buffers. */
  get size(): number {
    return this.byBuf.size;
  }

  /**
   * `drm_prime_add_buf_handle()`: records `buf` ↔ `handle`, taking a reference to `buf`. EEXIST if
   * either side is already cached (the kernel's rb-trees hold each once).
   */
  addBufHandle(buf: B, handle: number): void {
    if (this.byBuf.has(buf) || this.byHandle.has(handle))
      throw new KernelError("EEXIST", `PRIME cache already has an entry for handle ${handle} or its dma-buf`);
    buf.get();
    this.byBuf.set(buf, handle);
    this.byHandle.set(handle, buf);
  }

  /** `drm_prime_lookup_buf_handle()`: the handle this file has for `buf`, or undefined. */
  lookupBufHandle(buf: B): number | undefined {
    return this.byBuf.get(buf);
  }

  /** `drm_prime_lookup_buf_by_handle()`: the dma-buf cached for `handle`, or undefined. */
  lookupBufByHandle(handle: number): B | undefined {
    return this.byHandle.get(handle);
  }

  /** `drm_prime_remove_buf_handle()`: forgets `handle`, dropping the cached reference. No-op if absent. */
  removeBufHandle(handle: number): void {
    const buf = this.byHandle.get(handle);
    if (buf === undefined) return;
    this.byHandle.delete(handle);
    this.byBuf.delete(buf);
    buf.put();
  }

  /** Re-keys the entry of `handle` to `newHandle` (GEM_CHANGE_HANDLE); the reference stays. */
  moveBufHandle(handle: number, newHandle: number): void {
    const buf = this.byHandle.get(handle);
    if (buf === undefined) return;
    if (this.byHandle.has(newHandle))
      throw new KernelError("EEXIST", `PRIME cache already has handle ${newHandle}`);
    this.byHandle.delete(handle);
    this.byHandle.set(newHandle, buf);
    this.byBuf.set(buf, newHandle);
  }

  /** `drm_prime_destroy_file_private()`: the cache must be empty by then (the kernel WARNs). */
  destroy(): void {
    if (this.byBuf.size !== 0)
      throw new KernelError("EBUSY", `PRIME cache destroyed with ${this.byBuf.size} entries left`);
  }
}
