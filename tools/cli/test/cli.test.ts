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

describe("--version", () => {
  for (const flag of ["--version", "-V"])
    it(`drmsim ${flag} prints the package version, exit 0`, async () => {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(
        `${JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")).version}\n`,
      );
    });
});

/** Every line a usage error prints: one `drmsim: error:` line, then how to get the command's help. */
function expectUsageError(r: { code: number; out: string; err: string }, message: RegExp, help: string) {
  expect(r.code).toBe(2);
  const lines = r.err.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^drmsim: error: /);
  expect(lines[0]).toMatch(message);
  expect(lines.slice(1)).toEqual([
    `(run '${["pnpm drmsim", help, "--help"].filter(Boolean).join(" ")}' for usage)`,
  ]);
  expect(r.err).not.toMatch(/^error:/m);
}

describe("usage errors exit 2, with one prefix and the command's help hint", () => {
  const cases: [string, string[], RegExp, string][] = [
    ["unknown command", ["frobnicate"], /unknown command 'frobnicate'/, ""],
    ["unknown option", ["run", tinyScenario, "--bogus"], /unknown option '--bogus'/, "run"],
    ["missing argument", ["validate"], /missing required argument 'driver'/, "validate"],
    ["missing scenario file", ["run", join(tmp, "nope.ts")], /scenario file not found/, "run"],
    [
      "duration that is no duration",
      ["run", tinyScenario, "--duration", "fast"],
      /'fast' is invalid.*10s, 500ms/,
      "run",
    ],
    [
      "duration 0s",
      ["run", tinyScenario, "--duration", "0s"],
      /'0s' is invalid. A duration must be longer than 0/,
      "run",
    ],
    ["negative duration", ["demo", "--duration", "-1s"], /'-1s' is invalid/, "demo"],
    [
      "negative seed",
      ["run", tinyScenario, "--seed", "-5"],
      /'-5' is invalid. A seed is an integer from 0 to 4294967295/,
      "run",
    ],
    ["fractional seed", ["demo", "--seed", "1.5"], /'1.5' is invalid/, "demo"],
    ["seed above 32 bits", ["run", tinyScenario, "--seed", "4294967296"], /at most 4294967295/, "run"],
    ["empty seed", ["validate", fixture("vgem-driver.ts"), "--seed", ""], /'' is invalid/, "validate"],
    [
      "unknown validator mode",
      ["demo", "--validator", "bogus"],
      /'bogus' is invalid. Allowed choices are throw, collect, off/,
      "demo",
    ],
    ["not a scenario", ["run", fixture("not-a-driver.ts")], /does not export a scenario/, "run"],
    [
      "validate: not a driver",
      ["validate", fixture("not-a-driver.ts")],
      /exports no conformance driver/,
      "validate",
    ],
    ["validate: missing path", ["validate", join(tmp, "missing")], /driver not found/, "validate"],
    [
      "validate: unknown check (after the driver)",
      ["validate", fixture("vgem-driver.ts"), "--only", "vibes"],
      /'vibes' is invalid. Choose from fences-signal, signalling-paths/,
      "validate",
    ],
    [
      "validate: unknown check before the driver does not swallow the driver path",
      ["validate", "--only", "x", fixture("vgem-driver.ts")],
      /option '--only <check>' argument 'x' is invalid/,
      "validate",
    ],
    [
      "validate: one of several checks unknown",
      ["validate", "--only", "prime,x", tmp],
      /'prime,x' is invalid/,
      "validate",
    ],
    ["validate: directory without package.json", ["validate", tmp], /has no package.json/, "validate"],
    [
      "validate: a module that does not load",
      ["validate", brokenModule],
      /cannot load .*broken-module\.ts/,
      "validate",
    ],
    ["explore: no --runs", ["explore", "demo"], /required option '--runs <n>' not specified/, "explore"],
    [
      "explore: --runs 0",
      ["explore", "demo", "--runs", "0"],
      /'0' is invalid. Expected a whole number from 1 up/,
      "explore",
    ],
    [
      "explore: --runs that is no number",
      ["explore", "demo", "--runs", "lots"],
      /'lots' is invalid/,
      "explore",
    ],
    [
      "explore: --workers 0",
      ["explore", "demo", "--runs", "1", "--workers", "0"],
      /'--workers <n>' argument '0'/,
      "explore",
    ],
    [
      "explore: --first-seed 0",
      ["explore", "demo", "--runs", "1", "--first-seed", "0"],
      /'--first-seed <n>' argument '0'/,
      "explore",
    ],
    [
      "explore: --shard 4/3",
      ["explore", "demo", "--runs", "1", "--shard", "4/3"],
      /A shard is i\/n with 1 <= i <= n/,
      "explore",
    ],
    [
      "explore: --hw-jitter -0.1",
      ["explore", "demo", "--runs", "1", "--hw-jitter", "-0.1"],
      /'-0.1' is invalid. Expected a fraction/,
      "explore",
    ],
    [
      "explore: --irq-jitter 1.5",
      ["explore", "demo", "--runs", "1", "--irq-jitter", "1.5"],
      /'1.5' is invalid. Expected a whole number of nanoseconds/,
      "explore",
    ],
    ["explore: --seed -1", ["explore", "demo", "--runs", "1", "--seed", "-1"], /'-1' is invalid/, "explore"],
    [
      "explore: --duration 0",
      ["explore", "demo", "--runs", "1", "--duration", "0"],
      /'0' is invalid. A duration must be longer than 0/,
      "explore",
    ],
    ["replay: not a token", ["replay", "garbage"], /not a drmsim replay token/, "replay"],
    [
      "new driver: invalid name",
      ["new", "driver", "My GPU", "--dir", join(tmp, "x")],
      /invalid driver name/,
      "new driver",
    ],
    [
      "new driver: existing directory",
      ["new", "driver", "mygpu", "--dir", tmp],
      /already exists/,
      "new driver",
    ],
  ];
  for (const [what, argv, message, help] of cases)
    it(what, async () => {
      expectUsageError(await runCli(argv), message, help);
    });

  it("new without a subcommand prints its help, exit 2", async () => {
    const r = await runCli(["new"]);
    expect(r.code).toBe(2);
    expect(r.err + r.out).toMatch(/Usage: drmsim new/);
  });

  it("accepts what the errors ask for: a 32-bit seed, a name as seed, --only repeated or comma-separated", async () => {
    expect((await runCli(["run", tinyScenario, "-q", "--seed", "4294967295"])).out).toContain(
      "seed 4294967295",
    );
    expect((await runCli(["run", tinyScenario, "-q", "--seed", "frame-pacing"])).code).toBe(0);
    const two = await runCli([
      "validate",
      "--only",
      "prime",
      "--only",
      "teardown",
      fixture("vgem-driver.ts"),
    ]);
    expect(two.code).toBe(0);
    expect(two.out).toContain("2 checks passed");
    const comma = await runCli(["validate", "--only", "prime,teardown", fixture("vgem-driver.ts")]);
    expect(comma.out).toContain("2 checks passed");
  });

  it("a run that fails prints one error line and the stack below it, exit 1", async () => {
    const thrower = join(tmp, "thrower.ts");
    writeFileSync(
      thrower,
      `import { KernelError } from "${join(import.meta.dirname, "../../../packages/runtime/src/index.js")}";
import { defineScenario } from "${join(import.meta.dirname, "../src/index.js")}";
export default defineScenario({ name: "thrower", setup() { throw new KernelError("EINVAL", "the scenario's own mistake"); } });
`,
    );
    const r = await runCli(["run", thrower, "-q"]);
    expect(r.code).toBe(1);
    const [first, ...rest] = r.err.trimEnd().split("\n");
    expect(first).toBe("drmsim: error: EINVAL: the scenario's own mistake");
    expect(rest.length).toBeGreaterThan(0);
    for (const l of rest) expect(l).toMatch(/^\s+at /);
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
  it("draws a bar on a TTY with the rate and the time left, and ends with the elapsed time", async () => {
    const r = await runCli(["run", tinyScenario, "-q"], { tty: true });
    expect(r.code).toBe(0);
    // The fake clock moves 1 s per reading. "<EL>" stands for the erase-to-end-of-line sequence.
    const err = r.err.replaceAll("\u001b[K", "<EL>");
    expect(err).toMatch(
      /\rtiny \[#*-+\] +\d+% [\d.]+ s simulated · [\d.e-]+× real time · ETA \d+(s|m\d\ds)<EL>/,
    );
    expect(err).toMatch(
      /\rtiny \[#{30}\] 100% 0\.004 s simulated · [\d.e-]+× real time · \d+(s|m\d\ds) elapsed<EL>\n$/,
    );
  });

  it("shows no bar when the run ends before the delay", async () => {
    const r = await runCli(["run", tinyScenario, "-q"], { tty: true, now: () => 0 });
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
  });

  it("prints plain quarter lines otherwise, without wall-clock figures", async () => {
    const r = await runCli(["run", tinyScenario, "-q"]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain("\r");
    expect(r.err.trim().split("\n")).toEqual([
      "tiny: 25% (0.001 s simulated)",
      "tiny: 50% (0.002 s simulated)",
      "tiny: 75% (0.003 s simulated)",
      "tiny: 100% (0.004 s simulated)",
    ]);
  });
});
