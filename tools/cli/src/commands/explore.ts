/**
 * `drmsim explore <scenario>` and `drmsim replay <token>`: run a scenario under many perturbed
 * schedules across worker threads, count the distinct findings live, shrink each failure to the
 * fewest deviations from the plain schedule, and print the one command that replays it — with a
 * Perfetto trace and the HTML report of that replay.
 */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import {
  DEFAULT_EXPLORE_KNOBS,
  type Decision,
  decodeReplayToken,
  encodeReplayToken,
  type PerturbKnobs,
  type Shard,
  shardSeed,
  shrinkFailure,
} from "@drmsim/runtime";
import { detectedCommand } from "../invocation.js";
import { UsageError } from "../load-scenario.js";
import { describeResult } from "../outputs.js";
import { createProgress } from "../progress.js";
import type { Scenario, ScenarioResult } from "../scenario.js";
import { TraceRecording } from "../trace/recording.js";
import {
  type ExploreRunReport,
  type ExploreRunSpec,
  resolveScenario,
  runExploreTask,
  runOutcome,
  runPerturbed,
} from "./explore-target.js";
import type { ExploreWorkerData, ExploreWorkerTask } from "./explore-worker.js";

/** Options of {@link exploreCommand} (the command's flags, parsed). */
export interface ExploreCommandOptions {
  /** Built-in scenario name or scenario file (what workers load and replay tokens name). */
  scenario: string;
  /**
   * The same scenario, already loaded in this thread (used instead of loading `scenario` again
   * here: for callers that imported it themselves, such as tests).
   */
  loaded?: Scenario;
  runs: number;
  /** Threads running seeds, this one included (default: the machine's CPUs); 1 is this thread alone. */
  workers?: number;
  shard?: Shard;
  /** The scenario's seed (every run uses it; the perturbation seeds vary). */
  seed?: number | string;
  /** The first perturbation seed (default 1). */
  firstSeed?: number;
  durationNs?: number;
  knobs?: PerturbKnobs;
  /** Where the traces and reports of shrunk failures go (default `.drmsim/explore`). */
  outDir?: string;
}

/** Where output goes. `err` gets the progress bar. */
export interface ExploreIo {
  out: (s: string) => void;
  err: NodeJS.WriteStream;
  /** How the replay hint spells the command (`pnpm drmsim`, `npx drmsim`, …; default: detected). */
  command?: string;
  /** A millisecond clock for the progress bar (default `performance.now`). */
  now?: () => number;
}

/** One shrunk failure, as `drmsim explore` reports it. */
export interface ExploreCommandFailure {
  /** The first finding's signature (what failures are grouped and shrunk by). */
  signature: string;
  signatures: string[];
  /** Perturbation seed of the first run that hit it. */
  seed: number;
  originalDecisions: readonly Decision[];
  decisions: Decision[];
  /** `drmsim replay <token>` replays it. */
  token: string;
  /** Files written for the replay (trace, report). */
  files: string[];
  /** The replayed run. */
  replay: ScenarioResult;
}

/** What `drmsim explore` found. */
export interface ExploreCommandResult {
  runs: number;
  failingRuns: number;
  /** Distinct finding signature → runs that hit it. */
  distinct: Map<string, number>;
  failures: ExploreCommandFailure[];
  /** Wall time of the exploration phase (not shrinking), in ms. */
  wallMs: number;
}

/** Runs the exploration; prints progress and the failures; returns what it found. */
export async function exploreCommand(
  opts: ExploreCommandOptions,
  io: ExploreIo,
): Promise<ExploreCommandResult> {
  if (!(Number.isInteger(opts.runs) && opts.runs >= 1))
    throw new UsageError(`--runs must be an integer >= 1`);
  const workers = Math.min(opts.workers ?? availableParallelism(), opts.runs);
  if (!(Number.isInteger(workers) && workers >= 1)) throw new UsageError(`--workers must be an integer >= 1`);
  const shard = opts.shard ?? { index: 1, count: 1 };
  const knobs = opts.knobs ?? DEFAULT_EXPLORE_KNOBS;
  const seed = opts.seed ?? 1;
  const spec: ExploreRunSpec = {
    scenario: opts.loaded ?? (await resolveScenario(opts.scenario)),
    seed,
    ...(opts.durationNs === undefined ? {} : { durationNs: opts.durationNs }),
  };
  const plan: [number, number][] = [];
  for (let j = 0; j < opts.runs; j++) plan.push([j, shardSeed(opts.firstSeed ?? 1, shard, j)]);

  const distinct = new Map<string, number>();
  const firstBySet = new Map<string, ExploreRunReport>();
  let done = 0;
  let failingRuns = 0;
  const progress = createProgress(io.err, `explore ${spec.scenario.name}`, {
    rate: (fraction, elapsed) => `${((fraction * opts.runs) / elapsed).toFixed(1)} runs/s`,
    ...(io.now === undefined ? {} : { now: io.now }),
  });
  const record = (m: ExploreRunReport): void => {
    done++;
    if (m.signatures.length > 0) {
      failingRuns++;
      for (const s of m.signatures) distinct.set(s, (distinct.get(s) ?? 0) + 1);
      const key = m.primary;
      const prev = firstBySet.get(key);
      if (prev === undefined || m.index < prev.index) firstBySet.set(key, m);
    }
    progress.update(
      done / opts.runs,
      `${done}/${opts.runs} runs, ${distinct.size} distinct finding${distinct.size === 1 ? "" : "s"}`,
    );
  };

  const t0 = performance.now();
  const started: Worker[] = [];
  let nextRun = 0;
  const next = (): ExploreWorkerTask | undefined => plan[nextRun++];
  // This thread is one of the workers — it has the scenario loaded and, after its first runs, a
  // warm JIT, which each worker thread must build for itself — and starts workers - 1 threads.
  const inThisThread = async () => {
    for (let task = next(); task !== undefined; task = next())
      record(await runExploreTask(spec, knobs, task));
  };
  const data: ExploreWorkerData = {
    scenario: opts.scenario,
    seed,
    ...(opts.durationNs === undefined ? {} : { durationNs: opts.durationNs }),
    knobs,
  };
  const threads = Array.from({ length: workers - 1 }, () => runWorker(started, data, next, record));
  await Promise.all([...threads, inThisThread()]).catch(async (e: unknown) => {
    // One worker failed (the scenario threw): stop the others instead of waiting for them.
    nextRun = plan.length;
    await Promise.all(started.map((w) => w.terminate()));
    throw e;
  });
  const wallMs = performance.now() - t0;
  progress.done();

  const result: ExploreCommandResult = { runs: done, failingRuns, distinct, failures: [], wallMs };
  io.out(
    `explored ${done} schedule${done === 1 ? "" : "s"} of ${spec.scenario.name} (seed ${String(seed)}, shard ${shard.index}/${shard.count}, ${workers} worker${workers === 1 ? "" : "s"}) in ${(wallMs / 1000).toFixed(1)} s: ${failingRuns} failing, ${distinct.size} distinct finding${distinct.size === 1 ? "" : "s"}\n`,
  );
  for (const [sig, n] of distinct) io.out(`  ${String(n).padStart(6)} × ${sig}\n`);

  const outDir = resolve(opts.outDir ?? ".drmsim/explore");
  const target = (perturb: Parameters<typeof runOutcome>[1]) => runOutcome(spec, perturb);
  let n = 0;
  for (const first of [...firstBySet.values()].sort((a, b) => a.index - b.index)) {
    n++;
    // Re-run the seed here to have its full outcome, then shrink it.
    const outcome = await target({ ...knobs, seed: first.seed });
    const shrunk = await shrinkFailure(target, first.seed, outcome);
    const token = encodeReplayToken({
      scenario: opts.scenario,
      seed,
      decisions: shrunk.decisions,
      ...(opts.durationNs === undefined ? {} : { durationNs: opts.durationNs }),
    });
    // The failure's report opens on its first finding.
    const recording = new TraceRecording({
      trace: join(outDir, `failure-${n}-trace.json`),
      report: join(outDir, `failure-${n}-report.html`),
      focusFirstFinding: true,
    });
    const replay = await runPerturbed(spec, { decisions: shrunk.decisions }, (sim) => recording.sinks(sim));
    const files = recording.finish(replay);
    result.failures.push({
      signature: shrunk.signature,
      signatures: shrunk.signatures,
      seed: first.seed,
      originalDecisions: outcome.decisions,
      decisions: shrunk.decisions,
      token,
      files,
      replay,
    });
    io.out(
      `\nfailure ${n}: ${shrunk.signature}${shrunk.signatures.length > 1 ? ` (with ${shrunk.signatures.filter((x) => x !== shrunk.signature).join("; ")})` : ""}\n` +
        `  first hit by perturbation seed ${first.seed}; shrunk from ${outcome.decisions.length} to ${shrunk.decisions.length} deviation${shrunk.decisions.length === 1 ? "" : "s"} from the plain schedule (${shrunk.shrinkRuns} re-runs): ${JSON.stringify(shrunk.decisions)}\n` +
        `  ${shrunk.finding.toString().split("\n").join("\n  ")}\n` +
        `  replay: ${io.command ?? detectedCommand()} replay ${token}\n`,
    );
    for (const f of files) io.out(`  wrote ${f}\n`);
  }
  return result;
}

/**
 * Runs a worker thread keeps queued ahead of the one it is running. This thread answers its
 * reports only between its own runs, so a worker with nothing queued would wait up to a run for
 * its next seed; with a few queued it never does, and the tail is at most this many runs.
 */
const WORKER_PREFETCH = 3;

/**
 * Starts a worker and feeds it runs from `next` — `WORKER_PREFETCH` when it is ready, one more
 * for each it reports — until none are left; resolves once it has reported all it was given.
 */
function runWorker(
  started: Worker[],
  data: ExploreWorkerData,
  next: () => ExploreWorkerTask | undefined,
  onRun: (m: ExploreRunReport) => void,
): Promise<void> {
  const here = import.meta.url;
  const fromSource = here.endsWith(".ts");
  const entry = new URL(fromSource ? "./explore-worker.ts" : "./explore-worker.js", here).href;
  // A tiny CommonJS bootstrap: from sources it registers tsx first (a worker does not inherit
  // `--import tsx`), then loads the real worker module.
  const boot = `const { workerData } = require("node:worker_threads");
(async () => { if (workerData.tsx) (await import(workerData.tsx)).register(); await import(workerData.entry); })()
  .catch((e) => { throw e; });`;
  return new Promise((resolvePromise, reject) => {
    const w = new Worker(boot, {
      eval: true,
      execArgv: fromSource ? ["--conditions=@drmsim/source"] : [],
      workerData: { ...data, entry, tsx: fromSource ? import.meta.resolve("tsx/esm/api") : null },
    });
    started.push(w);
    let finished = false;
    let given = 0;
    let reported = 0;
    const feed = (n: number) => {
      for (let i = 0; i < n; i++) {
        const task = next();
        if (task === undefined) break;
        w.postMessage(task);
        given++;
      }
      if (reported === given) {
        finished = true;
        void w.terminate();
        resolvePromise();
      }
    };
    w.on("message", (m: ExploreRunReport | { ready: true }) => {
      if ("ready" in m) feed(WORKER_PREFETCH);
      else {
        reported++;
        onRun(m);
        feed(1);
      }
    });
    w.on("error", reject);
    w.on("exit", (code) => {
      if (!finished) reject(new Error(`explore worker exited with code ${code} before finishing its runs`));
    });
  });
}

/** Options of {@link replayCommand}. */
export interface ReplayCommandOptions {
  trace?: string;
  report?: string;
  /** The token's scenario, already loaded in this thread (tests). */
  loaded?: Scenario;
}

/** `drmsim replay <token>`: runs the exact schedule the token names; the run's result. */
export async function replayCommand(
  token: string,
  opts: ReplayCommandOptions,
  io: ExploreIo,
): Promise<ScenarioResult> {
  let spec: ReturnType<typeof decodeReplayToken>;
  try {
    spec = decodeReplayToken(token);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const run: ExploreRunSpec = {
    scenario: opts.loaded ?? (await resolveScenario(spec.scenario)),
    seed: spec.seed,
    ...(spec.durationNs === undefined ? {} : { durationNs: spec.durationNs }),
  };
  const recording = new TraceRecording({
    trace: opts.trace ?? resolve(".drmsim/replay-trace.json"),
    report: opts.report ?? resolve(".drmsim/replay-report.html"),
    focusFirstFinding: true,
  });
  const result = await runPerturbed(run, { decisions: spec.decisions }, (sim) => recording.sinks(sim));
  const written = recording.finish(result);
  io.out(
    `replaying ${spec.scenario} (seed ${String(spec.seed)}) with ${spec.decisions.length} decision${spec.decisions.length === 1 ? "" : "s"}: ${JSON.stringify(spec.decisions)}\n`,
  );
  io.out(`${describeResult(result)}\n`);
  for (const w of written) io.out(`wrote ${w}\n`);
  return result;
}
