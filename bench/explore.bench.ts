/**
 * `drmsim explore` throughput: explored runs per second of the demo scenario (whatever
 * `demoScenario` is) with one worker (this thread) as a ratio against plain, unperturbed runs of
 * the same scenario, and with two worker threads as a ratio against one. The 2-worker figure
 * includes starting the workers (each loads the scenario and the packages once, then warms up its
 * JIT: its first runs take 3–4× a warm one). Run with `pnpm bench explore`.
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
  const one = await exploredRunsPerSec(1);
  const two = await exploredRunsPerSec(2);
  const plain = Math.max(plainBefore, await plainRunsPerSec());
  const title = (workers: number, failing: number) =>
    `explore: demo runs/s, ${workers} worker${workers === 1 ? "" : "s"}${failing > 0 ? ` (${failing} failing)` : ""}`;
  // Issue #28: one worker (this thread) ≥ 0.95 of plain runs; N workers ≥ 0.85·N × one worker on an
  // otherwise idle machine (the load average is printed beside the table).
  return [
    {
      id: "explore-demo-1w",
      title: title(1, one.failing),
      value: one.rate,
      unit: "runs/s",
      baseline: { name: "plain runs/s, this thread", value: plain },
      ratio: one.rate / plain,
      target: "≥ 0.95 of plain runs",
      met: one.rate / plain >= 0.95,
    },
    {
      id: "explore-demo-2w",
      title: title(2, two.failing),
      value: two.rate,
      unit: "runs/s",
      baseline: { name: "1 worker", value: one.rate },
      ratio: two.rate / one.rate,
      target: "≥ 1.7 × 1 worker (0.85·N)",
      met: two.rate / one.rate >= 1.7,
    },
  ];
}
