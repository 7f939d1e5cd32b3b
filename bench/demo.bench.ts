/**
 * The three-driver demo (`drmsim demo`: amdgpu renders, asahi composites at 60 Hz, habanalabs
 * runs an inference CS per frame): CPU time for 10 simulated seconds, and how many times faster
 * than real time that is. Validator `collect`, as `drmsim demo` runs it. Run with
 * `pnpm bench demo`.
 */
import { secs } from "@drmsim/runtime";
import { runScenario } from "../tools/cli/src/index.js";
import { demoScenario } from "../tools/cli/src/scenarios/demo.js";
import type { Figure } from "./harness.js";

const SIMULATED_NS = secs(10);
const RUNS = 5;

/** CPU milliseconds of one 10-simulated-second run; throws on a finding (the demo is clean). */
async function run(): Promise<number> {
  const c0 = process.cpuUsage();
  const r = await runScenario(demoScenario, { seed: 1, durationNs: SIMULATED_NS, validator: "collect" });
  const c = process.cpuUsage(c0);
  if (r.findings.length > 0) throw new Error(`demo: ${r.findings[0]!.title}`);
  return (c.user + c.system) / 1000;
}

export async function figures(): Promise<Figure[]> {
  await run(); // warm-up (JIT)
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) best = Math.min(best, await run());
  const realTime = SIMULATED_NS / 1e6 / best;
  return [
    {
      id: "demo.cpu-ms-per-10s",
      title: "demo: CPU for 10 simulated seconds (best of 5)",
      value: best,
      unit: "ms",
      target: "≤ 100 ms",
      met: best <= 100,
    },
    {
      id: "demo.real-time",
      title: "demo: simulated time / CPU time",
      value: realTime,
      unit: "× real time",
      target: "≥ 100×",
      met: realTime >= 100,
    },
  ];
}
