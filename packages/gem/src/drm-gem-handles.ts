/**
 * GEM handles (`drivers/gpu/drm/drm_gem.c`): the per-file table that turns the small integers
 * userspace passes in ioctls into objects (`file_priv->object_idr`), and the per-file PRIME cache
 * that goes with it (`file_priv->prime`).
 *
 * Handles start at 1 and the lowest free number is reused. Creating a handle takes a handle
 * reference (`obj.handleCount`) and calls `funcs.open`; if `open` fails, the handle is deleted
 * again and nothing is left behind. Deleting a handle calls `funcs.close`, drops the PRIME cache
 * entry and the handle reference. Closing the file deletes every handle it still has.
 */
import { GFP_KERNEL, KernelError, type Simulator } from "@drmsim/runtime";
import type { DrmGemFile, DrmGemObject } from "./drm-gem-object.js";
import { type DrmPrimeBufRef, DrmPrimeFilePrivate } from "./drm-prime-file-private.js";
import { Idr } from "./internal/idr.js";

/** `INT_MAX`: handles are `int`s to idr. */
const INT_MAX = 0x7fffffff;

/** The per-file GEM state: `file_priv->object_idr` and `file_priv->prime`. */
export class DrmGemHandleTable {
  /** `file_priv->object_idr`: accounted, so a handle costs memory and can fail with ENOMEM. */
  private readonly idr: Idr<DrmGemObject>;
  /** `file_priv->prime`: dma-buf ↔ handle, so the same dma-buf imports as the same handle. */
  readonly prime = new DrmPrimeFilePrivate<DrmPrimeBufRef>();
  private released = false;

  constructor(
    readonly sim: Simulator,
    /** What `funcs.open/close` receive: the DRM core's `DrmFile`. */
    readonly file: DrmGemFile,
  ) {
    this.idr = new Idr<DrmGemObject>(sim.mm, GFP_KERNEL, "idr_alloc");
  }

  /** Number of live handles. */
  get count(): number {
    return this.idr.size;
  }

  /**
   * `drm_gem_handle_create()`: a new handle for `obj` (from 1, lowest free). Takes a handle
   * reference; the caller keeps its own reference and usually drops it afterwards. If
   * `funcs.open` throws, the handle is removed again and the error propagates.
   */
  handleCreate(obj: DrmGemObject): number {
    this.checkOpen("drm_gem_handle_create");
    obj.assertLive("drm_gem_handle_create");
    obj.handleGet();
    let handle: number;
    try {
      handle = this.idr.alloc(obj);
    } catch (e) {
      // idr_alloc failed (ENOMEM): drop the handle count taken above, as the kernel's
      // err_unref path does; no handle was installed.
      obj.handlePut();
      throw e;
    }
    // drm_vma_node_allow: a file holding a handle may mmap the object's fake offset.
    obj.vmaNode.allow(this.file);
    try {
      this.sim.withFrame("drm_gem_object_funcs.open", () => obj.funcs.open?.(obj, this.file));
    } catch (e) {
      // drm_gem_handle_create_tail's error path: undo the handle exactly as a delete would,
      // except that close is not called for an open that never succeeded.
      obj.vmaNode.revoke(this.file);
      this.idr.remove(handle);
      obj.handlePut();
      throw e;
    }
    return handle;
  }

  /**
   * `drm_gem_object_lookup()`: the object behind `handle`, with a new reference the caller must
   * `put()`. ENOENT for an unknown handle.
   */
  lookup(handle: number): DrmGemObject {
    const obj = this.idr.find(handle);
    if (obj === undefined)
      throw new KernelError("ENOENT", `no GEM object with handle ${handle} in this file`);
    return obj.get();
  }

  /** The object behind `handle` without taking a reference, or undefined. */
  peek(handle: number): DrmGemObject | undefined {
    return this.idr.find(handle);
  }

  /** Every handle of this file, ascending (`idr_for_each` order). */
  handles(): number[] {
    return this.idr.entries().map(([h]) => h);
  }

  /** The handles this file has for `obj`, ascending. */
  handlesOf(obj: DrmGemObject): number[] {
    return this.idr
      .entries()
      .filter(([, o]) => o === obj)
      .map(([h]) => h);
  }

  /** `drm_gem_handle_delete()` (GEM_CLOSE): EINVAL for an unknown handle. */
  handleDelete(handle: number): void {
    const obj = this.idr.find(handle);
    if (obj === undefined)
      throw new KernelError("EINVAL", `GEM handle ${handle} does not exist in this file`);
    this.idr.remove(handle);
    this.releaseHandle(handle, obj);
  }

  /**
   * `drm_gem_change_handle_ioctl()` (GEM_CHANGE_HANDLE): renumbers `handle` to `newHandle`, moving
   * its PRIME cache entry. EINVAL if `newHandle` is not in 1..INT_MAX, ENOENT for an unknown
   * handle, ENOSPC if `newHandle` is taken (idr_alloc's error). Same handle: nothing to do.
   */
  changeHandle(handle: number, newHandle: number): void {
    if (!Number.isInteger(newHandle) || newHandle < 1 || newHandle > INT_MAX)
      throw new KernelError("EINVAL", `new GEM handle ${newHandle} is out of range`);
    if (handle === newHandle) return;
    const obj = this.idr.find(handle);
    if (obj === undefined)
      throw new KernelError("ENOENT", `no GEM object with handle ${handle} in this file`);
    if (this.idr.has(newHandle)) throw new KernelError("ENOSPC", `GEM handle ${newHandle} is already in use`);
    this.idr.allocAt(newHandle, obj);
    this.prime.moveBufHandle(handle, newHandle);
    this.idr.remove(handle);
  }

  /**
   * `drm_gem_release()`: the file is closing; every handle it still has is deleted, in handle
   * order, then the PRIME cache must be empty. A second call does nothing.
   */
  release(): void {
    if (this.released) return;
    for (const [handle, obj] of this.idr.entries()) {
      this.idr.remove(handle);
      this.releaseHandle(handle, obj);
    }
    this.prime.destroy();
    this.released = true;
  }

  /** `drm_gem_object_release_handle()`. */
  private releaseHandle(handle: number, obj: DrmGemObject): void {
    this.sim.withFrame("drm_gem_object_funcs.close", () => obj.funcs.close?.(obj, this.file));
    obj.vmaNode.revoke(this.file);
    this.prime.removeBufHandle(handle);
    obj.handlePut();
  }

  private checkOpen(op: string): void {
    if (this.released)
      throw new KernelError("EBADF", `${op} on a file whose GEM handles were already released`);
  }
}
