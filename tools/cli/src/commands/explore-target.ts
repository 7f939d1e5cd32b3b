/**
 * What `drmsim explore` and `drmsim replay` run: a scenario (built-in name or file) with a given
 * perturbation, reduced to the outcome the explorer compares. Shared by the main thread and the
 * worker threads, so both run a seed the same way.
 */
import {
  type Decision,
  type ExploreOutcome,
  exploreOutcome,
  outcomeSignatures,
  type PerturbKnobs,
  type PerturbOptions,
  primarySignature,
  type Simulator,
  type TraceSink,
} from "@drmsim/runtime";
import { loadScenario, UsageError } from "../load-scenario.js";
import { runScenario, type Scenario, type ScenarioResult } from "../scenario.js";
import { demoScenario } from "../scenarios/demo.js";
import gpuFrames from "../scenarios/gpu-frames.js";

/** Scenarios `explore`/`replay` know by name. */
const BUILT_IN: Record<string, Scenario> = { demo: demoScenario, "gpu-frames": gpuFrames };

/** A built-in scenario by name, or a scenario file. */
export async function resolveScenario(nameOrFile: string): Promise<Scenario> {
  const builtIn = BUILT_IN[nameOrFile];
  if (builtIn !== undefined) return builtIn;
  if (!/[./\\]/.test(nameOrFile))
    throw new UsageError(
      `unknown scenario '${nameOrFile}': give a scenario file or one of ${Object.keys(BUILT_IN).join(", ")}`,
    );
  return loadScenario(nameOrFile);
}

/** Where one explored run is defined: the scenario, its seed and duration. */
export interface ExploreRunSpec {
  scenario: Scenario;
  seed: number | string;
  durationNs?: number;
}

/** Runs the scenario once under `perturb`; `trace` records a trace (for the replay's outputs). */
export function runPerturbed(
  spec: ExploreRunSpec,
  perturb: PerturbOptions,
  trace: boolean | ((sim: Simulator) => TraceSink[]) = false,
): Promise<ScenarioResult> {
  return runScenario(spec.scenario, {
    seed: spec.seed,
    ...(spec.durationNs === undefined ? {} : { durationNs: spec.durationNs }),
    validator: "collect",
    trace,
    perturb,
  });
}

/** The explorer's view of one run. */
export async function runOutcome(spec: ExploreRunSpec, perturb: PerturbOptions): Promise<ExploreOutcome> {
  return exploreOutcome((await runPerturbed(spec, perturb)).sim);
}

/** What one explored run reports to the explorer. */
export interface ExploreRunReport {
  index: number;
  seed: number;
  /** First finding's signature, "" for a clean run. */
  primary: string;
  signatures: string[];
  decisions: Decision[];
}

/** Runs explored run `index` (perturbation seed `seed`) and reduces it to its report. */
export async function runExploreTask(
  spec: ExploreRunSpec,
  knobs: PerturbKnobs,
  [index, seed]: readonly [number, number],
): Promise<ExploreRunReport> {
  const outcome = await runOutcome(spec, { ...knobs, seed });
  const signatures = outcomeSignatures(outcome);
  return {
    index,
    seed,
    primary: primarySignature(outcome) ?? "",
    signatures,
    decisions: signatures.length > 0 ? [...outcome.decisions] : [],
  };
}
