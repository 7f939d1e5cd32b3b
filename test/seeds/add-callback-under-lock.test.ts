/**
 * `dma_fence_add_callback` under a lock that the fence's callbacks take: drmsim reports the cycle
 * through the fence lock with both paths.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DepTracker, TRACKER_LOCK } from "../fixtures/add-callback-under-lock/add-callback-under-lock.js";

const FENCE_LOCK = "&fence->inline_lock (ring_gpu)";

/** The fences the tracker waits on: a ring that signals them from its interrupt. */
function ring(sim: Simulator) {
  const engine = new HardwareEngine(sim, "ring_gpu-ring");
  const ops: DmaFenceOps = { getDriverName: () => "ring_gpu", getTimelineName: () => "ring" };
  const ctx = dmaFenceContextAlloc(sim);
  let seqno = 0;
  return {
    engine,
    emit(durationNs: number): DmaFence {
      const f = new DmaFence(sim, ops, ctx, ++seqno);
      engine.submit({
        durationNs,
        onComplete: () => sim.withFrame("ring_gpu.irq_handler", () => f.signal()),
      });
      return f;
    },
  };
}

describe("fixture: add-callback-under-lock", () => {
  it("a callback taking the tracker lock after track() added callbacks under it is a cycle, both paths named", async () => {
    const sim = new Simulator({ validator: "collect" });
    const r = ring(sim);
    const tracker = new DepTracker(sim);
    const fences = [r.emit(usecs(10)), r.emit(usecs(20))];
    await sim.exec("submit", () => tracker.track(fences));
    await sim.run();

    const cycles = sim.validator.findingsOf("circular-dependency");
    expect(cycles).toHaveLength(1);
    const f = cycles[0]!;
    expect(f.title).toBe(
      `possible circular locking dependency: spin_lock_irqsave(${TRACKER_LOCK}) takes ${TRACKER_LOCK} while holding ${FENCE_LOCK}`,
    );
    expect(f.cycle).toEqual([FENCE_LOCK, TRACKER_LOCK]);
    // New: the callback, in the ring's interrupt, under the fence lock that signal took.
    expect(f.chain[0]!.context).toBe(r.engine.irq.label);
    expect(f.chain[0]!.heldOp).toBe("dma_fence_signal");
    expect(f.chain[0]!.backtrace).toEqual(["dep_tracker.fence_cb", "ring_gpu.irq_handler"]);
    // Seen: add_callback under the tracker lock, in the submitting process.
    expect(f.chain[1]!.op).toBe("dma_fence_add_callback");
    expect(f.chain[1]!.context).toMatch(/^process:submit\//);
    expect(f.chain[1]!.backtrace).toEqual(["dep_tracker.track"]);
    expect(f.explanation).toMatch(
      /never be held while signalling a fence of that class or adding a callback/,
    );
    expect(tracker.entries).toEqual([]);
    for (const x of fences) x.put();
  });

  it("the fixed tracker (callbacks added after dropping the lock) is quiet", async () => {
    const sim = new Simulator();
    const r = ring(sim);
    const tracker = new DepTracker(sim, { fixed: true });
    const fences = [r.emit(usecs(10)), r.emit(usecs(20))];
    await sim.exec("submit", () => tracker.track(fences));
    await sim.run();
    expect(tracker.entries).toEqual([]);
    for (const x of fences) x.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
