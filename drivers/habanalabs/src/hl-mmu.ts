/**
 * The device MMU of one context (`common/mmu/`, `struct hl_va_range`): a device virtual address
 * space per ASID whose page tables translate device VAs to DRAM pages. Engines reach device
 * memory only through it, so a job's internal command buffer must be mapped here, and the
 * dma-buf export by address (7.1's uAPI) names memory by its device VA.
 *
 * The VA range is handed out first-fit from `vaBase`; a `hint_addr` is honoured when it is
 * aligned and free, else ignored (`EINVAL` instead with `HL_MEM_FORCE_HINT`), as in
 * `map_device_va`.
 */
import { KernelError } from "@drmsim/runtime";
import type { HlVmPhysPgPack } from "./hl-dram.js";

/** `struct hl_vm_hash_node`: one mapping — a VA range and the allocation behind it. */
export interface HlVaMapping {
  readonly va: number;
  readonly size: number;
  readonly pack: HlVmPhysPgPack;
}

/** The device MMU of one ASID. */
export class HlMmu {
  /** Mappings by start VA, kept sorted by VA. */
  private readonly maps: HlVaMapping[] = [];

  constructor(
    /** Start of the DRAM VA range. */
    readonly vaBase: number,
    /** Size of the DRAM VA range. */
    readonly vaSize: number,
  ) {}

  /** Live mappings, by VA. */
  get mappings(): readonly HlVaMapping[] {
    return this.maps;
  }

  /**
   * `map_device_va`: maps every page of `pack` at one VA range and returns its start. `EINVAL`
   * for a refused forced hint, `ENOMEM` when the VA range is full.
   */
  map(pack: HlVmPhysPgPack, hint: number, forceHint: boolean): number {
    const size = pack.totalSize;
    const align = pack.pageSize;
    let va = -1;
    if (hint !== 0) {
      if (hint % align === 0 && this.isFree(hint, size)) va = hint;
      else if (forceHint)
        throw new KernelError(
          "EINVAL",
          `hint address 0x${hint.toString(16)} cannot be used (unaligned to 0x${align.toString(16)}, outside the DRAM VA range or already mapped) and HL_MEM_FORCE_HINT is set`,
        );
    }
    if (va < 0) va = this.findFree(size, align);
    const m: HlVaMapping = { va, size, pack };
    const i = this.maps.findIndex((x) => x.va > va);
    this.maps.splice(i < 0 ? this.maps.length : i, 0, m);
    return va;
  }

  /** `unmap_device_va`: `EINVAL` unless `va` is the start of a mapping. Returns it. */
  unmap(va: number): HlVaMapping {
    const i = this.maps.findIndex((m) => m.va === va);
    if (i < 0) throw new KernelError("EINVAL", `no mapping starts at device VA 0x${va.toString(16)}`);
    return this.maps.splice(i, 1)[0]!;
  }

  /** The mapping that starts exactly at `va` (`get_vm_hash_node`), or undefined. */
  mappingAt(va: number): HlVaMapping | undefined {
    return this.maps.find((m) => m.va === va);
  }

  /**
   * `hl_mmu_va_to_pa`: the DRAM physical address behind device VA `va`, or undefined if it is not
   * mapped (an engine access there would be a page fault).
   */
  translate(va: number): number | undefined {
    const m = this.maps.find((x) => va >= x.va && va < x.va + x.size);
    if (m === undefined) return undefined;
    const off = va - m.va;
    const page = Math.floor(off / m.pack.pageSize);
    return m.pack.pages[page]! + (off % m.pack.pageSize);
  }

  private isFree(va: number, size: number): boolean {
    if (va < this.vaBase || va + size > this.vaBase + this.vaSize) return false;
    return this.maps.every((m) => va + size <= m.va || va >= m.va + m.size);
  }

  private findFree(size: number, align: number): number {
    let cur = this.vaBase;
    for (const m of this.maps) {
      if (cur + size <= m.va) break;
      cur = Math.max(cur, Math.ceil((m.va + m.size) / align) * align);
    }
    if (cur + size > this.vaBase + this.vaSize)
      throw new KernelError("ENOMEM", `no free device VA block of ${size} bytes`);
    return cur;
  }
}
