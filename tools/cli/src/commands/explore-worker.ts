/**
 * A worker thread of `drmsim explore`: loads the scenario once, says it is ready, then runs the
 * perturbation seeds the main thread sends one at a time and posts one message per run (the
 * finding signatures, and the decisions when the run failed). Seeds are handed out as workers
 * free up, so a worker that warms up more slowly or draws longer runs takes fewer of them.
 */
import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import { outcomeSignatures, type PerturbKnobs, primarySignature } from "@drmsim/runtime";
import { resolveScenario, runOutcome } from "./explore-target.js";

/** What the main thread hands a worker when it starts it. */
export interface ExploreWorkerData {
  scenario: string;
  seed: number | string;
  durationNs?: number;
  knobs: PerturbKnobs;
}

/** What the main thread sends a worker: the next [run index, perturbation seed] to run. */
export type ExploreWorkerTask = [index: number, seed: number];

const data = workerData as ExploreWorkerData;
const scenario = await resolveScenario(data.scenario);
const spec = {
  scenario,
  seed: data.seed,
  ...(data.durationNs === undefined ? {} : { durationNs: data.durationNs }),
};
const port = parentPort!;
port.on("message", ([index, seed]: ExploreWorkerTask) => {
  void runOutcome(spec, { ...data.knobs, seed }).then((outcome) => {
    const signatures = outcomeSignatures(outcome);
    port.postMessage({
      index,
      seed,
      primary: primarySignature(outcome) ?? "",
      signatures,
      decisions: signatures.length > 0 ? outcome.decisions : [],
    });
  });
});
port.postMessage({ ready: true });
