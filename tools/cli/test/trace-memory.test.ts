/**
 * Traces scale with time: the demo run with `--trace` (streamed to its file) keeps a flat heap,
 * within 2× of the same run untraced, read after a full GC in a child process (`--expose-gc`),
 * never by wall time. The benchmark `pnpm bench trace-memory` runs the same check for one
 * simulated hour; this test runs 40 simulated seconds, long enough for a trace kept in memory to
 * have grown by about 40 MB (the old behaviour: about 1 MB per simulated second).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const PROBE = join(import.meta.dirname, "fixtures", "heap-probe.ts");

interface Probe {
  samples: { simS: number; heapMB: number }[];
  events: number;
  findings: number;
  traceMB: number;
}

function probe(seconds: number, mode: "trace" | "off"): Probe {
  const r = spawnSync(
    process.execPath,
    ["--expose-gc", "--conditions=@drmsim/source", "--import", "tsx", PROBE, String(seconds), mode],
    { encoding: "utf8", cwd: join(import.meta.dirname, "..", "..", ".."), maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`heap probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Probe;
}

describe("tracing a long run keeps the heap flat", () => {
  it("40 simulated seconds of the demo with --trace: heap after GC within 2× of the untraced run, and not growing", () => {
    const traced = probe(40, "trace");
    const plain = probe(40, "off");
    expect(traced.findings).toBe(0);
    expect(traced.events).toBeGreaterThan(80_000);
    expect(traced.traceMB).toBeGreaterThan(10);
    const peak = (p: Probe) => Math.max(...p.samples.map((s) => s.heapMB));
    console.log(
      `trace memory: traced peak ${peak(traced).toFixed(1)} MB, untraced ${peak(plain).toFixed(1)} MB, ${traced.events} events, ${traced.traceMB.toFixed(1)} MB trace`,
    );
    expect(peak(traced)).toBeLessThanOrEqual(2 * peak(plain));
    // Flat: the second half of the run adds less than a tenth of what a kept trace would (~20 MB).
    const at = (p: Probe, f: number) => p.samples[Math.floor(f * (p.samples.length - 1))]!.heapMB;
    expect(at(traced, 1) - at(traced, 0.5)).toBeLessThan(2);
  });
});
