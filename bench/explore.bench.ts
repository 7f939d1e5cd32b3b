/**
 * `drmsim explore` throughput: explored runs per second of the demo scenario (whatever
 * `demoScenario` is) with 1 and 2 worker threads, each as a ratio against plain, unperturbed runs
 * of the same scenario in this thread. The 2-worker figure includes starting the workers (each
 * loads the scenario and the packages once). Run with `pnpm bench explore`.
 */
import { performance } from "node:perf_hooks";
import { exploreCommand, runScenario } from "../tools/cli/src/index.js";
import { demoScenario } from "../tools/cli/src/scenarios/demo.js";
import type { Figure } from "./harness.js";

const RUNS = 200;
const quietIo = {
  out: () => {},
  err: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
};

async function plainRunsPerSec(): Promise<number> {
  for (let i = 0; i < 20; i++) await runScenario(demoScenario); // warm-up (JIT), like the explorer's first runs
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await runScenario(demoScenario);
  return RUNS / ((performance.now() - t0) / 1000);
}

async function exploredRunsPerSec(workers: number): Promise<{ rate: number; failing: number }> {
  const r = await exploreCommand(
    { scenario: "demo", loaded: demoScenario, runs: RUNS, workers, outDir: ".drmsim/bench-explore" },
    quietIo,
  );
  return { rate: r.runs / (r.wallMs / 1000), failing: r.failingRuns };
}

export async function figures(): Promise<Figure[]> {
  // Plain runs before and after the explored ones; the better figure is the baseline.
  const plainBefore = await plainRunsPerSec();
  const out: Figure[] = [];
  for (const workers of [1, 2]) {
    const { rate, failing } = await exploredRunsPerSec(workers);
    out.push({
      id: `explore-demo-${workers}w`,
      title: `explore: demo runs/s, ${workers} worker${workers === 1 ? "" : "s"}${failing > 0 ? ` (${failing} failing)` : ""}`,
      value: rate,
      unit: "runs/s",
    });
  }
  const plain = Math.max(plainBefore, await plainRunsPerSec());
  for (const f of out) {
    f.baseline = { name: "plain runs/s, this thread", value: plain };
    f.ratio = f.value / plain;
  }
  return out;
}
