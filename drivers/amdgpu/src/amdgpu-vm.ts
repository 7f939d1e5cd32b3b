/**
 * The GPU virtual memory of one file (`amdgpu_vm.c`, `struct amdgpu_vm`): which BO backs which GPU
 * address, and the page-table updates that make a mapping real.
 *
 * Each open file has a VM. A BO gets a `bo_va` in it when the file gets a handle to the BO
 * (`amdgpu_gem_object_open`); GEM_VA maps ranges of the BO into the VM. The interval tree
 * changes at once; the page tables change through a *page-table update* job on an SDMA ring,
 * whose fence is the VM's `last_update`. Every CS waits for it, so a submission never runs on
 * page tables that do not yet show its mappings. An unmapped range goes to the `freed` list; the
 * update that clears its entries waits for the VM's own jobs still running (they may use it).
 * When memory management moves a BO, its `bo_va`s become invalid and the next CS updates their
 * entries after the move.
 *
 * VM_ALWAYS_VALID BOs share the reservation object of the VM's root page directory, so locking
 * the root locks them all, and CS fences on the root cover them.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { DrmSchedEntity, DrmSchedPriority } from "@drmsim/drm-sched";
import { KernelError } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_VM_PAGE_WRITEABLE } from "./amdgpu-drm.js";
import { AmdgpuJob } from "./amdgpu-job.js";
import { AmdgpuBo } from "./amdgpu-object.js";
import { AMDGPU_FENCE_OWNER_VM, AmdgpuSync, AmdgpuSyncMode } from "./amdgpu-sync.js";

/** `AMDGPU_GPU_PAGE_SIZE`. */
export const AMDGPU_GPU_PAGE_SIZE = 4096;
/** `AMDGPU_VA_RESERVED_BOTTOM`: the first 64 KiB of the VA space are the kernel's. */
export const AMDGPU_VA_RESERVED_BOTTOM = 1 << 16;
/** `AMDGPU_VA_RESERVED_TOP`: trap handler, seq64 and CSA areas at the top of the VA space. */
export const AMDGPU_VA_RESERVED_TOP = (2 << 12) + (2 << 20) + (2 << 20);
/** `adev->vm_manager.max_pfn` of a 48-bit VA space. */
export const AMDGPU_VM_MAX_PFN = 2 ** 36;
/** The VA space's size in bytes. */
export const AMDGPU_VM_SIZE = AMDGPU_VM_MAX_PFN * AMDGPU_GPU_PAGE_SIZE;
/** `AMDGPU_GMC_HOLE_START`: addresses from here to `AMDGPU_GMC_HOLE_END` do not exist. */
export const AMDGPU_GMC_HOLE_START = 0x0000_8000_0000_0000n;
/** `AMDGPU_GMC_HOLE_END`: the high half of the VA space starts here (sign-extended addresses). */
export const AMDGPU_GMC_HOLE_END = 0xffff_8000_0000_0000n;
/** `AMDGPU_GMC_HOLE_MASK`: what the hardware keeps of an address. */
export const AMDGPU_GMC_HOLE_MASK = 0x0000_ffff_ffff_ffffn;

/** `struct amdgpu_bo_va_mapping`: GPU pages `[start, last]` backed by the BO from byte `offset`. */
export interface AmdgpuBoVaMapping {
  start: number;
  last: number;
  /** Byte offset in the BO of the first page. */
  offset: number;
  /** `AMDGPU_VM_PAGE_*` / MTYPE bits. */
  flags: number;
  /** The `bo_va` it belongs to (null once unmapped). */
  boVa: AmdgpuBoVa | null;
}

/** `struct amdgpu_bo_va`: a BO's presence in one VM. `bo` is null for the VM's PRT `bo_va`. */
export class AmdgpuBoVa {
  readonly mappings = new Set<AmdgpuBoVaMapping>();
  /** Handles of the file to the BO (`bo_va->ref_count`). */
  refCount = 1;
  /** Its page-table entries do not match its mappings (mapped with DELAY_UPDATE, or the BO moved). */
  invalid = false;
  /** `bo_va->last_pt_update`: the fence of the last update of its entries (a reference). */
  lastPtUpdate: DmaFence | null = null;

  constructor(
    readonly vm: AmdgpuVm,
    readonly bo: AmdgpuBo | null,
  ) {}
}

/** A GPU VM fault, as `AMDGPU_INFO_GPUVM_FAULT` reports the last one. */
export interface AmdgpuVmFault {
  addr: number;
  status: number;
  vmhub: number;
}

/** A range of a BO that a GPU address range resolves to. */
export interface AmdgpuVmSpan {
  bo: AmdgpuBo;
  offset: number;
  length: number;
  mapping: AmdgpuBoVaMapping;
}

function pageAligned(v: number): boolean {
  return v % AMDGPU_GPU_PAGE_SIZE === 0;
}

/** `struct amdgpu_vm`. */
export class AmdgpuVm {
  /** The root page directory: a BO whose reservation object per-VM BOs share. */
  readonly root: AmdgpuBo;
  /** The VM's interval tree, sorted by start page. */
  private readonly va: AmdgpuBoVaMapping[] = [];
  /** Every BO's `bo_va` in this VM. */
  readonly boVas = new Map<AmdgpuBo, AmdgpuBoVa>();
  /** `fpriv->prt_va`: mappings with no BO behind them (PRT). */
  readonly prtVa: AmdgpuBoVa;
  /** `vm->freed`: unmapped ranges whose entries are not cleared yet. */
  readonly freed: AmdgpuBoVaMapping[] = [];
  /** `vm->last_update`: the newest page-table update (a reference). */
  lastUpdate: DmaFence | null = null;
  /** `vm->delayed`: the entity page-table updates run on (SDMA). */
  readonly entity: DrmSchedEntity;
  /** `vm->reserved_vmid[GFXHUB]`. */
  reservedVmid = false;
  /** The last GPU VM fault (`AMDGPU_INFO_GPUVM_FAULT`). */
  fault: AmdgpuVmFault | null = null;
  /** Page-table update jobs submitted. */
  ptUpdates = 0;

  constructor(
    readonly adev: AmdgpuDevice,
    readonly name: string,
  ) {
    this.entity = new DrmSchedEntity(adev.sim, DrmSchedPriority.NORMAL, [adev.sdmaRing.sched], {
      name: `${name}.pt`,
    });
    this.root = new AmdgpuBo(adev, AMDGPU_GPU_PAGE_SIZE, {
      domains: AMDGPU_GEM_DOMAIN_VRAM,
      label: `${name}.pd`,
    });
    this.root.isPageTable = true;
    adev.drm.initGemObject(this.root);
    this.prtVa = new AmdgpuBoVa(this, null);
  }

  toString(): string {
    return `amdgpu_vm ${this.name}`;
  }

  /** `amdgpu_vm_is_bo_always_valid`: a per-VM BO (it shares the root's reservation object). */
  isAlwaysValid(bo: AmdgpuBo): boolean {
    return bo.resv === this.root.resv;
  }

  /** `amdgpu_vm_bo_find`. */
  boFind(bo: AmdgpuBo): AmdgpuBoVa | undefined {
    return this.boVas.get(bo);
  }

  /** `amdgpu_vm_bo_add` (or one more handle to a BO already in the VM). */
  boAdd(bo: AmdgpuBo): AmdgpuBoVa {
    const existing = this.boVas.get(bo);
    if (existing !== undefined) {
      existing.refCount++;
      return existing;
    }
    const boVa = new AmdgpuBoVa(this, bo);
    this.boVas.set(bo, boVa);
    bo.vmBos.add(boVa);
    return boVa;
  }

  /** One handle fewer; at none, `amdgpu_vm_bo_del`: its mappings go to `freed`. */
  boRelease(bo: AmdgpuBo): void {
    const boVa = this.boVas.get(bo);
    if (boVa === undefined || --boVa.refCount > 0) return;
    for (const m of boVa.mappings) this.remove(m, true);
    boVa.mappings.clear();
    boVa.lastPtUpdate?.put();
    boVa.lastPtUpdate = null;
    this.boVas.delete(bo);
    bo.vmBos.delete(boVa);
  }

  /** `amdgpu_vm_bo_lookup_mapping`: the mapping holding GPU page `pfn`. */
  lookupPage(pfn: number): AmdgpuBoVaMapping | undefined {
    let lo = 0;
    let hi = this.va.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = this.va[mid]!;
      if (pfn < m.start) hi = mid - 1;
      else if (pfn > m.last) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  /** Every mapping overlapping pages `[start, last]`, in order. */
  private overlapping(start: number, last: number): AmdgpuBoVaMapping[] {
    return this.va.filter((m) => m.start <= last && start <= m.last);
  }

  private insert(m: AmdgpuBoVaMapping): void {
    let i = 0;
    while (i < this.va.length && this.va[i]!.start < m.start) i++;
    this.va.splice(i, 0, m);
  }

  private remove(m: AmdgpuBoVaMapping, toFreed: boolean): void {
    const i = this.va.indexOf(m);
    if (i >= 0) this.va.splice(i, 1);
    m.boVa = null;
    if (toFreed) this.freed.push(m);
  }

  /**
   * `amdgpu_vm_verify_parameters`: page-aligned address, offset and size, no wrap-around, inside
   * the BO and the VA space. `EINVAL` otherwise.
   */
  private verify(bo: AmdgpuBo | null, saddr: number, offset: number, size: number, what: string): void {
    if (!pageAligned(saddr) || !pageAligned(offset) || !pageAligned(size))
      throw new KernelError(
        "EINVAL",
        `${what}: address 0x${saddr.toString(16)}, offset ${offset} and size ${size} must be multiples of the ${AMDGPU_GPU_PAGE_SIZE}-byte GPU page`,
      );
    if (size === 0) throw new KernelError("EINVAL", `${what}: the size is 0`);
    if (bo !== null && offset + size > bo.size)
      throw new KernelError(
        "EINVAL",
        `${what}: ${size} bytes from offset ${offset} do not fit ${bo.label} (${bo.size} bytes)`,
      );
    if (saddr + size > AMDGPU_VM_SIZE)
      throw new KernelError(
        "EINVAL",
        `${what}: 0x${(saddr + size).toString(16)} is past the end of the VA space`,
      );
  }

  /**
   * `amdgpu_vm_bo_map`: map `size` bytes of `boVa`'s BO from `offset` at `saddr`. `EINVAL` for a
   * bad range or one overlapping an existing mapping (of any BO). The entries are written by the
   * next update of the `bo_va`.
   */
  map(boVa: AmdgpuBoVa, saddr: number, offset: number, size: number, flags: number): AmdgpuBoVaMapping {
    this.verify(boVa.bo, saddr, offset, size, "amdgpu_vm_bo_map");
    const start = saddr / AMDGPU_GPU_PAGE_SIZE;
    const last = start + size / AMDGPU_GPU_PAGE_SIZE - 1;
    const clash = this.overlapping(start, last)[0];
    if (clash !== undefined)
      throw new KernelError(
        "EINVAL",
        `amdgpu_vm_bo_map: 0x${saddr.toString(16)}-0x${((last + 1) * AMDGPU_GPU_PAGE_SIZE - 1).toString(16)} conflicts with the mapping at 0x${(clash.start * AMDGPU_GPU_PAGE_SIZE).toString(16)}-0x${((clash.last + 1) * AMDGPU_GPU_PAGE_SIZE - 1).toString(16)}`,
      );
    const m: AmdgpuBoVaMapping = { start, last, offset, flags, boVa };
    this.insert(m);
    boVa.mappings.add(m);
    boVa.invalid = true;
    return m;
  }

  /**
   * `amdgpu_vm_bo_unmap`: the mapping of `boVa` that starts at `saddr` goes to `freed`. `ENOENT`
   * when there is none.
   */
  unmap(boVa: AmdgpuBoVa, saddr: number): void {
    const start = Math.floor(saddr / AMDGPU_GPU_PAGE_SIZE);
    const m = [...boVa.mappings].find((x) => x.start === start);
    if (m === undefined)
      throw new KernelError(
        "ENOENT",
        `amdgpu_vm_bo_unmap: no mapping of this BO starts at 0x${saddr.toString(16)}`,
      );
    boVa.mappings.delete(m);
    this.remove(m, true);
  }

  /**
   * `amdgpu_vm_bo_clear_mappings`: every mapping in `[saddr, saddr + size)`, of any BO, goes; one
   * that sticks out on either side keeps the part outside the range.
   */
  clearMappings(saddr: number, size: number): void {
    this.verify(null, saddr, 0, size, "amdgpu_vm_bo_clear_mappings");
    const start = saddr / AMDGPU_GPU_PAGE_SIZE;
    const last = start + size / AMDGPU_GPU_PAGE_SIZE - 1;
    for (const m of this.overlapping(start, last)) {
      const boVa = m.boVa!;
      boVa.mappings.delete(m);
      this.remove(m, true);
      if (m.start < start) {
        const head: AmdgpuBoVaMapping = {
          start: m.start,
          last: start - 1,
          offset: m.offset,
          flags: m.flags,
          boVa,
        };
        this.insert(head);
        boVa.mappings.add(head);
      }
      if (m.last > last) {
        const off = m.offset + (last + 1 - m.start) * AMDGPU_GPU_PAGE_SIZE;
        const tail: AmdgpuBoVaMapping = { start: last + 1, last: m.last, offset: off, flags: m.flags, boVa };
        this.insert(tail);
        boVa.mappings.add(tail);
      }
    }
  }

  /** `amdgpu_vm_bo_replace_map`: clear the range, then map. */
  replaceMap(boVa: AmdgpuBoVa, saddr: number, offset: number, size: number, flags: number): void {
    this.verify(boVa.bo, saddr, offset, size, "amdgpu_vm_bo_replace_map");
    this.clearMappings(saddr, size);
    this.map(boVa, saddr, offset, size, flags);
  }

  /** The mappings of a BO in this VM, in address order (`AMDGPU_GEM_OP_GET_MAPPING_INFO`). */
  mappingsOf(bo: AmdgpuBo): AmdgpuBoVaMapping[] {
    const boVa = this.boVas.get(bo);
    return boVa === undefined ? [] : [...boVa.mappings].sort((a, b) => a.start - b.start);
  }

  /**
   * The BO ranges behind `[va, va + length)`, or the first address with no mapping (a fault).
   * `write` also requires `AMDGPU_VM_PAGE_WRITEABLE`, and a BO the GPU may write: a read-only
   * userptr BO's entries never are (`amdgpu_ttm_tt_pte_flags` leaves out the writeable bit).
   */
  resolve(va: number, length: number, write: boolean): AmdgpuVmSpan[] | { faultAt: number } {
    const out: AmdgpuVmSpan[] = [];
    let at = va;
    const end = va + length;
    while (at < end) {
      const m = this.lookupPage(Math.floor(at / AMDGPU_GPU_PAGE_SIZE));
      const bo = m?.boVa?.bo ?? null;
      if (
        m === undefined ||
        bo === null ||
        (write && ((m.flags & AMDGPU_VM_PAGE_WRITEABLE) === 0 || bo.userptr?.readonly === true))
      )
        return { faultAt: at };
      const mapEnd = (m.last + 1) * AMDGPU_GPU_PAGE_SIZE;
      const len = Math.min(end, mapEnd) - at;
      out.push({ bo, offset: m.offset + (at - m.start * AMDGPU_GPU_PAGE_SIZE), length: len, mapping: m });
      at += len;
    }
    return out;
  }

  /** Records a GPU VM fault at `addr` (`amdgpu_vm_handle_fault` → the fault info INFO returns). */
  recordFault(addr: number, write: boolean): void {
    this.fault = { addr, status: write ? 0x2 : 0x1, vmhub: 0 };
  }

  /**
   * A page-table update job (`amdgpu_vm_update_range` through `vm->delayed`) after `deps`: it
   * becomes `last_update`, and its fence goes on the root as BOOKKEEP (resv held). Returns the
   * fence (the VM keeps its own reference).
   */
  private submitUpdate(deps: AmdgpuSync, what: string): DmaFence {
    const adev = this.adev;
    const job = new AmdgpuJob(adev, this.entity, "pt", AMDGPU_FENCE_OWNER_VM);
    job.kernelNs = adev.config.ptUpdateNs;
    job.label = what;
    try {
      deps.pushTo(job);
      this.root.resv.reserveFences(1);
    } catch (e) {
      job.cleanup();
      throw e;
    }
    job.arm();
    const f = job.finished;
    this.root.resv.addFence(f, DmaResvUsage.BOOKKEEP);
    const old = this.lastUpdate;
    this.lastUpdate = f.get();
    old?.put();
    this.ptUpdates++;
    this.entity.pushJob(job);
    return f;
  }

  /**
   * `amdgpu_vm_clear_freed`: one update clearing the entries of every freed range, after the VM's
   * own jobs (`AMDGPU_SYNC_EQ_OWNER` on the root, which every CS fences) — they may still use the
   * range. Root resv held. Returns the update's fence, or null with nothing freed.
   */
  clearFreed(): DmaFence | null {
    if (this.freed.length === 0) return null;
    const sync = new AmdgpuSync();
    try {
      sync.addResv(this.adev, this.root.resv, AmdgpuSyncMode.EQ_OWNER, this);
      const f = this.submitUpdate(sync, "clear freed");
      this.freed.length = 0;
      return f;
    } finally {
      sync.free();
    }
  }

  /**
   * `amdgpu_vm_bo_update`: write the entries of `boVa`'s mappings, after any move of its BO
   * (KERNEL fences; the BO's resv held). Returns the update's fence, or null when it is valid.
   */
  boUpdate(boVa: AmdgpuBoVa): DmaFence | null {
    if (!boVa.invalid) return null;
    const sync = new AmdgpuSync();
    try {
      if (boVa.bo !== null)
        sync.addResv(this.adev, boVa.bo.resv, AmdgpuSyncMode.ALWAYS, this, DmaResvUsage.KERNEL);
      const f = this.submitUpdate(sync, `update ${boVa.bo?.label ?? "prt"}`);
      boVa.invalid = false;
      const old = boVa.lastPtUpdate;
      boVa.lastPtUpdate = f.get();
      old?.put();
      return f;
    } finally {
      sync.free();
    }
  }

  /** Tears the VM down with its file (`amdgpu_vm_fini`): every mapping, the entity, the root. */
  fini(): void {
    for (const boVa of this.boVas.values()) {
      boVa.bo?.vmBos.delete(boVa);
      boVa.lastPtUpdate?.put();
      boVa.lastPtUpdate = null;
      boVa.mappings.clear();
    }
    this.boVas.clear();
    this.prtVa.mappings.clear();
    this.prtVa.lastPtUpdate?.put();
    this.prtVa.lastPtUpdate = null;
    this.va.length = 0;
    this.freed.length = 0;
    this.entity.fini();
    this.lastUpdate?.put();
    this.lastUpdate = null;
    this.root.put();
  }
}
