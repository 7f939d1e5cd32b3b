/**
 * Traces scale with time: one simulated hour of the demo with `--trace` (streamed to a file)
 * against the same hour untraced, each in its own `node --expose-gc` process
 * (`tools/cli/test/fixtures/heap-probe.ts`), the heap read after a full GC at each fiftieth of
 * the run. Target: the traced peak within 2× of the untraced one. `DRMSIM_TRACE_BENCH_S` sets the
 * simulated seconds (default 3600). Run with `pnpm bench trace-memory`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { Figure } from "./harness.js";

const SECONDS = Number(process.env.DRMSIM_TRACE_BENCH_S ?? 3600);
const ROOT = join(import.meta.dirname, "..");
const PROBE = join(ROOT, "tools", "cli", "test", "fixtures", "heap-probe.ts");

interface Probe {
  samples: { simS: number; heapMB: number }[];
  events: number;
  findings: number;
  traceMB: number;
  wallS: number;
}

function probe(mode: "trace" | "off"): Probe {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--conditions=@drmsim/source", "--import", "tsx", PROBE, String(SECONDS), mode],
    { encoding: "utf8", cwd: ROOT, maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`heap probe (${mode}) failed: ${r.stderr}`);
  const p = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Probe;
  if (p.findings > 0) throw new Error(`bench: the demo reported ${p.findings} finding(s)`);
  return p;
}

export async function figures(): Promise<Figure[]> {
  const traced = probe("trace");
  const plain = probe("off");
  const peak = (p: Probe) => Math.max(...p.samples.map((s) => s.heapMB));
  const half = (p: Probe) => p.samples[Math.floor((p.samples.length - 1) / 2)]!.heapMB;
  const last = (p: Probe) => p.samples.at(-1)!.heapMB;
  const ratio = peak(traced) / peak(plain);
  return [
    {
      id: "trace-memory.peak-heap",
      title: `demo ${SECONDS} simulated s with --trace: peak heap after GC`,
      value: peak(traced),
      unit: "MB",
      baseline: { name: "untraced", value: peak(plain) },
      ratio,
      target: "ratio ≤ 2",
      met: ratio <= 2,
    },
    {
      id: "trace-memory.second-half-growth",
      title: "  heap growth over the second half of the traced run",
      value: last(traced) - half(traced),
      unit: "MB",
    },
    { id: "trace-memory.events", title: "  trace events written", value: traced.events, unit: "events" },
    { id: "trace-memory.file", title: "  trace file", value: traced.traceMB, unit: "MB" },
    {
      id: "trace-memory.wall",
      title: "  wall time traced / untraced",
      value: traced.wallS,
      unit: "s",
      baseline: { name: "untraced", value: plain.wallS },
      ratio: traced.wallS / plain.wallS,
    },
  ];
}
