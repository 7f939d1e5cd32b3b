/**
 * The simulator's event queue: a binary min-heap ordered by (time, sequence number), so events
 * at the same virtual time run in the order they were scheduled (FIFO on ties).
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
  private items: SimEvent[] = [];
  private cancelledCount = 0;

  get size(): number {
    return this.items.length - this.cancelledCount;
  }

  push(ev: SimEvent): void {
    const items = this.items;
    let i = items.length;
    items.push(ev);
    // sift up
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.time < ev.time || (p.time === ev.time && p.seq < ev.seq)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = ev;
  }

  /** The earliest live event, or undefined. Drops cancelled events found at the top. */
  peek(): SimEvent | undefined {
    const items = this.items;
    while (items.length > 0) {
      const top = items[0]!;
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
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.items.length) this.compact();
  }

  /** Live events in heap order (not sorted): for reports. */
  *live(): IterableIterator<SimEvent> {
    for (const ev of this.items) if (!ev.cancelled) yield ev;
  }

  private popTop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    // sift down from the root with `last`
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = items[l]!;
      if (r < n) {
        const rc = items[r]!;
        if (rc.time < child.time || (rc.time === child.time && rc.seq < child.seq)) {
          c = r;
          child = rc;
        }
      }
      if (last.time < child.time || (last.time === child.time && last.seq < child.seq)) break;
      items[i] = child;
      i = c;
    }
    items[i] = last;
  }

  private compact(): void {
    const live = this.items.filter((e) => !e.cancelled);
    this.items = [];
    this.cancelledCount = 0;
    for (const ev of live) this.push(ev);
  }
}
