/**
 * `struct idr` as GEM uses it (`idr_alloc(idr, ptr, 1, 0, …)`): integer ids from 1, always the
 * lowest free one, so a closed handle's number is handed out again — userspace sees the same
 * reuse it sees on a real kernel.
 */
export class Idr<T> {
  private readonly map = new Map<number, T>();
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
    let id: number;
    if (this.holes.length > 0) id = this.holes.shift()!;
    else {
      while (this.map.has(this.next)) this.next++;
      id = this.next++;
    }
    this.map.set(id, value);
    return id;
  }

  /** `idr_alloc(idr, value, id, id + 1)`: exactly `id`; false if it is taken. */
  allocAt(id: number, value: T): boolean {
    if (this.map.has(id)) return false;
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
