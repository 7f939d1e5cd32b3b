import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const src = (p: string) => join(import.meta.dirname, "..", "..", "..", p);

// A user scenario: a GPU ring fed with jobs of random length (sim.random) until the duration ends.
const scenario = join(tmp, "jitter.ts");
writeFileSync(
  scenario,
  `import { HardwareEngine, msecs, usecs } from "${src("packages/runtime/src/index.js")}";
import { defineScenario } from "${src("tools/cli/src/index.js")}";

export default defineScenario({
  name: "jitter",
  durationNs: msecs(50),
  setup(ctx) {
    const ring = new HardwareEngine(ctx.sim, "ring0", { device: "gpu0" });
    let jobs = 0;
    const submit = () => {
      if (ctx.sim.now >= ctx.endNs) return;
      jobs++;
      ring.submit({ durationNs: usecs(ctx.sim.random.int(100, 2000)), label: "job " + jobs, onComplete: submit });
    };
    submit();
    ctx.log("ring0 ready");
    this.extraSummary = () => ({ jobs });
  },
});
`,
);

async function runOnce(tag: string, ...extra: string[]) {
  const trace = join(tmp, `${tag}.json`);
  const report = join(tmp, `${tag}.html`);
  const r = await runCli(["run", scenario, "--trace", trace, "--report", report, ...extra]);
  return { ...r, trace, report };
}

describe("drmsim run <user scenario.ts>", () => {
  it("runs it for --duration, writes the trace and the report, prints the summary, exit 0", async () => {
    const r = await runOnce("a", "--seed", "7", "--duration", "20ms");
    expect(r.code).toBe(0);
    expect(r.out).toContain("scenario jitter, seed 7");
    expect(r.out).toMatch(/ring0 ready/);
    expect(r.out).toMatch(/gpu0\/ring0\s+\d+/);
    expect(r.out).toContain("validator: clean");
    expect(r.out).toContain(`wrote ${r.trace}`);
    expect(r.out).toContain(`wrote ${r.report}`);
    const events = JSON.parse(readFileSync(r.trace, "utf8")).traceEvents as {
      name: string;
      ts: number;
      args?: { label?: string };
    }[];
    const jobs = events.filter((e) => e.name === "hw_command" && /^job \d+$/.test(e.args?.label ?? ""));
    expect(jobs.length).toBeGreaterThan(5);
    // --duration 20ms: no job starts after 20 ms (trace timestamps are µs).
    expect(Math.max(...jobs.map((e) => e.ts))).toBeLessThan(20_000);
    const html = readFileSync(r.report, "utf8");
    expect(html).toContain("jitter (seed 7)");
  });

  it("the same seed writes byte-identical traces and reports; another seed differs", async () => {
    const a = await runOnce("s1", "--seed", "42");
    const b = await runOnce("s2", "--seed", "42");
    const c = await runOnce("s3", "--seed", "43");
    for (const r of [a, b, c]) expect(r.code).toBe(0);
    const ta = readFileSync(a.trace);
    expect(ta.equals(readFileSync(b.trace))).toBe(true);
    expect(readFileSync(a.report).equals(readFileSync(b.report))).toBe(true);
    expect(ta.equals(readFileSync(c.trace))).toBe(false);
  });

  it("a string seed works and is reproducible", async () => {
    const a = await runOnce("str1", "--seed", "frame-pacing");
    const b = await runOnce("str2", "--seed", "frame-pacing");
    expect(a.code).toBe(0);
    expect(readFileSync(a.trace).equals(readFileSync(b.trace))).toBe(true);
  });
});
