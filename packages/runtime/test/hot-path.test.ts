import { describe, expect, it } from "vitest";
import { HardwareEngine, Simulator, Work, WorkQueue } from "../src/index.js";

// The allocation-free paths of the event loop, hardware engine and workqueue (issue #15) must
// behave exactly like the allocating ones they replaced: same order, same handles, same labels.

describe("Simulator.atWith", () => {
  it("calls fn with its argument, as the given context, in the same order as at()", async () => {
    const sim = new Simulator({ validator: "collect" });
    const irq = sim.irqContext("dev");
    const log: string[] = [];
    sim.at(100, () => log.push(`at1@${sim.now}`));
    sim.atWith(100, (x: string) => log.push(`${x}@${sim.now}:${sim.current.label}`), "with", irq);
    sim.at(100, () => log.push(`at2@${sim.now}`));
    sim.atWith(50, (x: number) => log.push(`early${x}@${sim.now}`), 7, irq);
    await sim.run();
    expect(log).toEqual(["early7@50", "at1@100", `with@100:${irq.label}`, "at2@100"]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("re-arms a fired timer, but never a pending or cancelled one", async () => {
    const sim = new Simulator({ validator: "collect" });
    const ctx = sim.timerContext;
    const seen: number[] = [];
    const fn = (n: number): void => {
      seen.push(n);
    };
    const first = sim.atWith(10, fn, 1, ctx);
    // Still pending: a new timer, the pending one untouched.
    const second = sim.atWith(20, fn, 2, ctx, first);
    expect(second).not.toBe(first);
    expect(first.pending).toBe(true);
    await sim.run();
    expect(seen).toEqual([1, 2]);
    expect(first.pending).toBe(false);
    // Fired: re-armed in place, pending again, at the new time.
    const again = sim.atWith(sim.now + 5, fn, 3, ctx, first);
    expect(again).toBe(first);
    expect(again.pending).toBe(true);
    expect(again.time).toBe(25);
    // Cancelled: it may still sit in the queue, so it is not reused.
    expect(again.cancel()).toBe(true);
    const fresh = sim.atWith(sim.now + 5, fn, 4, ctx, again);
    expect(fresh).not.toBe(again);
    await sim.run();
    expect(seen).toEqual([1, 2, 4]);
    expect(sim.now).toBe(25);
  });

  it("refuses a NaN time like at()", () => {
    const sim = new Simulator();
    expect(() => sim.atWith(Number.NaN, () => {}, 0, sim.timerContext)).toThrow(/NaN/);
    expect(sim.pendingEvents).toBe(0);
  });
});

describe("HardwareEngine hot path", () => {
  it("labels commands lazily with the submission number, or the command's own label", async () => {
    const sim = new Simulator({ validator: "collect" });
    const eng = new HardwareEngine(sim, "ring");
    const done: number[] = [];
    const a = eng.submit({ durationNs: 10, onComplete: () => done.push(1) });
    const b = eng.submit({ durationNs: 10, label: "mine", onComplete: () => done.push(2) });
    const c = eng.submit({ durationNs: 10, onComplete: () => done.push(3) });
    expect([a.label, b.label, c.label]).toEqual(["ring#1", "mine", "ring#3"]);
    await sim.run();
    expect(done).toEqual([1, 2, 3]);
    expect(sim.now).toBe(30);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("keeps serial completion times and irq-latency statuses while reusing its timer", async () => {
    const sim = new Simulator({ validator: "collect" });
    const eng = new HardwareEngine(sim, "ring", { irqLatencyNs: 3 });
    const log: [number, number][] = [];
    for (let i = 0; i < 5; i++)
      eng.submit({
        durationNs: 10,
        error: i === 2 ? -5 : undefined,
        onComplete: (status) => log.push([sim.now, status]),
      });
    await sim.run();
    expect(log).toEqual([
      [13, 0],
      [23, 0],
      [33, -5],
      [43, 0],
      [53, 0],
    ]);
    expect(eng.stats).toMatchObject({ completed: 5, errors: 1, busyNs: 50, slotBusyNs: 50 });
  });

  it("cancels a running command after the engine re-armed a fired timer for it", async () => {
    const sim = new Simulator({ validator: "collect" });
    const eng = new HardwareEngine(sim, "ring", { width: 2 });
    const done: string[] = [];
    eng.submit({ durationNs: 10, onComplete: () => done.push("a") });
    await sim.run();
    const b = eng.submit({ durationNs: 10, onComplete: () => done.push("b") });
    const c = eng.submit({ durationNs: 20, onComplete: () => done.push("c") });
    expect(b.cancel()).toBe(true);
    expect(eng.busy).toBe(1);
    await sim.run();
    expect(done).toEqual(["a", "c"]);
    expect(c.state).toBe("done");
    expect(eng.stats.cancelled).toBe(1);
  });
});

describe("WorkQueue hot path", () => {
  it("shows the item's frame on the worker's backtrace on every run, and none after", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "wq", { ordered: true });
    const traces: string[][] = [];
    const w = new Work(() => {
      traces.push(sim.current.backtrace());
      if (traces.length < 3) wq.queueWork(w);
    }, "my_work_fn");
    wq.queueWork(w);
    await sim.run();
    expect(traces).toEqual([["my_work_fn"], ["my_work_fn"], ["my_work_fn"]]);
    expect(wq.executed).toBe(3);
    const worker = sim.allContexts().find((c) => c.name === "kworker/wq:0")!;
    expect(worker.backtrace()).toEqual([]);
  });

  it("an async item keeps its worker as current after an await", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "wq");
    const seen: string[] = [];
    const w = new Work(async () => {
      seen.push(sim.current.label);
      await new Promise<void>((r) => sim.schedule(5, r));
      seen.push(sim.current.label);
    }, "sleepy");
    wq.queueWork(w);
    await sim.run();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatch(/kworker\/wq/);
    expect(seen[1]).toBe(seen[0]);
    expect(wq.isIdle).toBe(true);
  });
});
