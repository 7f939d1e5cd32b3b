/**
 * The registry of live reference-counted objects behind leak reports — what the kernel's
 * `CONFIG_DEBUG_OBJECTS` object tracker (`lib/debugobjects.c`) keeps for its teardown checks.
 */
import type { RefCounted } from "./kref.js";

/** Fewest releases between two compactions, so a small registry is not rebuilt on every put. */
const MIN_COMPACT = 256;

/**
 * The live reference-counted objects of one simulator, in creation order (`debug_objects`' live
 * list), read like a `Set`: `size`, `has`, `delete`, iteration.
 *
 * An object counts as live from its construction until its count reaches zero. Rather than a
 * hash-set insertion and removal per object — the single largest validator cost on a busy
 * scheduler — registration is one array append, and a release is a counter: the object itself
 * knows it is dead (`refcount === 0`), and dead entries are dropped in one pass once there are
 * as many of them as live ones (amortised O(1) per object, and at most that many dead objects
 * kept reachable). Reading skips the dead entries, so what it shows is exactly the objects still
 * referenced, in the order they were created.
 */
export class LiveRefs implements Iterable<RefCounted> {
  /**
   * Entries `[0, count)`, live and dead; the slots past `count` are cleared. The array is never
   * shortened: a compaction that set `length` would make V8 trim its backing store, and the
   * appends after it grow it again, copying it several times per compaction cycle — an
   * allocation the size of the registry for every few hundred objects.
   */
  private readonly list: (RefCounted | undefined)[] = [];
  private count = 0;
  /** Releases since the last compaction. */
  private released = 0;
  private compactAt = MIN_COMPACT;

  /** @internal Registers a new object (its count is 1). */
  add(obj: RefCounted): void {
    const list = this.list;
    const n = this.count;
    if (n < list.length) list[n] = obj;
    else list.push(obj);
    this.count = n + 1;
  }

  /** @internal An object's count just reached zero: it is no longer live. */
  noteReleased(): void {
    if (++this.released >= this.compactAt) this.compact();
  }

  /** Number of live objects. O(n): for reports and tests, not hot paths. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.list[i]!.refcount > 0) n++;
    return n;
  }

  /** True if `obj` is tracked and still referenced. */
  has(obj: RefCounted): boolean {
    return obj.refcount > 0 && this.indexOf(obj) >= 0;
  }

  /**
   * Stops tracking a live object (objects that live as long as the simulator, like the stub
   * fence, and are never reported as leaks). Returns false if it was not tracked.
   */
  delete(obj: RefCounted): boolean {
    if (obj.refcount <= 0) return false;
    const i = this.indexOf(obj);
    if (i < 0) return false;
    const list = this.list;
    const n = --this.count;
    list.copyWithin(i, i + 1, n + 1);
    list[n] = undefined;
    return true;
  }

  /** The live objects, oldest first. */
  *[Symbol.iterator](): Iterator<RefCounted> {
    for (let i = 0; i < this.count; i++) {
      const obj = this.list[i]!;
      if (obj.refcount > 0) yield obj;
    }
  }

  private indexOf(obj: RefCounted): number {
    const i = this.list.indexOf(obj);
    return i < this.count ? i : -1;
  }

  private compact(): void {
    const list = this.list;
    const end = this.count;
    let n = 0;
    for (let i = 0; i < end; i++) {
      const obj = list[i]!;
      if (obj.refcount > 0) list[n++] = obj;
    }
    // Drop the references to the dead ones; the slots are reused by the next appends.
    list.fill(undefined, n, end);
    this.count = n;
    this.released = 0;
    this.compactAt = Math.max(MIN_COMPACT, n);
  }
}
