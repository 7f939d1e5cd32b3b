/**
 * Issue #16: a planted race that the plain run misses (two completion interrupts at the same
 * virtual time, handled in the unlucky order) is found by schedule exploration, shrunk to a single
 * deviation from the plain schedule, and replayed byte-identically; the fixed driver survives the
 * same exploration; a fast-check property over the same seeds finds the same failure.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exploreCommand, runScenario } from "@drmsim/cli";
import {
  type Decision,
  ExplorationFailure,
  type ExploreTarget,
  explore,
  exploredProperty,
  exploreOutcome,
  findingSignature,
  type PerturbOptions,
} from "@drmsim/runtime";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import plantedRace, { plantedRaceScenario } from "../fixtures/planted-race/planted-race.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-planted-race-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIXTURE = join(import.meta.dirname, "..", "fixtures", "planted-race", "planted-race.ts");

const fixed = plantedRaceScenario({ fixed: true });
const target =
  (scenario = plantedRace): ExploreTarget =>
  async (perturb: PerturbOptions) =>
    exploreOutcome((await runScenario(scenario, { perturb })).sim);

describe("planted race (test/fixtures/planted-race)", () => {
  it("the plain run is clean: every job ran, no finding", async () => {
    const r = await runScenario(plantedRace);
    expect(r.findings).toEqual([]);
    expect(r.drain.reason).toBe("idle");
    expect(r.summary.extra).toEqual({ "jobs submitted": 24, "slots free at the end": 2 });
  });

  it("tie-break exploration alone finds it within 2000 runs, shrinks it to one decision, and the replay is byte-identical", async () => {
    const t0 = performance.now();
    const report = await explore(target(), { runs: 2000, knobs: { tieBreak: true }, stopOnFirst: true });
    const wallMs = performance.now() - t0;
    expect(report.failingRuns).toBe(1);
    expect(report.runs).toBeLessThanOrEqual(2000);
    const failure = report.failures[0]!;
    expect(failure.signature).toMatch(/^deadlock @ process:app/);
    // One tie at one completion time, taken the other way: the second queue's interrupt first.
    expect(failure.decisions).toHaveLength(1);
    expect(failure.decisions[0]![0]).toBe("t");
    expect(failure.originalDecisions.length).toBeGreaterThan(failure.decisions.length);
    console.log(
      `planted race: found after ${report.runs} tie-break run(s), shrunk ${failure.originalDecisions.length} → ${failure.decisions.length} decision(s) in ${failure.shrinkRuns} re-runs, ${wallMs.toFixed(0)} ms`,
    );
    expect(wallMs).toBeLessThan(60_000);

    const replay = async (decisions: readonly Decision[]) => {
      const r = await runScenario(plantedRace, { perturb: { decisions }, trace: true });
      return {
        trace: r.sim.tracer.toJSON(),
        findings: r.findings.map((f) => f.toString()),
        drain: r.drain.reason,
      };
    };
    const a = await replay(failure.decisions);
    const b = await replay(failure.decisions);
    expect(a.drain).toBe("deadlock");
    expect(a.findings[0]).toContain("[deadlock]");
    expect(b.trace).toBe(a.trace);
    expect(b.findings).toEqual(a.findings);
    // The unshrunk run replays too, to the same first finding.
    const full = await runScenario(plantedRace, { perturb: { decisions: failure.originalDecisions } });
    expect(findingSignature(full.findings[0]!)).toBe(failure.signature);
  });

  it("the fixed driver (slot returned before the fence signals) survives the same exploration", async () => {
    const report = await explore(target(fixed), { runs: 300, shrink: false });
    expect(report.runs).toBe(300);
    expect(report.failingRuns).toBe(0);
    expect(report.distinct.size).toBe(0);
  });

  it("drmsim explore with two worker threads finds it, counts it, shrinks it and prints a replay token", async () => {
    const out: string[] = [];
    const err = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const r = await exploreCommand(
      { scenario: FIXTURE, loaded: plantedRace, runs: 60, workers: 2, outDir: tmp },
      { out: (s) => void out.push(s), err },
    );
    expect(r.runs).toBe(60);
    expect(r.failingRuns).toBeGreaterThan(0);
    expect([...r.distinct.keys()].some((k) => k.startsWith("deadlock @ process:app"))).toBe(true);
    const deadlock = r.failures.find((f) => f.signature.startsWith("deadlock"))!;
    expect(deadlock.decisions.length).toBeLessThanOrEqual(3);
    expect(deadlock.files).toHaveLength(2);
    expect(out.join("")).toContain(`drmsim replay ${deadlock.token}`);
    expect(deadlock.replay.drain.reason).toBe("deadlock");
  });

  it("a fast-check property over the same perturbation seeds fails the same way, and its decisions replay it", async () => {
    let failure: unknown;
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), exploredProperty(target())),
        {
          seed: 16,
          numRuns: 200,
          endOnFailure: true,
        },
      );
    } catch (e) {
      failure = (e as { cause?: unknown }).cause;
    }
    expect(failure).toBeInstanceOf(ExplorationFailure);
    const ef = failure as ExplorationFailure;
    expect(ef.signatures.some((s) => s.startsWith("deadlock"))).toBe(true);
    const replayed = await runScenario(plantedRace, { perturb: { decisions: ef.decisions } });
    expect(replayed.drain.reason).toBe("deadlock");
    // The same seed explored the `drmsim explore` way is the same failing run.
    const same = await explore(target(), { runs: 1, firstSeed: ef.seed, shrink: false });
    expect(same.failures[0]!.originalDecisions).toEqual(ef.decisions);
  });
});
