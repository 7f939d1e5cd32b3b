/** Callback-list bookkeeping behind `dma_fence_add_callback` / `remove_callback`: order and removal whatever the count. */
import { Simulator, SpinLock } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DmaFence, type DmaFenceCb, dmaFenceContextAlloc } from "../src/index.js";
import { mockFence } from "./mock-fence.js";

it("callbacks run once each in the order added, and removal works for one, two or many", () => {
  const sim = new Simulator();
  const ran: string[] = [];
  const cb = (name: string): DmaFenceCb => ({ func: () => void ran.push(name) });

  const one = mockFence(sim);
  const a = cb("a");
  expect(one.addCallback(a)).toBe(0);
  expect(one.pendingCallbacks).toBe(1);
  expect(one.removeCallback(cb("other"))).toBe(false);
  expect(one.removeCallback(a)).toBe(true);
  expect(one.removeCallback(a)).toBe(false);
  expect(one.pendingCallbacks).toBe(0);
  one.signal();
  expect(ran).toEqual([]);

  const many = mockFence(sim);
  const cbs = ["b", "c", "d", "e"].map(cb);
  for (const c of cbs) expect(many.addCallback(c)).toBe(0);
  expect(many.pendingCallbacks).toBe(4);
  expect(many.removeCallback(cbs[0]!)).toBe(true);
  expect(many.removeCallback(cbs[2]!)).toBe(true);
  expect(many.pendingCallbacks).toBe(2);
  many.signal();
  expect(ran).toEqual(["c", "e"]);
  expect(many.removeCallback(cbs[1]!)).toBe(false);

  const two = mockFence(sim);
  two.addCallback(cb("f"));
  two.addCallback(cb("g"));
  two.signal();
  expect(ran).toEqual(["c", "e", "f", "g"]);
  expect(two.addCallback(cb("late"))).toBe(-2);
  for (const f of [one, many, two]) f.put();
  expect(sim.teardown().findings).toEqual([]);
});

it("a fence released with one pending callback is still reported and signalled with -EDEADLK", () => {
  const sim = new Simulator({ validator: "collect" });
  const f = mockFence(sim);
  let status = 0;
  f.addCallback({
    func: (x) => {
      status = x.error;
    },
  });
  f.put();
  expect(status).toBe(-35);
  expect(sim.validator.findingsOf("fence-released-unsignalled")).toHaveLength(1);
});

describe("a driver-supplied fence lock", () => {
  it("is taken with irqs off, so signalling from irq and from process context is consistent", async () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&ring->fence_lock");
    const ctx = dmaFenceContextAlloc(sim);
    const a = new DmaFence(sim, { getDriverName: () => "d", getTimelineName: () => "t" }, ctx, 1, { lock });
    const b = new DmaFence(sim, { getDriverName: () => "d", getTimelineName: () => "t" }, ctx, 2, { lock });
    let inAtomic = false;
    b.addCallback({
      func: () => {
        inAtomic = sim.current.inAtomic;
      },
    });
    sim.schedule(1, () => a.signal(), sim.irqContext("ring-irq"));
    await sim.run();
    await sim.exec("process", () => b.signal());
    expect(inAtomic).toBe(true);
    expect(sim.validator.findings).toEqual([]);
    a.put();
    b.put();
  });
});
