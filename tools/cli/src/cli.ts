/**
 * The `drmsim` command. Exit codes: 0 clean, 1 validator findings (or a failed run), 2 usage
 * errors. `--help` works on every command.
 */
import { resolve } from "node:path";
import {
  CONFORMANCE_CHECKS,
  type ConformanceCheckId,
  formatConformanceReport,
  runDriverConformance,
} from "@drmsim/testing";
import { Command, CommanderError } from "commander";
import { exploreCommand, exploreOptionsFromFlags, replayCommand } from "./commands/explore.js";
import { parseDuration } from "./duration.js";
import { loadScenario, UsageError } from "./load-scenario.js";
import { scaffoldDriver } from "./new-driver.js";
import { describeResult } from "./outputs.js";
import { createProgress } from "./progress.js";
import { runScenario, type Scenario } from "./scenario.js";
import { demoScenario } from "./scenarios/demo.js";
import { TraceRecording } from "./trace/recording.js";
import { loadConformanceDriver } from "./validate.js";

interface RunFlags {
  seed?: string;
  duration?: string;
  trace?: string;
  traceLast?: string;
  report?: string;
  validator?: "throw" | "collect" | "off";
  quiet?: boolean;
}

/** Where the CLI writes: results to `out`, progress and errors to `err` (a TTY gets a progress bar). */
export interface CliIo {
  out: (s: string) => void;
  err: NodeJS.WriteStream;
}

/** Builds the program; `io` lets tests capture output. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("drmsim")
    .description(
      "Deterministic simulation of the Linux GPU driver stack: run scenarios, validate drivers, look at traces.",
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err.write(s) });

  const runOne = async (
    scenario: Scenario,
    flags: RunFlags,
    defaults: { trace?: string; report?: string },
  ): Promise<number> => {
    const seed =
      flags.seed === undefined ? 1 : Number.isNaN(Number(flags.seed)) ? flags.seed : Number(flags.seed);
    const durationNs = flags.duration === undefined ? undefined : parseDuration(flags.duration);
    const progress = createProgress(io.err, scenario.name);
    // Records only what was asked for (streamed to the file, or the last stretch in a ring).
    const recording = new TraceRecording({
      trace: flags.trace ?? defaults.trace,
      report: flags.report ?? defaults.report,
      lastNs: flags.traceLast === undefined ? undefined : parseDuration(flags.traceLast),
    });
    const result = await runScenario(scenario, {
      seed,
      ...(durationNs === undefined ? {} : { durationNs }),
      trace: (sim) => recording.sinks(sim),
      validator: flags.validator ?? "collect",
      onProgress: (f, now) => progress.update(f, `${(now / 1e9).toFixed(3)} s simulated`),
      log: (line) => {
        if (flags.quiet !== true) io.out(`${line}\n`);
      },
    });
    progress.done();
    const written = recording.finish(result);
    io.out(`${describeResult(result)}\n`);
    for (const w of written) io.out(`wrote ${w}\n`);
    return result.findings.length === 0 && result.drain.reason !== "deadlock" ? 0 : 1;
  };

  const withRunFlags = (cmd: Command): Command =>
    cmd
      .option("--seed <seed>", "seed for the run (number or string)", "1")
      .option("--duration <time>", "simulated duration, e.g. 10s, 500ms")
      .option("--trace <file>", "write a Chrome/Perfetto trace (JSON), streamed as the run goes")
      .option(
        "--trace-last <time>",
        "keep only the last <time> of the run in the trace (a ring buffer), e.g. 5s",
      )
      .option("--report <file>", "write a self-contained HTML timeline report")
      .option("--validator <mode>", "throw | collect | off", "collect")
      .option("-q, --quiet", "do not print scenario log lines");

  withRunFlags(
    program
      .command("demo")
      .description("run the built-in interop demo; writes a trace and a report under .drmsim/"),
  ).action(async (flags: RunFlags) => {
    process.exitCode = await runOne(demoScenario, flags, {
      trace: resolve(".drmsim/demo-trace.json"),
      report: resolve(".drmsim/demo-report.html"),
    });
  });

  withRunFlags(
    program
      .command("run")
      .argument("<scenario>", "a .ts or .js file exporting defineScenario({...})")
      .description("run a user scenario"),
  ).action(async (file: string, flags: RunFlags) => {
    process.exitCode = await runOne(await loadScenario(file), flags, {});
  });

  program
    .command("validate")
    .argument(
      "<driver>",
      "a driver package directory, or a module exporting `driver` (defineConformanceDriver)",
    )
    .description("run the driver conformance suite; exit 0 if every check passes, 1 if any fails")
    .option("--seed <seed>", "seed of every check's simulator", "1")
    .option("--only <checks...>", `run only these checks (${CONFORMANCE_CHECKS.map((c) => c.id).join(", ")})`)
    .action(async (target: string, flags: { seed: string; only?: string[] }) => {
      const ids = CONFORMANCE_CHECKS.map((c) => c.id) as string[];
      for (const o of flags.only ?? [])
        if (!ids.includes(o)) throw new UsageError(`unknown check '${o}': choose from ${ids.join(", ")}`);
      const driver = await loadConformanceDriver(target);
      const seed = Number.isNaN(Number(flags.seed)) ? flags.seed : Number(flags.seed);
      const report = await runDriverConformance(driver, {
        seed,
        ...(flags.only ? { only: flags.only as ConformanceCheckId[] } : {}),
      });
      io.out(`${formatConformanceReport(report)}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });

  program
    .command("explore")
    .argument("<scenario>", "a built-in scenario (demo, gpu-frames) or a scenario file")
    .description(
      "run a scenario under many perturbed schedules; shrink each failure and print the command that replays it (exit 1 on any finding)",
    )
    .requiredOption("--runs <n>", "perturbed runs on this machine")
    .option("--workers <n>", "worker threads (default: the CPUs)")
    .option("--shard <i/n>", "this machine's slice of the seed space (n machines, no overlap)")
    .option("--seed <seed>", "the scenario's seed (every run uses it)", "1")
    .option("--first-seed <n>", "first perturbation seed", "1")
    .option("--duration <time>", "simulated duration of each run, e.g. 10ms")
    .option("--hw-jitter <fraction>", "hardware execution time jitter (0.1 = up to +10%)")
    .option("--irq-jitter <ns>", "extra interrupt latency, up to this many ns")
    .option("--no-tie-break", "keep FIFO order for events at the same virtual time")
    .option("--no-wake-order", "wake sleepers in queue order")
    .option("--out <dir>", "where traces and reports of failures go", ".drmsim/explore")
    .action(async (scenario: string, flags: Parameters<typeof exploreOptionsFromFlags>[1]) => {
      const r = await exploreCommand(exploreOptionsFromFlags(scenario, flags), io);
      process.exitCode = r.failingRuns > 0 ? 1 : 0;
    });

  program
    .command("replay")
    .argument("<token>", "a replay token printed by drmsim explore")
    .description("replay one explored schedule exactly; writes its trace and report (exit 1 on any finding)")
    .option("--trace <file>", "trace path", ".drmsim/replay-trace.json")
    .option("--report <file>", "report path", ".drmsim/replay-report.html")
    .action(async (token: string, flags: { trace: string; report: string }) => {
      const r = await replayCommand(
        token,
        { trace: resolve(flags.trace), report: resolve(flags.report) },
        io,
      );
      process.exitCode = r.findings.length === 0 && r.drain.reason !== "deadlock" ? 0 : 1;
    });

  const create = program.command("new").description("scaffold new things");
  create
    .command("driver")
    .argument("<name>", "driver name: lowercase letters, digits, '-' or '_'")
    .description("scaffold a driver package (vgem's shape, with a conformance test) in drivers/<name>")
    .option("--dir <dir>", "where to create the package (default: drivers/<name> in the workspace)")
    .action((name: string, flags: { dir?: string }) => {
      const r = scaffoldDriver(name, flags.dir === undefined ? {} : { dir: flags.dir });
      io.out(`created ${r.dir}\n`);
      for (const f of r.files) io.out(`  ${f}\n`);
      io.out(
        r.inWorkspace
          ? "next: pnpm install (links the workspace packages), then pnpm exec vitest run <dir> and drmsim validate <dir>\n"
          : "next: npm install, then npx vitest run\n",
      );
      process.exitCode = 0;
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  io: CliIo = { out: (s: string) => void process.stdout.write(s), err: process.stderr },
): Promise<number> {
  const program = buildProgram(io);
  process.exitCode = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || (e instanceof Error && e.message.startsWith("invalid duration"))) {
      io.err.write(`drmsim: ${e.message}\n`);
      return 2;
    }
    io.err.write(`drmsim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
