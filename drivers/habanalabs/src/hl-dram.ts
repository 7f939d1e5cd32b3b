/**
 * Device memory (HBM) and its page allocator: the `dram_pg_pool` of `common/memory.c` (a
 * `gen_pool` of DRAM pages) and `struct hl_vm_phys_pg_pack`, the list of physical pages behind
 * one `HL_MEM_OP_ALLOC` handle.
 *
 * A non-contiguous allocation takes free pages one by one, lowest address first, so it is
 * physically contiguous only where the free space was: after frees it can be made of several
 * runs, which is what the dma-buf exporter's scatter list has to merge (contiguous pages) and
 * split (segment caps).
 */
import { BackingStore, type PhysRun } from "@drmsim/dma-buf";
import { KernelError } from "@drmsim/runtime";

/**
 * `struct hl_vm_phys_pg_pack`: the pages of one device-memory allocation, and their contents
 * (`store`, sparse: HBM nobody wrote costs nothing), placed at the pages' addresses behind the
 * device's PCI BAR — where a peer's DMA through an exported scatter list lands.
 */
export class HlVmPhysPgPack {
  /** `mapping_cnt`: device VA mappings of this allocation (it cannot be freed while mapped). */
  mappingCnt = 0;
  /** `exporting_cnt`: live dma-bufs exporting it (it is pinned: it cannot be freed while exported). */
  exportingCnt = 0;
  /** Set once the pages went back to the pool. */
  freed = false;
  /** The bytes of the allocation, by offset; placed at the pages' BAR addresses. */
  readonly store: BackingStore;

  constructor(
    /** The `HL_MEM_OP_ALLOC` handle. */
    readonly handle: number,
    /** `pages[]`: the physical address of each page, in allocation order. */
    readonly pages: readonly number[],
    /** `page_size`. */
    readonly pageSize: number,
    /** `contiguous`: allocated with `HL_MEM_CONTIGUOUS`. */
    readonly contiguous: boolean,
    /** What to add to a DRAM address to get its BAR (bus) address: `dram_bar_base - dram_base`. */
    barOffset = 0,
  ) {
    const runs: PhysRun[] = [];
    for (const p of pages) {
      const a = p + barOffset;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.address + last.length === a)
        runs[runs.length - 1] = { address: last.address, length: last.length + pageSize };
      else runs.push({ address: a, length: pageSize });
    }
    this.store = new BackingStore(pages.length * pageSize, { domain: "device", runs });
  }

  /** `total_size`. */
  get totalSize(): number {
    return this.pages.length * this.pageSize;
  }
}

/** The DRAM page pool of one device. */
export class HlDramPool {
  /** Number of DRAM pages. */
  readonly npages: number;
  private readonly used: Uint8Array;
  private freePages: number;

  constructor(
    /** `dram_base_address`: physical address of the first DRAM byte. */
    readonly base: number,
    /** `dram_size`. */
    readonly size: number,
    /** `dram_page_size`. */
    readonly pageSize: number,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % pageSize !== 0)
      throw new KernelError(
        "EINVAL",
        `DRAM size ${size} is not a positive multiple of the page size ${pageSize}`,
      );
    this.npages = size / pageSize;
    this.used = new Uint8Array(this.npages);
    this.freePages = this.npages;
  }

  /** Free bytes (`HL_INFO_DRAM_USAGE.dram_free_mem`). */
  get freeBytes(): number {
    return this.freePages * this.pageSize;
  }

  /**
   * Allocates `n` pages: one run with `contiguous` (`gen_pool_alloc` of the whole size), else page
   * by page, lowest first. `ENOMEM` when the pool cannot satisfy it; nothing is taken then.
   */
  alloc(n: number, contiguous: boolean): number[] {
    if (n > this.freePages)
      throw new KernelError("ENOMEM", `not enough device memory: ${n} pages wanted, ${this.freePages} free`);
    const out: number[] = [];
    if (contiguous) {
      let start = -1;
      for (let i = 0, run = 0; i < this.npages; i++) {
        run = this.used[i] === 0 ? run + 1 : 0;
        if (run === n) {
          start = i - n + 1;
          break;
        }
      }
      if (start < 0)
        throw new KernelError("ENOMEM", `no ${n} physically contiguous free pages of device memory`);
      for (let i = start; i < start + n; i++) out.push(i);
    } else {
      for (let i = 0; i < this.npages && out.length < n; i++) if (this.used[i] === 0) out.push(i);
    }
    for (const i of out) this.used[i] = 1;
    this.freePages -= n;
    return out.map((i) => this.base + i * this.pageSize);
  }

  /** Returns pages to the pool. */
  free(pages: readonly number[]): void {
    for (const p of pages) {
      const i = (p - this.base) / this.pageSize;
      if (this.used[i] === 1) {
        this.used[i] = 0;
        this.freePages++;
      }
    }
  }
}
