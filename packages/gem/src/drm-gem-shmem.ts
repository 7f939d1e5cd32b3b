/**
 * `struct drm_gem_shmem_object` (`include/drm/drm_gem_shmem_helper.h`,
 * `drivers/gpu/drm/drm_gem_shmem_helper.c`): GEM objects backed by pageable system memory, the
 * helper most small drivers (panfrost, lima, v3d, virtio-gpu, the accel drivers) build on.
 *
 * Pages are allocated lazily — on the first pin, vmap, mmap or `getPagesSgt` — and freed when the
 * last user goes; the contents survive that (they live in the shmem file) until the object is
 * purged. Counts, all changed with the reservation lock held:
 * - `pagesUseCount`: users of the page array (pins, the cached `sgt`, mmaps);
 * - `pagesPinCount`: users that need the pages to stay put (pin, vmap);
 * - `vmapUseCount`: users of the kernel mapping.
 *
 * Userspace tells the driver when a buffer's contents no longer matter (`madvise`): such an
 * object may be purged under memory pressure — pages and `sgt` freed, contents dropped, `madv`
 * set to -1 for good. drmsim registers a shrinker (`sim.mm`) that purges purgeable objects, so
 * `kmalloc` pressure anywhere in the simulation reclaims them, as the kernel's does.
 *
 * The `…Locked` methods need the object's resv held (the validator checks it); the plain ones
 * take and drop it themselves and are async.
 */
import {
  BackingStore,
  Device,
  type IosysMap,
  type SgTable,
  sgTableFromRuns,
  systemPlacement,
  type VmArea,
} from "@drmsim/dma-buf";
import {
  __GFP_NOWARN,
  __GFP_RETRY_MAYFAIL,
  type Allocation,
  frameList,
  GFP_KERNEL,
  KernelError,
  MAP_PRIVATE,
  type Simulator,
} from "@drmsim/runtime";
import { DrmGemObject, type DrmGemObjectFuncs, type DrmGemObjectOptions } from "./drm-gem-object.js";
import { drmPrimeGemDestroy } from "./drm-prime.js";
import { GEM_TRACK, traceDrmGemShmemPurge } from "./trace.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** An unpin, vunmap or put_pages without a matching pin, vmap or get_pages (the kernel WARNs). */
    "gem-unbalanced": true;
    /** A GEM object freed while still pinned or vmapped (the kernel WARNs and leaks). */
    "gem-freed-in-use": true;
    /** A shmem helper used against its contract: purging an object that is not purgeable, pinning an imported one. */
    "gem-shmem-misuse": true;
  }
}

/** `GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN`: the shmem mapping's mask for GEM pages. */
const SHMEM_GFP = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;

/** Options of `DrmGemShmemObject.create`. */
export interface DrmGemShmemOptions extends DrmGemObjectOptions<DrmGemShmemObject> {
  /** The device pages are DMA-mapped for (`obj->dev->dev`); default a per-simulator `drm-gem-shmem` device. */
  dmaDev?: Device;
  /** `shmem->map_wc`: map write-combined (informational). */
  mapWc?: boolean;
}

const DEFAULT_DEV = {};
const SHRINKER = {};

/** The per-simulator shrinker state: objects userspace marked purgeable (`madv > 0`), oldest first. */
interface ShmemShrinker {
  readonly madvList: Set<DrmGemShmemObject>;
  purged: number;
}

function shrinkerOf(sim: Simulator): ShmemShrinker {
  return sim.subsystem(SHRINKER, () => {
    const state: ShmemShrinker = { madvList: new Set(), purged: 0 };
    sim.mm.registerShrinker({
      name: "drm-gem-shmem",
      count: () => {
        let bytes = 0;
        for (const o of state.madvList) if (o.isPurgeable) bytes += o.size;
        return bytes;
      },
      scan: (sc) => {
        let freed = 0;
        for (const o of [...state.madvList]) {
          if (freed >= sc.nrToScan) break;
          if (!o.isPurgeable) continue;
          // Reclaim must never block on a buffer lock: an object whose resv is held is skipped.
          if (!o.resv.trylock()) continue;
          try {
            if (o.isPurgeable) {
              o.purgeLocked();
              freed += o.size;
              state.purged++;
            }
          } finally {
            o.resv.unlock();
          }
        }
        return freed;
      },
    });
    return state;
  });
}

/** Objects the drm-gem-shmem shrinker has purged in this simulation so far. */
export function drmGemShmemPurgedCount(sim: Simulator): number {
  return shrinkerOf(sim).purged;
}

/**
 * The default `drm_gem_object_funcs` of shmem objects (`drm_gem_shmem_funcs`): every op wraps the
 * helper of the same name. `pin`/`unpin`/`vmap`/`vunmap` run with the resv held.
 */
export const drmGemShmemFuncs: DrmGemObjectFuncs<DrmGemShmemObject> = {
  free: (obj) => obj.freeShmem(),
  pin: (obj) => obj.pinLocked(),
  unpin: (obj) => obj.unpinLocked(),
  getSgTable: (obj, dev) => obj.getSgTable(dev),
  vmap: (obj) => obj.vmapLocked(),
  vunmap: (obj, map) => obj.vunmapLocked(map),
  mmap: (obj, vma) => obj.mmap(vma),
  status: (obj) => ({ resident: obj.pages !== null, purgeable: obj.isPurgeable }),
  rss: (obj) => (obj.pages !== null ? obj.size : 0),
};

/** `struct drm_gem_shmem_object`. Create with `DrmGemShmemObject.create` (`drm_gem_shmem_create`). */
export class DrmGemShmemObject extends DrmGemObject {
  /** The bytes (the shmem file): sparse, kept across unpin, dropped by purge. */
  store: BackingStore;
  /** `shmem->pages`: the accounted page array while present, else null. */
  pages: Allocation | null = null;
  /** `shmem->pages_use_count`. */
  pagesUseCount = 0;
  /** `shmem->pages_pin_count`. */
  pagesPinCount = 0;
  /** `shmem->vmap_use_count`. */
  vmapUseCount = 0;
  /** `shmem->vaddr`: the kernel mapping while `vmapUseCount > 0`. */
  vaddr: IosysMap | null = null;
  /** `shmem->sgt`: the cached, DMA-mapped table (`getPagesSgt`), or an imported table. */
  sgt: SgTable | null = null;
  /** `shmem->madv`: 0 normal, > 0 purgeable when idle (DONTNEED), -1 purged. */
  madv = 0;
  /** `shmem->map_wc`. */
  mapWc: boolean;
  /** The device tables are mapped for. */
  readonly dmaDev: Device;

  /** @internal Use `create` or `primeImportSgTable`. */
  constructor(sim: Simulator, size: number, opts: DrmGemShmemOptions = {}) {
    super(sim, size, {
      ...opts,
      funcs: (opts.funcs ?? drmGemShmemFuncs) as DrmGemObjectFuncs<DrmGemObject>,
    });
    this.mapWc = opts.mapWc ?? false;
    this.dmaDev = opts.dmaDev ?? sim.subsystem(DEFAULT_DEV, () => new Device(sim, { name: "drm-gem-shmem" }));
    this.store = new BackingStore(size, systemPlacement(sim, size));
    shrinkerOf(sim);
  }

  /**
   * `drm_gem_shmem_create(dev, size)`: a new object, `size` rounded up to a page (`PAGE_ALIGN`).
   * EINVAL for a size that is not a positive integer.
   */
  static create(sim: Simulator, size: number, opts: DrmGemShmemOptions = {}): DrmGemShmemObject {
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new KernelError("EINVAL", `shmem object size must be a positive integer, got ${size}`);
    return new DrmGemShmemObject(sim, Math.ceil(size / 4096) * 4096, opts);
  }

  /**
   * `drm_gem_shmem_prime_import_sg_table(dev, attach, sgt)`: a private object (no shmem file, no
   * pages of its own) wrapping another driver's buffer; `sgt` is the imported table. Use as the
   * `importSgTable` callback of `drmGemPrimeImport`.
   */
  static primeImportSgTable(
    sim: Simulator,
    attach: { dmabuf: { size: number } },
    sgt: SgTable,
    opts: DrmGemShmemOptions = {},
  ): DrmGemShmemObject {
    const obj = new DrmGemShmemObject(sim, Math.ceil(attach.dmabuf.size / 4096) * 4096, opts);
    obj.sgt = sgt;
    return obj;
  }

  /**
   * `drm_gem_shmem_is_purgeable()`: userspace said DONTNEED (`madv > 0`), nothing pins it, it has
   * a cached `sgt`, and it is neither exported (`dma_buf`) nor imported.
   */
  get isPurgeable(): boolean {
    return (
      this.madv > 0 &&
      this.pagesPinCount === 0 &&
      this.sgt !== null &&
      this.dmaBuf === null &&
      !this.isImported
    );
  }

  /** `drm_gem_shmem_get_pages_locked` (internal in 7.1, used by mmap): a page-array user. */
  getPagesLocked(): void {
    this.resv.assertHeld("drm_gem_shmem_get_pages_locked");
    if (this.pagesUseCount > 0) {
      this.pagesUseCount++;
      return;
    }
    this.pages = this.sim.mm.kmalloc(this.size, SHMEM_GFP, "drm_gem_get_pages");
    this.pagesUseCount = 1;
  }

  /** `drm_gem_shmem_put_pages_locked()`: the last user frees the page array (contents stay in the store). */
  putPagesLocked(): void {
    this.resv.assertHeld("drm_gem_shmem_put_pages_locked");
    if (this.pagesUseCount === 0) {
      this.unbalanced("drm_gem_shmem_put_pages_locked", "put_pages without get_pages");
    }
    if (--this.pagesUseCount === 0) {
      this.pages?.free();
      this.pages = null;
    }
  }

  /** `drm_gem_shmem_pin_locked()`: pages present and pinned. ENOMEM (page allocation) leaves no trace. */
  pinLocked(): void {
    this.resv.assertHeld("drm_gem_shmem_pin_locked");
    this.notImported("drm_gem_shmem_pin_locked");
    if (this.pagesPinCount > 0) {
      this.pagesPinCount++;
      return;
    }
    this.getPagesLocked();
    this.pagesPinCount = 1;
  }

  /** `drm_gem_shmem_unpin_locked()`. An unpin without a pin is reported (`gem-unbalanced`) and refused. */
  unpinLocked(): void {
    this.resv.assertHeld("drm_gem_shmem_unpin_locked");
    if (this.pagesPinCount === 0) this.unbalanced("drm_gem_shmem_unpin_locked", "unpin without pin");
    if (--this.pagesPinCount === 0) this.putPagesLocked();
  }

  /** `drm_gem_shmem_pin()`: takes the resv (interruptibly), pins, unlocks. */
  async pin(): Promise<void> {
    this.notImported("drm_gem_shmem_pin");
    if (this.pagesPinCount > 0) {
      // refcount_inc_not_zero fast path: an existing pin cannot go away under us.
      this.pagesPinCount++;
      return;
    }
    await this.withResv(() => this.pinLocked());
  }

  /** `drm_gem_shmem_unpin()`. */
  async unpin(): Promise<void> {
    this.notImported("drm_gem_shmem_unpin");
    if (this.pagesPinCount > 1) {
      this.pagesPinCount--;
      return;
    }
    await this.withResv(() => this.unpinLocked());
  }

  /**
   * `drm_gem_shmem_vmap_locked()`: the kernel mapping, shared by every user (`vmapUseCount`);
   * the first one pins. For an imported object this is the exporter's `dma_buf_vmap`.
   */
  vmapLocked(): IosysMap {
    this.resv.assertHeld("drm_gem_shmem_vmap_locked");
    if (this.isImported) return this.importAttach!.dmabuf.vmap();
    if (this.vmapUseCount > 0) {
      this.vmapUseCount++;
      return this.vaddr!;
    }
    this.pinLocked();
    const map = this.makeMap();
    this.vaddr = map;
    this.vmapUseCount = 1;
    return map;
  }

  /** `drm_gem_shmem_vunmap_locked()`: the last user unmaps and unpins. A stray vunmap is `gem-unbalanced`. */
  vunmapLocked(map: IosysMap): void {
    this.resv.assertHeld("drm_gem_shmem_vunmap_locked");
    if (this.isImported) {
      this.importAttach!.dmabuf.vunmap(map);
      return;
    }
    if (this.vmapUseCount === 0 || map !== this.vaddr)
      this.unbalanced("drm_gem_shmem_vunmap_locked", "vunmap of a mapping this object did not hand out");
    if (--this.vmapUseCount === 0) {
      this.vaddr = null;
      this.unpinLocked();
    }
  }

  /** `drm_gem_shmem_vmap()` as drivers call it: lock, vmap, unlock. */
  async vmap(): Promise<IosysMap> {
    return this.withResv(() => this.vmapLocked());
  }

  /** Lock, vunmap, unlock. */
  async vunmap(map: IosysMap): Promise<void> {
    await this.withResv(() => this.vunmapLocked(map));
  }

  /**
   * `drm_gem_shmem_get_sg_table()`: a new table of the current pages, mapped for `dev` (default
   * the object's device), not cached — the caller owns it. The pages must be present (pinned):
   * EINVAL otherwise, where the kernel would dereference a NULL page array.
   */
  getSgTable(dev?: Device): SgTable {
    if (this.isImported) this.misuse("drm_gem_shmem_get_sg_table", "called on an imported object");
    if (this.pages === null)
      throw new KernelError("EINVAL", `${this.label}: get_sg_table without pages (pin the object first)`);
    return sgTableFromRuns(this.store.placement.runs, { dev: dev ?? this.dmaDev, backing: this.store });
  }

  /** `drm_gem_shmem_get_pages_sgt_locked`: the cached table; the first call gets pages and maps them. */
  getPagesSgtLocked(): SgTable {
    this.resv.assertHeld("drm_gem_shmem_get_pages_sgt");
    if (this.sgt !== null) return this.sgt;
    this.getPagesLocked();
    try {
      this.sgt = this.getSgTable();
    } catch (e) {
      this.putPagesLocked();
      throw e;
    }
    return this.sgt;
  }

  /**
   * `drm_gem_shmem_get_pages_sgt()`: lock, get (or create and cache) the DMA-mapped table,
   * unlock. This is what drivers use to program their hardware.
   */
  async getPagesSgt(): Promise<SgTable> {
    return this.withResv(() => this.getPagesSgtLocked());
  }

  /**
   * `drm_gem_shmem_madvise_locked()`: sets `madv` unless the object was already purged (-1 is
   * final). Returns true if the object still has its contents (`madv >= 0`) — the status drivers
   * report back to userspace (`retained`).
   */
  madviseLocked(madv: number): boolean {
    this.resv.assertHeld("drm_gem_shmem_madvise_locked");
    if (!Number.isInteger(madv))
      throw new KernelError("EINVAL", `madvise value must be an integer, got ${madv}`);
    if (this.madv >= 0) this.madv = madv;
    const list = shrinkerOf(this.sim).madvList;
    if (this.madv > 0) list.add(this);
    else list.delete(this);
    return this.madv >= 0;
  }

  /** Lock, madvise, unlock. */
  async madvise(madv: number): Promise<boolean> {
    return this.withResv(() => this.madviseLocked(madv));
  }

  /**
   * `drm_gem_shmem_purge_locked()`: frees `sgt` and pages, truncates the contents and sets
   * `madv = -1`. Only for purgeable objects (`gem-shmem-misuse` otherwise, and refused).
   */
  purgeLocked(): void {
    this.resv.assertHeld("drm_gem_shmem_purge_locked");
    if (!this.isPurgeable) this.misuse("drm_gem_shmem_purge_locked", "the object is not purgeable");
    this.sgt = null;
    this.putPagesLocked();
    this.madv = -1;
    shrinkerOf(this.sim).madvList.delete(this);
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDrmGemShmemPurge, GEM_TRACK, { obj: this.label, size: this.size });
    // shmem_truncate_range: the contents are gone; the store starts over empty.
    this.store = new BackingStore(this.size, this.store.placement);
  }

  /** Lock, purge, unlock. */
  async purge(): Promise<void> {
    await this.withResv(() => this.purgeLocked());
  }

  /**
   * `drm_gem_shmem_mmap()`'s checks: a purged object cannot be mapped (the fault handler would
   * SIGBUS: EFAULT here); the range must lie inside the object (EINVAL).
   */
  mmapCheck(vma: VmArea): void {
    if (this.madv < 0) throw new KernelError("EFAULT", `${this.label} was purged; its pages are gone`);
    if (vma.length <= 0 || vma.pgoff * 4096 + vma.length > this.size)
      throw new KernelError(
        "EINVAL",
        `mmap of ${vma.length} bytes at page ${vma.pgoff} is outside ${this.label}`,
      );
  }

  /**
   * `drm_gem_shmem_mmap()`: an imported object is mapped by its exporter (`dma_buf_mmap`); a
   * private (copy-on-write) mapping is `EINVAL`; otherwise `mmapCheck`, and the mapping reads and
   * writes the object's pages — whatever the store is at the time of the access, and `EFAULT`
   * (SIGBUS) once the object was purged. Pages are faulted in lazily (the store is sparse), so
   * mapping takes no page-array reference.
   */
  mmap(vma: VmArea): void {
    if (this.isImported) {
      this.importAttach!.dmabuf.mmap(vma);
      return;
    }
    if (((vma.flags ?? 0) & MAP_PRIVATE) !== 0)
      throw new KernelError("EINVAL", `mmap of ${this.label}: a private (copy-on-write) mapping`);
    this.mmapCheck(vma);
    const live = (op: string) => {
      if (this.madv < 0)
        throw new KernelError(
          "EFAULT",
          `${op} through a mapping of ${this.label}, which was purged (SIGBUS)`,
        );
      return this.store;
    };
    vma.vmOps = {
      read: (offset, length) => live("read").read(offset, length),
      write: (offset, bytes) => live("write").write(offset, bytes),
    };
  }

  /** `drm_gem_shmem_free()`: the `free` op. Imported objects release their attachment. */
  freeShmem(): void {
    shrinkerOf(this.sim).madvList.delete(this);
    if (this.isImported) {
      drmPrimeGemDestroy(this, this.sgt);
      this.sgt = null;
      return;
    }
    if (this.vmapUseCount > 0 || this.pagesPinCount > 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "gem-freed-in-use",
        title: `${this.describe()} freed with ${this.pagesPinCount} pin(s) and ${this.vmapUseCount} vmap(s) outstanding`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation: "Every pin and vmap must be undone before the last reference to the object is dropped.",
      });
    }
    this.sgt = null;
    this.pages?.free();
    this.pages = null;
    this.pagesUseCount = 0;
    this.pagesPinCount = 0;
    this.vmapUseCount = 0;
    this.vaddr = null;
  }

  private makeMap(): IosysMap {
    // The mapping reads and writes whatever the store is at the time, and refuses use after vunmap.
    const check = (op: string) => {
      if (this.vaddr !== map)
        throw new KernelError("EFAULT", `${op} through a vmap of ${this.label} after vunmap`);
    };
    const map: IosysMap = {
      read: (offset, length) => {
        check("read");
        return this.store.read(offset, length);
      },
      write: (offset, bytes) => {
        check("write");
        this.store.write(offset, bytes);
      },
    };
    return map;
  }

  private async withResv<T>(fn: () => T): Promise<T> {
    await this.resv.lockInterruptible(null);
    try {
      return fn();
    } finally {
      this.resv.unlock();
    }
  }

  private notImported(op: string): void {
    if (this.isImported) this.misuse(op, "called on an imported object (the exporter owns the pages)");
  }

  private unbalanced(op: string, what: string): never {
    const ctx = this.sim.current;
    this.sim.validator.report({
      kind: "gem-unbalanced",
      title: `${op} on ${this.describe()}: ${what}`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation: "Pins, vmaps and page references are counted; each release must match an earlier acquire.",
    });
    throw new KernelError("EINVAL", `${op}: ${what}`);
  }

  private misuse(op: string, what: string): never {
    const ctx = this.sim.current;
    this.sim.validator.report({
      kind: "gem-shmem-misuse",
      title: `${op} on ${this.describe()}: ${what}`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation:
        "Purging is only allowed for purgeable objects (madv > 0, unpinned, with an sgt, not shared); imported objects are backed by their exporter.",
    });
    throw new KernelError("EINVAL", `${op}: ${what}`);
  }
}
