/**
 * `struct amdgpu_bo` and the memory manager (`amdgpu_object.c`, `amdgpu_ttm.c`, `amdgpu_vram_mgr.c`,
 * with TTM's placement, eviction and swap reduced to what the simulation needs).
 *
 * A BO lives in one of three domains: VRAM (blocks of the device's `DrmBuddy`, through the GEM
 * VRAM helper's `DrmVramManager`), GTT (system pages the GPU reaches through the GART, accounted
 * with `sim.mm`) or CPU (swapped out: no pages the GPU can use; brought back at the next CS).
 *
 * Moves are pipelined as in TTM (`ttm_bo_move_accel_cleanup`): the BO's bookkeeping switches at
 * once, and an SDMA copy job — which depends on every fence of the BO, so it starts only when the
 * BO is idle — does the copy. Its finished fence enters the BO's reservation object with KERNEL
 * usage, so every later user (CS, importers, CPU access) waits for the copy. The VRAM the BO
 * left is reused at once too; a BO placed there waits for the copy-out through the manager's move
 * fence (`ttm_bo_add_move_fence`). Eviction never waits on the CPU: not for a busy BO and not
 * for a user queue — a user-queue BO carries an eviction fence, and the copy job depending on it
 * is what makes the queue be preempted (seed 001).
 *
 * Under system-memory pressure the shrinker (`amdgpu_ttm_swapout`-like) swaps idle GTT BOs out;
 * it only trylocks and skips busy BOs, since reclaim must not wait behind locks held by callers
 * that are themselves allocating.
 */
import { BackingStore, type Placement, type SgTable, systemPlacement } from "@drmsim/dma-buf";
import type { DmaFence } from "@drmsim/dma-fence";
import { type DmaResv, DmaResvUsage } from "@drmsim/dma-resv";
import { DrmSchedEntity, DrmSchedPriority } from "@drmsim/drm-sched";
import { type DrmBuddyBlock, DrmGemObject, type DrmVramManager } from "@drmsim/gem";
import {
  type Allocation,
  GFP_KERNEL,
  isKernelError,
  KernelError,
  type Process,
  type Shrinker,
} from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_GEM_DOMAIN_DOORBELL, AMDGPU_GEM_DOMAIN_GTT, AMDGPU_GEM_DOMAIN_VRAM } from "./amdgpu-drm.js";
import { AmdgpuJob } from "./amdgpu-job.js";
import { AMDGPU_FENCE_OWNER_UNDEFINED } from "./amdgpu-sync.js";
import { amdgpuTrack, traceAmdgpuBoMove } from "./amdgpu-trace.js";
import type { AmdgpuBoVa } from "./amdgpu-vm.js";

/** `allowed_domains` from `preferred_domains`: a VRAM-only BO may still be evicted to GTT. */
export function amdgpuAllowedDomains(preferred: number): number {
  return preferred === AMDGPU_GEM_DOMAIN_VRAM ? preferred | AMDGPU_GEM_DOMAIN_GTT : preferred;
}

/** Where a BO is now (`bo->tbo.resource->mem_type`). */
export type AmdgpuBoDomain = "vram" | "gtt" | "cpu";

/** A userptr BO's range (`amdgpu_ttm_tt` userptr fields + its `mmu_interval_notifier`). */
export interface AmdgpuUserptr {
  readonly proc: Process;
  readonly addr: number;
  readonly size: number;
  readonly readonly: boolean;
  /** `mmu_interval_notifier.invalidate_seq`: bumped by every invalidation of the range. */
  seq: number;
}

/** Options of `new AmdgpuBo()`. */
export interface AmdgpuBoOptions {
  /** `AMDGPU_GEM_DOMAIN_*` bits the BO prefers (`preferred_domains`; `allowed_domains` adds GTT to VRAM-only). */
  domains: number;
  /** `AMDGPU_GEM_CREATE_*` flags (`bo->flags`). */
  flags?: number;
  /** `bo->tbo.page_alignment` in bytes (a page at least). */
  alignment?: number;
  /** A shared reservation object (an import's dma-buf resv). */
  resv?: DmaResv;
  label?: string;
  userptr?: AmdgpuUserptr;
}

/** The metadata GEM_METADATA sets: tiling and up to 256 opaque bytes for importers (`amdgpu_bo_set_metadata`). */
export interface AmdgpuBoMetadata {
  flags: bigint;
  tilingFlags: bigint;
  data: Uint8Array;
}

/** `struct amdgpu_bo`. Created by GEM_CREATE, GEM_USERPTR or a PRIME import. */
export class AmdgpuBo extends DrmGemObject {
  /** The bytes; the placement says where they are. */
  readonly store: BackingStore;
  /** Current domain. */
  domain: AmdgpuBoDomain = "cpu";
  /** `bo->preferred_domains`: `AMDGPU_GEM_DOMAIN_*` bits (GEM_OP SET_PLACEMENT changes them). */
  domains: number;
  /** `bo->allowed_domains`: the preferred ones, plus GTT for a VRAM-only BO. */
  allowedDomains: number;
  /** `bo->flags`: the `AMDGPU_GEM_CREATE_*` flags it was created with. */
  readonly flags: number;
  /** The alignment it was created with, in bytes. */
  readonly alignment: number;
  /** What GEM_METADATA set. */
  metadata: AmdgpuBoMetadata = { flags: 0n, tilingFlags: 0n, data: new Uint8Array(0) };
  /** `bo->vm_bo`: the BO's presence in each VM that has a handle to it. */
  readonly vmBos = new Set<AmdgpuBoVa>();
  /** A VM's root page directory (never mapped, never in a BO list). */
  isPageTable = false;
  /** VRAM blocks while in VRAM. */
  blocks: DrmBuddyBlock[] | null = null;
  /** Accounted system pages while in GTT (null for userptr: those are the process's own pages). */
  gttPages: Allocation | null = null;
  /** `bo->tbo.pin_count`. */
  pinCount = 0;
  /** Set for userptr BOs. */
  readonly userptr: AmdgpuUserptr | null;
  /** Import side: the mapping of the foreign dma-buf, null while invalidated (remapped by the next CS). */
  importSgt: SgTable | null = null;
  /** Import side: the dma-buf (a reference, dropped at free). */
  importBuf: import("@drmsim/dma-buf").DmaBuf | null = null;
  /** Import side: how often the mapping was (re)established and invalidated. */
  remaps = 0;
  invalidations = 0;

  constructor(
    readonly adev: AmdgpuDevice,
    size: number,
    opts: AmdgpuBoOptions,
  ) {
    super(adev.sim, size, { dev: adev.drm, resv: opts.resv, label: opts.label });
    this.domains = opts.domains;
    this.allowedDomains = amdgpuAllowedDomains(opts.domains);
    this.flags = opts.flags ?? 0;
    this.alignment = Math.max(opts.alignment ?? 0, 4096);
    this.userptr = opts.userptr ?? null;
    this.store = new BackingStore(size, systemPlacement(adev.sim, size));
  }

  /** A doorbell page (`AMDGPU_GEM_DOMAIN_DOORBELL`): no memory, only a user queue's doorbells. */
  get isDoorbell(): boolean {
    return (this.domains & AMDGPU_GEM_DOMAIN_DOORBELL) !== 0;
  }

  /** `amdgpu_vm_bo_invalidate`: the BO moved; every VM's entries for it need an update. */
  vmInvalidate(): void {
    for (const boVa of this.vmBos) boVa.invalid = true;
  }

  override describe(): string {
    return `amdgpu_bo ${this.label} (${this.size} bytes, ${this.domain})`;
  }

  /** The `free` op: give back VRAM, GTT pages, the import. */
  freeBo(): void {
    const mman = this.adev.mman;
    if (this.blocks !== null) mman.vram.buddy.free(this.blocks);
    this.blocks = null;
    mman.vramLru.delete(this);
    mman.gttLru.delete(this);
    this.gttPages?.free();
    this.gttPages = null;
    const att = this.importAttach;
    if (att !== null) {
      if (this.importSgt !== null && this.resv.trylock()) {
        try {
          att.unmap(this.importSgt, 0);
        } finally {
          this.resv.unlock();
        }
      }
      this.importSgt = null;
      att.dmabuf.detach(att);
      this.importAttach = null;
      this.importBuf?.put();
      this.importBuf = null;
    }
  }
}

/** Counters of the memory manager. */
export interface AmdgpuMmanStats {
  /** VRAM → GTT moves under VRAM pressure. */
  evictions: number;
  /** Copy jobs submitted (evictions, migrations for importers). */
  moves: number;
  /** GTT BOs swapped out by the shrinker. */
  swapouts: number;
  /** Swapped-out BOs brought back. */
  swapins: number;
  /** Bytes copied by moves (`AMDGPU_INFO_NUM_BYTES_MOVED`). */
  bytesMoved: number;
}

/** Bytes per virtual ns the SDMA engine copies by default (16 GB/s). */
export const AMDGPU_SDMA_BYTES_PER_NS = 16;

/** `struct amdgpu_mman` + the VRAM manager: placement, pipelined moves, the shrinker. */
export class AmdgpuMman {
  /** The GEM VRAM helper's manager: the buddy allocator over the device's VRAM. */
  readonly vram: DrmVramManager;
  /** BOs in VRAM, least recently placed first (the eviction order). */
  readonly vramLru = new Set<AmdgpuBo>();
  /** BOs in GTT with accounted pages, least recently placed first (the swap order). */
  readonly gttLru = new Set<AmdgpuBo>();
  /** `adev->mman.high_pr`: the kernel's entity on the SDMA ring for buffer moves. */
  readonly moveEntity: DrmSchedEntity;
  /** `man->move`: the last copy out of VRAM; a BO placed in VRAM now waits for it. */
  vramMoveFence: DmaFence | null = null;
  readonly stats: AmdgpuMmanStats = { evictions: 0, moves: 0, swapouts: 0, swapins: 0, bytesMoved: 0 };
  private readonly unregisterShrinker: () => void;

  constructor(
    readonly adev: AmdgpuDevice,
    /** The VRAM region, from the device container (`AMDGPU_VRAM`). */
    vram: DrmVramManager,
  ) {
    const sim = adev.sim;
    this.vram = vram;
    this.moveEntity = new DrmSchedEntity(sim, DrmSchedPriority.KERNEL, [adev.sdmaRing.sched], {
      name: `${adev.name}.mman`,
    });
    const shrinker: Shrinker = {
      name: `${adev.name}-ttm-swapout`,
      count: (sc) => this.shrinkCount(sc.nrToScan),
      scan: (sc) => this.shrinkScan(sc.nrToScan),
    };
    this.unregisterShrinker = sim.mm.registerShrinker(shrinker);
    const mem = { process: adev.name, thread: "memory" };
    this.unprobe = [
      sim.tracer.probeCounter(mem, "VRAM", "used bytes", () => this.vram.buddy.size - this.vram.buddy.avail),
      sim.tracer.probeCounter(mem, "GTT", "used bytes", () => {
        let n = 0;
        for (const bo of this.gttLru) n += bo.gttPages?.size ?? 0;
        return n;
      }),
    ];
  }

  /** Stops the VRAM and GTT counters of a trace (`fini`). */
  private readonly unprobe: (() => void)[];

  /** Copy time of `size` bytes on SDMA. */
  copyNs(size: number): number {
    return Math.ceil(size / this.adev.config.sdmaBytesPerNs);
  }

  /**
   * `amdgpu_bo_create` placement: VRAM if allowed and room can be made (evicting others), else
   * GTT if allowed, else `ENOMEM`. The BO's resv must be held (a fresh BO: trylock).
   */
  placeNew(bo: AmdgpuBo): void {
    bo.resv.assertHeld("amdgpu_bo_create");
    if ((bo.domains & AMDGPU_GEM_DOMAIN_VRAM) !== 0) {
      try {
        this.placeInVram(bo);
        return;
      } catch (e) {
        if (!isKernelError(e, "ENOSPC") || (bo.domains & AMDGPU_GEM_DOMAIN_GTT) === 0) {
          if (isKernelError(e, "ENOSPC"))
            throw new KernelError("ENOMEM", `${bo.label}: VRAM is full and nothing can be evicted`);
          throw e;
        }
      }
    }
    if ((bo.domains & AMDGPU_GEM_DOMAIN_GTT) !== 0) {
      this.populateGtt(bo);
      return;
    }
    bo.domain = "cpu";
  }

  /**
   * `amdgpu_vram_mgr_new` + `ttm_bo_mem_space`'s eviction loop: allocate VRAM blocks, evicting
   * least recently placed BOs (unpinned, lockable without blocking) to GTT until it fits.
   * `ENOSPC` if nothing more can be evicted. Resv of `bo` held.
   */
  placeInVram(bo: AmdgpuBo): void {
    const buddy = this.vram.buddy;
    const size = Math.ceil(bo.size / buddy.chunkSize) * buddy.chunkSize;
    if (size > buddy.size) throw new KernelError("ENOSPC", `${bo.label} is larger than VRAM`);
    let blocks: DrmBuddyBlock[] | null = null;
    while (blocks === null) {
      try {
        blocks = buddy.alloc({ size });
      } catch (e) {
        if (!isKernelError(e, "ENOSPC")) throw e;
        if (!this.evictOne(bo))
          throw new KernelError(
            "ENOSPC",
            `${this.vram.name}: no room for ${bo.size} bytes and nothing left to evict (${buddy.avail} bytes free)`,
          );
      }
    }
    const prevPages = bo.gttPages;
    bo.blocks = blocks;
    bo.store.move(this.vramPlacement(bo, blocks));
    bo.domain = "vram";
    bo.gttPages = null;
    prevPages?.free();
    this.gttLru.delete(bo);
    this.vramLru.add(bo);
    const move = this.vramMoveFence;
    if (move !== null && !move.isSignaled()) {
      // The blocks may still be copied out of: the new owner waits for that copy.
      bo.resv.reserveFences(1);
      bo.resv.addFence(move, DmaResvUsage.KERNEL);
    }
  }

  private evictOne(except: AmdgpuBo): boolean {
    for (const victim of this.vramLru) {
      if (victim === except || victim.pinCount > 0) continue;
      if (!victim.resv.trylock()) continue;
      try {
        if (victim.pinCount > 0) continue;
        this.moveToGttLocked(victim);
        this.stats.evictions++;
        return true;
      } catch (e) {
        if (!isKernelError(e, "ENOMEM")) throw e;
      } finally {
        victim.resv.unlock();
      }
    }
    return false;
  }

  /**
   * `amdgpu_bo_move` VRAM → GTT, pipelined: allocate GTT pages (may enter reclaim), tell dynamic
   * importers their mappings are going, and submit the SDMA copy, which waits for every fence of
   * the BO (including a user queue's eviction fence). The copy fence goes into the resv as KERNEL.
   * Resv held. `ENOMEM` (state unchanged) when no system memory can be found.
   */
  moveToGttLocked(bo: AmdgpuBo): DmaFence | null {
    bo.resv.assertHeld("amdgpu_bo_move");
    if (bo.domain === "cpu") {
      this.swapInLocked(bo);
      return null;
    }
    if (bo.domain === "gtt") return null;
    const pages = this.adev.sim.mm.kmalloc(bo.size, GFP_KERNEL, "amdgpu_ttm_tt_populate");
    const job = new AmdgpuJob(this.adev, this.moveEntity, "move", AMDGPU_FENCE_OWNER_UNDEFINED);
    job.kernelNs = this.copyNs(bo.size);
    job.label = `move ${bo.label}`;
    try {
      job.addResvDependencies(bo.resv, DmaResvUsage.BOOKKEEP);
      bo.resv.reserveFences(1);
    } catch (e) {
      job.cleanup();
      pages.free();
      throw e;
    }
    // Point of no return.
    if (bo.dmaBuf !== null && bo.dmaBuf.attachments.length > 0) bo.dmaBuf.invalidateMappings();
    job.arm();
    const fence = job.finished;
    bo.resv.addFence(fence, DmaResvUsage.KERNEL);
    const blocks = bo.blocks!;
    this.vram.buddy.free(blocks);
    this.vram.evictions++;
    this.vramLru.delete(bo);
    bo.blocks = null;
    this.setVramMoveFence(fence);
    bo.gttPages = pages;
    bo.store.move(systemPlacement(this.adev.sim, bo.size));
    bo.domain = "gtt";
    this.gttLru.add(bo);
    this.stats.moves++;
    this.stats.bytesMoved += bo.size;
    bo.vmInvalidate();
    this.traceMove(bo, "vram", "gtt");
    this.moveEntity.pushJob(job);
    return fence;
  }

  /**
   * `amdgpu_cs_bo_validate`: before a CS uses a BO, bring it where it wants to be — a swapped-out
   * BO gets pages again, and a BO that prefers VRAM but was evicted moves back if VRAM has room
   * now (without evicting anyone: the kernel throttles CS-time moves, drmsim only takes free
   * space). Resv held. `ENOMEM` if a swapped-out BO cannot get pages.
   *
   * An exported BO that importers are attached to stays where it is (the kernel validates it to
   * its allowed domains, not its preferred ones): it is in GTT because an importer cannot reach
   * VRAM, and moving it back would only invalidate that importer's mapping and have the next map
   * move it out again — a copy each way on every frame of a shared buffer.
   */
  validateLocked(bo: AmdgpuBo): void {
    bo.resv.assertHeld("amdgpu_cs_bo_validate");
    if (bo.domain === "cpu") this.swapInLocked(bo);
    if (
      bo.domain === "gtt" &&
      (bo.domains & AMDGPU_GEM_DOMAIN_VRAM) !== 0 &&
      bo.pinCount === 0 &&
      bo.userptr === null &&
      !bo.isImported &&
      (bo.dmaBuf === null || bo.dmaBuf.attachments.length === 0)
    )
      this.moveToVramLocked(bo);
  }

  /**
   * `amdgpu_bo_move` GTT → VRAM, pipelined like eviction: VRAM blocks now, an SDMA copy after the
   * BO's fences (and after any copy still reading those blocks), the GTT pages freed when the
   * copy is done. Returns false (nothing changed) when VRAM has no free room. Resv held.
   */
  moveToVramLocked(bo: AmdgpuBo): boolean {
    bo.resv.assertHeld("amdgpu_bo_move");
    if (bo.domain !== "gtt" || bo.gttPages === null) return false;
    const buddy = this.vram.buddy;
    const size = Math.ceil(bo.size / buddy.chunkSize) * buddy.chunkSize;
    if (buddy.avail < size) return false;
    let blocks: DrmBuddyBlock[];
    try {
      blocks = buddy.alloc({ size });
    } catch (e) {
      if (isKernelError(e, "ENOSPC")) return false;
      throw e;
    }
    const job = new AmdgpuJob(this.adev, this.moveEntity, "move", AMDGPU_FENCE_OWNER_UNDEFINED);
    job.kernelNs = this.copyNs(bo.size);
    job.label = `move ${bo.label}`;
    try {
      job.addResvDependencies(bo.resv, DmaResvUsage.BOOKKEEP);
      const prev = this.vramMoveFence;
      if (prev !== null && !prev.isSignaled()) job.addDependency(prev.get());
      bo.resv.reserveFences(1);
    } catch (e) {
      job.cleanup();
      buddy.free(blocks);
      throw e;
    }
    if (bo.dmaBuf !== null && bo.dmaBuf.attachments.length > 0) bo.dmaBuf.invalidateMappings();
    job.arm();
    const fence = job.finished;
    bo.resv.addFence(fence, DmaResvUsage.KERNEL);
    // The copy still reads the GTT pages: they go back when it is done (irq context; kfree is fine there).
    const pages = bo.gttPages;
    if (fence.addCallback({ func: () => pages.free() }) !== 0) pages.free();
    bo.gttPages = null;
    this.gttLru.delete(bo);
    bo.blocks = blocks;
    bo.store.move(this.vramPlacement(bo, blocks));
    bo.domain = "vram";
    this.vramLru.add(bo);
    this.stats.moves++;
    this.stats.bytesMoved += bo.size;
    bo.vmInvalidate();
    this.traceMove(bo, "gtt", "vram");
    this.moveEntity.pushJob(job);
    return true;
  }

  /** `ttm_tt_swapin`: a swapped-out BO gets GTT pages again (resv held). `ENOMEM` if none can be found. */
  swapInLocked(bo: AmdgpuBo): void {
    bo.resv.assertHeld("ttm_tt_swapin");
    if (bo.domain !== "cpu" || bo.userptr !== null || bo.isImported || bo.isDoorbell || bo.isPageTable)
      return;
    this.populateGtt(bo);
    this.stats.swapins++;
    bo.vmInvalidate();
  }

  private populateGtt(bo: AmdgpuBo): void {
    bo.gttPages = this.adev.sim.mm.kmalloc(bo.size, GFP_KERNEL, "amdgpu_ttm_tt_populate");
    bo.store.move(systemPlacement(this.adev.sim, bo.size));
    bo.domain = "gtt";
    this.gttLru.add(bo);
  }

  private traceMove(bo: AmdgpuBo, from: string, to: string): void {
    const sim = this.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuBoMove, amdgpuTrack(this.adev.name), {
        bo: bo.label,
        size: bo.size,
        from,
        to,
        evict: to !== "vram",
      });
  }

  private setVramMoveFence(f: DmaFence): void {
    const old = this.vramMoveFence;
    this.vramMoveFence = f.get();
    old?.put();
  }

  private swappable(bo: AmdgpuBo): boolean {
    return bo.pinCount === 0 && bo.gttPages !== null && bo.userptr === null && !bo.isImported;
  }

  private shrinkCount(_want: number): number {
    let n = 0;
    for (const bo of this.gttLru)
      if (this.swappable(bo) && bo.resv.testSignaled(DmaResvUsage.BOOKKEEP)) n += bo.size;
    return n;
  }

  /**
   * The shrinker's scan (`ttm_bo_swapout`): idle, unpinned GTT BOs lose their pages, oldest
   * first. Trylock only, and busy BOs are skipped: reclaim runs in whatever context allocated,
   * possibly one holding other BOs' locks.
   */
  private shrinkScan(want: number): number {
    let freed = 0;
    for (const bo of [...this.gttLru]) {
      if (freed >= want) break;
      if (!this.swappable(bo) || !bo.resv.trylock()) continue;
      try {
        if (!this.swappable(bo) || !bo.resv.testSignaled(DmaResvUsage.BOOKKEEP)) continue;
        if (bo.dmaBuf !== null && bo.dmaBuf.attachments.length > 0) bo.dmaBuf.invalidateMappings();
        bo.gttPages!.free();
        bo.gttPages = null;
        bo.store.retire(); // the pages left memory: tables made before are stale
        bo.domain = "cpu";
        this.gttLru.delete(bo);
        this.stats.swapouts++;
        bo.vmInvalidate();
        this.traceMove(bo, "gtt", "cpu");
        freed += bo.size;
      } finally {
        bo.resv.unlock();
      }
    }
    return freed;
  }

  private vramPlacement(bo: AmdgpuBo, blocks: readonly DrmBuddyBlock[]): Placement {
    const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
    const runs: { address: number; length: number }[] = [];
    let left = bo.size;
    for (const b of sorted) {
      if (left <= 0) break;
      const len = Math.min(b.size, left);
      const address = this.vram.base + b.offset;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.address + last.length === address) last.length += len;
      else runs.push({ address, length: len });
      left -= len;
    }
    return { domain: "device", runs };
  }

  /** Teardown: the shrinker goes, the move entity and fence are released. */
  fini(): void {
    this.unregisterShrinker();
    for (const u of this.unprobe) u();
    this.moveEntity.fini();
    this.vramMoveFence?.put();
    this.vramMoveFence = null;
  }
}
