/**
 * A worker thread of `drmsim explore`: loads the scenario once, says it is ready, then runs the
 * perturbation seeds the main thread sends, in order, and posts one message per run (the finding
 * signatures, and the decisions when the run failed). Seeds are handed out as workers free up, so
 * a worker that warms up more slowly or draws longer runs takes fewer of them.
 */
import "reflect-metadata";
import { parentPort, workerData } from "node:worker_threads";
import type { PerturbKnobs } from "@drmsim/runtime";
import { resolveScenario, runExploreTask } from "./explore-target.js";

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
// Tasks arrive ahead of need (the main thread keeps a few queued here); they run one at a time.
const queue: ExploreWorkerTask[] = [];
let running = false;
async function drain(): Promise<void> {
  running = true;
  for (let task = queue.shift(); task !== undefined; task = queue.shift())
    port.postMessage(await runExploreTask(spec, data.knobs, task));
  running = false;
}
port.on("message", (task: ExploreWorkerTask) => {
  queue.push(task);
  if (!running) void drain();
});
port.postMessage({ ready: true });
