/** `Validator.mightLockIrqsave`: a spinlock taken and dropped around plain data, without a held entry. */
import { describe, expect, it } from "vitest";
import { Simulator, SpinLock } from "../src/index.js";

describe("Validator.mightLockIrqsave (might_lock for a brief irqsave spinlock)", () => {
  it("adds the held → class edges of a real acquisition, and leaves nothing held", () => {
    const sim = new Simulator();
    const outer = new SpinLock(sim, "&outer->lock");
    const brief = sim.validator.lockClass("&brief->lock", "spinlock");
    const ctx = sim.current;
    outer.withIrqsave(() => sim.validator.mightLockIrqsave(ctx, brief, brief, "brief_op"));
    expect(sim.validator.hasEdge(outer.cls, brief)).toBe(true);
    expect(ctx.held).toEqual([]);
    expect(ctx.hardirqsOff).toBe(0);
  });

  it("reports the same class already held (recursive locking), as an acquisition would", () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&same->lock");
    lock.withIrqsave(() => sim.validator.mightLockIrqsave(sim.current, lock.cls, {}, "brief_op"));
    const [f] = sim.validator.findings;
    expect(f!.kind).toBe("recursive-locking");
    expect(f!.title).toBe(
      `possible recursive locking: brief_op takes &same->lock, already held by ${sim.current.label}`,
    );
  });

  it("closes a cycle like an acquisition", () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new SpinLock(sim, "A");
    const b = sim.validator.lockClass("B", "spinlock");
    const bLock = new SpinLock(sim, "B");
    bLock.withIrqsave(() => a.withIrqsave(() => {}));
    a.withIrqsave(() => sim.validator.mightLockIrqsave(sim.current, b, b, "brief_op"));
    expect(sim.validator.findingsOf("circular-dependency")).toHaveLength(1);
  });

  it("marks in-hardirq usage from irq context and none from process context (irqs are off)", () => {
    const sim = new Simulator({ validator: "collect" });
    const cls = sim.validator.lockClass("&q->lock", "spinlock");
    sim.validator.mightLockIrqsave(sim.current, cls, cls, "brief_op");
    expect(cls.usage).toBe(0);
    sim.runAs(sim.irqContext("irq0"), () =>
      sim.validator.mightLockIrqsave(sim.current, cls, cls, "brief_op"),
    );
    expect(cls.usedInIrq?.context).toMatch(/^irq:irq0\//);
    // Taken with irqs enabled elsewhere: inconsistent, as for any spinlock.
    new SpinLock(sim, "&q->lock").lock();
    expect(sim.validator.findingsOf("inconsistent-lock-state")).toHaveLength(1);
  });

  it("costs nothing with the validator off", () => {
    const sim = new Simulator({ validator: "off" });
    const cls = sim.validator.lockClass("&q->lock", "spinlock");
    sim.validator.mightLockIrqsave(sim.current, cls, cls, "brief_op");
    expect(sim.validator.edgeCount).toBe(0);
    expect(cls.usage).toBe(0);
  });
});
