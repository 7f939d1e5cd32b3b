import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name);
const tmp = mkdtempSync(join(tmpdir(), "drmsim-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tinyScenario = join(tmp, "tiny.ts");
writeFileSync(
  tinyScenario,
  `import { defineScenario } from "${join(import.meta.dirname, "../src/index.js")}";
export default defineScenario({
  name: "tiny",
  durationNs: 4_000_000,
  setup(ctx) { ctx.sim.schedule(1_000_000, () => ctx.log("one millisecond in")); },
});
`,
);

const brokenModule = join(tmp, "broken-module.ts");
writeFileSync(
  brokenModule,
  `import { nothing } from "./does-not-exist.js";\nexport const driver = nothing;\n`,
);

describe("--help everywhere, exit 0", () => {
  for (const argv of [
    ["--help"],
    ["demo", "--help"],
    ["run", "--help"],
    ["validate", "--help"],
    ["new", "--help"],
    ["new", "driver", "--help"],
    ["help", "run"],
  ])
    it(`drmsim ${argv.join(" ")}`, async () => {
      const r = await runCli(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: drmsim/);
    });

  it("the top-level help lists every command", async () => {
    const { out } = await runCli(["--help"]);
    for (const c of ["demo", "run", "validate", "new"]) expect(out).toContain(c);
  });
});

describe("usage errors exit 2", () => {
  const cases: [string, string[], RegExp][] = [
    ["unknown command", ["frobnicate"], /unknown command/],
    ["unknown option", ["run", tinyScenario, "--bogus"], /unknown option/],
    ["missing argument", ["validate"], /missing required argument/],
    ["missing scenario file", ["run", join(tmp, "nope.ts")], /scenario file not found/],
    ["bad duration", ["run", tinyScenario, "--duration", "fast"], /invalid duration/],
    ["not a scenario", ["run", fixture("not-a-driver.ts")], /does not export a scenario/],
    ["validate: not a driver", ["validate", fixture("not-a-driver.ts")], /exports no conformance driver/],
    ["validate: missing path", ["validate", join(tmp, "missing")], /driver not found/],
    [
      "validate: unknown check",
      ["validate", fixture("vgem-driver.ts"), "--only", "vibes"],
      /unknown check 'vibes'/,
    ],
    ["validate: directory without package.json", ["validate", tmp], /has no package.json/],
    ["validate: a module that does not load", ["validate", brokenModule], /cannot load .*broken-module\.ts/],
    ["new driver: invalid name", ["new", "driver", "My GPU", "--dir", join(tmp, "x")], /invalid driver name/],
    ["new driver: existing directory", ["new", "driver", "mygpu", "--dir", tmp], /already exists/],
    ["new without a subcommand", ["new"], /Usage: drmsim new/],
  ];
  for (const [what, argv, message] of cases)
    it(what, async () => {
      const r = await runCli(argv);
      expect(r.code).toBe(2);
      expect(r.err + r.out).toMatch(message);
    });
});

describe("drmsim validate", () => {
  it("a conforming driver (a module exporting `driver`): every check ✓, exit 0", async () => {
    const r = await runCli(["validate", fixture("vgem-driver.ts")]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("conformance of vgem:");
    expect(r.out.match(/✓/g)).toHaveLength(5);
    expect(r.out).not.toContain("✗");
    expect(r.out).toContain("5 checks passed");
  });

  it("a broken driver (a default export): ✗ with the problem text, exit 1", async () => {
    const r = await runCli(["validate", fixture("broken-vgem-driver.ts")]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ fences-signal: .*\n.*was not signalled 1 s \(virtual\) after submission/);
    expect(r.out).toMatch(/✗ resv-usage: .*\n.*usage READ, expected WRITE/);
    // vgem signals what is outstanding when the file closes, so teardown itself is clean.
    expect(r.out).toMatch(/✓ prime:/);
    expect(r.out).toMatch(/✓ teardown:/);
    expect(r.out).toMatch(/✗ signalling-paths: .*\n.*\n.*drmsim validator: /);
    expect(r.out).toContain("broken_submit");
    expect(r.out).toContain("3 of 5 checks failed");
  });

  it("--only runs the named checks", async () => {
    const r = await runCli(["validate", fixture("broken-vgem-driver.ts"), "--only", "prime"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("✓ prime:");
    expect(r.out).toContain("1 checks passed");
  });
});

describe("drmsim demo", () => {
  it("runs the built-in scenario clean and writes the trace and report where asked, exit 0", async () => {
    const trace = join(tmp, "demo.json");
    const report = join(tmp, "demo.html");
    const r = await runCli(["demo", "-q", "--duration", "200ms", "--trace", trace, "--report", report]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("validator: clean");
    expect(JSON.parse(readFileSync(trace, "utf8")).traceEvents.length).toBeGreaterThan(0);
    expect(readFileSync(report, "utf8")).toMatch(/^<!doctype html>/);
  });
});

describe("progress", () => {
  it("draws a bar on a TTY", async () => {
    const r = await runCli(["run", tinyScenario, "-q"], { tty: true });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/\rtiny \[#{30}\] 100%/);
    expect(r.err).toMatch(/\rtiny \[#*-+\] +\d+% /);
  });

  it("prints plain quarter lines otherwise", async () => {
    const r = await runCli(["run", tinyScenario, "-q"]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain("\r");
    expect(r.err.trim().split("\n")).toEqual([
      expect.stringMatching(/^tiny: 25% /),
      expect.stringMatching(/^tiny: 50% /),
      expect.stringMatching(/^tiny: 75% /),
      expect.stringMatching(/^tiny: 100% /),
    ]);
  });
});
