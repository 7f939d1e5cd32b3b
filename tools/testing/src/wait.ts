/**
 * Wait helpers for tests that drive the simulator from outside (the test body is not a simulated
 * context): advance virtual time until something holds, with a bound, and say what was awaited
 * when the bound is hit.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import type { Simulator } from "@drmsim/runtime";

/**
 * Runs the simulator until `pred()` holds or `timeoutNs` of virtual time have passed, checking
 * after every event. Returns the virtual ns it took; throws an `Error` naming `what` on timeout.
 */
export async function runUntil(
  sim: Simulator,
  pred: () => boolean,
  opts: { timeoutNs: number; what?: string },
): Promise<number> {
  const start = sim.now;
  const end = start + opts.timeoutNs;
  // A guard event at the bound: without it, run() jumps the clock to the bound as soon as the
  // queue empties, and the time the predicate became true would be lost.
  const guard = sim.at(end, () => {});
  try {
    while (!pred()) {
      if (sim.now >= end)
        throw new Error(
          `${opts.what ?? "condition"} did not hold within ${opts.timeoutNs} ns of virtual time (at ${sim.now} ns)`,
        );
      await sim.run({ untilNs: end, maxEvents: 1 });
    }
  } finally {
    guard.cancel();
  }
  return sim.now - start;
}

/** Runs the simulator until every fence in `fences` signalled, or throws after `timeoutNs`. */
export function runUntilSignaled(
  sim: Simulator,
  fences: readonly DmaFence[],
  timeoutNs: number,
): Promise<number> {
  return runUntil(sim, () => fences.every((f) => f.isSignaled()), {
    timeoutNs,
    what: `signalling of ${
      fences
        .filter((f) => !f.isSignaled())
        .map((f) => f.describe())
        .join(", ") || "the fences"
    }`,
  });
}
