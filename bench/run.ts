/**
 * `pnpm bench`: runs every `*.bench.ts` in this folder (or those named on the command line),
 * prints a table and writes `bench/results.json`.
 *
 * A bench module exports `comparisons: Comparison[]` and/or `figures: () => Promise<Figure[]>`.
 *
 * `pnpm bench --curves [id…]` measures the scaling curves instead (bench/curves.ts) — cost per
 * operation against the size of the work, the expected complexity checked by a fitted slope — and
 * writes them as SVG plots in `bench/curves/`, in a process of their own.
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
    const r = await compare(c, c.sampling);
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
    const verdict = fig.met === undefined ? "" : fig.met ? "  ✓" : "  ✗ target not met";
    console.log(
      `${fig.title.padEnd(58)} ${fig.value.toFixed(1).padStart(12)} ${fig.unit}${base}${fig.target ? `  target ${fig.target}` : ""}${verdict}`,
    );
  }
  return out;
}

/** `1.23 0.98 0.75` (1, 5 and 15 minutes). */
function fmtLoad(l: readonly number[]): string {
  return l.map((x) => x.toFixed(2)).join(" ");
}

const args = process.argv.slice(2);
if (args[0] === "--curves-child") {
  const { runCurves } = await import("./curves.js");
  const results = await runCurves(args.slice(1));
  if (results.some((r) => !r.met)) process.exitCode = 1;
} else if (args[0] === "--curves") {
  console.log(`load average ${fmtLoad(loadavg())} (${availableParallelism()} cores) at the start`);
  const child = spawnSync(process.execPath, [...process.execArgv, self, "--curves-child", ...args.slice(1)], {
    stdio: "inherit",
  });
  console.log(
    `load average ${fmtLoad(loadavg())} at the end; wrote bench/curves/*.svg and bench/curves/curves.json`,
  );
  if (child.status !== 0) process.exitCode = child.status ?? 1;
} else if (args[0] === "--child") {
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
  // The machine's load beside the table: on a shared machine the absolute rates move with it (the
  // ratios much less), and an "idle machine" figure is only one if this says so.
  const loadBefore = loadavg();
  console.log(`load average ${fmtLoad(loadBefore)} (${availableParallelism()} cores) at the start`);
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
  const loadAfter = loadavg();
  console.log(`load average ${fmtLoad(loadAfter)} at the end`);
  writeFileSync(
    join(here, "results.json"),
    `${JSON.stringify({ node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), loadavg: loadAfter, loadavgAtStart: loadBefore, results, figures }, null, 2)}\n`,
  );
  console.log(`\nwrote bench/results.json (${results.length} comparisons, ${figures.length} figures)`);
}
