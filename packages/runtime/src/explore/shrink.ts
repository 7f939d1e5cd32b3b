/**
 * Shrinking a failing perturbation: delta debugging (Zeller's ddmin) over the decision list, so a
 * run that failed after hundreds of deviations is reported as the few that matter. No kernel
 * counterpart; the runs are deterministic, so "does this subset still fail?" has one answer.
 */
import type { Decision } from "./perturb.js";

/** Options of {@link shrinkDecisions}. */
export interface ShrinkOptions {
  /** Give up refining after this many test runs (the best list so far is returned). Default 500. */
  maxRuns?: number;
}

/** What {@link shrinkDecisions} found. */
export interface ShrinkResult {
  /** A 1-minimal failing subset (no single decision can be removed), or the best found in budget. */
  decisions: Decision[];
  /** Test runs spent. */
  runs: number;
}

/**
 * Reduces `decisions` (a failing run's deviations) to a small subset for which `fails` still
 * returns true, keeping their original order. `fails` re-runs the scenario with exactly the given
 * decisions and says whether the same failure happened. The empty list is tried first: if the plain
 * schedule already fails, no deviation is needed.
 */
export async function shrinkDecisions(
  decisions: readonly Decision[],
  fails: (subset: Decision[]) => Promise<boolean> | boolean,
  opts: ShrinkOptions = {},
): Promise<ShrinkResult> {
  const maxRuns = opts.maxRuns ?? 500;
  let runs = 0;
  const test = async (subset: Decision[]): Promise<boolean> => {
    runs++;
    return fails(subset);
  };
  if (decisions.length === 0) return { decisions: [], runs };
  if (await test([])) return { decisions: [], runs };
  let current = [...decisions];
  let n = 2;
  while (current.length >= 2 && runs < maxRuns) {
    const chunk = Math.ceil(current.length / n);
    const parts: Decision[][] = [];
    for (let i = 0; i < current.length; i += chunk) parts.push(current.slice(i, i + chunk));
    let reduced = false;
    // A part alone still fails: keep only it.
    for (const part of parts) {
      if (runs >= maxRuns) break;
      if (await test(part)) {
        current = part;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && parts.length > 2) {
      // The rest without one part still fails: drop that part.
      for (let i = 0; i < parts.length && runs < maxRuns; i++) {
        const complement = parts.filter((_, k) => k !== i).flat();
        if (await test(complement)) {
          current = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, 2 * n);
    }
  }
  return { decisions: current, runs };
}
