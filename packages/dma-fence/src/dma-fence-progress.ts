/**
 * What a fence waits for, for the forward-progress verdicts (`explainProgress` in
 * `@drmsim/runtime`): a container waits for its members; any other fence waits for whoever
 * signals it — a scheduler job, a hardware command, a driver — which the packages that know them
 * explain. A fence nobody else can explain has nothing in the kernel behind it: only an action from
 * outside can signal it. That is the root of seed 001: an indefinite fence.
 */
import { registerProgressExplainer, type Simulator, stuckHardwareEngines } from "@drmsim/runtime";
import type { DmaFence } from "./dma-fence.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * A fence that nothing in the kernel will signal — no hardware command, scheduler job, work
     * item or timer stands behind it — waited on or depended on: its signalling waits on an action
     * from outside the kernel, userspace (seed 001).
     */
    "indefinite-fence": true;
  }
}

const INSTALLED = {};

/** @internal Registers the fence explainers with `sim` (once; from the first fence's checked init). */
export function installDmaFenceProgress(
  sim: Simulator,
  fenceClass: abstract new (...args: never[]) => DmaFence,
): void {
  sim.subsystem(INSTALLED, () => {
    registerProgressExplainer(sim, (obj) => (obj instanceof fenceClass ? obj.progressWaitsFor() : undefined));
    registerProgressExplainer(
      sim,
      (obj) => {
        if (!(obj instanceof fenceClass)) return undefined;
        if (obj.signaled) return { what: `${obj.describe()} has signalled` };
        // Hardware that will never complete what it holds may well be what this fence waits for.
        const hung = stuckHardwareEngines(sim);
        if (hung.length > 0)
          return {
            what: `${obj.describe()} has no known signaller, and hardware is stuck: ${hung.map((e) => e.name).join(", ")}`,
            next: hung,
          };
        return {
          what: `${obj.describe()} has nothing in the kernel behind it that will signal it`,
          root: {
            kind: "indefinite-fence",
            title: `indefinite fence: ${obj.describe()} can only be signalled from outside the kernel`,
            explanation:
              "No hardware command, scheduler job, work item or timer stands behind this fence, and " +
              "the simulation has nothing left to run: what signals it is something outside the " +
              "kernel — userspace writing a value, submitting more work, closing a file. A dma_fence " +
              "must signal in bounded time whatever userspace does, because memory management and " +
              "other drivers wait on it (seed 001: indefinite fences are a bad idea). Do not let a " +
              "fence, or a job that publishes one, depend on userspace: wait for userspace in " +
              "userspace, before the submission.",
          },
        };
      },
      { fallback: true },
    );
    return true;
  });
}
