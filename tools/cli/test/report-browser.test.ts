/**
 * The HTML report in a real headless browser: Debian's chromium driven by playwright-core (never
 * `playwright install`). Without chromium the test fails under CI=true (CI installs it) and is
 * skipped with a warning elsewhere.
 *
 * It checks that the page is right, not only that it loads, on the demo's report and on the
 * failure report of `drmsim explore`:
 * - every row's label sits on that row's events: for each track, a slice of it is looked up, and
 *   the canvas pixel at the label's height and the slice's time must be the slice's colour (at
 *   device pixel ratios 1 and 2, zoomed out and in, scrolled);
 * - the time axis says the virtual time: a slice's left edge, found in the canvas pixels, is where
 *   the tick labels put its start, at two zoom levels;
 * - hovering a slice says what it is in words; W/A/S/D and Ctrl+wheel zoom and pan;
 * - clicking a finding moves the view to it and highlights the context involved; a failure report
 *   opens there;
 * - no console errors.
 * A screenshot of the demo report is kept in `.drmsim/test-artifacts/` (not committed).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GFP_KERNEL, HardwareEngine, msecs, secs, withDmaFenceSignalling } from "@drmsim/runtime";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { defineScenario, exploreCommand, runScenario, TraceRecording, writeOutputs } from "../src/index.js";
import { demoScenario } from "../src/scenarios/demo.js";
import { busyScenario } from "./fixtures/busy-scenario.js";

/** Debian's chromium; `DRMSIM_CHROMIUM` points elsewhere (and lets the missing-browser path be tried). */
const CHROMIUM = process.env.DRMSIM_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === "true";
if (!haveChromium && !inCi)
  console.warn(
    `report-browser.test.ts: ${CHROMIUM} not found — skipping the browser test (apt-get install chromium)`,
  );

const tmp = mkdtempSync(join(tmpdir(), "drmsim-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ARTIFACTS = join(import.meta.dirname, "..", "..", "..", ".drmsim", "test-artifacts");

/** Two engines with work, and validator findings (a GFP_KERNEL allocation in an irq handler inside a signalling section). */
const findingsScenario = defineScenario({
  name: "report-check",
  durationNs: msecs(20),
  setup(ctx) {
    const gfx = new HardwareEngine(ctx.sim, "gfx", { device: "gpu0" });
    const copy = new HardwareEngine(ctx.sim, "sdma0", { device: "gpu0" });
    for (let i = 0; i < 5; i++) {
      gfx.submit({ durationNs: msecs(2), label: `draw ${i}`, onComplete: () => {} });
      copy.submit({ durationNs: msecs(1), label: `blit ${i}`, onComplete: () => {} });
    }
    gfx.submit({
      durationNs: msecs(1),
      label: "bad completion",
      onComplete: () =>
        withDmaFenceSignalling(ctx.sim, () => ctx.sim.mm.kmalloc(64, GFP_KERNEL, "report_bad_irq").free()),
    });
  },
});

interface Api {
  rows: number;
  findings: number;
  span: number;
  t0: number;
  scrollY: number;
  mode: string;
  laneHeight: number;
  rowPad: number;
  setView(t0: number, span: number): void;
  scrollTo(y: number): void;
  clientX(ns: number): number;
  layout(): { group: string; label: string; kind: string; lanes: number; top: number; height: number }[];
  slices(
    group: string,
    label: string,
  ): { ts: number; dur: number; lane: number; name: string; args: Record<string, unknown> }[];
  colorHex(name: string): string;
  pixel(x: number, y: number): [number, number, number];
  focusFinding(i: number): void;
  windows: [number, number][];
}
const api = <T>(page: Page, fn: (r: Api, arg: never) => T, arg?: unknown): Promise<T> =>
  page.evaluate(
    ([src, a]) =>
      new Function("r", "a", `return (${src})(r, a)`)(
        (globalThis as never as { __drmsimReport: Api }).__drmsimReport,
        a,
      ),
    [fn.toString(), arg] as const,
  ) as Promise<T>;

const hex = (rgb: [number, number, number]) => `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
const failed = (a: Record<string, unknown>) =>
  (typeof a.error === "number" && a.error < 0) || (typeof a.status === "number" && a.status !== 0);

async function open(ctx: BrowserContext, file: string, errors: string[]): Promise<Page> {
  const page = await ctx.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => "__drmsimReport" in globalThis);
  return page;
}

/** The vertical middle, in client px, of lane `lane` of the row whose label is `el`. */
async function laneMiddle(page: Page, row: number, lane: number): Promise<number> {
  const box = (await page.locator(`#labelsinner .label[data-row="${row}"]`).boundingBox())!;
  const { laneHeight, rowPad } = await api(page, (r) => ({ laneHeight: r.laneHeight, rowPad: r.rowPad }));
  return box.y + rowPad + lane * laneHeight + laneHeight / 2;
}

/**
 * For every slice row: scroll it into view, zoom onto one of its slices (error-free) and read the
 * canvas at the label's height: the slice's colour must be there.
 */
async function checkRowsAlign(page: Page): Promise<number> {
  const layout = await api(page, (r) => r.layout());
  const view = (await page.locator("#view").boundingBox())!;
  let checked = 0;
  for (let i = 0; i < layout.length; i++) {
    const row = layout[i]!;
    if (row.kind !== "slices") continue;
    const slices = await api(page, (r, a: { g: string; l: string }) => r.slices(a.g, a.l), {
      g: row.group,
      l: row.label,
    });
    // A slice whose detail is in the page (all of them, unless the run was past the budget).
    const windows = await api(page, (r) => r.windows);
    const s = slices
      .filter((x) => !failed(x.args) && x.dur > 0 && windows.some(([a, b]) => a <= x.ts && x.ts + x.dur <= b))
      .sort((a, b) => b.dur - a.dur)[0];
    if (s === undefined) continue;
    // The slice fills the middle third of the view; the row is scrolled to the middle.
    await api(
      page,
      (r, a: { ts: number; dur: number; y: number }) => {
        r.setView(a.ts - a.dur, 3 * a.dur);
        r.scrollTo(a.y);
      },
      { ts: s.ts, dur: s.dur, y: Math.max(0, row.top - view.height / 2) },
    );
    const y = await laneMiddle(page, i, s.lane);
    expect(y, `${row.group} › ${row.label} is on screen`).toBeGreaterThan(view.y);
    expect(y).toBeLessThan(view.y + view.height);
    // Sampled across the slice, 2 px under the lane's top: inside the slice, above the name
    // written on it.
    const want = await api(page, (r, n: string) => r.colorHex(n), s.name);
    const { laneHeight } = await api(page, (r) => ({ laneHeight: r.laneHeight }));
    const seen: string[] = [];
    for (let k = 1; k < 10; k++) {
      const x = await api(page, (r, t: number) => r.clientX(t), s.ts + (s.dur * k) / 10);
      seen.push(
        hex(await api(page, (r, p: number[]) => r.pixel(p[0]!, p[1]!), [x, y - laneHeight / 2 + 2.5])),
      );
    }
    expect(
      seen.filter((c) => c === want).length,
      `${row.group} › ${row.label}: the ${s.name} at ${s.ts} ns is drawn at the label's height (${want}; saw ${seen.join(" ")})`,
    ).toBeGreaterThanOrEqual(6);
    checked++;
  }
  return checked;
}

/** Tick labels as drawn: [client x of the tick, virtual ns the text says]. */
async function ticks(page: Page): Promise<[number, number][]> {
  const els = await page
    .locator("#axis .tick")
    .evaluateAll((xs) =>
      xs
        .filter((x) => (x as unknown as { style: { display: string } }).style.display !== "none")
        .map((x) => [x.getBoundingClientRect().left, x.textContent ?? ""] as const),
    );
  const unit: Record<string, number> = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 };
  return els.map(([left, text]) => {
    const m = /^(-?[\d.]+) (ns|µs|ms|s)$/.exec(text);
    expect(m, `tick label '${text}' is a time with a unit`).not.toBeNull();
    // The label starts 3 px right of its tick.
    return [left - 3, Number(m![1]) * unit[m![2]!]!];
  });
}

/** The left edge of a slice, found in the canvas by its colour, is where the axis labels put its start. */
async function checkAxis(
  page: Page,
  group: string,
  label: string,
  zoom: (s: { ts: number; dur: number }) => [number, number],
): Promise<void> {
  const layout = await api(page, (r) => r.layout());
  const i = layout.findIndex((r) => r.group === group && r.label === label);
  const slices = await api(page, (r, a: string[]) => r.slices(a[0]!, a[1]!), [group, label]);
  const s = slices.filter((x) => !failed(x.args) && x.lane === 0 && x.dur > 0)[1]!;
  const [t0, span] = zoom(s);
  await api(
    page,
    (r, a: number[]) => {
      r.setView(a[0]!, a[1]!);
      r.scrollTo(a[2]!);
    },
    [t0, span, Math.max(0, layout[i]!.top - 100)],
  );
  const tk = await ticks(page);
  expect(tk.length).toBeGreaterThanOrEqual(3);
  // The ticks are evenly spaced in time and pixels.
  const [[xa, na], [xb, nb]] = [tk[0]!, tk[tk.length - 1]!];
  const pxPerNs = (xb - xa) / (nb - na);
  for (const [x, n] of tk) expect(Math.abs(xa + (n - na) * pxPerNs - x)).toBeLessThan(1.5);
  // Scan the row for the slice's left edge.
  const y = await laneMiddle(page, i, 0);
  const want = await api(page, (r, n: string) => r.colorHex(n), s.name);
  const predicted = xa + (s.ts - na) * pxPerNs;
  let edge = -1;
  for (let x = Math.floor(predicted) - 6; x <= Math.ceil(predicted) + 6; x++)
    if (hex(await api(page, (r, p: number[]) => r.pixel(p[0]!, p[1]!), [x + 0.5, y])) === want) {
      edge = x;
      break;
    }
  expect(edge, `the slice at ${s.ts} ns is near x=${predicted.toFixed(1)}`).toBeGreaterThanOrEqual(0);
  expect(Math.abs(edge - predicted)).toBeLessThanOrEqual(1.5);
}

describe.skipIf(!haveChromium && !inCi)("HTML report in headless chromium", () => {
  if (!haveChromium && inCi)
    it("needs chromium under CI", () => {
      throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    });

  it("the demo's report: rows line up with their labels (DPR 1 and 2), the axis tells virtual time, tooltips read, W/A/S/D zoom and pan", async () => {
    const result = await runScenario(demoScenario, { seed: 1, durationNs: secs(2), trace: true });
    expect(result.findings).toEqual([]);
    const file = join(tmp, "demo.html");
    writeOutputs(result, { report: file });
    for (const dpr of [1, 2]) {
      const ctx = await chromium.launchPersistentContext(join(tmp, `profile-${dpr}`), {
        executablePath: CHROMIUM,
        headless: true,
        args: FLAGS,
        deviceScaleFactor: dpr,
        viewport: { width: 1400, height: 900 },
      });
      try {
        const errors: string[] = [];
        const page = await open(ctx, file, errors);
        if (dpr === 1) {
          mkdirSync(ARTIFACTS, { recursive: true });
          await page.screenshot({ path: join(ARTIFACTS, "demo-report.png") });
          await api(page, (r) => r.setView(1.0e9, 40e6));
          await page.screenshot({ path: join(ARTIFACTS, "demo-report-zoomed.png") });
        }
        // The legend and the axis are there.
        expect(await page.locator("#legend").textContent()).toContain("job");
        expect(await page.locator("#legend").textContent()).toContain("fence");
        expect(await checkRowsAlign(page)).toBeGreaterThanOrEqual(15);

        // Axis at two zoom levels: a 40 ms window and 2 ms around one gfx job.
        await checkAxis(page, "amdgpu.0", "gfx_0.0.0 jobs", (s) => [s.ts - 10e6, 40e6]);
        await checkAxis(page, "amdgpu.0", "gfx_0.0.0 jobs", (s) => [s.ts - 0.5e6, 2e6]);

        // A tooltip in words, not JSON.
        const jobs = await api(page, (r) => r.slices("amdgpu.0", "gfx_0.0.0 jobs"));
        const job = jobs.find((j) => j.dur > 0 && !failed(j.args))!;
        const layout = await api(page, (r) => r.layout());
        const row = layout.findIndex((r) => r.group === "amdgpu.0" && r.label === "gfx_0.0.0 jobs");
        await api(
          page,
          (r, a: number[]) => {
            r.setView(a[0]! - a[1]!, 3 * a[1]!);
            r.scrollTo(a[2]!);
          },
          [job.ts, job.dur, Math.max(0, layout[row]!.top - 100)],
        );
        const jx = await api(page, (r, t: number) => r.clientX(t), job.ts + job.dur / 2);
        await page.mouse.move(jx, await laneMiddle(page, row, job.lane));
        const tip = await page.locator("#tip").textContent();
        expect(tip).toContain(`job ${job.args.id} from entity`);
        expect(tip).toMatch(/finished fence \d+#\d+/);
        expect(tip).toMatch(/queued .* then ran/);
        expect(tip).not.toContain("{");

        // W zooms in around the mouse, S out, D pans right, A left; Ctrl+wheel zooms.
        const before = await api(page, (r) => ({ t0: r.t0, span: r.span }));
        await page.keyboard.press("w");
        const zoomed = await api(page, (r) => r.span);
        expect(zoomed).toBeCloseTo(before.span * 0.8, 0);
        await page.keyboard.press("s");
        expect(await api(page, (r) => r.span)).toBeCloseTo(before.span, 0);
        await page.keyboard.press("d");
        expect(await api(page, (r) => r.t0)).toBeGreaterThan(before.t0);
        await page.keyboard.press("a");
        expect(await api(page, (r) => r.t0)).toBeCloseTo(before.t0, 0);
        await page.keyboard.down("Control");
        await page.mouse.wheel(0, -200);
        await page.keyboard.up("Control");
        await page.waitForFunction(
          (s) => (globalThis as never as { __drmsimReport: Api }).__drmsimReport.span < s,
          before.span,
        );
        // 0 shows the whole run.
        await page.keyboard.press("0");
        expect(await api(page, (r) => ({ t0: r.t0, span: r.span }))).toEqual({ t0: 0, span: result.sim.now });
        expect(errors).toEqual([]);
      } finally {
        await ctx.close();
      }
    }
  });

  it("a report with findings: listed with their time; clicking one zooms there and highlights the context", async () => {
    const result = await runScenario(findingsScenario, { seed: 3, trace: true, validator: "collect" });
    expect(result.findings.length).toBeGreaterThan(0);
    const file = join(tmp, "findings.html");
    writeOutputs(result, { report: file });
    const ctx = await chromium.launchPersistentContext(join(tmp, "profile-f"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 900 },
    });
    try {
      const errors: string[] = [];
      const page = await open(ctx, file, errors);
      const items = await page.locator("#findings .finding").allTextContents();
      expect(items).toHaveLength(result.findings.length);
      const first = result.findings[0]!;
      expect(items[0]).toContain(`[${first.kind}] ${first.title}`);
      expect(items[0]).toContain(`at ${(first.timeNs / 1e6).toFixed(6)} ms`);
      expect(items.join("\n")).toContain("report_bad_irq");
      expect(await api(page, (r) => r.span)).toBe(result.sim.now); // opens on the whole run
      expect(await checkRowsAlign(page)).toBeGreaterThanOrEqual(2);
      await page.locator("#findings .finding").first().click();
      const v = await api(page, (r) => ({ t0: r.t0, span: r.span }));
      expect(v.span).toBeLessThan(result.sim.now);
      expect(first.timeNs).toBeGreaterThan(v.t0);
      expect(first.timeNs).toBeLessThan(v.t0 + v.span);
      expect(Math.abs(v.t0 + v.span / 2 - first.timeNs)).toBeLessThan(v.span * 0.01);
      // The context that hit it is an interrupt line (irq:gfx/…): its engine's row is highlighted.
      expect(first.context).toMatch(/^irq:gfx\//);
      const hl = await page.locator("#labelsinner .label.hl").allTextContents();
      expect(hl).toContain("gfx");
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it("the failure report of drmsim explore opens at its first finding, rows aligned", async () => {
    // Two engines finish together; the waiter wakes only if gfx's interrupt runs first.
    writeFileSync(join(tmp, "package.json"), '{ "type": "module" }\n');
    const src = (p: string) => join(import.meta.dirname, "..", "..", "..", p);
    const scenarioFile = join(tmp, "tie-race.ts");
    writeFileSync(
      scenarioFile,
      `import { HardwareEngine, usecs, WaitQueue } from "${src("packages/runtime/src/index.js")}";
import { defineScenario } from "${src("tools/cli/src/index.js")}";
export default defineScenario({
  name: "tie-race",
  durationNs: usecs(10),
  setup(ctx) {
    const { sim } = ctx;
    const wq = new WaitQueue(sim, "slot_wq");
    let first: string | null = null;
    for (const name of ["gfx", "copy"])
      new HardwareEngine(sim, name, { device: "gpu0" }).submit({
        durationNs: usecs(1),
        label: name + " work",
        onComplete: () => {
          first ??= name;
          if (name === "gfx") wq.wakeUpAll();
        },
      });
    sim.spawn("waiter", () => wq.waitEvent(() => first === "gfx"));
  },
});
`,
    );
    const out: string[] = [];
    const err = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const r = await exploreCommand(
      { scenario: scenarioFile, runs: 20, workers: 1, outDir: join(tmp, "explore") },
      { out: (s) => void out.push(s), err },
    );
    const failure = r.failures[0]!;
    const report = failure.files.find((f) => f.endsWith(".html"))!;
    const ctx = await chromium.launchPersistentContext(join(tmp, "profile-x"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 900 },
    });
    try {
      const errors: string[] = [];
      const page = await open(ctx, report, errors);
      const first = failure.replay.findings[0]!;
      const v = await api(page, (q) => ({ t0: q.t0, span: q.span }));
      expect(first.timeNs).toBeGreaterThanOrEqual(v.t0);
      expect(first.timeNs).toBeLessThanOrEqual(v.t0 + v.span);
      expect(await page.locator("#findings .finding.sel").count()).toBe(1);
      expect(await page.locator("#labelsinner .label.hl").count()).toBeGreaterThan(0);
      expect(await checkRowsAlign(page)).toBeGreaterThanOrEqual(2);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it("level of detail: a run past the budget opens on its finding with every event there, the overview elsewhere", async () => {
    const report = join(tmp, "busy.html");
    const rec = new TraceRecording({ report, detailBudget: 4000, focusFirstFinding: true });
    const result = await runScenario(busyScenario, { trace: (sim) => rec.sinks(sim), validator: "collect" });
    rec.finish(result);
    const ctx = await chromium.launchPersistentContext(join(tmp, "profile-lod"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 900 },
    });
    try {
      const errors: string[] = [];
      const page = await open(ctx, report, errors);
      expect(await page.locator("#meta").textContent()).toMatch(
        /detail kept for \d+ events around the findings/,
      );
      expect(await api(page, (r) => r.mode)).toBe("detail");
      expect(await page.locator("#mode").textContent()).toBe("detail");
      expect(await checkRowsAlign(page)).toBeGreaterThanOrEqual(1);
      await page.keyboard.press("0");
      await page.waitForFunction(
        () => (globalThis as never as { __drmsimReport: Api }).__drmsimReport.mode === "overview",
      );
      expect(await page.locator("#mode").textContent()).toMatch(/^overview: zoom in/);
      // Zoomed in far from the finding and the end: no detail kept there, the overview is drawn.
      await api(page, (r) => r.setView(20e6, 0.2e6));
      expect(await page.locator("#mode").textContent()).toBe("overview (no detail kept for this range)");
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });
});
