/**
 * A one-entry memo in front of `Simulator.subsystem` for hot paths (no kernel counterpart: the
 * kernel's subsystems keep this state in globals and per-CPU variables, which a simulator that
 * runs many machines in one process cannot).
 */
import type { Simulator } from "./simulator.js";

/** What the memo remembers: the simulator and its state, held by that simulator's subsystem map. */
interface MemoEntry<T> {
  readonly sim: Simulator;
  readonly value: T;
}

/**
 * Returns `sim => sim.subsystem(key, () => init(sim))` that answers a call for the same simulator
 * as the last one without the map lookup — fences, locks and irq_work ask per operation, almost
 * always for one simulator. The memo holds its entry weakly: a module-level strong reference
 * would keep a finished simulator (its whole world and trace) alive until the next one asks.
 */
export function subsystemMemo<T>(key: object, init: (sim: Simulator) => T): (sim: Simulator) => T {
  let last: WeakRef<MemoEntry<T>> | null = null;
  return (sim) => {
    const hit = last?.deref();
    if (hit !== undefined && hit.sim === sim) return hit.value;
    const entry = sim.subsystem(key, (): MemoEntry<T> => ({ sim, value: init(sim) }));
    last = new WeakRef(entry);
    return entry.value;
  };
}
