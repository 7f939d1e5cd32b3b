/**
 * The HTML report in a real headless browser: Debian's chromium driven by playwright-core (never
 * `playwright install`). Without chromium the test fails under CI=true (CI installs it) and is
 * skipped with a warning elsewhere.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GFP_KERNEL, HardwareEngine, msecs, withDmaFenceSignalling } from "@drmsim/runtime";
import { chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { defineScenario, runScenario, writeOutputs } from "../src/index.js";

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

/** Two engines with work, and validator findings (a GFP_KERNEL allocation in an irq handler inside a signalling section). */
const scenario = defineScenario({
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

describe.skipIf(!haveChromium && !inCi)("HTML report in headless chromium", () => {
  it("loads from file:// without console errors, shows the tracks and the findings, and zooms", async () => {
    if (!haveChromium)
      throw new Error(`CI=true but ${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    const result = await runScenario(scenario, { seed: 3, trace: true, validator: "collect" });
    expect(result.findings.length).toBeGreaterThan(0);
    const file = join(tmp, "report.html");
    writeOutputs(result, { report: file });

    const context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      await page.waitForFunction(() => "__drmsimReport" in globalThis);

      const lanes = await page.locator("#labels .lane").allTextContents();
      expect(lanes).toEqual(expect.arrayContaining(["gpu0 / gfx", "gpu0 / sdma0"]));
      const api = await page.evaluate(() => {
        const r = (globalThis as unknown as { __drmsimReport: { lanes: number; findings: number } })
          .__drmsimReport;
        return { lanes: r.lanes, findings: r.findings };
      });
      expect(api.lanes).toBe(lanes.length);
      expect(api.findings).toBe(result.findings.length);

      const findings = await page.locator("#findings .finding").allTextContents();
      expect(findings).toHaveLength(result.findings.length);
      for (const f of result.findings) expect(findings.join("\n")).toContain(`[${f.kind}] ${f.title}`);
      expect(findings.join("\n")).toContain("report_bad_irq");
      expect(await page.locator("#findings h3").textContent()).toBe(
        `validator findings (${result.findings.length})`,
      );

      const spans = await page.evaluate(() => {
        const r = (globalThis as unknown as { __drmsimReport: { span: number; zoom(f: number): void } })
          .__drmsimReport;
        const before = r.span;
        r.zoom(0.25);
        const after = r.span;
        return { before, after };
      });
      expect(spans.before).toBe(result.sim.now);
      expect(spans.after).toBe(spans.before * 0.25);
      // The wheel zooms too (in, around the pointer).
      const box = (await page.locator("#view").boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, -100);
      const wheeled = await page.evaluate(
        () => (globalThis as unknown as { __drmsimReport: { span: number } }).__drmsimReport.span,
      );
      expect(wheeled).toBeLessThan(spans.after);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
