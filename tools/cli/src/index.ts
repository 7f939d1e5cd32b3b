/**
 * @drmsim/cli — the `drmsim` command and the scenario API it runs.
 *
 * @example
 * ```ts
 * // my-scenario.ts — run with `drmsim run my-scenario.ts --report out.html`
 * import { defineScenario } from "@drmsim/cli";
 * import { msecs } from "@drmsim/runtime";
 *
 * export default defineScenario({
 *   name: "timer",
 *   durationNs: msecs(10),
 *   setup(ctx) {
 *     ctx.sim.schedule(msecs(5), () => ctx.log("five milliseconds in"));
 *   },
 * });
 * ```
 */
export { buildProgram, type CliIo, main } from "./cli.js";
export {
  type ExploreCommandFailure,
  type ExploreCommandOptions,
  type ExploreCommandResult,
  type ExploreIo,
  exploreCommand,
  type ReplayCommandOptions,
  replayCommand,
} from "./commands/explore.js";
export { resolveScenario } from "./commands/explore-target.js";
export { parseDuration } from "./duration.js";
export { loadScenario, UsageError } from "./load-scenario.js";
export {
  type DriverNames,
  driverNames,
  nextSteps,
  type ScaffoldResult,
  scaffoldDriver,
} from "./new-driver.js";
export { describeResult, writeOutputs } from "./outputs.js";
export {
  buildReportData,
  chooseWindows,
  type ReportData,
  type ReportDataOptions,
  type ReportFinding,
  type ReportRow,
  type TraceSource,
} from "./report/report-data.js";
export { renderReportHtml } from "./report/report-html.js";
export {
  defineScenario,
  runScenario,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  type ScenarioRunOptions,
} from "./scenario.js";
export { formatSummary, type Summary, summarize } from "./summary.js";
export { checkChromeTrace, importerNs, type TraceCheckResult } from "./trace/check.js";
export { forEachTraceEvent, type TraceEventJson } from "./trace/read-trace.js";
export { TraceRecording, type TraceRequest, writeReport, writeTraceFile } from "./trace/recording.js";
export { type EngineWork, SummarySink, traceSummary } from "./trace/summary-sink.js";
export { loadConformanceDriver } from "./validate.js";
