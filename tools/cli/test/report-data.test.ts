/**
 * The report's level of detail: past its budget the page keeps an overview of every track and
 * every event only in windows around the findings and the end of the run; arrows join detail
 * slices; arguments every event of a row shares are stored once.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { msecs } from "@drmsim/runtime";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildReportData,
  chooseWindows,
  forEachTraceEvent,
  runScenario,
  TraceRecording,
} from "../src/index.js";
import { demoScenario } from "../src/scenarios/demo.js";
import { busyScenario } from "./fixtures/busy-scenario.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-lod-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("report data", () => {
  it("past the budget: an overview of the whole run, the detail in windows around the finding and the end", async () => {
    const file = join(tmp, "busy.json");
    const rec = new TraceRecording({ trace: file });
    const r = await runScenario(busyScenario, { trace: (sim) => rec.sinks(sim), validator: "collect" });
    rec.finish(r);
    expect(r.findings.length).toBe(1);
    const data = buildReportData((fn) => forEachTraceEvent(file, fn), {
      title: "busy",
      seed: 1,
      endNs: r.sim.now,
      findings: r.findings,
      summary: r.summary,
      detailBudget: 4000,
      buckets: 1024,
      focusFirstFinding: true,
    });
    expect(data.complete).toBe(false);
    expect(data.events).toBeGreaterThanOrEqual(20_000);
    expect(data.detailEvents).toBeLessThanOrEqual(4000 + 100);
    const t = r.findings[0]!.timeNs;
    expect(data.windows.some(([a, b]) => a <= t && t <= b)).toBe(true);
    expect(data.windows.some(([, b]) => b >= r.sim.now)).toBe(true);
    expect(data.windows.some(([a, b]) => a <= msecs(20) && msecs(20) <= b)).toBe(false);
    expect(data.focus![0]).toBeLessThanOrEqual(t);
    expect(data.focus![1]).toBeGreaterThanOrEqual(t);
    const ring = data.rows.find((x) => x.group === "gpu0" && x.label === "ring0")!;
    // The overview covers the whole run: the ring was busy in every bucket up to 100 ms.
    const busy = Buffer.from(ring.busy, "base64");
    expect(busy.length).toBe(1024);
    expect(busy.subarray(0, 1000).every((b) => b > 200)).toBe(true);
    // The detail holds only the windows' commands; the label varies, the status is shared.
    const n = ring.s.ts.length;
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(4000);
    const hw = data.strings.indexOf("hw_command");
    expect(JSON.parse(data.strings[ring.common[hw]!]!)).toEqual({ status: 0 });
    expect(JSON.parse(data.strings[ring.s.args[0]!]!)).toEqual({ label: expect.stringMatching(/^cmd \d+$/) });
  });

  it("the whole run when it fits, with the arrows joining the slices they were bound to", async () => {
    const file = join(tmp, "demo.json");
    const rec = new TraceRecording({ trace: file });
    const r = await runScenario(demoScenario, { durationNs: msecs(500), trace: (sim) => rec.sinks(sim) });
    rec.finish(r);
    const data = buildReportData((fn) => forEachTraceEvent(file, fn), {
      title: "demo",
      seed: 1,
      endNs: r.sim.now,
      findings: [],
      summary: r.summary,
    });
    expect(data.complete).toBe(true);
    expect(data.windows).toEqual([[0, r.sim.now]]);
    const flows = (JSON.parse(readFileSync(file, "utf8")).traceEvents as { ph: string }[]).filter(
      (e) => e.ph === "f",
    );
    expect(data.flows.length).toBe(flows.length);
    const at = (row: number, k: number) => {
      const rr = data.rows[row]!;
      let ts = 0;
      for (let i = 0; i <= k; i++) ts += rr.s.ts[i]!;
      return { ts, name: data.strings[rr.s.name[k]!], label: rr.label };
    };
    for (const [fr, fk, tr, tk] of data.flows) {
      const from = at(fr!, fk!);
      const to = at(tr!, tk!);
      expect(from.name).toBe("dma_fence");
      expect(["job", "dma_fence_wait"]).toContain(to.name);
      expect(from.ts).toBeLessThanOrEqual(to.ts);
    }
    // Devices first.
    expect(["amdgpu.0", "asahi.1", "habanalabs.0"]).toContain(data.rows[0]!.group);
  });

  it("windows grow from the anchors until the budget is spent", () => {
    const totals = new Uint32Array(10).fill(10);
    expect(chooseWindows(totals, 1000, 1000, [], 100)).toEqual([[0, 1000]]);
    expect(chooseWindows(totals, 30, 1000, [{ timeNs: 450 }], 100)).toEqual([
      [300, 500],
      [900, 1000],
    ]);
  });
});
