/**
 * A memo in front of `Simulator.subsystem` for hot paths (no kernel counterpart: the kernel's
 * subsystems keep this state in globals and per-CPU variables, which a simulator that runs many
 * machines in one process cannot).
 */
import type { Simulator } from "./simulator.js";

/** Slots handed out so far: one per `subsystemMemo` call, process-wide. */
let nextSlot = 0;

/**
 * Returns `sim => sim.subsystem(key, () => init(sim))` that answers without the map lookup —
 * fences, locks and irq_work ask per operation. Each memo owns a slot index, and the value lives
 * in that slot of the simulator's own `memoSlots` array: one indexed load per call, no reference
 * from the module to any simulator (a finished one is collected with its state), and no `WeakRef`,
 * whose `deref()` adds its target to the engine's keep-alive set on every call — an allocation per
 * microtask turn, and most of a memo hit's cost.
 */
export function subsystemMemo<T>(key: object, init: (sim: Simulator) => T): (sim: Simulator) => T {
  const slot = nextSlot++;
  return (sim) => {
    // The slot's key is checked too: two copies of this module in one process (two installed
    // versions) number their slots alike, and must not read each other's values.
    if (sim.memoKeys[slot] === key) return sim.memoSlots[slot] as T;
    const value = sim.subsystem(key, () => init(sim));
    sim.memoKeys[slot] = key;
    sim.memoSlots[slot] = value;
    return value;
  };
}
