/** The summary table printed after a run: work per engine, fences per timeline, waits, verdicts. */
import type { Finding, Simulator } from "@drmsim/runtime";
import { formatTimeNs } from "@drmsim/runtime";
import { traceSummary } from "./trace/summary-sink.js";

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

/**
 * Builds the summary from what the run's summary sink counted (`runScenario` attaches one when
 * the run is traced; an untraced run has no engine or fence rows) and the findings.
 */
export function summarize(
  sim: Simulator,
  findings: readonly Finding[],
  extra: Record<string, string | number>,
): Summary {
  const counted = traceSummary(sim);
  const total = Math.max(1, sim.now);
  const engines: EngineRow[] = [];
  for (const [engine, w] of counted?.engines ?? [])
    engines.push({ engine, commands: w.commands, busyNs: w.busyNs, utilisation: w.busyNs / total });
  const findingsByKind: Record<string, number> = {};
  for (const f of findings) findingsByKind[f.kind] = (findingsByKind[f.kind] ?? 0) + 1 + f.repeats;
  return {
    simulatedNs: sim.now,
    events: counted?.events ?? 0,
    engines: engines.sort((a, b) => a.engine.localeCompare(b.engine)),
    fencesSignalled: counted?.fencesSignalled ?? 0,
    fenceErrors: counted?.fenceErrors ?? 0,
    waits: counted?.waits ?? 0,
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
