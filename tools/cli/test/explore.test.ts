/**
 * `drmsim explore` and `drmsim replay` end to end: a scenario file with a tie-order race is
 * explored across two worker threads, the failure is shrunk and printed with a replay token, and
 * the token replays the same run (byte-identical trace) from a fresh process state.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-explore-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const src = (p: string) => join(import.meta.dirname, "..", "..", "..", p);
// Scenario files live in an ESM project (worker threads load them through tsx as modules).
writeFileSync(join(tmp, "package.json"), '{ "type": "module" }\n');

/** Two engines complete at the same time; the waiter only wakes if gfx's interrupt runs first. */
const scenarioFile = (name: string, fixed: boolean): string => {
  const file = join(tmp, `${name}.ts`);
  writeFileSync(
    file,
    `import { HardwareEngine, usecs, WaitQueue } from "${src("packages/runtime/src/index.js")}";
import { defineScenario } from "${src("tools/cli/src/index.js")}";

export default defineScenario({
  name: "${name}",
  durationNs: usecs(10),
  setup(ctx) {
    const { sim } = ctx;
    const wq = new WaitQueue(sim, "slot_wq");
    let first: string | null = null;
    for (const name of ["gfx", "copy"])
      new HardwareEngine(sim, name).submit({
        durationNs: usecs(1),
        onComplete: () => {
          first ??= name;
          if (name === "gfx" || ${fixed}) wq.wakeUpAll();
        },
      });
    sim.spawn("waiter", () => wq.waitEvent(() => first === "gfx" || ${fixed}));
  },
});
`,
  );
  return file;
};
const racy = scenarioFile("tie-race", false);
const fixed = scenarioFile("tie-race-fixed", true);

describe("drmsim explore / replay", () => {
  it("finds the race across two workers, shrinks it, prints a replay token, and the token replays it byte for byte", async () => {
    const out = join(tmp, "out");
    const r = await runCli(["explore", racy, "--runs", "40", "--workers", "2", "--out", out]);
    expect(r.err).not.toMatch(/drmsim: /);
    expect(r.err).toMatch(/40\/40 runs, 1 distinct finding/);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/explored 40 schedules of tie-race \(seed 1, shard 1\/1, 2 workers\)/);
    expect(r.out).toMatch(/\d+ failing, 1 distinct finding/);
    expect(r.out).toMatch(/failure 1: deadlock @ process:waiter/);
    expect(r.out).toMatch(/shrunk from \d+ to 1 deviation from the plain schedule/);
    const token = /drmsim replay (\S+)/.exec(r.out)![1]!;
    expect(existsSync(join(out, "failure-1-trace.json"))).toBe(true);
    expect(readFileSync(join(out, "failure-1-report.html"), "utf8")).toContain("<html");

    const replay = async (n: number) => {
      const trace = join(tmp, `replay-${n}.json`);
      const res = await runCli([
        "replay",
        token,
        "--trace",
        trace,
        "--report",
        join(tmp, `replay-${n}.html`),
      ]);
      return { res, trace: readFileSync(trace, "utf8") };
    };
    const a = await replay(1);
    const b = await replay(2);
    expect(a.res.code).toBe(1);
    expect(a.res.out).toMatch(/replaying .*tie-race\.ts \(seed 1\) with 1 decision/);
    expect(a.res.out).toContain("[deadlock]");
    expect(b.trace).toBe(a.trace);
    // The explorer's own replay of the shrunk run wrote the same trace too.
    expect(readFileSync(join(out, "failure-1-trace.json"), "utf8")).toBe(a.trace);
  });

  it("exits 0 when no explored schedule has a finding; the progress bar counts distinct findings", async () => {
    const r = await runCli(
      ["explore", fixed, "--runs", "25", "--workers", "1", "--out", join(tmp, "clean")],
      {
        tty: true,
      },
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/explored 25 schedules .* 0 failing, 0 distinct findings/);
    expect(r.err).toMatch(/25\/25 runs, 0 distinct findings/);
  });

  it("--shard i/n runs its own slice of the seeds", async () => {
    const r = await runCli(["explore", fixed, "--runs", "3", "--workers", "1", "--shard", "2/3"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/shard 2\/3/);
  });

  it("--shard i/n splits a campaign: n shards of r runs find what one machine finds in n·r runs", async () => {
    const failing = (out: string) => Number(/(\d+) failing/.exec(out)![1]);
    const firstSeed = (out: string) => Number(/first hit by perturbation seed (\d+)/.exec(out)![1]);
    const one = await runCli(["explore", racy, "--runs", "12", "--workers", "1", "--out", join(tmp, "one")]);
    expect(one.out).toMatch(/explored 12 schedules .*shard 1\/1/);
    const shards = [];
    for (const i of [1, 2, 3])
      shards.push(
        await runCli([
          "explore",
          racy,
          "--runs",
          "4",
          "--workers",
          "1",
          "--shard",
          `${i}/3`,
          "--out",
          join(tmp, `s${i}`),
        ]),
      );
    for (const [i, s] of shards.entries())
      expect(s.out).toMatch(new RegExp(`explored 4 schedules .*shard ${i + 1}/3`));
    // The same seeds, so the same failing runs: the counts add up, and the first failing seed of
    // the campaign is the earliest of the shards' first failing seeds.
    expect(failing(one.out)).toBeGreaterThan(0);
    expect(failing(one.out)).toBeLessThan(12);
    expect(shards.reduce((n, s) => n + failing(s.out), 0)).toBe(failing(one.out));
    const firsts = shards.filter((s) => failing(s.out) > 0).map((s) => firstSeed(s.out));
    expect(Math.min(...firsts)).toBe(firstSeed(one.out));
  });

  it("a scenario that throws stops the exploration with exit 1 and the error", async () => {
    const file = join(tmp, "broken.ts");
    writeFileSync(
      file,
      `import { defineScenario } from "${src("tools/cli/src/index.js")}";
export default defineScenario({ name: "broken", setup() { throw new Error("setup exploded"); } });
`,
    );
    const r = await runCli(["explore", file, "--runs", "10", "--workers", "2"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/setup exploded/);
  });

  it("usage mistakes exit with 2", async () => {
    expect((await runCli(["explore", racy, "--runs", "0"])).code).toBe(2);
    expect((await runCli(["explore", racy])).code).toBe(2);
    const shard = await runCli(["explore", racy, "--runs", "3", "--shard", "4/3"]);
    expect(shard.code).toBe(2);
    expect(shard.err).toMatch(/A shard is i\/n/);
    const unknown = await runCli(["explore", "no-such-scenario", "--runs", "1"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown scenario 'no-such-scenario'/);
    const bad = await runCli(["replay", "garbage"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/not a drmsim replay token/);
  });
});
