/**
 * A small driver for profiling the drm_sched end-to-end hot path (the `drm-sched-1-entity`
 * benchmark's subject) outside the harness:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --conditions=@drmsim/source --import tsx \
 *     bench/profile-drm-sched.ts [entities=1] [validator=off] [runs=15]
 *
 * Prints the best CPU-time rate of `runs` runs of 50,000 jobs after one warm-up run.
 */
import type { ValidatorMode } from "@drmsim/runtime";
import { endToEnd } from "./drm-sched.bench.js";

const entities = Number(process.argv[2] ?? 1);
const mode = (process.argv[3] ?? "off") as ValidatorMode;
const runs = Number(process.argv[4] ?? 15);
const JOBS = 50_000;
const window = entities > 1 ? 4096 : 256;

await endToEnd(entities, JOBS, mode, window);
let best = Number.POSITIVE_INFINITY;
for (let i = 0; i < runs; i++) {
  const c0 = process.cpuUsage();
  await endToEnd(entities, JOBS, mode, window);
  const c = process.cpuUsage(c0);
  best = Math.min(best, (c.user + c.system) / 1000);
}
console.log(
  `${entities} entit${entities === 1 ? "y" : "ies"}, validator ${mode}: ${(((JOBS / best) * 1000) / 1e6).toFixed(3)} M jobs/s (best CPU time of ${runs})`,
);
