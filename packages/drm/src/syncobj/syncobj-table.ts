/**
 * The per-file syncobj handle table (`drm_file.syncobj_idr`, `drm_syncobj_open` /
 * `drm_syncobj_release`) and the syncobj fd (`drm_syncobj_get_fd`, `drm_syncobj_file_fops`).
 *
 * Handles are small integers private to one open DRM file, starting at 1 (0 is never a valid
 * handle, so userspace can use it as "none"); the lowest free one is reused. Each handle owns a
 * reference to its syncobj. A syncobj crosses process boundaries only as an fd of kind `syncobj`:
 * importing it gives a *new* handle every time (unlike GEM/PRIME there is no de-duplication).
 */
import type { DmaFence } from "@drmsim/dma-fence";
import {
  type Allocation,
  File,
  GFP_KERNEL,
  KernelError,
  type Process,
  type Simulator,
} from "@drmsim/runtime";
import { DrmSyncobj, reportWaitForSubmitInKernel } from "./drm-syncobj.js";
import { DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT } from "./uapi.js";

/** Bytes charged per handle in the file's syncobj idr (a share of a radix-tree node), an estimate. */
const IDR_SLOT_BYTES = 16;

/** The `kind` of a syncobj fd (`anon_inode:syncobj_file`). */
export const SYNCOBJ_FILE_KIND = "syncobj";

/** `drm_syncobj_file_fops`: the fd holds a syncobj reference, dropped at the last close. */
const syncobjFops = {
  kind: SYNCOBJ_FILE_KIND,
  release(file: File<DrmSyncobj>): void {
    file.priv.put();
  },
};

/**
 * `drm_syncobj_get_fd()`: a new syncobj fd in `proc` (close-on-exec, as the kernel makes it),
 * holding its own reference to `syncobj`.
 */
export function drmSyncobjGetFd(proc: Process, syncobj: DrmSyncobj): number {
  syncobj.get();
  const file = new File<DrmSyncobj>(proc.sim, syncobjFops, syncobj, undefined, "syncobj_file");
  try {
    return proc.installFile(file, true);
  } catch (e) {
    file.put();
    throw e;
  }
}

/** The syncobj behind a syncobj fd (no new reference), or `EINVAL` for any other fd (`EBADF` if not open). */
export function drmSyncobjFromFd(proc: Process, fd: number): DrmSyncobj {
  const file = proc.files.lookup(fd);
  if (file === undefined) throw new KernelError("EINVAL", `fd ${fd} is not open in ${proc}`);
  return file.privOf<DrmSyncobj>(SYNCOBJ_FILE_KIND, "drm_syncobj fd");
}

/**
 * `drm_file.syncobj_idr` and the functions that work on it. A DRM file owns one
 * (`drm_syncobj_open` is the constructor) and calls `release()` when it is closed.
 */
export class SyncobjTable {
  private readonly handles = new Map<number, DrmSyncobj>();
  /** The idr memory behind each handle (`idr_preload(GFP_KERNEL)` + `idr_alloc`), freed with it. */
  private readonly handleMem = new Map<number, Allocation>();
  private released = false;

  constructor(readonly sim: Simulator) {}

  /** Number of live handles. */
  get size(): number {
    return this.handles.size;
  }

  /** Live handles, ascending. */
  list(): number[] {
    return [...this.handles.keys()].sort((a, b) => a - b);
  }

  /**
   * `drm_syncobj_get_handle()`: a new handle (the lowest free, from 1) for `syncobj`, holding its
   * own reference. The idr slot is a `GFP_KERNEL` allocation (site `idr_alloc`): `ENOMEM`, no
   * handle, when it fails.
   */
  getHandle(syncobj: DrmSyncobj): number {
    if (this.released) throw new KernelError("EBADF", "the DRM file's syncobj table was already released");
    // Allocated before the handle is chosen: ENOMEM installs nothing.
    const mem = this.sim.mm.kmalloc(IDR_SLOT_BYTES, GFP_KERNEL, "idr_alloc");
    let h = 1;
    while (this.handles.has(h)) h++;
    this.handles.set(h, syncobj.get());
    this.handleMem.set(h, mem);
    return h;
  }

  /** `drm_syncobj_find()`: a new reference to the syncobj behind `handle`, or null. */
  find(handle: number): DrmSyncobj | null {
    const s = this.handles.get(handle);
    return s === undefined ? null : s.get();
  }

  /** `drm_syncobj_find()` for ioctl paths: the syncobj (new reference) or `code` (`ENOENT` by default). */
  lookup(handle: number, code: "ENOENT" | "EINVAL" = "ENOENT"): DrmSyncobj {
    const s = this.find(handle);
    if (s === null) throw new KernelError(code, `syncobj handle ${handle} does not exist in this file`);
    return s;
  }

  /** `drm_syncobj_create_as_handle()`: creates a syncobj (see `DrmSyncobj`) and returns its handle. */
  create(flags = 0, fence: DmaFence | null = null): number {
    const s = new DrmSyncobj(this.sim, flags, fence);
    try {
      return this.getHandle(s);
    } finally {
      s.put();
    }
  }

  /** `drm_syncobj_destroy()`: removes `handle`; `EINVAL` if it does not exist. */
  destroy(handle: number): void {
    const s = this.handles.get(handle);
    if (s === undefined)
      throw new KernelError("EINVAL", `syncobj handle ${handle} does not exist in this file`);
    this.handles.delete(handle);
    this.freeHandleMem(handle);
    s.put();
  }

  private freeHandleMem(handle: number): void {
    this.handleMem.get(handle)?.free();
    this.handleMem.delete(handle);
  }

  /**
   * `drm_syncobj_find_fence()`: the fence at `point` of the syncobj behind `handle`, as a new
   * reference. `EINVAL` for unknown flags (checked first, as the kernel does, so an unknown
   * handle with bad flags is `EINVAL`), `ENOENT` for an unknown handle; otherwise as
   * `DrmSyncobj.findFence` (EINVAL for a missing fence/point, WAIT_FOR_SUBMIT waits up to 5 s:
   * ETIME/ERESTARTSYS). What a driver's submit ioctl calls for each in-syncobj.
   *
   * WAIT_FOR_SUBMIT here — the kernel waiting, inside a driver's ioctl, for another process to
   * submit — is reported (`wait-for-submit-in-kernel`, seed 004), whether or not the point is
   * already there; the wait belongs in userspace (`DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT`).
   */
  async findFence(handle: number, point = 0n, flags = 0): Promise<DmaFence> {
    return this.findFenceFor(handle, point, flags, true);
  }

  /**
   * `drm_syncobj_find_fence()` for the syncobj ioctls themselves (TRANSFER): a WAIT_FOR_SUBMIT
   * there is a wait userspace asked for in its own call, not one hidden in a submission.
   * @internal
   */
  findFenceForUser(handle: number, point: bigint, flags: number): Promise<DmaFence> {
    return this.findFenceFor(handle, point, flags, false);
  }

  private async findFenceFor(
    handle: number,
    point: bigint,
    flags: number,
    inDriver: boolean,
  ): Promise<DmaFence> {
    if ((flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) !== 0)
      throw new KernelError("EINVAL", `drm_syncobj_find_fence: unknown flags 0x${flags.toString(16)}`);
    const s = this.lookup(handle, "ENOENT");
    try {
      if (inDriver && (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) !== 0)
        reportWaitForSubmitInKernel(this.sim, s, point);
      return await s.findFence(point, flags);
    } finally {
      s.put();
    }
  }

  /**
   * `drm_syncobj_replace_fence(drm_syncobj_find(handle), fence)` or, for `point` ≠ 0,
   * `drm_syncobj_add_point`: what a driver's submit ioctl does for each out-syncobj once its job
   * fence exists. `ENOENT` for an unknown handle (check handles before the point of no return).
   */
  signalPoint(handle: number, fence: DmaFence, point = 0n): void {
    const s = this.lookup(handle, "ENOENT");
    try {
      if (point !== 0n) s.addPoint(fence, point);
      else s.replaceFence(fence);
    } finally {
      s.put();
    }
  }

  /**
   * `drm_syncobj_array_find()`: references to the syncobjs of `handles[0..count)`, all or none
   * (`ENOENT` at the first unknown handle, with the ones found so far dropped).
   */
  findArray(handles: readonly number[], count: number): DrmSyncobj[] {
    const out: DrmSyncobj[] = [];
    try {
      for (let i = 0; i < count; i++) out.push(this.lookup(handles[i]!, "ENOENT"));
    } catch (e) {
      for (const s of out) s.put();
      throw e;
    }
    return out;
  }

  /** `drm_syncobj_release()`: the file is closing; every handle's reference is dropped. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const a of this.handleMem.values()) a.free();
    this.handleMem.clear();
    for (const s of all) s.put();
  }
}
