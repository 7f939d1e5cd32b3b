/**
 * The scenario API behind `drmsim run` and `drmsim demo`: a scenario sets up a world (devices,
 * processes, workloads) on a fresh `Simulator`; the runner drives virtual time to the requested
 * duration, drains what is left, tears down, and collects the validator's verdict and a summary.
 */
import type {
  Finding,
  PerturbOptions,
  RunResult,
  Simulator,
  TraceSink,
  ValidatorMode,
} from "@drmsim/runtime";
import { MemorySink, Simulator as Sim, secs } from "@drmsim/runtime";
import { type Summary, summarize } from "./summary.js";
import { attachSummary, SummarySink } from "./trace/summary-sink.js";

/** What a scenario gets. */
export interface ScenarioContext {
  readonly sim: Simulator;
  readonly seed: number;
  /** How long the run lasts, in virtual ns. Workloads stop submitting at `endNs`. */
  readonly durationNs: number;
  /** Absolute virtual time at which the run's duration ends. */
  readonly endNs: number;
  /** Prints a line (with the virtual timestamp) through the runner's output. */
  log(line: string): void;
}

/** A user scenario: `export default defineScenario({ … })` in a `.ts` or `.js` file. */
export interface Scenario {
  name: string;
  description?: string;
  /** Default duration when the caller gives none (ns). */
  durationNs?: number;
  /** Sets up the world. May spawn tasks and schedule events; runs before virtual time moves. */
  setup(ctx: ScenarioContext): void | Promise<void>;
  /** Called after the run drained, before teardown: release what the scenario still holds. */
  finish?(ctx: ScenarioContext): void | Promise<void>;
  /** Extra summary rows (label → value) for the table. */
  extraSummary?(ctx: ScenarioContext): Record<string, string | number>;
}

/** Identity helper that gives a scenario file its types. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}

/** Options of `runScenario`. */
export interface ScenarioRunOptions {
  seed?: number | string;
  durationNs?: number;
  /**
   * Trace the run: `true` keeps the events in memory (`result.sim.tracer.events`); a function
   * gives the sinks to record into (a streamed file, a ring buffer; `drmsim run` builds them
   * with `TraceRecording`). A traced run also counts what the summary shows. Default: untraced.
   */
  trace?: boolean | ((sim: Simulator) => TraceSink[]);
  validator?: ValidatorMode;
  /** Schedule perturbation or an exact replay (`drmsim explore` / `drmsim replay`). Default: none. */
  perturb?: PerturbOptions;
  /** Called as virtual time advances (fraction of the duration, 0..1). */
  onProgress?(fraction: number, nowNs: number): void;
  log?(line: string): void;
}

/** What a run produced. */
export interface ScenarioResult {
  scenario: Scenario;
  sim: Simulator;
  seed: number;
  durationNs: number;
  /** How the final drain ended (`idle`, or `deadlock` with its finding). */
  drain: RunResult;
  findings: Finding[];
  summary: Summary;
}

/** Runs a scenario to its duration, drains, tears down, and reports. */
export async function runScenario(
  scenario: Scenario,
  opts: ScenarioRunOptions = {},
): Promise<ScenarioResult> {
  const sim = new Sim({
    seed: opts.seed ?? 1,
    validator: opts.validator ?? "collect",
    ...(opts.perturb === undefined ? {} : { perturb: opts.perturb }),
  });
  const trace = opts.trace ?? false;
  if (trace !== false) {
    const summary = new SummarySink();
    attachSummary(sim, summary);
    sim.tracer.useSinks([...(trace === true ? [new MemorySink()] : trace(sim)), summary]);
    sim.tracer.on = true;
  }
  const durationNs = opts.durationNs ?? scenario.durationNs ?? secs(1);
  const log = opts.log ?? (() => {});
  const ctx: ScenarioContext = {
    sim,
    seed: sim.seed,
    durationNs,
    endNs: sim.now + durationNs,
    log: (line) => log(`${sim.timestamp()} ${line}`),
  };
  await scenario.setup(ctx);
  const slices = 50;
  for (let i = 1; i <= slices; i++) {
    await sim.run({ untilNs: (durationNs * i) / slices });
    opts.onProgress?.(i / slices, sim.now);
  }
  const drain = await sim.run();
  await scenario.finish?.(ctx);
  await sim.run();
  sim.teardown();
  // Closes what is still open (fences that never signalled) and the sinks: the file is complete.
  sim.tracer.finish();
  const findings = [...sim.validator.findings];
  const summary = summarize(sim, findings, scenario.extraSummary?.(ctx) ?? {});
  return { scenario, sim, seed: sim.seed, durationNs, drain, findings, summary };
}
