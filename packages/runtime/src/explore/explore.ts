/**
 * The exploration loop: run one target under many perturbation seeds, group failures by what
 * went wrong and where, and shrink the first failure of each group to a minimal decision list.
 * `drmsim explore` runs this across worker threads; tests and property checks run it in-process.
 * No kernel counterpart (the closest is running a stress test on many machines for a week).
 */
import { KernelError } from "../errno.js";
import type { Finding } from "../lockdep/finding.js";
import type { Simulator } from "../simulator.js";
import type { Decision, PerturbOptions } from "./perturb.js";
import { shrinkDecisions } from "./shrink.js";

/** What one run of an exploration target produced. */
export interface ExploreOutcome {
  /** Validator findings of the run (a deadlock at quiescence is a `deadlock` finding). */
  findings: readonly Finding[];
  /** The decisions the run took (`sim.decisions`). */
  decisions: readonly Decision[];
}

/**
 * One run of the code under exploration: build a `Simulator` with `perturb`, run it to the end,
 * tear it down, and say what happened. Must be deterministic for a given `perturb`.
 */
export type ExploreTarget = (perturb: PerturbOptions) => Promise<ExploreOutcome>;

/** The knobs an exploration turns on for every run (everything but the seed). */
export type PerturbKnobs = Omit<PerturbOptions, "seed" | "decisions">;

/** The default knobs of `drmsim explore`: ties, hardware and irq jitter, wake order. */
export const DEFAULT_EXPLORE_KNOBS: PerturbKnobs = {
  tieBreak: true,
  hwJitter: 0.1,
  irqJitterNs: 1000,
  wakeOrder: true,
};

/** The outcome of a simulator that has run and been torn down: its findings and decisions. */
export function exploreOutcome(sim: Simulator): ExploreOutcome {
  return { findings: [...sim.validator.findings], decisions: [...sim.decisions] };
}

/**
 * How findings are told apart: the kind plus the top `frames` frames of the backtrace (for a
 * deadlock, of the first stuck context; for a cycle, of the closing link). Two runs that broke the
 * same rule on the same code path have the same signature, whatever the times and ids involved.
 */
export function findingSignature(f: Finding, frames = 3): string {
  const bt = f.backtrace.length > 0 ? f.backtrace : (f.waitFor[0]?.backtrace ?? f.chain[0]?.backtrace ?? []);
  const path = bt.slice(0, frames).map((fr) => fr.replace(/[#/]\d+/g, ""));
  return `${f.kind} @ ${path.length > 0 ? path.join(" < ") : f.context.replace(/[#/]\d+/g, "")}`;
}

/** The distinct signatures of an outcome's findings, sorted. */
export function outcomeSignatures(o: ExploreOutcome): string[] {
  return [...new Set(o.findings.map((f) => findingSignature(f)))].sort();
}

/**
 * The signature a failing run is grouped and shrunk by: its first finding's (later findings are
 * usually consequences — a deadlock leaves leaks and unsignalled fences behind). Undefined for a
 * clean run.
 */
export function primarySignature(o: ExploreOutcome): string | undefined {
  const f = o.findings[0];
  return f === undefined ? undefined : findingSignature(f);
}

/** `--shard i/n`: this machine's slice of the seed space. */
export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** Parses `i/n` (1 ≤ i ≤ n); `EINVAL` otherwise. */
export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!(index >= 1 && count >= 1 && index <= count))
    throw new KernelError("EINVAL", `a shard is i/n with 1 <= i <= n (e.g. 2/4), got '${s}'`);
  return { index, count };
}

/**
 * The perturbation seed of run `j` (0-based) of a shard: shard i/n takes every n-th seed starting
 * at `firstSeed + i - 1`, so n machines with the same `firstSeed` and `--runs` never repeat a seed
 * and together cover `firstSeed … firstSeed + n·runs − 1`.
 */
export function shardSeed(firstSeed: number, shard: Shard, j: number): number {
  return firstSeed + (shard.index - 1) + j * shard.count;
}

/** A failure found by exploration, shrunk. */
export interface ExploreFailure {
  /** The perturbation seed that first hit it. */
  seed: number;
  /** Its first finding's signature (what it is grouped and shrunk by). */
  signature: string;
  /** All its finding signatures. */
  signatures: string[];
  /** The first finding, for printing. */
  finding: Finding;
  /** Deviations the failing run took. */
  originalDecisions: readonly Decision[];
  /** The minimal deviations that still reproduce the same signatures. */
  decisions: Decision[];
  /** Runs the shrinker spent. */
  shrinkRuns: number;
}

/** Options of {@link explore}. */
export interface ExploreOptions {
  runs: number;
  /** Seed of the first run (default 1). */
  firstSeed?: number;
  shard?: Shard;
  knobs?: PerturbKnobs;
  /** Stop at the first failing run (default false: run them all and count distinct findings). */
  stopOnFirst?: boolean;
  /** Shrink the first failure of each distinct signature set (default true). */
  shrink?: boolean;
  /** Called after every run. */
  onRun?(done: number, distinct: number): void;
}

/** What {@link explore} found. */
export interface ExploreReport {
  runs: number;
  /** Runs with at least one finding. */
  failingRuns: number;
  /** Distinct finding signatures → how many runs hit them. */
  distinct: Map<string, number>;
  /** One shrunk failure per distinct first-finding signature, in the order found. */
  failures: ExploreFailure[];
}

/** Runs `target` under `runs` seeded perturbations, in-process, one after another. */
export async function explore(target: ExploreTarget, opts: ExploreOptions): Promise<ExploreReport> {
  const shard = opts.shard ?? { index: 1, count: 1 };
  const knobs = opts.knobs ?? DEFAULT_EXPLORE_KNOBS;
  const report: ExploreReport = { runs: 0, failingRuns: 0, distinct: new Map(), failures: [] };
  const seenSets = new Set<string>();
  for (let j = 0; j < opts.runs; j++) {
    const seed = shardSeed(opts.firstSeed ?? 1, shard, j);
    const outcome = await target({ ...knobs, seed });
    report.runs++;
    const sigs = outcomeSignatures(outcome);
    if (sigs.length > 0) {
      report.failingRuns++;
      for (const s of sigs) report.distinct.set(s, (report.distinct.get(s) ?? 0) + 1);
      const key = primarySignature(outcome)!;
      if (!seenSets.has(key)) {
        seenSets.add(key);
        report.failures.push(
          opts.shrink === false
            ? {
                seed,
                signature: key,
                signatures: sigs,
                finding: outcome.findings[0]!,
                originalDecisions: outcome.decisions,
                decisions: [...outcome.decisions],
                shrinkRuns: 0,
              }
            : await shrinkFailure(target, seed, outcome),
        );
      }
    }
    opts.onRun?.(report.runs, report.distinct.size);
    if (sigs.length > 0 && opts.stopOnFirst === true) break;
  }
  return report;
}

/**
 * Shrinks a failing run: the smallest decision list whose replay still has a finding with the
 * failing run's first-finding signature. Replays run with `perturb: { decisions }` only.
 */
export async function shrinkFailure(
  target: ExploreTarget,
  seed: number,
  outcome: ExploreOutcome,
): Promise<ExploreFailure> {
  const want = primarySignature(outcome);
  if (want === undefined) throw new KernelError("EINVAL", "shrinkFailure: the run to shrink had no finding");
  const fails = async (decisions: Decision[]): Promise<boolean> =>
    outcomeSignatures(await target({ decisions })).includes(want);
  const r = await shrinkDecisions(outcome.decisions, fails);
  return {
    seed,
    signature: want,
    signatures: outcomeSignatures(outcome),
    finding: outcome.findings[0]!,
    originalDecisions: outcome.decisions,
    decisions: r.decisions,
    shrinkRuns: r.runs,
  };
}
