/**
 * `pnpm fuzz [--runs N] [--seed S] [--calls C] [--min-calls M] [--no-shrink] [--sweep]`: a fuzz
 * campaign (`--runs 60 --seed 24301 --min-calls 4000` is CI's), or (`--sweep`) the
 * allocation-failure sweep. Prints calls made, invariants checked, calls and successes per ioctl
 * (and those below the success floor), and failures with the shrunk counterexample (the first
 * failing sequence as it ran with `--no-shrink`); exits 1 on a failure.
 */
import "reflect-metadata";
import { runFuzz } from "./fuzz.js";
import { belowSuccessFloor, CI_CAMPAIGN, formatFuzzStats, SUCCESS_FLOOR } from "./report.js";
import { formatSweep, runSweep } from "./sweep.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v)) throw new Error(`--${name} needs an integer, got ${process.argv[i + 1]}`);
  return v;
}

const seed = arg("seed", 1);
if (process.argv.includes("--sweep")) {
  const results = await runSweep(undefined, seed);
  console.log(formatSweep(results));
  const problems = results.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`));
  const injected = results.reduce((n, r) => n + r.injected, 0);
  console.log(
    `\n${results.length} cases, ${injected} injected allocation failures, ${problems.length} problems`,
  );
  for (const p of problems) console.log(`  ${p}`);
  process.exitCode = problems.length > 0 ? 1 : 0;
} else {
  const runs = arg("runs", CI_CAMPAIGN.runs);
  const calls = arg("calls", CI_CAMPAIGN.callsPerRun ?? 40);
  const minCalls = arg("min-calls", 0);
  const shrink = !process.argv.includes("--no-shrink");
  const t0 = process.hrtime.bigint();
  const { stats, failure } = await runFuzz({ runs, callsPerRun: calls, seed, minCalls, shrink });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(formatFuzzStats(stats, `seed ${seed}`));
  console.log(`  ${failure ? 1 : 0} failures, ${secs.toFixed(1)} s`);
  const low = belowSuccessFloor(stats, Object.keys(stats.byIoctl));
  if (low.length > 0)
    console.log(`  below ${SUCCESS_FLOOR} successes: ${low.map((r) => `${r.name} (${r.ok})`).join(", ")}`);
  if (failure) {
    console.log(`\nFAILURE: ${failure.message}`);
    console.log(`${shrink ? "shrunk " : ""}counterexample: ${failure.counterexample}`);
    console.log(`replay: seed ${failure.seed}, path ${failure.path}`);
    process.exitCode = 1;
  }
}
