/**
 * A fence callback that removes another callback from its own fence: the fence's lock is taken
 * while held. drmsim reports recursive locking, naming both acquisitions.
 */
import { Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  OWN_LOCK_DRIVER,
  OwnLockDriver,
} from "../fixtures/fence-callback-own-lock/fence-callback-own-lock.js";

const FENCE_LOCK = `&fence->inline_lock (${OWN_LOCK_DRIVER})`;

describe("fixture: fence-callback-own-lock", () => {
  it("the first completion reports recursive-locking: remove_callback in the callback, signal in the irq handler", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new OwnLockDriver(sim);
    const f = drv.submit(usecs(10));
    await sim.run();

    const [finding] = sim.validator.findings;
    expect(sim.validator.findings).toHaveLength(1);
    expect(finding!.kind).toBe("recursive-locking");
    expect(finding!.title).toBe(
      `possible recursive locking: dma_fence_remove_callback takes ${FENCE_LOCK}, already held by ${drv.engine.irq.label}`,
    );
    // Inner path: the callback; outer path: the signal in the interrupt handler.
    expect(finding!.backtrace).toEqual([`${OWN_LOCK_DRIVER}.wake_cb`, `${OWN_LOCK_DRIVER}.irq_handler`]);
    expect(finding!.details).toEqual([`first taken by dma_fence_signal at ${OWN_LOCK_DRIVER}.irq_handler`]);
    expect(finding!.held).toEqual([`${FENCE_LOCK} (write) — dma_fence_signal`]);
    expect(finding!.explanation).toMatch(/on its own fence that is a deadlock/);
    expect(f.signaled).toBe(true);
    f.put();
  });

  it("the fixed driver (one callback does both) is quiet and counts every job once", async () => {
    const sim = new Simulator();
    const drv = new OwnLockDriver(sim, { fixed: true });
    const fences = [drv.submit(usecs(10)), drv.submit(usecs(10))];
    await sim.run();
    expect({ woken: drv.woken, completed: drv.completed }).toEqual({ woken: 2, completed: 2 });
    for (const f of fences) f.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
