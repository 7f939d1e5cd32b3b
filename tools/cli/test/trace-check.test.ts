/**
 * The strict trace checker (Perfetto's JSON importer rules; no trace processor is available on
 * npm or Debian here): each rule is broken once and named, and the demo's trace passes with every
 * flow arrow bound to a slice.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secs } from "@drmsim/runtime";
import { afterAll, describe, expect, it } from "vitest";
import { checkChromeTrace, importerNs, runScenario, TraceRecording } from "../src/index.js";
import { demoScenario } from "../src/scenarios/demo.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-check-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const meta = [
  { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "gpu0" } },
  { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "gfx" } },
  { name: "thread_name", ph: "M", pid: 1, tid: 2, args: { name: "jobs" } },
];
const X = (ts: number, dur: number, tid = 1, name = "s") => ({
  name,
  cat: "c",
  ph: "X",
  ts,
  dur,
  pid: 1,
  tid,
});
const check = (events: object[]) =>
  checkChromeTrace({ traceEvents: [...meta, ...events], displayTimeUnit: "ns" });

describe("checkChromeTrace", () => {
  it("accepts nested slices, instants inside them, counters, and a flow whose ends sit inside slices", () => {
    const r = check([
      X(1.00001, 10.00001),
      X(2.00001, 3.00001, 1, "child"),
      { name: "tick", cat: "c", ph: "i", ts: 6.00001, pid: 1, tid: 1, s: "t" },
      X(1.00001, 20.00001, 2, "job"),
      { name: "dep", cat: "flow", ph: "s", ts: 1.00001, pid: 1, tid: 1, id: 1 },
      { name: "dep", cat: "flow", ph: "f", ts: 1.00001, pid: 1, tid: 2, id: 1, bp: "e" },
      { name: "credits", cat: "counter", ph: "C", ts: 4.00001, pid: 1, tid: 1, args: { used: 3 } },
    ]);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.stats).toMatchObject({ slices: 3, instants: 1, counters: 1, flows: 1, boundFlows: 1 });
  });

  it("names each broken rule", () => {
    const cases: [object[], RegExp][] = [
      [[{ ...X(1, 1), ph: "Q" }], /unknown phase "Q"/],
      [[{ ...X(1, 1), name: 3 }], /name must be a string/],
      [[{ ...X(1, 1), pid: -1 }], /pid and tid must be non-negative integers/],
      [[{ ...X(1, 1), ts: "soon" }], /ts must be a finite number/],
      [[{ ...X(1.00001, 1), dur: undefined }], /needs a finite dur/],
      [[X(1.001, 1)], /ts 1.001 µs truncates to 1000 ns in the importer, not 1001/],
      [[X(1.00001, 10.00001), X(5.00001, 10.00001)], /starts inside "s" \[1000, 11000\] and ends after it/],
      [
        [{ name: "c", cat: "c", ph: "C", ts: 1, pid: 1, tid: 1, args: { v: "x" } }],
        /counter value v is not a number/,
      ],
      [[{ name: "d", cat: "flow", ph: "s", ts: 1, pid: 1, tid: 1 }], /a flow event needs an id/],
      [
        [X(1, 5), { name: "d", cat: "flow", ph: "f", ts: 2, pid: 1, tid: 1, id: 1 }],
        /without bp "e" binds to the next slice/,
      ],
      [[{ name: "d", cat: "flow", ph: "s", ts: 2, pid: 1, tid: 1, id: 9 }], /is not inside a slice/],
      [
        [
          X(1, 1),
          { name: "d", cat: "flow", ph: "s", ts: 3, pid: 1, tid: 1, id: 2 },
          { name: "d", cat: "flow", ph: "f", ts: 3, pid: 1, tid: 2, id: 2, bp: "e" },
        ],
        /at 3000 ns on thread 1\/1 is not inside a slice \(the top one is "s" \[1000, 2000\]\)/,
      ],
      [
        [
          X(1, 5),
          { name: "tick", cat: "c", ph: "i", ts: 1, pid: 1, tid: 1, s: "t" },
          { name: "d", cat: "flow", ph: "s", ts: 1, pid: 1, tid: 1, id: 3 },
        ],
        /binds to the instant "tick"/,
      ],
      [
        [X(1, 1), { name: "d", cat: "flow", ph: "s", ts: 1, pid: 1, tid: 1, id: 4 }],
        /flow flow\/d\/4 has no end/,
      ],
      [[X(1, 1, 7)], /thread 1\/7 has events but no thread_name/],
      [
        [{ name: "thread_sort_index", ph: "M", pid: 1, tid: 1, args: { sort_index: "a" } }],
        /sort_index must be an integer/,
      ],
    ];
    for (const [events, want] of cases) {
      const r = check(events);
      expect(r.ok, String(want)).toBe(false);
      expect(r.errors.join("\n")).toMatch(want);
    }
    expect(checkChromeTrace({ events: [] }).errors).toEqual([
      "a trace is an object with a traceEvents array, or an array",
    ]);
    expect(importerNs(1.001)).toBe(1000);
    expect(importerNs(1.00101)).toBe(1001);
  });

  it("the demo's streamed trace passes, every dependency and wait arrow bound to the slices it joins", async () => {
    const file = join(tmp, "demo.json");
    const rec = new TraceRecording({ trace: file });
    const result = await runScenario(demoScenario, {
      seed: 1,
      durationNs: secs(3),
      trace: (sim) => rec.sinks(sim),
    });
    expect(rec.finish(result)).toEqual([file]);
    const trace = JSON.parse(readFileSync(file, "utf8")) as {
      traceEvents: Record<string, unknown>[];
      otherData: object;
    };
    const r = checkChromeTrace(trace);
    expect(r.errors).toEqual([]);
    expect(r.stats.flows).toBeGreaterThan(200);
    expect(r.stats.boundFlows).toBe(r.stats.flows);
    expect(trace.otherData).toMatchObject({ producer: "drmsim", flowsDropped: 0 });
    // Fences and jobs are slices; the counters the issue names are there.
    const names = new Set(trace.traceEvents.map((e) => `${e.ph} ${e.name}`));
    for (const n of ["X dma_fence", "X job", "X hw_command", "X dma_fence_wait", "X drm_ioctl"])
      expect(names).toContain(n);
    const counters = new Set(
      trace.traceEvents
        .filter((e) => e.ph === "C")
        .map((e) => `${e.name} ${Object.keys(e.args as object)[0]}`),
    );
    for (const c of [
      "gfx_0.0.0 credits in flight",
      "asahi-q1 credits in flight",
      "VRAM used bytes",
      "GTT used bytes",
      "HBM used bytes",
      "fences pending",
    ])
      expect(counters).toContain(c);
    expect([...counters].some((c) => c.endsWith(" queued jobs"))).toBe(true);
    // A device's rings, job queues and fence timelines are threads of its process.
    const proc = new Map(
      trace.traceEvents
        .filter((e) => e.name === "process_name")
        .map((e) => [e.pid, (e.args as { name: string }).name]),
    );
    const threads = trace.traceEvents
      .filter((e) => e.name === "thread_name")
      .map((e) => `${proc.get(e.pid)} / ${(e.args as { name: string }).name}`);
    for (const t of [
      "amdgpu.0 / gfx_0.0.0",
      "amdgpu.0 / gfx_0.0.0 jobs",
      "amdgpu.0 / gfx_0.0.0 fences (amdgpu)",
      "amdgpu.0 / gfx_0.0.0 fences (drm_sched)",
      "asahi.1 / asahi-q1 jobs",
    ])
      expect(threads).toContain(t);
    // Sort indices put the devices first.
    const first = trace.traceEvents.find(
      (e) => e.name === "process_sort_index" && (e.args as { sort_index: number }).sort_index === 0,
    )!;
    expect(["amdgpu.0", "asahi.1", "habanalabs.0"]).toContain(proc.get(first.pid));
  });
});
