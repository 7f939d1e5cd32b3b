/**
 * `pnpm bench`: runs every `*.bench.ts` in this folder (or those named on the command line),
 * prints a table and writes `bench/results.json`.
 *
 * A bench module exports `comparisons: Comparison[]` and/or `figures: () => Promise<Figure[]>`.
 *
 * Each comparison line shows the subject's and the baseline's best-of rate in CPU time, the median
 * ratio over paired samples (CPU time; targets are judged on these), the same in wall-clock time
 * in brackets, the target and ✓/✗.
 *
 * Every bench file runs in its own Node process (same flags as this one): code shared between
 * benchmarks — the event loop, fences — would otherwise carry the type feedback of every earlier
 * file, and a figure would depend on which files ran before it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Comparison, compare, type Figure, fmtRate, type Result } from "./harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);

interface Output {
  results: Result[];
  figures: Figure[];
}

/** Runs one bench file in this process, printing its lines; the child side of `pnpm bench`. */
async function runFile(f: string): Promise<Output> {
  const out: Output = { results: [], figures: [] };
  const mod = (await import(pathToFileURL(join(here, f)).href)) as {
    comparisons?: Comparison[];
    figures?: () => Promise<Figure[]>;
  };
  for (const c of mod.comparisons ?? []) {
    const r = await compare(c);
    out.results.push(r);
    const verdict = r.met === undefined ? "" : r.met ? "  ✓" : "  ✗ below target";
    console.log(
      `${r.title.padEnd(58)} ${fmtRate(r.subject.cpuOpsPerSec).padStart(12)} vs ${fmtRate(r.baseline.cpuOpsPerSec).padStart(12)} (${r.baseline.name})  ratio ${r.ratio.toFixed(2)}  [wall ${fmtRate(r.subject.opsPerSec)} vs ${fmtRate(r.baseline.opsPerSec)}, ratio ${r.wallRatio.toFixed(2)}; ${r.samples} pairs]${r.target ? `  target ${r.target}` : ""}${verdict}`,
    );
  }
  for (const fig of (await mod.figures?.()) ?? []) {
    out.figures.push(fig);
    const base = fig.baseline
      ? ` vs ${fig.baseline.value.toFixed(1)} (${fig.baseline.name})  ratio ${fig.ratio?.toFixed(2)}`
      : "";
    const verdict = fig.met === undefined ? "" : fig.met ? "  ✓" : "  ✗ below target";
    console.log(
      `${fig.title.padEnd(58)} ${fig.value.toFixed(1).padStart(12)} ${fig.unit}${base}${fig.target ? `  target ${fig.target}` : ""}${verdict}`,
    );
  }
  return out;
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  // bench/run.ts --child <file> <json path>
  const out = await runFile(args[1]!);
  writeFileSync(args[2]!, JSON.stringify(out));
  // A bench may leave a server listening (shim.bench.ts): its figures are written, so end here.
  process.exit(0);
} else {
  const files = readdirSync(here)
    .filter((f) => f.endsWith(".bench.ts"))
    .filter((f) => args.length === 0 || args.some((o) => f.includes(o)))
    .sort();
  const results: Result[] = [];
  const figures: Figure[] = [];
  const tmp = mkdtempSync(join(tmpdir(), "drmsim-bench-"));
  try {
    for (const f of files) {
      const json = join(tmp, `${f}.json`);
      const child = spawnSync(process.execPath, [...process.execArgv, self, "--child", f, json], {
        stdio: "inherit",
      });
      if (child.status !== 0) throw new Error(`bench: ${f} failed (exit ${child.status ?? child.signal})`);
      const out = JSON.parse(readFileSync(json, "utf8")) as Output;
      results.push(...out.results);
      figures.push(...out.figures);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  writeFileSync(
    join(here, "results.json"),
    `${JSON.stringify({ node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), loadavg: loadavg(), results, figures }, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results.json (${results.length} comparisons, ${figures.length} figures)`);
}
