/**
 * `pnpm bench`: runs every `*.bench.ts` in this folder (or those named on the command line),
 * prints a table and writes `bench/results.json`.
 *
 * A bench module exports `comparisons: Comparison[]` and/or `figures: () => Promise<Figure[]>`.
 *
 * Each comparison line shows the subject's and the baseline's best-of rate in CPU time, the median
 * ratio over paired samples (CPU time; targets are judged on these), the same in wall-clock time
 * in brackets, the target and ✓/✗.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Comparison, compare, type Figure, fmtRate, type Result } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: Result[] = [];
const figures: Figure[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as {
    comparisons?: Comparison[];
    figures?: () => Promise<Figure[]>;
  };
  for (const c of mod.comparisons ?? []) {
    const r = await compare(c);
    results.push(r);
    const verdict = r.met === undefined ? "" : r.met ? "  ✓" : "  ✗ below target";
    console.log(
      `${r.title.padEnd(58)} ${fmtRate(r.subject.cpuOpsPerSec).padStart(12)} vs ${fmtRate(r.baseline.cpuOpsPerSec).padStart(12)} (${r.baseline.name})  ratio ${r.ratio.toFixed(2)}  [wall ${fmtRate(r.subject.opsPerSec)} vs ${fmtRate(r.baseline.opsPerSec)}, ratio ${r.wallRatio.toFixed(2)}; ${r.samples} pairs]${r.target ? `  target ${r.target}` : ""}${verdict}`,
    );
  }
  for (const fig of (await mod.figures?.()) ?? []) {
    figures.push(fig);
    const base = fig.baseline
      ? ` vs ${fig.baseline.value.toFixed(1)} (${fig.baseline.name})  ratio ${fig.ratio?.toFixed(2)}`
      : "";
    const verdict = fig.met === undefined ? "" : fig.met ? "  ✓" : "  ✗ below target";
    console.log(
      `${fig.title.padEnd(58)} ${fig.value.toFixed(1).padStart(12)} ${fig.unit}${base}${fig.target ? `  target ${fig.target}` : ""}${verdict}`,
    );
  }
}
writeFileSync(
  join(here, "results.json"),
  `${JSON.stringify({ node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), loadavg: loadavg(), results, figures }, null, 2)}\n`,
);
console.log(`\nwrote bench/results.json (${results.length} comparisons, ${figures.length} figures)`);
