import { type Allocation, GFP_KERNEL, type Gfp, type MemoryManager } from "@drmsim/runtime";

/**
 * Bytes charged per id: a radix-tree node (576 bytes) holds 64 slots, so about 9 bytes a slot,
 * rounded to a pointer pair. An estimate; what matters is that it is charged and given back.
 */
const IDR_SLOT_BYTES = 16;

/**
 * `struct idr` as GEM uses it (`idr_alloc(idr, ptr, 1, 0, …)`): integer ids from 1, always the
 * lowest free one, so a closed handle's number is handed out again — userspace sees the same
 * reuse it sees on a real kernel.
 */
export class Idr<T> {
  private readonly map = new Map<number, T>();
  /** The memory behind each id, when the idr is accounted. */
  private readonly mem = new Map<number, Allocation>();

  /**
   * With `mm`, every new id is a `kmalloc(…, gfp, site)` (the kernel's `idr_preload(GFP_KERNEL)`
   * + `idr_alloc(GFP_NOWAIT)` taken as one allocation, made where the preload is: before any
   * lock), so fault injection reaches it; `alloc`/`allocAt` then throw `ENOMEM` with the idr
   * unchanged. Without `mm` the idr is free (ids cost nothing).
   */
  constructor(
    private readonly mm?: MemoryManager,
    private readonly gfp: Gfp = GFP_KERNEL,
    private readonly site = "idr_alloc",
  ) {}

  private charge(): Allocation | undefined {
    return this.mm?.kmalloc(IDR_SLOT_BYTES, this.gfp, this.site);
  }
  /** Ids below `next` that are free, sorted ascending. */
  private readonly holes: number[] = [];
  /** Every id ≥ `next` that is not in `map` is free. */
  private next = 1;

  get size(): number {
    return this.map.size;
  }

  /** `idr_find()`. */
  find(id: number): T | undefined {
    return this.map.get(id);
  }

  has(id: number): boolean {
    return this.map.has(id);
  }

  /** `idr_alloc(idr, value, 1, 0)`: the lowest free id ≥ 1. */
  alloc(value: T): number {
    const a = this.charge();
    let id: number;
    if (this.holes.length > 0) id = this.holes.shift()!;
    else {
      while (this.map.has(this.next)) this.next++;
      id = this.next++;
    }
    this.map.set(id, value);
    if (a !== undefined) this.mem.set(id, a);
    return id;
  }

  /** `idr_alloc(idr, value, id, id + 1)`: exactly `id`; false if it is taken. */
  allocAt(id: number, value: T): boolean {
    if (this.map.has(id)) return false;
    const a = this.charge();
    if (a !== undefined) this.mem.set(id, a);
    const i = this.holes.indexOf(id);
    if (i >= 0) this.holes.splice(i, 1);
    this.map.set(id, value);
    return true;
  }

  /** `idr_remove()`: returns the removed value. */
  remove(id: number): T | undefined {
    const v = this.map.get(id);
    if (v === undefined) return undefined;
    this.map.delete(id);
    this.mem.get(id)?.free();
    this.mem.delete(id);
    if (id < this.next) {
      let lo = 0;
      let hi = this.holes.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.holes[mid]! < id) lo = mid + 1;
        else hi = mid;
      }
      this.holes.splice(lo, 0, id);
    }
    return v;
  }

  /** Entries in ascending id order (`idr_for_each`). */
  entries(): [number, T][] {
    return [...this.map.entries()].sort((a, b) => a[0] - b[0]);
  }
}
