import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventHeap, type SimEvent } from "../src/internal/event-heap.js";

const ev = (time: number, seq: number): SimEvent => ({
  time,
  seq,
  fn: () => {},
  ctx: null,
  cancelled: false,
});

/** Pops everything, as the run loop does (peek, then remove). */
function drain(h: EventHeap): [number, number][] {
  const out: [number, number][] = [];
  for (let e = h.peek(); e !== undefined; e = h.peek()) {
    h.removePeeked();
    out.push([e.time, e.seq]);
  }
  return out;
}

describe("EventHeap (the simulator's event queue)", () => {
  it("pops in (time, seq) order whatever the push order, across growth, with cancelled events skipped", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 400 }),
        (spec) => {
          const h = new EventHeap();
          const evs = spec.map(([t], i) => ev(t * 1000, i));
          for (const e of evs) h.push(e);
          spec.forEach(([, cancel], i) => {
            if (!cancel) return;
            evs[i]!.cancelled = true;
            h.noteCancelled();
          });
          const want = evs
            .filter((e) => !e.cancelled)
            .map((e): [number, number] => [e.time, e.seq])
            .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          expect(h.size).toBe(want.length);
          expect(drain(h)).toEqual(want);
          expect(h.size).toBe(0);
        },
      ),
    );
  });

  it("keeps order when pushes and pops interleave (timers re-armed as they fire)", () => {
    const h = new EventHeap();
    let seq = 0;
    for (let i = 0; i < 100; i++) h.push(ev((i * 7919) % 101, seq++));
    const popped: [number, number][] = [];
    let now = 0;
    while (h.size > 0) {
      const e = h.pop()!;
      expect(e.time).toBeGreaterThanOrEqual(now);
      now = e.time;
      popped.push([e.time, e.seq]);
      // Every tenth event re-arms itself 5 ns later, taking a new sequence number.
      if (e.seq % 10 === 0 && e.time < 200) h.push(ev(e.time + 5, seq++));
    }
    const sorted = [...popped].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(popped).toEqual(sorted);
    expect(popped.length).toBe(seq);
  });

  it("drops its reference to a popped event", () => {
    const h = new EventHeap();
    const a = ev(1, 0);
    h.push(a);
    h.push(ev(2, 1));
    expect(h.pop()).toBe(a);
    // The heap's slots hold only what is queued.
    const slots = (h as unknown as { items: (SimEvent | undefined)[] }).items;
    expect(slots.filter((x) => x !== undefined)).toEqual([expect.objectContaining({ time: 2 })]);
  });
});
