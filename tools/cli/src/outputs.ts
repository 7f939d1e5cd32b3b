/** Writes a run's Perfetto trace and HTML report, and prints its summary. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { buildReportData, renderReportHtml } from "./report-html.js";
import type { ScenarioResult } from "./scenario.js";
import { formatSummary } from "./summary.js";

export interface OutputPaths {
  trace?: string;
  report?: string;
}

/** Writes the requested files; returns the paths written. */
export function writeOutputs(result: ScenarioResult, paths: OutputPaths): string[] {
  const written: string[] = [];
  if (paths.trace !== undefined) {
    mkdirSync(dirname(paths.trace), { recursive: true });
    writeFileSync(paths.trace, result.sim.tracer.toJSON());
    written.push(paths.trace);
  }
  if (paths.report !== undefined) {
    mkdirSync(dirname(paths.report), { recursive: true });
    const data = buildReportData(
      `${result.scenario.name} (seed ${result.seed})`,
      result.seed,
      result.sim.now,
      result.sim.tracer.events,
      result.findings,
      result.summary,
    );
    writeFileSync(paths.report, renderReportHtml(data));
    written.push(paths.report);
  }
  return written;
}

/** The summary and the findings, as printed after a run. */
export function describeResult(result: ScenarioResult): string {
  const lines = [`scenario ${result.scenario.name}, seed ${result.seed}`, ...formatSummary(result.summary)];
  if (result.drain.reason === "deadlock")
    lines.push("", "the simulation deadlocked at the end of the run (see the deadlock finding)");
  for (const f of result.findings) lines.push("", f.toString());
  return lines.join("\n");
}
