/**
 * A worker thread of `drmsim explore`: runs its share of the perturbation seeds and posts one
 * message per run (the finding signatures, and the decisions when the run failed).
 */
import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import { outcomeSignatures, type PerturbKnobs, primarySignature } from "@drmsim/runtime";
import { resolveScenario, runOutcome } from "./explore-target.js";

/** What the main thread hands a worker. */
export interface ExploreWorkerData {
  scenario: string;
  seed: number | string;
  durationNs?: number;
  knobs: PerturbKnobs;
  /** [run index, perturbation seed] pairs to run, in order. */
  runs: [number, number][];
}

const data = workerData as ExploreWorkerData;
const scenario = await resolveScenario(data.scenario);
const spec = {
  scenario,
  seed: data.seed,
  ...(data.durationNs === undefined ? {} : { durationNs: data.durationNs }),
};
for (const [index, seed] of data.runs) {
  const outcome = await runOutcome(spec, { ...data.knobs, seed });
  const signatures = outcomeSignatures(outcome);
  parentPort!.postMessage({
    index,
    seed,
    primary: primarySignature(outcome) ?? "",
    signatures,
    decisions: signatures.length > 0 ? outcome.decisions : [],
  });
}
parentPort!.postMessage({ done: true });
