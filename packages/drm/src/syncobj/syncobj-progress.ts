/**
 * What a syncobj wait waits for, for the forward-progress verdicts (`explainProgress` in
 * `@drmsim/runtime`): the fence of each point it waits on — or, for a point nobody has submitted
 * yet, nothing at all. A wait for submission whose point nothing left in the simulation will add is
 * a root: the producer exited, is stuck itself, or submits another point.
 */
import { registerProgressExplainer, type Simulator } from "@drmsim/runtime";
import type { PointWaiter } from "./drm-syncobj.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A wait (WAIT_FOR_SUBMIT / WAIT_AVAILABLE) for a syncobj point that nothing will ever submit. */
    "syncobj-point-never-submitted": true;
  }
}

const INSTALLED = {};

/** @internal Registers the syncobj-wait explainer with `sim` (once; from the first wait). */
export function installSyncobjProgress(sim: Simulator): void {
  sim.subsystem(INSTALLED, () => {
    registerProgressExplainer(sim, (obj) => {
      const w = obj as Partial<PointWaiter>;
      if (!Array.isArray(w.targets) || typeof w.describe !== "function") return undefined;
      const waiter = obj as PointWaiter;
      for (const { syncobj, point } of waiter.targets) {
        const f = syncobj.lookup(point);
        if (f === null) {
          const which = point === 0n ? "a fence on" : `point ${point} of`;
          return {
            what: `the wait for ${waiter.describe()} needs ${which} ${syncobj.describe()}, which has not been submitted`,
            root: {
              kind: "syncobj-point-never-submitted",
              title: `a wait for ${which} ${syncobj.describe()}, which nobody will submit`,
              explanation:
                "The waiter waits for a point to be submitted (WAIT_FOR_SUBMIT or WAIT_AVAILABLE) and " +
                "nothing left in the simulation will submit it: its producer has exited, is stuck " +
                "itself, or submits a different point. The kernel cannot know who would submit; the " +
                "waiting side needs a timeout or a way to be told that its producer is gone, and a " +
                "producer must submit (or signal) every point it promised, error paths included.",
            },
          };
        }
        f.put();
        if (!f.signaled && waiter.waitAll) return { what: `the wait for ${waiter.describe()}`, next: [f] };
        if (!f.signaled) return { what: `the wait for ${waiter.describe()} (any one)`, next: [f] };
      }
      return { what: `the wait for ${waiter.describe()}: every point is there and signalled` };
    });
    return true;
  });
}
