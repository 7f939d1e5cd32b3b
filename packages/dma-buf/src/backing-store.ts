/**
 * The bytes behind a buffer and where they live.
 *
 * Storage is sparse: a page gets memory on its first write and untouched pages read as zeros, so
 * a multi-GiB buffer costs nothing until it is used (like a shmem object or fresh VRAM that was
 * cleared). Bytes are kept by buffer offset, independent of the placement; a placement says
 * where the pages are physically — system memory page runs or a range of device memory (VRAM,
 * HBM) at a physical/BAR base address — and `move()` changes it while keeping every byte, as a
 * TTM/eviction blit would.
 */
import { KernelError, type Simulator } from "@drmsim/runtime";
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
export class BackingStore {
  private readonly pages = new Map<number, Uint8Array>();
  private where: Placement;
  /** Number of `move()`s so far (placement generation). */
  generation = 0;

  constructor(
    /** Size in bytes, a multiple of `PAGE_SIZE`. */
    readonly size: number,
    placement: Placement,
  ) {
    checkSize(size);
    this.checkPlacement(placement);
    this.where = placement;
  }

  /** The current placement. */
  get placement(): Placement {
    return this.where;
  }

  /** Bytes of memory actually allocated (touched pages). */
  get residentBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  /** Reads `length` bytes at `offset` (zeros where never written). `EINVAL` outside the buffer. */
  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length, "read");
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const pg = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - pg * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, length - done);
      const page = this.pages.get(pg);
      if (page !== undefined) out.set(page.subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  /** Writes `bytes` at `offset`, allocating pages on first touch. `EINVAL` outside the buffer. */
  write(offset: number, bytes: Uint8Array): void {
    this.checkRange(offset, bytes.length, "write");
    let done = 0;
    while (done < bytes.length) {
      const pos = offset + done;
      const pg = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - pg * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, bytes.length - done);
      let page = this.pages.get(pg);
      if (page === undefined) {
        page = new Uint8Array(PAGE_SIZE);
        this.pages.set(pg, page);
      }
      page.set(bytes.subarray(done, done + n), inPage);
      done += n;
    }
  }

  /**
   * Moves the buffer to `placement` (eviction, migration to VRAM): the contents stay, the
   * physical addresses change. `EINVAL` if the placement does not cover exactly `size` bytes.
   */
  move(placement: Placement): void {
    this.checkPlacement(placement);
    this.where = placement;
    this.generation++;
  }

  private checkRange(offset: number, length: number, op: string): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    )
      throw new KernelError(
        "EINVAL",
        `${op} of ${length} bytes at ${offset} is outside the ${this.size}-byte buffer`,
      );
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
