/**
 * `struct drm_buddy` (`include/drm/drm_buddy.h`, `drivers/gpu/drm/drm_buddy.c`): the binary buddy
 * allocator drivers use for device memory (amdgpu and xe VRAM, i915 LMEM).
 *
 * The managed range is cut into power-of-two roots (one per set bit of the size); every block of
 * order `n` is `chunkSize << n` bytes and splits into two buddies of order `n - 1`. Freeing a block
 * merges it with its buddy whenever the buddy is free too, so fragmentation heals as memory is
 * given back. Blocks also remember whether their contents are known to be zero ("clear"), so a
 * driver that must hand out zeroed VRAM can skip clearing blocks it cleared before; a clear block
 * and a dirty buddy are not merged (the merged block could be neither), which is why clear tracking
 * can fragment memory.
 *
 * Sizes and offsets are plain numbers: exact up to 2^53, which is 8 PiB and enough for any VRAM.
 */
import { KernelError } from "@drmsim/runtime";

/** `DRM_BUDDY_*` allocation flags (`include/drm/drm_buddy.h`). */
export const DrmBuddyFlag = {
  /** `DRM_BUDDY_RANGE_ALLOCATION`: every block must lie inside `[start, end)`. */
  RANGE: 1 << 0,
  /** `DRM_BUDDY_TOPDOWN_ALLOCATION`: prefer the highest addresses. */
  TOPDOWN: 1 << 1,
  /** `DRM_BUDDY_CONTIGUOUS_ALLOCATION`: one physically contiguous range. */
  CONTIGUOUS: 1 << 2,
  /** `DRM_BUDDY_CLEAR_ALLOCATION`: prefer blocks known to be zeroed. */
  CLEAR: 1 << 3,
  /** `DRM_BUDDY_CLEARED`: a `free()` flag — the blocks being freed were zeroed. */
  CLEARED: 1 << 4,
} as const;

/** `DRM_BUDDY_MAX_ORDER`: orders are limited so an offset and an order fit one 64-bit header. */
export const DRM_BUDDY_MAX_ORDER = 64 - 12;

type BlockState = "free" | "allocated" | "split";

/**
 * `struct drm_buddy_block`. Read-only for users: `offset`, `order`, `size`, and whether it is
 * allocated/clear. The allocator owns the tree links.
 */
export class DrmBuddyBlock {
  /** @internal */ state: BlockState = "free";
  /** @internal */ clear = false;
  /** @internal */ left: DrmBuddyBlock | null = null;
  /** @internal */ right: DrmBuddyBlock | null = null;

  constructor(
    /** `drm_buddy_block_offset()`: byte offset inside the managed range. */
    readonly offset: number,
    /** `drm_buddy_block_order()`. */
    readonly order: number,
    /** `drm_buddy_block_size()` in bytes (`chunkSize << order`). */
    readonly size: number,
    /** `block->parent`; null for a root. */
    readonly parent: DrmBuddyBlock | null,
  ) {}

  /** `drm_buddy_block_is_allocated()`. */
  get isAllocated(): boolean {
    return this.state === "allocated";
  }
  /** `drm_buddy_block_is_free()`. */
  get isFree(): boolean {
    return this.state === "free";
  }
  /** `drm_buddy_block_is_split()`. */
  get isSplit(): boolean {
    return this.state === "split";
  }
  /** `drm_buddy_block_is_clear()`: the block's contents are known to be zero. */
  get isClear(): boolean {
    return this.clear;
  }
}

/** Arguments of `alloc()` (`drm_buddy_alloc_blocks(mm, start, end, size, min_block_size, blocks, flags)`). */
export interface DrmBuddyAllocArgs {
  /** Start of the allowed range (default 0). Only honoured with `RANGE`, or for an exact range. */
  start?: number;
  /** End of the allowed range (default the managed size). */
  end?: number;
  size: number;
  /** Smallest block the caller accepts (power of two ≥ chunk size; default the chunk size). */
  minBlockSize?: number;
  /** `DrmBuddyFlag` bits. */
  flags?: number;
}

/** Fragmentation figures, what `drm_buddy_print()` shows plus the largest free block. */
export interface DrmBuddyFragmentation {
  avail: number;
  clearAvail: number;
  /** Size in bytes of the largest free block (0 when full). */
  largestFreeBlock: number;
  /** Free blocks per order, index = order. */
  freeBlocksPerOrder: number[];
  /** 1 - largestFreeBlock / avail: 0 when all free memory is one block. */
  fragmentation: number;
}

const isPow2 = (n: number) => Number.isSafeInteger(n) && n > 0 && 2 ** Math.floor(Math.log2(n)) === n;
const ilog2 = (n: number) => Math.floor(Math.log2(n));
const aligned = (n: number, a: number) => n % a === 0;

/**
 * `struct drm_buddy`. Create with `DrmBuddy.init(size, chunkSize)` (`drm_buddy_init`), release
 * with `fini()` (`drm_buddy_fini`, which insists everything was freed).
 */
export class DrmBuddy {
  /** Managed size in bytes (`mm->size`: the requested size rounded down to the chunk size). */
  readonly size: number;
  /** `mm->chunk_size`: the smallest block, a power of two ≥ 4 KiB. */
  readonly chunkSize: number;
  /** `mm->max_order`. */
  readonly maxOrder: number;
  /** `mm->avail`: free bytes. */
  avail: number;
  /** `mm->clear_avail`: free bytes known to be zero. */
  clearAvail = 0;
  /** `mm->roots`. */
  readonly roots: DrmBuddyBlock[] = [];
  /** `mm->free_list[order]`, each sorted by offset. */
  private readonly freeList: DrmBuddyBlock[][];

  private constructor(size: number, chunkSize: number) {
    this.chunkSize = chunkSize;
    this.size = size - (size % chunkSize);
    this.avail = this.size;
    this.maxOrder = Math.min(ilog2(this.size) - ilog2(chunkSize), DRM_BUDDY_MAX_ORDER);
    this.freeList = Array.from({ length: this.maxOrder + 1 }, () => []);
    let offset = 0;
    let left = this.size;
    while (left > 0) {
      const order = Math.min(ilog2(left) - ilog2(chunkSize), this.maxOrder);
      const bytes = chunkSize * 2 ** order;
      const root = new DrmBuddyBlock(offset, order, bytes, null);
      this.roots.push(root);
      this.insertFree(root);
      offset += bytes;
      left -= bytes;
    }
  }

  /**
   * `drm_buddy_init()`. EINVAL when the chunk size is not a power of two of at least 4 KiB, or the
   * size is smaller than one chunk (or not an exact integer).
   */
  static init(size: number, chunkSize: number): DrmBuddy {
    if (!isPow2(chunkSize) || chunkSize < 4096)
      throw new KernelError(
        "EINVAL",
        `buddy chunk size must be a power of two of at least 4096, got ${chunkSize}`,
      );
    if (!Number.isSafeInteger(size) || size < chunkSize)
      throw new KernelError("EINVAL", `buddy size ${size} is smaller than the chunk size ${chunkSize}`);
    return new DrmBuddy(size, chunkSize);
  }

  /** `drm_buddy_fini()`: every block must have been freed. EBUSY otherwise (the kernel WARNs). */
  fini(): void {
    if (this.avail !== this.size)
      throw new KernelError("EBUSY", `buddy torn down with ${this.size - this.avail} bytes still allocated`);
  }

  /** Bytes of a block of `order`. */
  blockSize(order: number): number {
    return this.chunkSize * 2 ** order;
  }

  /**
   * `drm_buddy_alloc_blocks()`. Returns the allocated blocks (their sizes sum to `size`, or to
   * `size` rounded up to `minBlockSize`). EINVAL for sizes that are not chunk aligned, a bad
   * `minBlockSize`, or a range outside the managed size; ENOSPC when the memory is not there. A
   * failed call leaves the allocator exactly as it was.
   *
   * `start + size === end` is an exact range allocation (`__drm_buddy_alloc_range`). CONTIGUOUS
   * rounds the size up to a power of two and trims the block back to `size`; when no such block
   * is free it tries harder around free blocks of the next order down (the kernel's RHS/LHS
   * search), whose result may exceed `size` by up to `minBlockSize`, as in the kernel.
   */
  alloc(args: DrmBuddyAllocArgs): DrmBuddyBlock[] {
    const start = args.start ?? 0;
    const end = args.end ?? this.size;
    const flags = args.flags ?? 0;
    let size = args.size;
    let minBlockSize = args.minBlockSize ?? this.chunkSize;
    const c = this.chunkSize;
    if (!Number.isSafeInteger(size) || size < c)
      throw new KernelError(
        "EINVAL",
        `buddy allocation of ${size} bytes is smaller than the chunk size ${c}`,
      );
    if (minBlockSize < c || !isPow2(minBlockSize))
      throw new KernelError(
        "EINVAL",
        `min block size ${minBlockSize} must be a power of two ≥ the chunk size ${c}`,
      );
    if (!aligned(start, c) || !aligned(end, c) || !aligned(size, c))
      throw new KernelError(
        "EINVAL",
        `start ${start}, end ${end} and size ${size} must be multiples of ${c}`,
      );
    if (end > this.size || start < 0 || start >= end)
      throw new KernelError("EINVAL", `range [${start}, ${end}) is outside the managed size ${this.size}`);
    if (start + size > this.size)
      throw new KernelError("EINVAL", `${size} bytes from ${start} overflow the managed size ${this.size}`);

    if (start + size === end) return this.allocRange(start, size);

    const originalSize = size;
    const originalMin = minBlockSize;
    if (flags & DrmBuddyFlag.CONTIGUOUS) {
      size = 2 ** Math.ceil(Math.log2(size));
      minBlockSize = size;
    } else if (!aligned(size, minBlockSize)) {
      size = Math.ceil(size / minBlockSize) * minBlockSize;
    }
    if (size > this.avail) throw this.noSpace(originalSize);
    const minOrder = ilog2(minBlockSize) - ilog2(c);
    if (minOrder > this.maxOrder) {
      if (flags & DrmBuddyFlag.CONTIGUOUS && !(flags & DrmBuddyFlag.RANGE))
        return this.allocContigTryHarder(originalSize, originalMin);
      throw this.noSpace(originalSize);
    }
    let pages = size / c;
    let order = Math.min(ilog2(pages), this.maxOrder);
    const allocated: DrmBuddyBlock[] = [];
    while (pages > 0) {
      order = Math.min(order, ilog2(pages), this.maxOrder);
      let block: DrmBuddyBlock | null = null;
      for (;;) {
        block =
          flags & DrmBuddyFlag.RANGE
            ? this.allocRangeBias(start, end, order, flags)
            : this.allocFromFreelist(order, flags);
        if (block !== null) break;
        if (order-- === minOrder) {
          this.free(allocated);
          if (flags & DrmBuddyFlag.CONTIGUOUS && !(flags & DrmBuddyFlag.RANGE))
            return this.allocContigTryHarder(originalSize, originalMin);
          throw this.noSpace(originalSize);
        }
      }
      this.markAllocated(block);
      allocated.push(block);
      pages -= 2 ** block.order;
    }
    if (originalSize !== size && flags & DrmBuddyFlag.CONTIGUOUS) {
      // One power-of-two block: give the tail back (`drm_buddy_block_trim`).
      const [only] = allocated as [DrmBuddyBlock];
      return this.trim(only, originalSize);
    }
    return allocated;
  }

  /**
   * `drm_buddy_block_trim()`: shrinks one allocated block to its first `newSize` bytes, freeing
   * the rest. EINVAL for a size not chunk aligned or larger than the block.
   */
  trim(block: DrmBuddyBlock, newSize: number): DrmBuddyBlock[] {
    if (!block.isAllocated) throw new KernelError("EINVAL", "only an allocated block can be trimmed");
    if (newSize > block.size || newSize < this.chunkSize || !aligned(newSize, this.chunkSize))
      throw new KernelError("EINVAL", `cannot trim a ${block.size}-byte block to ${newSize} bytes`);
    if (newSize === block.size) return [block];
    const wasClear = block.clear;
    this.free([block], wasClear ? DrmBuddyFlag.CLEARED : 0);
    // The freed block is the only free memory overlapping its range, so this cannot fail.
    return this.allocRange(block.offset, newSize);
  }

  /**
   * `drm_buddy_free_list()`: frees the blocks (each must be allocated), merging buddies. With
   * `CLEARED` the blocks are recorded as zeroed.
   */
  free(blocks: readonly DrmBuddyBlock[], flags = 0): void {
    for (const b of blocks) {
      if (!b.isAllocated) throw new KernelError("EINVAL", `buddy block at ${b.offset} is not allocated`);
    }
    for (const b of blocks) {
      b.clear = (flags & DrmBuddyFlag.CLEARED) !== 0;
      this.avail += b.size;
      if (b.clear) this.clearAvail += b.size;
      this.freeAndMerge(b);
    }
  }

  /** Fragmentation figures for reports and benchmarks. */
  getFragmentation(): DrmBuddyFragmentation {
    const per = this.freeList.map((l) => l.length);
    let largest = 0;
    for (let o = this.maxOrder; o >= 0; o--) {
      if (per[o]! > 0) {
        largest = this.blockSize(o);
        break;
      }
    }
    return {
      avail: this.avail,
      clearAvail: this.clearAvail,
      largestFreeBlock: largest,
      freeBlocksPerOrder: per,
      fragmentation: this.avail === 0 ? 0 : 1 - largest / this.avail,
    };
  }

  /** `drm_buddy_print()`: a text dump of the allocator state. */
  describe(): string {
    const lines = [
      `chunk_size: ${this.chunkSize >> 10}KiB, total: ${Math.floor(this.size / 2 ** 20)}MiB, free: ${Math.floor(this.avail / 2 ** 20)}MiB, clear_free: ${Math.floor(this.clearAvail / 2 ** 20)}MiB`,
    ];
    for (let o = this.maxOrder; o >= 0; o--) {
      const count = this.freeList[o]!.length;
      const free = count * this.blockSize(o);
      const amount = free < 2 ** 20 ? `${free / 1024} KiB` : `${Math.floor(free / 2 ** 20)} MiB`;
      lines.push(`order-${String(o).padStart(2)} free: ${amount.padStart(11)}, blocks: ${count}`);
    }
    return lines.join("\n");
  }

  // ---- internals -------------------------------------------------------------------------

  private noSpace(size: number): KernelError {
    return new KernelError("ENOSPC", `no room for ${size} bytes (${this.avail} of ${this.size} bytes free)`);
  }

  private insertFree(b: DrmBuddyBlock): void {
    b.state = "free";
    const list = this.freeList[b.order]!;
    list.splice(freeListIndex(list, b.offset), 0, b);
  }

  private removeFree(b: DrmBuddyBlock): void {
    const list = this.freeList[b.order]!;
    const lo = freeListIndex(list, b.offset);
    if (list[lo] !== b) throw new Error(`drm_buddy: block at ${b.offset} missing from its free list`);
    list.splice(lo, 1);
  }

  private markAllocated(b: DrmBuddyBlock): void {
    this.removeFree(b);
    b.state = "allocated";
    this.avail -= b.size;
    if (b.clear) this.clearAvail -= b.size;
  }

  /** `split_block()`: a free block becomes two free buddies inheriting its clear state. */
  private split(b: DrmBuddyBlock): void {
    this.removeFree(b);
    const half = b.size / 2;
    b.left = new DrmBuddyBlock(b.offset, b.order - 1, half, b);
    b.right = new DrmBuddyBlock(b.offset + half, b.order - 1, half, b);
    b.left.clear = b.clear;
    b.right.clear = b.clear;
    b.state = "split";
    this.insertFree(b.left);
    this.insertFree(b.right);
  }

  /** `__drm_buddy_free()`: puts a block back, merging up while the buddy is free with the same clear state. */
  private freeAndMerge(b: DrmBuddyBlock): void {
    let block = b;
    // A merged-away block must never look allocated again (a second free is then EINVAL).
    block.state = "free";
    while (block.parent !== null) {
      const parent = block.parent;
      const buddy = parent.left === block ? parent.right! : parent.left!;
      if (!buddy.isFree || buddy.clear !== block.clear) break;
      this.removeFree(buddy);
      parent.clear = block.clear;
      parent.left = null;
      parent.right = null;
      block = parent;
    }
    this.insertFree(block);
  }

  /**
   * `alloc_from_freelist()`: a free block of at least `order`, split down to `order` keeping the
   * right (upper) half each time. Like the kernel, the plain path takes the highest-addressed
   * block of the smallest order that has one; TOPDOWN takes the highest-addressed block of any
   * sufficient order. Blocks of the preferred kind (clear with CLEAR, dirty without) come first,
   * the other kind only if none is free.
   */
  private allocFromFreelist(order: number, flags: number): DrmBuddyBlock | null {
    const topdown = (flags & DrmBuddyFlag.TOPDOWN) !== 0;
    const wantClear = (flags & DrmBuddyFlag.CLEAR) !== 0;
    const lastOfKind = (list: DrmBuddyBlock[], clear: boolean) => {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.clear === clear) return list[i]!;
      return null;
    };
    const pick = (clear: boolean) => {
      let best: DrmBuddyBlock | null = null;
      for (let o = order; o <= this.maxOrder; o++) {
        const b = lastOfKind(this.freeList[o]!, clear);
        if (b === null) continue;
        if (!topdown) return b;
        if (best === null || b.offset > best.offset) best = b;
      }
      return best;
    };
    let block = pick(wantClear) ?? pick(!wantClear);
    if (block === null) return null;
    while (block.order > order) {
      this.split(block);
      block = block.right!;
    }
    return block;
  }

  /**
   * `__alloc_range_bias()`: a free block of exactly `order` inside `[start, end)`, splitting larger
   * free blocks that overlap the range. Splits that led nowhere are merged back.
   */
  private allocRangeBias(start: number, end: number, order: number, flags: number): DrmBuddyBlock | null {
    const topdown = (flags & DrmBuddyFlag.TOPDOWN) !== 0;
    const stack = topdown ? [...this.roots] : [...this.roots].reverse();
    const splits: DrmBuddyBlock[] = [];
    let found: DrmBuddyBlock | null = null;
    while (stack.length > 0) {
      const b = stack.pop()!;
      const bEnd = b.offset + b.size;
      if (bEnd <= start || b.offset >= end || b.order < order || b.isAllocated) continue;
      if (b.isFree && b.order === order && b.offset >= start && bEnd <= end) {
        found = b;
        break;
      }
      if (b.isFree && b.order > order) {
        // Only worth splitting if a block of `order` fits in the overlap.
        const lo = Math.max(start, b.offset);
        const hi = Math.min(end, bEnd);
        const bs = this.blockSize(order);
        if (Math.ceil(lo / bs) * bs + bs > hi) continue;
        this.split(b);
        splits.push(b);
      }
      if (b.isSplit) {
        if (topdown) stack.push(b.left!, b.right!);
        else stack.push(b.right!, b.left!);
      }
    }
    if (found === null) this.undoSplits(splits);
    return found;
  }

  private undoSplits(splits: DrmBuddyBlock[]): void {
    for (let i = splits.length - 1; i >= 0; i--) {
      const p = splits[i]!;
      const l = p.left;
      const r = p.right;
      if (!p.isSplit || l === null || r === null) continue;
      if (l.isFree && r.isFree && l.clear === r.clear) {
        this.removeFree(l);
        this.removeFree(r);
        p.clear = l.clear;
        p.left = null;
        p.right = null;
        this.insertFree(p);
      }
    }
  }

  /** `__drm_buddy_alloc_range()`: exactly `[start, start + size)`, or ENOSPC if any of it is taken. */
  private allocRange(start: number, size: number): DrmBuddyBlock[] {
    const end = start + size;
    const stack = [...this.roots].reverse();
    const taken: DrmBuddyBlock[] = [];
    const splits: DrmBuddyBlock[] = [];
    while (stack.length > 0) {
      const b = stack.pop()!;
      const bEnd = b.offset + b.size;
      if (bEnd <= start || b.offset >= end) continue;
      if (b.isAllocated) {
        for (const t of taken) this.freeAndMergeAccounted(t);
        this.undoSplits(splits);
        throw new KernelError("ENOSPC", `range [${start}, ${end}) is already partly allocated`);
      }
      if (b.isFree && b.offset >= start && bEnd <= end) {
        this.markAllocated(b);
        taken.push(b);
        continue;
      }
      if (b.isFree) {
        this.split(b);
        splits.push(b);
      }
      stack.push(b.right!, b.left!);
    }
    return taken;
  }

  private freeAndMergeAccounted(b: DrmBuddyBlock): void {
    this.avail += b.size;
    if (b.clear) this.clearAvail += b.size;
    this.freeAndMerge(b);
  }

  /**
   * `__alloc_contig_try_harder()`: no power-of-two block was free. For each free block of the
   * largest order below `size` (highest address first), take the free run starting there and, if
   * it falls short, the missing part (rounded up to `minBlockSize`) just below it.
   */
  private allocContigTryHarder(size: number, minBlockSize: number): DrmBuddyBlock[] {
    const order = ilog2(size) - ilog2(this.chunkSize);
    if (order === 0 || order > this.maxOrder) throw this.noSpace(size);
    for (const block of [...this.freeList[order]!].reverse()) {
      const off = block.offset;
      const filled = this.freeRunLength(off, size);
      if (filled >= size) return this.allocRange(off, size);
      const lhs = Math.ceil(Math.max(size - filled, minBlockSize) / minBlockSize) * minBlockSize;
      if (off - lhs >= 0 && this.freeRunLength(off - lhs, lhs) === lhs)
        return this.allocRange(off - lhs, lhs + filled);
    }
    throw this.noSpace(size);
  }

  /** Bytes of free memory starting at `start`, contiguous, counted up to `max`. */
  private freeRunLength(start: number, max: number): number {
    const end = Math.min(start + max, this.size);
    const stack = [...this.roots].reverse();
    let run = 0;
    while (stack.length > 0) {
      const b = stack.pop()!;
      const bEnd = b.offset + b.size;
      if (bEnd <= start || b.offset >= end) continue;
      if (b.isAllocated) return run;
      if (b.isFree) {
        run += Math.min(bEnd, end) - Math.max(b.offset, start);
        continue;
      }
      stack.push(b.right!, b.left!);
    }
    return run;
  }
}

/** Where a block at `offset` sits (or would go) in a free list kept sorted by offset. */
function freeListIndex(list: readonly DrmBuddyBlock[], offset: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
