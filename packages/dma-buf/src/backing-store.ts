/**
 * The bytes behind a buffer and where they live: the one truth of a buffer's contents, which its
 * exporter, every importer's device (through its scatter list) and every CPU mapping read and
 * write.
 *
 * Storage is sparse (`SparseBytes`): a page gets memory on its first write and untouched pages
 * read as zeros, so a multi-GiB buffer costs nothing until it is used (like a shmem object or
 * fresh VRAM that was cleared). Bytes are kept by buffer offset, independent of the placement; a
 * placement says where the pages are physically — system memory page runs or a range of device
 * memory (VRAM, HBM) at a physical/BAR base address — and `move()` changes it while keeping every
 * byte, as a TTM/eviction blit would. Every move (and `retire()`, pages handed back without a new
 * place: swap-out) starts a new `generation`: a DMA table made before it names addresses the
 * buffer no longer has, and an importer that uses one is caught (`dma-buf-stale-mapping`).
 */
import { type ByteStore, KernelError, type Simulator, SparseBytes } from "@drmsim/runtime";
import { PAGE_SIZE } from "./device.js";
import type { PhysRun } from "./sg-table.js";

/** Where a buffer's pages are. */
export interface Placement {
  /** `system`: struct pages in RAM; `device`: device-local memory behind a PCI BAR. */
  readonly domain: "system" | "device";
  /** The physical runs, in buffer order; their lengths add up to the buffer size. */
  readonly runs: readonly PhysRun[];
}

/** A device-memory placement: one contiguous range at `base` (e.g. a BAR address). */
export function devicePlacement(base: number, size: number): Placement {
  return { domain: "device", runs: [{ address: base, length: size }] };
}

const PAGE_ALLOC = {};

/**
 * Allocates system-memory pages for `size` bytes: runs of at most `maxRun` bytes (default 64 KiB),
 * each at a fresh physical address with a one-page hole after it, so consecutive runs are never
 * contiguous — as pages from a fragmented allocator. Deterministic per simulator.
 */
export function systemPlacement(sim: Simulator, size: number, opts: { maxRun?: number } = {}): Placement {
  checkSize(size);
  const maxRun = Math.max(PAGE_SIZE, Math.floor((opts.maxRun ?? 65536) / PAGE_SIZE) * PAGE_SIZE);
  const state = sim.subsystem(PAGE_ALLOC, () => ({ next: 0x1_0000_0000 }));
  const runs: PhysRun[] = [];
  for (let off = 0; off < size; off += maxRun) {
    const len = Math.min(maxRun, size - off);
    runs.push({ address: state.next, length: len });
    state.next += len + PAGE_SIZE;
  }
  return { domain: "system", runs };
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0)
    throw new KernelError("EINVAL", `buffer size must be a positive multiple of ${PAGE_SIZE}, got ${size}`);
}

/** Sparse, page-granular storage of `size` bytes with a placement. */
export class BackingStore implements ByteStore {
  private readonly bytes: SparseBytes;
  private where: Placement;
  /** Number of `move()`s and `retire()`s so far (placement generation). */
  generation = 0;
  /** False between `retire()` and the next `move()`: the pages are not in memory (swapped out). */
  resident = true;

  constructor(
    /** Size in bytes, a multiple of `PAGE_SIZE`. */
    readonly size: number,
    placement: Placement,
  ) {
    checkSize(size);
    this.checkPlacement(placement);
    this.where = placement;
    this.bytes = new SparseBytes(size);
  }

  /** The current placement. */
  get placement(): Placement {
    return this.where;
  }

  /** Bytes of memory actually allocated (touched pages). */
  get residentBytes(): number {
    return this.bytes.residentBytes;
  }

  /** Reads `length` bytes at `offset` (zeros where never written). `EINVAL` outside the buffer. */
  read(offset: number, length: number): Uint8Array {
    return this.bytes.read(offset, length);
  }

  /** Writes `bytes` at `offset`, allocating pages on first touch. `EINVAL` outside the buffer. */
  write(offset: number, bytes: Uint8Array): void {
    this.bytes.write(offset, bytes);
  }

  /** Drops the contents (`shmem_truncate_range` of a purge, VRAM lost in a reset): zeros again. */
  clear(): void {
    this.bytes.clear();
  }

  /**
   * The pages leave memory without a new place (swapped out): the addresses of the placement are
   * no longer the buffer's, so tables made before are stale. The contents are kept (the swap
   * file has them); the next `move()` places them again.
   */
  retire(): void {
    this.resident = false;
    this.generation++;
  }

  /**
   * Moves the buffer to `placement` (eviction, migration to VRAM): the contents stay, the
   * physical addresses change. `EINVAL` if the placement does not cover exactly `size` bytes.
   */
  move(placement: Placement): void {
    this.checkPlacement(placement);
    this.where = placement;
    this.resident = true;
    this.generation++;
  }

  /**
   * The buffer offset of physical (or BAR) address `address` in the current placement, with how
   * many bytes from there are contiguous in it; undefined if the placement does not hold it.
   */
  offsetOf(address: number): { offset: number; contiguous: number } | undefined {
    const index = runIndex(this.where);
    let lo = 0;
    let hi = index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = index[mid]!;
      if (address < r.address) hi = mid - 1;
      else if (address >= r.address + r.length) lo = mid + 1;
      else return { offset: r.offset + (address - r.address), contiguous: r.address + r.length - address };
    }
    return undefined;
  }

  private checkPlacement(p: Placement): void {
    let total = 0;
    for (const r of p.runs) {
      if (r.address % PAGE_SIZE !== 0 || r.length % PAGE_SIZE !== 0 || r.length <= 0)
        throw new KernelError("EINVAL", `placement run at 0x${r.address.toString(16)} is not page aligned`);
      total += r.length;
    }
    if (total !== this.size)
      throw new KernelError("EINVAL", `placement covers ${total} bytes, but the buffer has ${this.size}`);
  }
}

interface IndexedRun {
  readonly address: number;
  readonly length: number;
  /** Buffer offset of the run's first byte. */
  readonly offset: number;
}

const RUN_INDEX = new WeakMap<Placement, IndexedRun[]>();

/** A placement's runs sorted by address with their buffer offsets, built once per placement. */
function runIndex(p: Placement): IndexedRun[] {
  let index = RUN_INDEX.get(p);
  if (index === undefined) {
    let off = 0;
    index = p.runs.map((r) => {
      const e = { address: r.address, length: r.length, offset: off };
      off += r.length;
      return e;
    });
    index.sort((a, b) => a.address - b.address);
    RUN_INDEX.set(p, index);
  }
  return index;
}
