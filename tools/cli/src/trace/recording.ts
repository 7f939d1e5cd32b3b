/**
 * What a run records, and where it goes — only what the user asked for:
 *
 * - `--trace <file>`: the Chrome/Perfetto JSON is streamed to the file as the run goes (one
 *   event per line), so memory stays flat however long the run (Perfetto's long-trace mode);
 * - `--trace-last <time>`: only the last stretch of virtual time is kept, in a ring buffer
 *   (ftrace's `buffer_size_kb`), and written at the end;
 * - `--report <file>`: the HTML report, built afterwards by reading the trace file twice (a
 *   temporary one when no `--trace` was given) with level of detail.
 *
 * With none of these nothing is recorded; the summary still counts (see `SummarySink`).
 */
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  ChromeTraceStream,
  exportableEvents,
  RingSink,
  type Simulator,
  type TraceEvent,
  type TraceSink,
} from "@drmsim/runtime";
import { buildReportData } from "../report/report-data.js";
import { renderReportHtml } from "../report/report-html.js";
import type { ScenarioResult } from "../scenario.js";
import { forEachTraceEvent } from "./read-trace.js";

/** What to record. */
export interface TraceRequest {
  /** Chrome/Perfetto JSON output. */
  trace?: string | undefined;
  /** HTML report output. */
  report?: string | undefined;
  /** Keep only the last `lastNs` of virtual time (ring buffer) instead of streaming everything. */
  lastNs?: number | undefined;
  /** The report opens zoomed on the first finding (failure reports of `drmsim explore`). */
  focusFirstFinding?: boolean | undefined;
  /** Events the report keeps in full (default 400,000). */
  detailBudget?: number | undefined;
}

/** One run's recording: `sinks` before the run, `finish` after it. */
export class TraceRecording {
  private fd: number | null = null;
  private ring: RingSink | null = null;
  private stream: ChromeTraceStream | null = null;
  private sim: Simulator | null = null;
  private readonly tracePath: string | null;
  private readonly temporary: boolean;

  constructor(readonly request: TraceRequest) {
    const wanted = request.trace !== undefined || request.report !== undefined;
    this.temporary = wanted && request.trace === undefined;
    this.tracePath = !wanted
      ? null
      : (request.trace ?? join(tmpdir(), `drmsim-trace-${process.pid}-${Date.now().toString(36)}.json`));
    if (request.lastNs !== undefined && !(request.lastNs > 0))
      throw new RangeError(`--trace-last must be a positive duration, got ${request.lastNs} ns`);
  }

  /** Whether anything is recorded. */
  get records(): boolean {
    return this.tracePath !== null;
  }

  /** The sinks of the run (for `runScenario({ trace })`). */
  sinks(sim: Simulator): TraceSink[] {
    this.sim = sim;
    if (this.tracePath === null) return [];
    if (this.request.lastNs !== undefined) {
      this.ring = new RingSink(sim, this.request.lastNs);
      return [this.ring];
    }
    mkdirSync(dirname(this.tracePath), { recursive: true });
    const fd = openSync(this.tracePath, "w");
    this.fd = fd;
    this.stream = new ChromeTraceStream(
      (chunk) => {
        writeSync(fd, chunk);
      },
      () => this.otherData(),
    );
    return [this.stream];
  }

  /**
   * After the run (its tracer finished): completes the trace file, builds the report, removes a
   * temporary trace. Returns the files written.
   */
  finish(result: ScenarioResult): string[] {
    if (this.tracePath === null) return [];
    const written: string[] = [];
    if (this.ring !== null) writeTraceFile(this.tracePath, this.ring.events(), this.otherData());
    if (this.fd !== null) {
      this.stream?.close();
      closeSync(this.fd);
      this.fd = null;
    }
    if (!this.temporary) written.push(this.tracePath);
    if (this.request.report !== undefined) {
      writeReport(this.tracePath, this.request.report, result, this.request);
      written.push(this.request.report);
    }
    if (this.temporary) rmSync(this.tracePath, { force: true });
    return written;
  }

  private otherData(): object {
    const t = this.sim?.tracer;
    return {
      producer: "drmsim",
      flowsDropped: t?.flowsDropped ?? 0,
      ...(this.ring === null ? {} : { lastNs: this.request.lastNs, evicted: this.ring.evicted }),
    };
  }
}

/** Writes recorded events (memory, a ring buffer) as a trace file, one event per line. */
export function writeTraceFile(path: string, events: readonly TraceEvent[], otherData: object): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    const stream = new ChromeTraceStream(
      (chunk) => {
        writeSync(fd, chunk);
      },
      () => otherData,
    );
    for (const e of exportableEvents(events)) stream.write(e);
    stream.close();
  } finally {
    closeSync(fd);
  }
}

/** Builds the HTML report of `result` from the trace file at `tracePath`. */
export function writeReport(
  tracePath: string,
  reportPath: string,
  result: ScenarioResult,
  opts: { focusFirstFinding?: boolean | undefined; detailBudget?: number | undefined } = {},
): void {
  const data = buildReportData((fn) => forEachTraceEvent(tracePath, fn), {
    title: `${result.scenario.name} (seed ${result.seed})`,
    seed: result.seed,
    endNs: result.sim.now,
    findings: result.findings,
    summary: result.summary,
    ...(opts.focusFirstFinding === true ? { focusFirstFinding: true } : {}),
    ...(opts.detailBudget === undefined ? {} : { detailBudget: opts.detailBudget }),
  });
  mkdirSync(dirname(reportPath), { recursive: true });
  const fd = openSync(reportPath, "w");
  try {
    writeSync(fd, renderReportHtml(data));
  } finally {
    closeSync(fd);
  }
}
