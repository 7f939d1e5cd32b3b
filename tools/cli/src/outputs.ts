/** Writes a run's Perfetto trace and HTML report from memory, and prints its summary. */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScenarioResult } from "./scenario.js";
import { formatSummary } from "./summary.js";
import { writeReport, writeTraceFile } from "./trace/recording.js";

export interface OutputPaths {
  trace?: string | undefined;
  report?: string | undefined;
  /** The report opens zoomed on the first finding. */
  focusFirstFinding?: boolean | undefined;
}

/**
 * Writes the requested files of a run traced in memory (`runScenario({ trace: true })`); runs
 * recorded by `TraceRecording` wrote theirs already. Returns the paths written.
 */
export function writeOutputs(result: ScenarioResult, paths: OutputPaths): string[] {
  const written: string[] = [];
  const t = result.sim.tracer;
  if (paths.trace === undefined && paths.report === undefined) return written;
  const tracePath =
    paths.trace ?? join(tmpdir(), `drmsim-trace-${process.pid}-${Date.now().toString(36)}.json`);
  writeTraceFile(tracePath, t.events, {
    producer: "drmsim",
    dropped: t.dropped,
    flowsDropped: t.flowsDropped,
  });
  if (paths.trace !== undefined) written.push(paths.trace);
  if (paths.report !== undefined) {
    writeReport(tracePath, paths.report, result, { focusFirstFinding: paths.focusFirstFinding });
    written.push(paths.report);
  }
  if (paths.trace === undefined) rmSync(tracePath, { force: true });
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
