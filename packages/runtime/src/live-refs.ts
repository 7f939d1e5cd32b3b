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
  private list: RefCounted[] = [];
  /** Releases since the last compaction. */
  private released = 0;
  private compactAt = MIN_COMPACT;

  /** @internal Registers a new object (its count is 1). */
  add(obj: RefCounted): void {
    this.list.push(obj);
  }

  /** @internal An object's count just reached zero: it is no longer live. */
  noteReleased(): void {
    if (++this.released >= this.compactAt) this.compact();
  }

  /** Number of live objects. O(n): for reports and tests, not hot paths. */
  get size(): number {
    let n = 0;
    for (const obj of this.list) if (obj.refcount > 0) n++;
    return n;
  }

  /** True if `obj` is tracked and still referenced. */
  has(obj: RefCounted): boolean {
    return obj.refcount > 0 && this.list.includes(obj);
  }

  /**
   * Stops tracking a live object (objects that live as long as the simulator, like the stub
   * fence, and are never reported as leaks). Returns false if it was not tracked.
   */
  delete(obj: RefCounted): boolean {
    if (obj.refcount <= 0) return false;
    const i = this.list.indexOf(obj);
    if (i < 0) return false;
    this.list.splice(i, 1);
    return true;
  }

  /** The live objects, oldest first. */
  *[Symbol.iterator](): Iterator<RefCounted> {
    for (const obj of this.list) if (obj.refcount > 0) yield obj;
  }

  private compact(): void {
    const list = this.list;
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const obj = list[i]!;
      if (obj.refcount > 0) list[n++] = obj;
    }
    list.length = n;
    this.released = 0;
    this.compactAt = Math.max(MIN_COMPACT, n);
  }
}
