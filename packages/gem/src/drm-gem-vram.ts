/**
 * VRAM-backed GEM objects (`drivers/gpu/drm/drm_gem_vram_helper.c`, with TTM's placement and
 * eviction reduced to what a simulated driver needs).
 *
 * A `DrmVramManager` owns a device-memory range at a physical (BAR) base, carved up by a
 * `DrmBuddy`. A `DrmGemVramObject` lives either there or in system memory; its bytes are kept in a
 * `BackingStore` whose placement says which, so moving it keeps every byte, like TTM's blit.
 *
 * - Pinning keeps an object where it is (`drm_gem_vram_pin`); pinning to VRAM moves it there first.
 * - When VRAM is full, placing an object evicts others, least recently placed first. Only
 *   unpinned objects whose resv can be taken without blocking (a trylock, as TTM's eviction does
 *   from a context that already holds locks) and whose fences have all signalled are evicted:
 *   waiting for a busy buffer here would be a wait in the middle of a placement.
 * - An evicted object that was exported tells its dynamic importers to drop their mappings
 *   (`dma_buf_invalidate_mappings`) before its pages move.
 */
import {
  BackingStore,
  type Device,
  type IosysMap,
  type Placement,
  type SgTable,
  sgTableFromRuns,
  systemPlacement,
  type VmArea,
} from "@drmsim/dma-buf";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  type Allocation,
  frameList,
  GFP_KERNEL,
  isKernelError,
  KernelError,
  MAP_PRIVATE,
  type Simulator,
} from "@drmsim/runtime";
import { DrmBuddy, type DrmBuddyBlock, DrmBuddyFlag } from "./drm-buddy.js";
import { DrmGemObject, type DrmGemObjectFuncs, type DrmGemObjectOptions } from "./drm-gem-object.js";
import { GEM_TRACK, traceDrmGemVramMove } from "./trace.js";

/** Where a VRAM helper object is (`TTM_PL_VRAM` / `TTM_PL_SYSTEM`). */
export type DrmGemVramDomain = "vram" | "system";

/** Options of `new DrmVramManager()`. */
export interface DrmVramManagerOptions {
  /** Bytes of device memory. */
  size: number;
  /** Physical (BAR) address of the first byte. */
  base: number;
  /** Allocation granule (the buddy's chunk size); default 4 KiB. */
  chunkSize?: number;
  /** Objects take one contiguous range (the vram helper's range manager); default true. */
  contiguous?: boolean;
  /** The device DMA tables are built for. */
  dmaDev?: Device;
  name?: string;
}

/** A device's VRAM: the buddy allocator over it and the eviction order. */
export class DrmVramManager {
  readonly buddy: DrmBuddy;
  readonly base: number;
  readonly contiguous: boolean;
  readonly name: string;
  readonly dmaDev: Device | undefined;
  /** Objects resident in VRAM, least recently placed first. */
  readonly lru = new Set<DrmGemVramObject>();
  /** Objects evicted so far. */
  evictions = 0;

  constructor(
    readonly sim: Simulator,
    opts: DrmVramManagerOptions,
  ) {
    if (!Number.isSafeInteger(opts.base) || opts.base < 0 || opts.base % 4096 !== 0)
      throw new KernelError("EINVAL", `VRAM base 0x${opts.base.toString(16)} must be page aligned`);
    this.buddy = DrmBuddy.init(opts.size, opts.chunkSize ?? 4096);
    this.base = opts.base;
    this.contiguous = opts.contiguous ?? true;
    this.name = opts.name ?? "vram";
    this.dmaDev = opts.dmaDev;
  }

  /** Free bytes of VRAM. */
  get avail(): number {
    return this.buddy.avail;
  }

  /** `ttm_resource_manager_evict_all`-style: evicts every evictable object; returns how many. */
  evictAll(): number {
    let n = 0;
    for (const o of [...this.lru]) if (this.tryEvict(o)) n++;
    return n;
  }

  /** @internal Allocates blocks for `size` bytes, evicting others when needed. ENOSPC if it cannot. */
  allocFor(obj: DrmGemVramObject): DrmBuddyBlock[] {
    const size = Math.ceil(obj.size / this.buddy.chunkSize) * this.buddy.chunkSize;
    const flags = this.contiguous ? DrmBuddyFlag.CONTIGUOUS : 0;
    for (;;) {
      try {
        return this.buddy.alloc({ size, flags });
      } catch (e) {
        if (!isKernelError(e, "ENOSPC")) throw e;
      }
      let evicted = false;
      for (const victim of this.lru) {
        if (victim === obj) continue;
        if (this.tryEvict(victim)) {
          evicted = true;
          break;
        }
      }
      if (!evicted)
        throw new KernelError(
          "ENOSPC",
          `${this.name}: no room for ${obj.size} bytes and nothing left to evict (${this.buddy.avail} bytes free)`,
        );
    }
  }

  private tryEvict(victim: DrmGemVramObject): boolean {
    if (victim.pinCount > 0 || victim.domain !== "vram") return false;
    if (!victim.resv.trylock()) return false;
    try {
      if (victim.pinCount > 0 || !victim.resv.testSignaled(DmaResvUsage.BOOKKEEP)) return false;
      victim.evictLocked();
      return true;
    } finally {
      victim.resv.unlock();
    }
  }
}

/** Options of `DrmGemVramObject.create`. */
export interface DrmGemVramOptions extends DrmGemObjectOptions<DrmGemVramObject> {
  /** Start in system memory instead of trying VRAM first. */
  domain?: DrmGemVramDomain;
}

/** Default funcs of VRAM objects (`drm_gem_vram_object_funcs`). */
export const drmGemVramFuncs: DrmGemObjectFuncs<DrmGemVramObject> = {
  free: (obj) => obj.freeVram(),
  pin: (obj) => obj.pinLocked(),
  unpin: (obj) => obj.unpinLocked(),
  getSgTable: (obj, dev) => obj.getSgTable(dev),
  vmap: (obj) => obj.vmapLocked(),
  vunmap: (obj, map) => obj.vunmapLocked(map),
  mmap: (obj, vma) => obj.mmap(vma),
  status: () => ({ resident: true, purgeable: false }),
  rss: (obj) => obj.size,
};

/** `struct drm_gem_vram_object`. Create with `DrmGemVramObject.create` (`drm_gem_vram_create`). */
export class DrmGemVramObject extends DrmGemObject {
  /** The bytes; the placement says VRAM or system memory. */
  readonly store: BackingStore;
  /** The VRAM blocks while in VRAM, else null. */
  blocks: DrmBuddyBlock[] | null = null;
  /** `gbo->bo.pin_count`. */
  pinCount = 0;
  /** `gbo->vmap_use_count`. */
  vmapUseCount = 0;
  private vaddr: IosysMap | null = null;
  /** The accounted system pages while in system memory. */
  private sysmem: Allocation | null = null;

  private constructor(
    sim: Simulator,
    readonly vram: DrmVramManager,
    size: number,
    opts: DrmGemVramOptions,
  ) {
    super(sim, size, { ...opts, funcs: (opts.funcs ?? drmGemVramFuncs) as DrmGemObjectFuncs<DrmGemObject> });
    // Starts with system-memory addresses; `create` accounts them or moves the object into VRAM.
    this.store = new BackingStore(size, systemPlacement(sim, size));
  }

  /**
   * `drm_gem_vram_create(dev, size, pg_align)`: a new object, placed in VRAM if it fits (evicting
   * others if needed), else in system memory (accounted with `sim.mm`; ENOMEM when that fails
   * too). EINVAL for a size that is not a positive page multiple.
   */
  static create(
    sim: Simulator,
    vram: DrmVramManager,
    size: number,
    opts: DrmGemVramOptions = {},
  ): DrmGemVramObject {
    const obj = new DrmGemVramObject(sim, vram, size, opts);
    try {
      if (opts.domain !== "system") {
        try {
          obj.placeInVram();
          return obj;
        } catch (e) {
          if (!isKernelError(e, "ENOSPC")) throw e;
        }
      }
      obj.placeInSystem();
      return obj;
    } catch (e) {
      obj.put();
      throw e;
    }
  }

  /** The current domain. */
  get domain(): DrmGemVramDomain {
    return this.blocks !== null ? "vram" : "system";
  }

  /**
   * `drm_gem_vram_offset()`: the object's offset in VRAM. ENODEV unless it is pinned (an unpinned
   * object may move at any time, so its offset means nothing), or if it is pinned in system memory.
   */
  get gpuOffset(): number {
    if (this.pinCount === 0 || this.blocks === null)
      throw new KernelError("ENODEV", `${this.label} is not pinned in VRAM; its offset is not stable`);
    return Math.min(...this.blocks.map((b) => b.offset));
  }

  /**
   * `drm_gem_vram_pin_locked(gbo, pl_flag)`: pins in place, or first moves to `domain` (resv
   * held). Moving into VRAM may evict other objects; ENOSPC if there is no room even then.
   * Moving a pinned object elsewhere is EBUSY.
   */
  pinLocked(domain?: DrmGemVramDomain): void {
    this.resv.assertHeld("drm_gem_vram_pin");
    if (domain !== undefined && domain !== this.domain) {
      if (this.pinCount > 0)
        throw new KernelError(
          "EBUSY",
          `${this.label} is pinned in ${this.domain} and cannot move to ${domain}`,
        );
      if (domain === "vram") this.moveToVramLocked();
      else this.evictLocked();
    }
    this.pinCount++;
  }

  /** `drm_gem_vram_unpin_locked()`. An unpin without a pin is reported (`gem-unbalanced`) and refused. */
  unpinLocked(): void {
    this.resv.assertHeld("drm_gem_vram_unpin");
    if (this.pinCount === 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "gem-unbalanced",
        title: `drm_gem_vram_unpin on ${this.describe()}: unpin without pin`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation: "Every unpin must match an earlier pin.",
      });
      throw new KernelError("EINVAL", `${this.label} is not pinned`);
    }
    this.pinCount--;
  }

  /** `drm_gem_vram_pin()`: lock, pin, unlock. */
  async pin(domain?: DrmGemVramDomain): Promise<void> {
    await this.resv.lockInterruptible(null);
    try {
      this.pinLocked(domain);
    } finally {
      this.resv.unlock();
    }
  }

  /** `drm_gem_vram_unpin()`. */
  async unpin(): Promise<void> {
    await this.resv.lock(null);
    try {
      this.unpinLocked();
    } finally {
      this.resv.unlock();
    }
  }

  /**
   * Moves the object into VRAM (`ttm_bo_validate` to VRAM), evicting others if needed; bytes are
   * kept. Resv held. EBUSY while pinned in system memory; ENOSPC when VRAM cannot make room.
   */
  moveToVramLocked(): void {
    this.resv.assertHeld("drm_gem_vram move to VRAM");
    if (this.blocks !== null) return;
    if (this.pinCount > 0) throw new KernelError("EBUSY", `${this.label} is pinned in system memory`);
    this.invalidateImporters();
    this.placeInVram();
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDrmGemVramMove, GEM_TRACK, {
        obj: this.label,
        size: this.size,
        from: "system",
        to: "vram",
        evict: false,
      });
  }

  /**
   * Evicts the object to system memory (`ttm_bo_evict`), keeping its bytes. Resv held. EBUSY while
   * pinned; ENOMEM if system memory cannot take it (it then stays in VRAM).
   */
  evictLocked(): void {
    this.resv.assertHeld("drm_gem_vram evict");
    if (this.blocks === null) return;
    if (this.pinCount > 0)
      throw new KernelError("EBUSY", `${this.label} is pinned in VRAM and cannot be evicted`);
    const sysmem = this.sim.mm.kmalloc(this.size, GFP_KERNEL, "drm_gem_vram_evict");
    this.invalidateImporters();
    const blocks = this.blocks;
    this.store.move(this.systemPlacementFor());
    this.sysmem = sysmem;
    this.blocks = null;
    this.vram.lru.delete(this);
    this.vram.buddy.free(blocks);
    this.vram.evictions++;
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDrmGemVramMove, GEM_TRACK, {
        obj: this.label,
        size: this.size,
        from: "vram",
        to: "system",
        evict: true,
      });
  }

  /** A DMA table of the current placement for `dev` (VRAM addresses are the BAR's). */
  getSgTable(dev?: Device): SgTable {
    const d = dev ?? this.vram.dmaDev;
    if (d === undefined) throw new KernelError("EINVAL", `${this.label}: no device to map the table for`);
    return sgTableFromRuns(this.store.placement.runs, { dev: d, backing: this.store });
  }

  /** `drm_gem_vram_vmap()` (resv held): pins in place and maps; shared by all users. */
  vmapLocked(): IosysMap {
    this.resv.assertHeld("drm_gem_vram_vmap");
    if (this.vmapUseCount++ > 0) return this.vaddr!;
    this.pinLocked();
    const store = this.store;
    const map: IosysMap = {
      read: (o, l) => {
        if (this.vaddr !== map) throw new KernelError("EFAULT", `read through a stale vmap of ${this.label}`);
        return store.read(o, l);
      },
      write: (o, b) => {
        if (this.vaddr !== map)
          throw new KernelError("EFAULT", `write through a stale vmap of ${this.label}`);
        store.write(o, b);
      },
    };
    this.vaddr = map;
    return map;
  }

  /** `drm_gem_vram_vunmap()` (resv held). */
  vunmapLocked(map: IosysMap): void {
    this.resv.assertHeld("drm_gem_vram_vunmap");
    if (this.vmapUseCount === 0 || map !== this.vaddr)
      throw new KernelError("EINVAL", `${this.label}: vunmap of a mapping it did not hand out`);
    if (--this.vmapUseCount === 0) {
      this.vaddr = null;
      this.unpinLocked();
    }
  }

  /**
   * `drm_gem_vram_mmap` (TTM's `ttm_bo_mmap_obj`): the CPU reaches the object wherever it is (VRAM
   * through the BAR, or system pages); `EINVAL` for a private (copy-on-write) mapping or a range
   * beyond the object.
   */
  mmap(vma: VmArea): void {
    if (((vma.flags ?? 0) & MAP_PRIVATE) !== 0)
      throw new KernelError("EINVAL", `mmap of ${this.label}: a private (copy-on-write) mapping`);
    if (vma.pgoff * 4096 + vma.length > this.size)
      throw new KernelError(
        "EINVAL",
        `mmap of ${vma.length} bytes at page ${vma.pgoff} is outside ${this.label}`,
      );
    const store = this.store;
    vma.vmOps = { read: (o, l) => store.read(o, l), write: (o, b) => store.write(o, b) };
  }

  /** The `free` op: gives back VRAM blocks or system pages. */
  freeVram(): void {
    if (this.pinCount > 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "gem-freed-in-use",
        title: `${this.describe()} freed while pinned ${this.pinCount} time(s)`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation: "Every pin must be undone before the last reference to the object is dropped.",
      });
    }
    if (this.blocks !== null) this.vram.buddy.free(this.blocks);
    this.blocks = null;
    this.vram.lru.delete(this);
    this.sysmem?.free();
    this.sysmem = null;
  }

  private placeInVram(): void {
    const blocks = this.vram.allocFor(this);
    this.store.move(this.vramPlacement(blocks));
    this.sysmem?.free();
    this.sysmem = null;
    this.blocks = blocks;
    this.vram.lru.add(this);
  }

  private placeInSystem(): void {
    this.sysmem = this.sim.mm.kmalloc(this.size, GFP_KERNEL, "drm_gem_vram_create");
  }

  private vramPlacement(blocks: readonly DrmBuddyBlock[]): Placement {
    const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
    const runs: { address: number; length: number }[] = [];
    let left = this.size;
    for (const b of sorted) {
      if (left <= 0) break;
      const len = Math.min(b.size, left);
      const last = runs[runs.length - 1];
      if (last !== undefined && last.address + last.length === this.vram.base + b.offset) last.length += len;
      else runs.push({ address: this.vram.base + b.offset, length: len });
      left -= len;
    }
    return { domain: "device", runs };
  }

  private systemPlacementFor(): Placement {
    // Fresh system pages at new addresses, as the page allocator would hand out.
    return systemPlacement(this.sim, this.size);
  }

  private invalidateImporters(): void {
    const buf = this.dmaBuf;
    if (buf === null || buf.attachments.length === 0) return;
    buf.invalidateMappings();
  }
}
