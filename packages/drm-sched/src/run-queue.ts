/**
 * `struct drm_sched_rq` (`sched_main.c`, post-7.1 `sched_rq.c`): the entities a scheduler picks
 * from at one priority.
 *
 * The kernel keeps every entity on the run queue's list and, for FIFO, in an rbtree ordered by the
 * submit time of its oldest queued job; selection walks the tree and takes the first *ready*
 * entity (a queued job and no pending dependency). drmsim keeps only ready entities in an indexed
 * binary heap and takes an entity out while it waits on a fence, which yields the same pick at
 * O(log n) instead of a walk — a scheduler with 4,096 idle-waiting entities stays fast.
 *
 * FIFO keys are unique and mostly arrive in increasing order (an entity that becomes ready with a
 * freshly pushed job holds the newest key), so `fifo` files an entity whose key is above every
 * key already in its arrival list at the end of that list — O(1) in, O(1) out at the front —
 * and only an out-of-order key (a dependency that resolved late, the next job of an entity that
 * was just picked) goes to the heap. The pick is the smaller of the two fronts: the same entity
 * the heap alone would give, without a 12-level sift per job at 4,096 entities.
 *
 * Keys: `fifo` — the push order of the entity's head job (submit time, ties in push order);
 * `fair` — priority-weighted virtual GPU time, then push order; `rr` walks the membership list
 * from the entity after the last one picked.
 */
import type { DrmSchedEntity } from "./entity.js";
import type { DrmSchedPolicy } from "./ops.js";
import type { DrmGpuScheduler } from "./scheduler.js";

/** `struct drm_sched_rq`. */
export class DrmSchedRq {
  /** Every entity attached (`rq->entities`), in attach order. */
  readonly entities: DrmSchedEntity[] = [];
  /** Ready entities, best first (fifo / fair). */
  private readonly heap: DrmSchedEntity[] = [];
  /**
   * fifo: ready entities in increasing key order, a ring buffer (capacity a power of two) used as
   * a queue: appended at the tail, taken at the head; holes (`undefined`) where one left other
   * than at the head. An entity's `ordPos` is its slot here. A ring, not an array with a moving
   * head: the array version had to be compacted every few thousand picks, rewriting the slot of
   * every waiting entity — with thousands of entities, a cache miss per entity each time.
   */
  private ord: (DrmSchedEntity | undefined)[] = emptyRing(16);
  /** `ord.length - 1`. */
  private ordMask = 15;
  /** Slot of the first used entry. */
  private ordHead = 0;
  /** Slots in use from `ordHead` on, holes included. */
  private ordLen = 0;
  /** Entities in `ord` (slots in use minus holes). */
  private ordLive = 0;
  /** Key of the last entity appended to `ord` (the largest key it holds or held). */
  private ordLastKey = 0;
  /** `rq->current_entity` (rr). */
  private current: DrmSchedEntity | null = null;
  /** Smallest virtual runtime handed out so far (fair): where an idle entity rejoins. */
  minVruntime = 0;

  constructor(
    readonly sched: DrmGpuScheduler,
    /** The priority this queue serves (0 for the single fair queue). */
    readonly priority: number,
    readonly policy: DrmSchedPolicy,
  ) {}

  /** `drm_sched_rq_add_entity`: attach (idempotent). */
  addEntity(e: DrmSchedEntity): void {
    if (e.rqMember) return;
    e.rqMember = true;
    e.rqPos = this.entities.length;
    this.entities.push(e);
    this.sched.score++;
    if (this.policy === "fair" && e.vruntime < this.minVruntime) e.vruntime = this.minVruntime;
  }

  /** `drm_sched_rq_remove_entity`: detach (idempotent). */
  removeEntity(e: DrmSchedEntity): void {
    if (!e.rqMember) return;
    e.rqMember = false;
    const list = this.entities;
    const i = list[e.rqPos] === e ? e.rqPos : list.indexOf(e);
    if (this.policy === "rr") {
      // Round robin walks the list in attach order: keep it.
      list.splice(i, 1);
      for (let k = i; k < list.length; k++) list[k]!.rqPos = k;
    } else {
      // Order does not matter to the heap policies: O(1) swap-remove, so tearing down thousands of
      // entities stays linear.
      const last = list.pop()!;
      if (last !== e) {
        list[i] = last;
        last.rqPos = i;
      }
    }
    e.rqPos = -1;
    this.sched.score--;
    if (this.current === e) this.current = null;
    this.unfile(e);
  }

  /** Re-files `e` after its readiness or key changed (a push, a pop, a dependency, its runtime). */
  refresh(e: DrmSchedEntity): void {
    if (this.policy === "rr") return;
    const ready = e.rqMember && e.isReady();
    if (this.policy === "fifo") {
      if (!ready) {
        this.unfile(e);
        return;
      }
      const key = e.headSeq();
      if ((e.ordPos >= 0 || e.heapIndex >= 0) && e.heapKey === key) return;
      this.unfile(e);
      e.heapKey = key;
      e.heapTie = key;
      if (this.ordLive === 0 || key > this.ordLastKey) this.ordAppend(e, key);
      else this.heapInsert(e);
      return;
    }
    // fair: virtual runtimes change in place and tie, so the heap alone keeps them.
    const i = e.heapIndex;
    if (!ready) {
      if (i >= 0) this.heapRemove(e);
      return;
    }
    e.heapKey = e.vruntime;
    e.heapTie = e.headSeq();
    if (i < 0) this.heapInsert(e);
    else {
      this.up(i);
      this.down(e.heapIndex);
    }
  }

  /**
   * The entity this queue would run next, or null; `'ENOSPC'` if the first ready entity's head
   * job does not fit the free credits — selection must stop there (no skipping to later entities
   * or lower priorities, so a big job is not starved by small ones).
   */
  select(): DrmSchedEntity | null | "ENOSPC" {
    const sched = this.sched;
    if (this.policy !== "rr") {
      let e = this.heap[0];
      const o = this.ordLive > 0 ? this.ordFront() : undefined;
      if (o !== undefined && (e === undefined || this.less(o, e))) e = o;
      if (e === undefined) return null;
      if (!sched.canQueue(e)) return "ENOSPC";
      if (this.policy === "fair" && e.vruntime > this.minVruntime) this.minVruntime = e.vruntime;
      return e;
    }
    const list = this.entities;
    const n = list.length;
    if (n === 0) return null;
    const start = this.current === null ? 0 : list.indexOf(this.current) + 1;
    for (let k = 0; k < n; k++) {
      const e = list[(start + k) % n]!;
      if (!e.isReady()) continue;
      if (!sched.canQueue(e)) return "ENOSPC";
      this.current = e;
      return e;
    }
    return null;
  }

  /** Ready entities (fifo / fair heap size; rr counts). */
  get readyCount(): number {
    if (this.policy !== "rr") return this.heap.length + this.ordLive;
    let n = 0;
    for (const e of this.entities) if (e.isReady()) n++;
    return n;
  }

  private less(a: DrmSchedEntity, b: DrmSchedEntity): boolean {
    return a.heapKey < b.heapKey || (a.heapKey === b.heapKey && a.heapTie < b.heapTie);
  }

  /** Takes `e` out of whichever ready structure holds it (no-op if none). */
  private unfile(e: DrmSchedEntity): void {
    if (e.heapIndex >= 0) this.heapRemove(e);
    else if (e.ordPos >= 0) this.ordRemove(e);
  }

  private heapInsert(e: DrmSchedEntity): void {
    e.heapIndex = this.heap.length;
    this.heap.push(e);
    this.up(e.heapIndex);
  }

  private ordAppend(e: DrmSchedEntity, key: number): void {
    if (this.ordLive === 0) {
      // Holes only (all slots are empty): start over at slot 0.
      this.ordHead = 0;
      this.ordLen = 0;
    } else if (this.ordLen > this.ordMask) this.ordRebuild(this.ord.length * 2);
    const pos = (this.ordHead + this.ordLen) & this.ordMask;
    this.ordLen++;
    e.ordPos = pos;
    this.ord[pos] = e;
    this.ordLive++;
    this.ordLastKey = key;
  }

  /** The first entity of the arrival list; skips (and drops) holes at the head. */
  private ordFront(): DrmSchedEntity | undefined {
    const ord = this.ord;
    const mask = this.ordMask;
    let h = this.ordHead;
    let n = this.ordLen;
    while (n > 0 && ord[h] === undefined) {
      h = (h + 1) & mask;
      n--;
    }
    this.ordHead = h;
    this.ordLen = n;
    return n > 0 ? ord[h] : undefined;
  }

  private ordRemove(e: DrmSchedEntity): void {
    const i = e.ordPos;
    e.ordPos = -1;
    this.ord[i] = undefined;
    this.ordLive--;
    if (i === this.ordHead) {
      this.ordHead = (i + 1) & this.ordMask;
      this.ordLen--;
    }
    // Holes left in the middle (entities that began to wait on a fence) outnumber the entities:
    // reclaim them, so the ring does not grow with holes.
    const n = this.ordLen;
    if (n > 64 && this.ordLive * 2 < n) this.ordRebuild(this.ord.length);
  }

  /** Copies the live entries, in order, from slot 0 of a new ring of `capacity` slots. */
  private ordRebuild(capacity: number): void {
    const old = this.ord;
    const mask = this.ordMask;
    const ord = emptyRing(capacity);
    let n = 0;
    for (let k = 0, h = this.ordHead; k < this.ordLen; k++, h = (h + 1) & mask) {
      const x = old[h];
      if (x === undefined) continue;
      x.ordPos = n;
      ord[n++] = x;
    }
    this.ord = ord;
    this.ordMask = capacity - 1;
    this.ordHead = 0;
    this.ordLen = n;
  }

  private heapRemove(e: DrmSchedEntity): void {
    const h = this.heap;
    const i = e.heapIndex;
    const last = h.pop()!;
    e.heapIndex = -1;
    if (last === e) return;
    h[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(e, pe)) break;
      h[i] = pe;
      pe.heapIndex = i;
      i = p;
    }
    h[i] = e;
    e.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ce = h[c]!;
      if (!this.less(ce, e)) break;
      h[i] = ce;
      ce.heapIndex = i;
      i = c;
    }
    h[i] = e;
    e.heapIndex = i;
  }
}

/**
 * `capacity` empty slots, as a packed array of `undefined` (built by pushing): `new Array(n)` makes
 * a holey one, and V8 reads holey arrays through slower, prototype-checking loads.
 */
function emptyRing(capacity: number): (DrmSchedEntity | undefined)[] {
  const a: (DrmSchedEntity | undefined)[] = [];
  for (let i = 0; i < capacity; i++) a.push(undefined);
  return a;
}
