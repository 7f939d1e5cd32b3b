/**
 * Bytes of simulated memory: the one representation every buffer, mapping and process page in
 * drmsim keeps its contents in.
 *
 * `SparseBytes` gives a page memory on its first write; a page never written reads as zeros, so
 * a 16 GiB buffer costs only the pages someone touched — as a shmem object or freshly cleared
 * VRAM does. `MemRegion` is a device's or the CPU's view of a byte range that may be scattered
 * over several stores (the pages a scatter list names, the VMAs a user range crosses): it reads
 * and writes them in order, as one range.
 */
import { KernelError } from "./errno.js";

/** Granule of `SparseBytes`: the simulated machine's `PAGE_SIZE`. */
const PAGE = 4096;

/** Something that holds bytes at offsets (a buffer's storage, a VMA's backing). */
export interface ByteStore {
  /** Reads `length` bytes at `offset`. */
  read(offset: number, length: number): Uint8Array;
  /** Writes `bytes` at `offset`. */
  write(offset: number, bytes: Uint8Array): void;
}

/**
 * Sparse, page-granular bytes (the page cache of a shmem file, anonymous memory): `size` bytes,
 * zeros until written. `EINVAL` for an access outside `[0, size)`.
 */
export class SparseBytes implements ByteStore {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    /** Size in bytes. */
    readonly size: number,
  ) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new KernelError("EINVAL", `a byte store's size must be a non-negative integer, got ${size}`);
  }

  /** Bytes of memory actually allocated (touched pages). */
  get residentBytes(): number {
    return this.pages.size * PAGE;
  }

  /** Reads `length` bytes at `offset`; zeros where nothing was written. */
  read(offset: number, length: number): Uint8Array {
    this.checkRange(offset, length, "read");
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const pg = Math.floor(pos / PAGE);
      const inPage = pos - pg * PAGE;
      const n = Math.min(PAGE - inPage, length - done);
      const page = this.pages.get(pg);
      if (page !== undefined) out.set(page.subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  /** Writes `bytes` at `offset`, allocating pages on first touch. */
  write(offset: number, bytes: Uint8Array): void {
    this.checkRange(offset, bytes.length, "write");
    let done = 0;
    while (done < bytes.length) {
      const pos = offset + done;
      const pg = Math.floor(pos / PAGE);
      const inPage = pos - pg * PAGE;
      const n = Math.min(PAGE - inPage, bytes.length - done);
      let page = this.pages.get(pg);
      if (page === undefined) {
        page = new Uint8Array(PAGE);
        this.pages.set(pg, page);
      }
      page.set(bytes.subarray(done, done + n), inPage);
      done += n;
    }
  }

  /** Drops every page: the contents read as zeros again (`shmem_truncate_range`, a VRAM loss). */
  clear(): void {
    this.pages.clear();
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
}

/** One contiguous piece of a `MemRegion`: `length` bytes of `store` from `offset`. */
export interface MemPiece {
  readonly store: ByteStore;
  readonly offset: number;
  readonly length: number;
}

/**
 * A byte range as one accessor sees it: pieces of one or more stores, in order. Resolved once
 * (when a device's page tables or a CPU's mapping are set up) and accessed later; `guard`, if
 * given, runs before every access and throws when the memory is no longer there (the exporter's
 * device was removed), so a late access fails instead of touching memory that is gone.
 */
export class MemRegion {
  /** Total bytes. */
  readonly length: number;

  constructor(
    readonly pieces: readonly MemPiece[],
    private readonly guard?: () => void,
  ) {
    let n = 0;
    for (const p of pieces) n += p.length;
    this.length = n;
  }

  /** A region of `length` bytes of one store at `offset`. */
  static of(store: ByteStore, offset: number, length: number, guard?: () => void): MemRegion {
    return new MemRegion([{ store, offset, length }], guard);
  }

  /** Every byte of the region, in order. */
  read(): Uint8Array {
    this.guard?.();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.pieces) {
      out.set(p.store.read(p.offset, p.length), at);
      at += p.length;
    }
    return out;
  }

  /** Writes `bytes` (exactly `length` of them) over the region, in order. */
  write(bytes: Uint8Array): void {
    if (bytes.length !== this.length)
      throw new KernelError(
        "EINVAL",
        `a write of ${bytes.length} bytes to a ${this.length}-byte memory region`,
      );
    this.guard?.();
    let at = 0;
    for (const p of this.pieces) {
      p.store.write(p.offset, bytes.subarray(at, at + p.length));
      at += p.length;
    }
  }
}
