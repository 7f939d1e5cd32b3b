/**
 * The bridge between property-based tests and exploration: a property over integer seeds whose
 * every case is one perturbed run, exactly as `drmsim explore` would run that seed. So a
 * counterexample fast-check reports (seed 1234) is the same run `explore --seed …` finds, and both
 * replay the same way. Framework-agnostic: it returns a plain `(seed) => Promise<void>` that
 * throws, which `fc.asyncProperty(fc.integer(...), …)` accepts as is.
 */

import {
  DEFAULT_EXPLORE_KNOBS,
  type ExploreTarget,
  outcomeSignatures,
  type PerturbKnobs,
} from "./explore.js";
import type { Decision } from "./perturb.js";

/** Thrown by an {@link exploredProperty} case that failed: carries what is needed to replay it. */
export class ExplorationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly signatures: string[],
    /** The failing run's decisions: `perturb: { decisions }` replays it. */
    readonly decisions: readonly Decision[],
  ) {
    super(
      `perturbation seed ${seed} fails: ${signatures.join("; ")} — replay with perturb: { decisions: ${JSON.stringify(decisions)} }`,
    );
    this.name = "ExplorationFailure";
  }
}

/**
 * A property over perturbation seeds: each case runs `target` with `{ ...knobs, seed }` and throws
 * an {@link ExplorationFailure} if the run had any finding.
 *
 * @example
 * ```ts
 * await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), exploredProperty(target)), { numRuns: 500 });
 * ```
 */
export function exploredProperty(
  target: ExploreTarget,
  knobs: PerturbKnobs = DEFAULT_EXPLORE_KNOBS,
): (seed: number) => Promise<void> {
  return async (seed: number) => {
    const outcome = await target({ ...knobs, seed });
    const sigs = outcomeSignatures(outcome);
    if (sigs.length > 0) throw new ExplorationFailure(seed, sigs, outcome.decisions);
  };
}
