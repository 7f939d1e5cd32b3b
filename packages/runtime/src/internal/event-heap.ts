/**
 * The simulator's event queue: a binary min-heap ordered by (time, sequence number), so events
 * at the same virtual time run in the order they were scheduled (FIFO on ties).
 *
 * The keys live beside the events in two typed arrays, slot for slot: a sift compares numbers
 * read from contiguous memory instead of loading two fields from each event object it passes,
 * which with a large queue (100,000 pending timers) is a cache miss per level. An event's key
 * must not change while it is queued; the simulator only re-arms timers that have fired.
 *
 * Cancellation is lazy: a cancelled event stays in the heap and is skipped when popped. When
 * cancelled events outnumber live ones the heap is rebuilt, so a driver that re-arms a timeout
 * timer on every job does not grow the heap without bound.
 */

/** One scheduled callback. Internal: users see it through `TimerHandle`. */
export interface SimEvent {
  time: number;
  seq: number;
  fn: (() => unknown) | null;
  ctx: unknown;
  cancelled: boolean;
}

export class EventHeap {
  private items: (SimEvent | undefined)[] = [];
  private times = new Float64Array(64);
  private seqs = new Float64Array(64);
  /** Slots in use. */
  private n = 0;
  private cancelledCount = 0;

  get size(): number {
    return this.n - this.cancelledCount;
  }

  push(ev: SimEvent): void {
    if (this.n === this.times.length) this.grow();
    const items = this.items;
    const times = this.times;
    const seqs = this.seqs;
    const t = ev.time;
    const s = ev.seq;
    let i = this.n++;
    // sift up
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt < t || (pt === t && seqs[parent]! < s)) break;
      items[i] = items[parent];
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      i = parent;
    }
    items[i] = ev;
    times[i] = t;
    seqs[i] = s;
  }

  /** The earliest live event, or undefined. Drops cancelled events found at the top. */
  peek(): SimEvent | undefined {
    while (this.n > 0) {
      const top = this.items[0]!;
      if (!top.cancelled) return top;
      this.popTop();
      this.cancelledCount--;
    }
    return undefined;
  }

  /** Removes and returns the earliest live event. */
  pop(): SimEvent | undefined {
    const top = this.peek();
    if (top !== undefined) this.popTop();
    return top;
  }

  /** Removes the event `peek()` just returned, without looking for it again (the run loop's hot path). */
  removePeeked(): void {
    this.popTop();
  }

  noteCancelled(): void {
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.n) this.compact();
  }

  private popTop(): void {
    const items = this.items;
    const times = this.times;
    const seqs = this.seqs;
    const n = --this.n;
    const last = items[n]!;
    // The vacated slot must not keep its event alive.
    items[n] = undefined;
    if (n === 0) return;
    const lt = times[n]!;
    const ls = seqs[n]!;
    // sift down from the root with `last`
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let ct = times[l]!;
      if (r < n) {
        const rt = times[r]!;
        if (rt < ct || (rt === ct && seqs[r]! < seqs[l]!)) {
          c = r;
          ct = rt;
        }
      }
      if (lt < ct || (lt === ct && ls < seqs[c]!)) break;
      items[i] = items[c];
      times[i] = ct;
      seqs[i] = seqs[c]!;
      i = c;
    }
    items[i] = last;
    times[i] = lt;
    seqs[i] = ls;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    times.set(this.times);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }

  private compact(): void {
    const live: SimEvent[] = [];
    for (let i = 0; i < this.n; i++) {
      const ev = this.items[i]!;
      if (!ev.cancelled) live.push(ev);
    }
    this.items = [];
    this.n = 0;
    this.cancelledCount = 0;
    for (const ev of live) this.push(ev);
  }
}
