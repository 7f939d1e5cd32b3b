/** The summary table printed after a run: work per engine, fences per timeline, waits, verdicts. */
import type { Finding, Simulator } from "@drmsim/runtime";
import { formatTimeNs } from "@drmsim/runtime";

/** One row per hardware engine (trace track with slices). */
export interface EngineRow {
  engine: string;
  commands: number;
  busyNs: number;
  utilisation: number;
}

/** What a run did, as printed after it: work per hardware engine, fences, waits, and validator findings by kind. */
export interface Summary {
  simulatedNs: number;
  events: number;
  engines: EngineRow[];
  fencesSignalled: number;
  fenceErrors: number;
  waits: number;
  findingsByKind: Record<string, number>;
  extra: Record<string, string | number>;
}

/** Builds the summary from the trace and the findings. */
export function summarize(
  sim: Simulator,
  findings: readonly Finding[],
  extra: Record<string, string | number>,
): Summary {
  const engines = new Map<string, EngineRow>();
  let fencesSignalled = 0;
  let fenceErrors = 0;
  let waits = 0;
  for (const e of sim.tracer.events) {
    if (e.ph === "X" && e.cat === "hw") {
      const key = `${e.track.process}/${e.track.thread}`;
      const row = engines.get(key) ?? { engine: key, commands: 0, busyNs: 0, utilisation: 0 };
      row.commands++;
      row.busyNs += e.dur ?? 0;
      engines.set(key, row);
    } else if (e.name === "dma_fence_signaled") {
      fencesSignalled++;
      if ((e.args as { error?: number } | undefined)?.error) fenceErrors++;
    } else if (e.name === "dma_fence_wait_start") waits++;
  }
  const total = Math.max(1, sim.now);
  for (const row of engines.values()) row.utilisation = row.busyNs / total;
  const findingsByKind: Record<string, number> = {};
  for (const f of findings) findingsByKind[f.kind] = (findingsByKind[f.kind] ?? 0) + 1 + f.repeats;
  return {
    simulatedNs: sim.now,
    events: sim.tracer.events.length,
    engines: [...engines.values()].sort((a, b) => a.engine.localeCompare(b.engine)),
    fencesSignalled,
    fenceErrors,
    waits,
    findingsByKind,
    extra,
  };
}

/** The summary as aligned text lines. */
export function formatSummary(s: Summary): string[] {
  const lines: string[] = [];
  lines.push(`simulated ${formatTimeNs(s.simulatedNs)} s, ${s.events} trace events`);
  lines.push("");
  lines.push(
    `${"engine".padEnd(36)} ${"commands".padStart(9)} ${"busy (ms)".padStart(11)} ${"util".padStart(6)}`,
  );
  for (const r of s.engines)
    lines.push(
      `${r.engine.padEnd(36)} ${String(r.commands).padStart(9)} ${(r.busyNs / 1e6).toFixed(2).padStart(11)} ${`${(r.utilisation * 100).toFixed(1)}%`.padStart(6)}`,
    );
  if (s.engines.length === 0) lines.push("(no hardware engine activity recorded)");
  lines.push("");
  lines.push(
    `fences signalled: ${s.fencesSignalled} (${s.fenceErrors} with an error), fence waits: ${s.waits}`,
  );
  for (const [k, v] of Object.entries(s.extra)) lines.push(`${k}: ${v}`);
  const kinds = Object.entries(s.findingsByKind);
  lines.push(
    kinds.length === 0 ? "validator: clean" : `validator: ${kinds.map(([k, n]) => `${n} × ${k}`).join(", ")}`,
  );
  return lines;
}
