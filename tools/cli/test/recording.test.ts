/**
 * What `drmsim run` records: nothing without an output; `--trace` streamed to its file as the
 * run goes; `--trace-last` only the end of the run; `--report` alone through a temporary trace
 * that is removed afterwards.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { msecs, secs } from "@drmsim/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { checkChromeTrace, forEachTraceEvent, runScenario, TraceRecording } from "../src/index.js";
import { demoScenario } from "../src/scenarios/demo.js";
import { runCli } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-rec-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("TraceRecording", () => {
  it("records nothing when no output is asked for; the summary still counts", async () => {
    const rec = new TraceRecording({});
    expect(rec.records).toBe(false);
    const r = await runScenario(demoScenario, { durationNs: msecs(200), trace: (sim) => rec.sinks(sim) });
    expect(r.sim.tracer.events).toEqual([]);
    expect(r.summary.events).toBeGreaterThan(0);
    expect(r.summary.engines.length).toBeGreaterThan(0);
    expect(rec.finish(r)).toEqual([]);
  });

  it("--trace writes the file while the run goes, one event per line, and completes it at the end", async () => {
    const file = join(tmp, "stream.json");
    const rec = new TraceRecording({ trace: file });
    const sizes: number[] = [];
    const r = await runScenario(demoScenario, {
      durationNs: secs(4),
      trace: (sim) => rec.sinks(sim),
      onProgress: () => sizes.push(existsSync(file) ? statSync(file).size : 0),
    });
    // The file grew during the run (1 MB chunks), before the run ended.
    expect(sizes.filter((s) => s > 0).length).toBeGreaterThan(10);
    expect(r.sim.tracer.events).toEqual([]);
    expect(rec.finish(r)).toEqual([file]);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith('{"traceEvents":[\n')).toBe(true);
    let n = 0;
    forEachTraceEvent(file, () => n++);
    expect(n).toBe(JSON.parse(text).traceEvents.length);
    expect(checkChromeTrace(JSON.parse(text)).ok).toBe(true);
  });

  it("--trace-last keeps only the end of the run, still a valid trace", async () => {
    const file = join(tmp, "last.json");
    const rec = new TraceRecording({ trace: file, lastNs: msecs(500) });
    const r = await runScenario(demoScenario, { durationNs: secs(3), trace: (sim) => rec.sinks(sim) });
    rec.finish(r);
    const trace = JSON.parse(readFileSync(file, "utf8")) as {
      traceEvents: { ph: string; ts?: number; dur?: number }[];
      otherData: object;
    };
    // Every slice and instant recorded (a slice: ended) in the last 500 ms of the run. (A counter
    // sample may be older: the value the window starts with; a flow end sits at its slice's start.)
    const ends = trace.traceEvents
      .filter((e) => e.ph === "X" || e.ph === "i")
      .map((e) => Math.round((e.ts! + (e.dur ?? 0)) * 1000));
    expect(Math.min(...ends)).toBeGreaterThanOrEqual(r.sim.now - msecs(500) - 1);
    expect(trace.otherData).toMatchObject({ lastNs: msecs(500) });
    expect((trace.otherData as { evicted: number }).evicted).toBeGreaterThan(0);
    const check = checkChromeTrace(trace);
    expect(check.errors).toEqual([]);
    expect(check.stats.boundFlows).toBe(check.stats.flows);
    expect(() => new TraceRecording({ trace: file, lastNs: 0 })).toThrow(/positive duration/);
  });

  it("--report alone goes through a temporary trace that is removed", async () => {
    const report = join(tmp, "only-report.html");
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith("drmsim-trace-")).length;
    const rec = new TraceRecording({ report });
    const r = await runScenario(demoScenario, { durationNs: msecs(300), trace: (sim) => rec.sinks(sim) });
    expect(rec.finish(r)).toEqual([report]);
    expect(readFileSync(report, "utf8")).toContain("interop (seed 1)");
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("drmsim-trace-")).length).toBe(before);
  });
});

describe("drmsim run --trace-last", () => {
  it("is a duration; a bad one is a usage error", async () => {
    const scenario = join(tmp, "tiny.ts");
    const src = (p: string) => join(import.meta.dirname, "..", "..", "..", p);
    writeFileSync(
      scenario,
      `import { HardwareEngine, msecs } from "${src("packages/runtime/src/index.js")}";
import { defineScenario } from "${src("tools/cli/src/index.js")}";
export default defineScenario({ name: "tiny", durationNs: msecs(10), setup(ctx) {
  const e = new HardwareEngine(ctx.sim, "ring0", { device: "gpu0" });
  for (let i = 0; i < 10; i++) e.submit({ durationNs: msecs(1), label: "job " + i, onComplete: () => {} });
} });
`,
    );
    const trace = join(tmp, "tiny.json");
    const ok = await runCli(["run", scenario, "--trace", trace, "--trace-last", "3ms"]);
    expect(ok.code).toBe(0);
    const jobs = (JSON.parse(readFileSync(trace, "utf8")).traceEvents as { name: string }[]).filter(
      (e) => e.name === "hw_command",
    );
    // Commands ending in the last 3 ms (at 7, 8, 9 and 10 ms).
    expect(jobs.length).toBe(4);
    const bad = await runCli(["run", scenario, "--trace", trace, "--trace-last", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--trace-last <time>. argument .soon. is invalid/);
  });
});
