/**
 * The fence lock as a lock (`dma-fence-lock.ts`): which operations take it, with irqs off; one
 * class per ops table (or the driver's own lock); containers nest over their members; and with
 * the validator off nothing is tracked.
 */
import { Simulator, SpinLock, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DMA_FENCE_LOCK_RULE,
  DmaFence,
  type DmaFenceCb,
  DmaFenceChain,
  type DmaFenceOps,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  dmaFenceLockClass,
  dmaFenceLockIrqsave,
  dmaFenceSetLockClass,
  dmaFenceUnlockIrqrestore,
  dmaFenceWithLock,
} from "../src/index.js";
import { mockFence, mockOps } from "./mock-fence.js";

const noop: DmaFenceCb = { func: () => {} };

/** What the current context holds, by class name. */
const heldNames = (sim: Simulator): string[] => sim.current.held.map((h) => h.cls.name);

describe("fence lock: the operations that take it", () => {
  it("add_callback, remove_callback, enable_sw_signaling and signal each order a held lock before the fence lock", () => {
    for (const op of ["add", "remove", "enable", "signal"] as const) {
      const sim = new Simulator();
      const outer = new SpinLock(sim, `&outer_${op}->lock`);
      const f = mockFence(sim);
      const cb: DmaFenceCb = { func: () => {} };
      if (op === "remove") f.addCallback(cb);
      outer.withIrqsave(() => {
        if (op === "add") f.addCallback(cb);
        else if (op === "remove") f.removeCallback(cb);
        else if (op === "enable") f.enableSwSignaling();
        else f.signal();
      });
      expect(sim.validator.hasEdge(outer.cls, dmaFenceLockClass(f)), op).toBe(true);
      f.signal();
      f.put();
    }
  });

  it("a signalled fence is answered by add_callback without taking the lock (-ENOENT)", () => {
    const sim = new Simulator();
    const outer = new SpinLock(sim, "&outer->lock");
    const f = mockFence(sim);
    f.signal();
    expect(outer.withIrqsave(() => f.addCallback(noop))).toBe(-2);
    expect(sim.validator.hasEdge(outer.cls, dmaFenceLockClass(f))).toBe(false);
    f.put();
  });

  it("callbacks run under the fence lock with irqs off, even when signalled from process context", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    let seen: { held: string[]; irqsOff: boolean; atomic: boolean } | null = null;
    f.addCallback({
      func: () => {
        seen = { held: heldNames(sim), irqsOff: sim.current.irqsDisabled, atomic: sim.current.inAtomic };
      },
    });
    await sim.exec("signaller", () => f.signal());
    expect(seen).toEqual({
      held: ["dma_fence_map", "&fence->inline_lock (mock)"],
      irqsOff: true,
      atomic: true,
    });
    // Released, and irqs back on, once signal returns.
    expect(sim.mainContext.held).toEqual([]);
    expect(sim.mainContext.hardirqsOff).toBe(0);
    f.put();
  });

  it("enable_signaling runs under the lock; a false return signals the fence without taking it again", () => {
    const sim = new Simulator();
    let held: string[] = [];
    const ops: DmaFenceOps = {
      getDriverName: () => "lazy",
      getTimelineName: () => "t",
      enableSignaling: () => {
        held = heldNames(sim);
        return false;
      },
    };
    const f = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
    expect(f.addCallback(noop)).toBe(-2);
    expect(f.signaled).toBe(true);
    expect(held).toEqual(["&fence->inline_lock (lazy)"]);
    expect(sim.validator.findings).toEqual([]);
    f.put();
  });

  it("dmaFenceLockIrqsave / dmaFenceUnlockIrqrestore disable irqs and restore the saved state", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const flags = dmaFenceLockIrqsave(f);
    expect(sim.current.irqsDisabled).toBe(true);
    expect(heldNames(sim)).toEqual(["&fence->inline_lock (mock)"]);
    dmaFenceUnlockIrqrestore(f, flags);
    expect(sim.current.irqsDisabled).toBe(false);
    expect(heldNames(sim)).toEqual([]);
    expect(dmaFenceWithLock(f, () => heldNames(sim))).toEqual(["&fence->inline_lock (mock)"]);
    f.signal();
    f.put();
  });
});

describe("fence lock: one held-lock entry per class, lent to each acquisition", () => {
  it("each fence held is its own entry, with its own op and backtrace, nested or in turn", () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    const g = mockFence(sim);
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const flags = dmaFenceLockIrqsave(i % 2 === 0 ? f : g, `lock#${i}`);
      const h = sim.current.held[0]!;
      seen.push(`${h.instance === f ? "f" : "g"} ${h.op}`);
      dmaFenceUnlockIrqrestore(i % 2 === 0 ? f : g, flags);
    }
    expect(seen).toEqual(["f lock#0", "g lock#1", "f lock#2"]);
    // g taken while f holds the class's entry: its own entry, and the same-class nesting is still
    // reported (recursive locking), however often f was taken clean before.
    const outer = dmaFenceLockIrqsave(f, "outer");
    const inner = dmaFenceLockIrqsave(g, "inner");
    expect(sim.current.held.map((h) => `${h.instance === f ? "f" : "g"} ${h.op}`)).toEqual([
      "f outer",
      "g inner",
    ]);
    expect(sim.validator.findings.map((x) => x.kind)).toEqual(["recursive-locking"]);
    // Released out of order: each release finds its own fence (the irq state restored last is
    // the outermost one, as with spin_unlock_irqrestore out of order).
    dmaFenceUnlockIrqrestore(f, inner);
    expect(sim.current.held.map((h) => h.instance === g)).toEqual([true]);
    dmaFenceUnlockIrqrestore(g, outer);
    expect(sim.current.held).toEqual([]);
    expect(sim.current.hardirqsOff).toBe(0);
    f.signal();
    g.signal();
    f.put();
    g.put();
  });

  it("a fence lock taken clean many times still reports the inversion the first time the other order is taken", () => {
    const sim = new Simulator({ validator: "collect" });
    const inner = new SpinLock(sim, "&drv->irq_lock");
    // A callback that takes &drv->irq_lock: fence lock -> &drv->irq_lock, on every signal.
    for (let i = 0; i < 100; i++) {
      const f = mockFence(sim);
      f.addCallback({ func: () => inner.with(() => {}) });
      f.signal();
      f.put();
    }
    expect(sim.validator.findings).toEqual([]);
    // The other order: &drv->irq_lock held while signalling a fence of that class.
    const f = mockFence(sim);
    inner.withIrqsave(() => f.signal());
    expect(sim.validator.findings.map((x) => [x.kind, x.chain.map((l) => `${l.from} -> ${l.to}`)])).toEqual([
      [
        "circular-dependency",
        ["&drv->irq_lock -> &fence->inline_lock (mock)", "&fence->inline_lock (mock) -> &drv->irq_lock"],
      ],
    ]);
    f.put();
  });
});

describe("fence lock classes", () => {
  it("one class per ops table, named after the driver; fences of one table share it", () => {
    const sim = new Simulator();
    const a = mockFence(sim);
    const b = mockFence(sim);
    const other = new DmaFence(sim, { getDriverName: () => "gpu", getTimelineName: () => "gfx" }, 7, 1);
    expect(dmaFenceLockClass(a)).toBe(dmaFenceLockClass(b));
    expect(dmaFenceLockClass(a).name).toBe("&fence->inline_lock (mock)");
    expect(dmaFenceLockClass(other).name).toBe("&fence->inline_lock (gpu)");
    expect(dmaFenceLockClass(a).rule).toBe(DMA_FENCE_LOCK_RULE);
    for (const f of [a, b, other]) {
      f.signal();
      f.put();
    }
  });

  it("keeps its class after signal detaches the ops (7.1), keyed by the fence's context", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const before = dmaFenceLockClass(f);
    f.signal();
    expect(f.ops).toBeNull();
    expect(dmaFenceLockClass(f)).toBe(before);
    f.put();
  });

  it("dmaFenceSetLockClass gives an ops table its own class (lockdep_set_class)", () => {
    const sim = new Simulator();
    const ops: DmaFenceOps = { getDriverName: () => "mock", getTimelineName: () => "hw" };
    dmaFenceSetLockClass(ops, "&my_hw_fence_lock_key");
    const f = new DmaFence(sim, ops, 3, 1);
    const m = mockFence(sim);
    expect(dmaFenceLockClass(f).name).toBe("&my_hw_fence_lock_key");
    expect(dmaFenceLockClass(f)).not.toBe(dmaFenceLockClass(m));
    for (const x of [f, m]) {
      x.signal();
      x.put();
    }
  });

  it("a driver-supplied lock is the fence lock: its own class, marked with the fence-lock rule", () => {
    const sim = new Simulator();
    const lock = new SpinLock(sim, "&ring->fence_lock");
    const f = new DmaFence(sim, mockOps, 9, 1, { lock });
    expect(dmaFenceLockClass(f)).toBe(lock.cls);
    f.addCallback({
      func: () => {
        expect(lock.owner).toBe(sim.current);
      },
    });
    f.signal();
    expect(lock.cls.rule).toBe(DMA_FENCE_LOCK_RULE);
    expect(lock.owner).toBeNull();
    f.put();
  });

  it("a callback that removes a callback from a fence of its own class is recursive locking, thrown at the call", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const g = mockFence(sim);
    g.addCallback(noop);
    f.addCallback({ func: () => void g.removeCallback(noop) });
    expect(() => f.signal()).toThrow(ValidatorError);
    const [finding] = sim.validator.findings;
    expect(finding!.kind).toBe("recursive-locking");
    expect(finding!.title).toBe(
      "possible recursive locking: dma_fence_remove_callback takes &fence->inline_lock (mock), already held by process:main/1",
    );
    expect(finding!.details).toEqual(["first taken by dma_fence_signal at (top level)"]);
    expect(finding!.explanation).toBe(DMA_FENCE_LOCK_RULE);
    // g was left alone: the refused lock was never taken.
    expect(g.pendingCallbacks).toBe(1);
    // Nothing is left held, and irqs are back on.
    expect(sim.mainContext.held).toEqual([]);
    expect(sim.mainContext.hardirqsOff).toBe(0);
  });
});

describe("fence containers nest over their members", () => {
  it("an array takes its members' locks under its own while enabling, and is signalled from irq_work, quietly", () => {
    const sim = new Simulator();
    const members = [mockFence(sim), mockFence(sim)];
    const array = dmaFenceArrayCreate(
      sim,
      members.map((m) => m.get()),
      dmaFenceContextAlloc(sim),
      1,
      false,
    )!;
    let signalledIn = "";
    array.addCallback({
      func: () => {
        signalledIn = sim.current.label;
      },
    });
    expect(sim.validator.hasEdge(dmaFenceLockClass(array), dmaFenceLockClass(members[0]!))).toBe(true);
    expect(dmaFenceLockClass(array).name).toBe("&dma_fence_array_lock_key");
    for (const m of members) m.signal();
    expect(array.signaled).toBe(true);
    expect(signalledIn).toMatch(/^irq:irq_work\//);
    expect(sim.validator.hasEdge(dmaFenceLockClass(members[0]!), dmaFenceLockClass(array))).toBe(false);
    expect(sim.validator.findings).toEqual([]);
    array.put();
    for (const m of members) m.put();
  });

  it("a chain link waiting on an array is advanced after the array's irq_work, not inside it", () => {
    const sim = new Simulator();
    const members = [mockFence(sim), mockFence(sim)];
    const array = dmaFenceArrayCreate(
      sim,
      members.map((m) => m.get()),
      dmaFenceContextAlloc(sim),
      1,
      false,
    )!;
    const link = new DmaFenceChain(sim, null, array, 1);
    expect(dmaFenceLockClass(link).name).toBe("&dma_fence_chain_lock_key");
    link.enableSwSignaling();
    for (const m of members) m.signal();
    expect(link.signaled).toBe(true);
    expect(sim.validator.hasEdge(dmaFenceLockClass(array), dmaFenceLockClass(link))).toBe(false);
    expect(sim.validator.findings).toEqual([]);
    link.put();
    for (const m of members) m.put();
  });
});

describe("with the validator off", () => {
  it("an inline lock is not tracked at all", () => {
    const sim = new Simulator({ validator: "off" });
    const f = mockFence(sim);
    let held: string[] = ["?"];
    f.addCallback({
      func: () => {
        held = heldNames(sim);
      },
    });
    expect(dmaFenceLockIrqsave(f)).toBe(0);
    expect(heldNames(sim)).toEqual([]);
    dmaFenceUnlockIrqrestore(f, 0);
    f.signal();
    expect(held).toEqual([]);
    expect(sim.validator.edgeCount).toBe(0);
    f.put();
  });
});
