/**
 * `struct drm_gem_object` (`include/drm/drm_gem.h`, `drivers/gpu/drm/drm_gem.c`): a buffer object
 * as the DRM core sees it.
 *
 * Two counts live on every object and must not be confused:
 * - the reference count (`obj->refcount`, a kref — `get()`/`put()` here): who may touch the
 *   object; the last `put()` runs `funcs.free`;
 * - `handleCount` (`obj->handle_count`): how many userspace handles (in all files) name it. When
 *   it drops to zero the object loses its flink name and its cached exported dma-buf, because
 *   userspace can no longer reach it through GEM — even if kernel references keep it alive.
 *
 * Every object has a reservation object: its own (`obj->_resv`), or for an imported buffer the
 * exporter's (`dma_buf->resv`), so implicit sync works across drivers.
 */
import type { Device, DmaBuf, DmaBufAttachment, IosysMap, SgTable, VmArea } from "@drmsim/dma-buf";
import { DmaResv } from "@drmsim/dma-resv";
import {
  type Allocation,
  frameList,
  GFP_KERNEL,
  KernelError,
  RefCounted,
  type Simulator,
} from "@drmsim/runtime";
import type { DrmGemNameTable } from "./drm-gem-names.js";
import { type DrmVmaOffsetManager, DrmVmaOffsetNode } from "./drm-vma-manager.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** `drm_gem_object_handle_put` with `handle_count` already 0 (the kernel WARNs). */
    "gem-handle-count-underflow": true;
  }
}

/** `PAGE_SIZE` of the simulated machine; GEM object sizes are multiples of it. */
export const GEM_PAGE_SIZE = 4096;

/** What a file looks like to GEM: opaque. The DRM core passes its `DrmFile`. */
export type DrmGemFile = object;

/** What `funcs.status` reports (`enum drm_gem_object_status`, for fdinfo). */
export interface DrmGemObjectStatus {
  /** `DRM_GEM_OBJECT_RESIDENT`. */
  resident: boolean;
  /** `DRM_GEM_OBJECT_PURGEABLE`. */
  purgeable: boolean;
  /** `DRM_GEM_OBJECT_ACTIVE`. */
  active?: boolean;
}

/**
 * `struct drm_gem_object_funcs`. All optional here (the kernel requires `free`, which this
 * simulation does not need: memory is reclaimed by the garbage collector, and helpers free their
 * accounted allocations in their own `free`). Ops that can fail throw `KernelError`. The DRM core
 * exposes these as tapable hooks; this is the plain table a helper or driver fills in.
 */
export interface DrmGemObjectFuncs<O extends DrmGemObject = DrmGemObject> {
  /** `free`: the last reference was dropped. */
  free?(obj: O): void;
  /** `open`: a handle to `obj` was created in `file`. Throw to refuse (the handle is then undone). */
  open?(obj: O, file: DrmGemFile): void;
  /** `close`: a handle to `obj` in `file` is being deleted. Cannot fail. */
  close?(obj: O, file: DrmGemFile): void;
  /** `export`: build a dma-buf for PRIME (default `drmGemPrimeExport`). */
  export?(obj: O, flags: number): DmaBuf;
  /** `pin`: keep the backing storage in place (resv held). */
  pin?(obj: O): void;
  /** `unpin`. */
  unpin?(obj: O): void;
  /**
   * `get_sg_table`: a new scatter table of the backing pages, owned by the caller, DMA-mapped for
   * `dev` (the kernel's `drm_gem_map_dma_buf` maps it for the attachment's device; here the helper
   * builds it for that device directly).
   */
  getSgTable?(obj: O, dev?: Device): SgTable;
  /** `vmap`: a kernel mapping (resv held). */
  vmap?(obj: O): IosysMap;
  /** `vunmap`. */
  vunmap?(obj: O, map: IosysMap): void;
  /** `mmap`: set up a userspace mapping. */
  mmap?(obj: O, vma: VmArea): void;
  /** `status`: resident / purgeable / active, for fdinfo. */
  status?(obj: O): DrmGemObjectStatus;
  /** `rss`: resident bytes. */
  rss?(obj: O): number;
}

/** Options of `new DrmGemObject()`. */
export interface DrmGemObjectOptions<O extends DrmGemObject> {
  funcs?: DrmGemObjectFuncs<O>;
  /** Use this resv instead of a new one (`obj->resv = dma_buf->resv` for imports). */
  resv?: DmaResv;
  /** The device (opaque to GEM: the DRM core's `DrmDevice`). */
  dev?: object | null;
  /** A label for reports. */
  label?: string;
}

const IDS = {};

/**
 * Bytes charged for a GEM object: `struct drm_gem_object` with its embedded `dma_resv`, plus the
 * shmem file `drm_gem_object_init` sets up. An estimate.
 */
export const DRM_GEM_OBJECT_BYTES = 512;

/**
 * `struct drm_gem_object`. `new DrmGemObject(sim, size, opts)` is `drm_gem_private_object_init`
 * (plus `drm_gem_object_init`'s size check): `size` must be a positive multiple of the page size
 * (`EINVAL`). The object starts with one reference, held by the creator. Its memory is a
 * `GFP_KERNEL` allocation from site `drm_gem_object_init`: `ENOMEM` when that fails, nothing
 * created.
 */
export class DrmGemObject extends RefCounted {
  /** `obj->size` in bytes. */
  readonly size: number;
  /** `obj->funcs`. */
  funcs: DrmGemObjectFuncs<this>;
  /** `obj->resv`: the object's own resv, or the exporter's when imported (see `useResv`). */
  resv: DmaResv;
  /** True when `resv` is the object's own (`obj->resv == &obj->_resv`), finalised on free. */
  ownsResv: boolean;
  /** `obj->dev`. */
  readonly dev: object | null;
  /** `obj->handle_count`: userspace handles naming this object, across all files. */
  handleCount = 0;
  /** `obj->name`: the flink name, 0 if none. */
  name = 0;
  /** @internal The table that handed out `name`, so the name goes when the last handle does. */
  nameTable: DrmGemNameTable | null = null;
  /** `obj->dma_buf`: the exported dma-buf, cached while handles exist (holds a reference). */
  dmaBuf: DmaBuf | null = null;
  /** `obj->import_attach`: the attachment of an imported buffer, null for native objects. */
  importAttach: DmaBufAttachment | null = null;
  /** `obj->vma_node`: its fake mmap offset (once created) and the files allowed to map it. */
  readonly vmaNode = new DrmVmaOffsetNode();
  /** A unique id in creation order, for labels. */
  readonly id: number;
  readonly label: string;
  /** The object's own memory, given back when the last reference goes. */
  private readonly mem: Allocation;

  constructor(
    readonly sim: Simulator,
    size: number,
    opts: DrmGemObjectOptions<DrmGemObject> = {},
  ) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % GEM_PAGE_SIZE !== 0)
      throw new KernelError(
        "EINVAL",
        `GEM object size must be a positive multiple of ${GEM_PAGE_SIZE}, got ${size}`,
      );
    // The object's memory (the driver's kzalloc of its struct, and drm_gem_object_init's shmem
    // file), taken first so a failure leaves nothing to undo.
    const mem = sim.mm.kmalloc(DRM_GEM_OBJECT_BYTES, GFP_KERNEL, "drm_gem_object_init");
    super(sim);
    this.mem = mem;
    this.size = size;
    this.funcs = (opts.funcs ?? {}) as DrmGemObjectFuncs<this>;
    this.id = sim.subsystem(IDS, () => ({ n: 0 })).n++;
    this.label = opts.label ?? `gem#${this.id}`;
    this.ownsResv = opts.resv === undefined;
    this.resv = opts.resv ?? new DmaResv(sim, `${this.label}.resv`);
    this.dev = opts.dev ?? null;
  }

  /** `drm_gem_is_imported()`: the object wraps another driver's dma-buf. */
  get isImported(): boolean {
    return this.importAttach !== null;
  }

  describe(): string {
    return `drm_gem_object ${this.label} (${this.size} bytes)`;
  }

  /**
   * `obj->resv = dma_buf->resv` (`drm_gem_prime_import_dev`): an imported object shares the
   * exporter's reservation object, so fences added by either side are seen by both. The object's
   * own resv, if it had one, is finalised.
   */
  useResv(resv: DmaResv): void {
    if (resv === this.resv) return;
    if (this.ownsResv) this.resv.fini();
    this.resv = resv;
    this.ownsResv = false;
  }

  /**
   * `drm_gem_create_mmap_offset(obj)`: a fake offset in `mgr` (the device's) for the whole object,
   * made once; returns it (`drm_vma_node_offset_addr`). `ENOSPC` when the space is full.
   */
  createMmapOffset(mgr: DrmVmaOffsetManager): bigint {
    mgr.add(this.vmaNode, this.size / GEM_PAGE_SIZE, this);
    return this.vmaNode.offsetAddr;
  }

  /** `drm_gem_object_handle_get`: a new handle names the object. @internal (handle tables). */
  handleGet(): void {
    if (this.handleCount === 0) this.get();
    this.handleCount++;
  }

  /**
   * `drm_gem_object_handle_put_unlocked`: a handle went away. At zero the flink name and the
   * cached dma-buf go too. @internal (handle tables).
   */
  handlePut(): void {
    if (this.handleCount <= 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "gem-handle-count-underflow",
        title: `handle put on ${this.describe()} with no handles left`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation: "Every handle put must match a handle get; handle_count is separate from the refcount.",
      });
      throw new KernelError("EINVAL", `${this.label} has no handles to put`);
    }
    if (--this.handleCount > 0) return;
    this.nameTable?.remove(this);
    const buf = this.dmaBuf;
    this.dmaBuf = null;
    buf?.put();
    this.put();
  }

  /** `drm_gem_object_release` + `funcs->free`. */
  protected release(): void {
    // drm_gem_free_mmap_offset: the fake offset is free for the next object.
    this.vmaNode.manager?.remove(this.vmaNode);
    this.funcs.free?.(this);
    if (this.ownsResv) this.resv.fini();
    this.mem.free();
  }
}
