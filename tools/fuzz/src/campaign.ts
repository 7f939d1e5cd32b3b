/**
 * `pnpm fuzz [--runs N] [--seed S] [--calls C] [--min-calls M] [--sweep]`: a longer fuzz campaign
 * than CI's, or (`--sweep`) the allocation-failure sweep. Prints calls made, invariants checked
 * and failures with the shrunk counterexample; exits 1 on a failure.
 */
import "reflect-metadata";
import { runFuzz } from "./fuzz.js";
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
  const runs = arg("runs", 1000);
  const calls = arg("calls", 40);
  const minCalls = arg("min-calls", 0);
  const t0 = process.hrtime.bigint();
  const { stats, failure } = await runFuzz({ runs, callsPerRun: calls, seed, minCalls });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`seed ${seed}: ${stats.runs} sequences, ${stats.calls} ioctls + ${stats.syscalls} fd syscalls`);
  console.log(`  ${stats.ok} ioctls succeeded; rejected by errno: ${JSON.stringify(stats.errnos)}`);
  console.log(`  ${stats.invariants} invariant checks, ${failure ? 1 : 0} failures, ${secs.toFixed(1)} s`);
  console.log(`  blocked calls signalled: ${JSON.stringify(stats.signals)}`);
  const rows = Object.entries(stats.byIoctl).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, s] of rows)
    console.log(`  ${name.padEnd(40)} ${String(s.calls).padStart(6)} calls ${String(s.ok).padStart(6)} ok`);
  if (failure) {
    console.log(`\nFAILURE: ${failure.message}`);
    console.log(`shrunk counterexample: ${failure.counterexample}`);
    console.log(`replay: seed ${failure.seed}, path ${failure.path}`);
    process.exitCode = 1;
  }
}
