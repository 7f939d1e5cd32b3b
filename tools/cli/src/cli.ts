/**
 * The `drmsim` command. Exit codes: 0 clean, 1 validator findings (or a failed run), 2 usage
 * errors. `--help` works on every command and `--version` on the program. Every option is parsed
 * and checked by commander before a command runs; every error is one line `drmsim: error: …`,
 * and a usage error is followed by the command's `--help` line, spelled the way it runs here.
 */
import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_EXPLORE_KNOBS } from "@drmsim/runtime";
import {
  CONFORMANCE_CHECKS,
  type ConformanceCheckId,
  formatConformanceReport,
  runDriverConformance,
} from "@drmsim/testing";
import { Command, CommanderError, Option } from "commander";
import { type ExploreCommandOptions, exploreCommand, replayCommand } from "./commands/explore.js";
import { detectedCommand } from "./invocation.js";
import { loadScenario, UsageError } from "./load-scenario.js";
import { nextSteps, scaffoldDriver } from "./new-driver.js";
import {
  choiceListOption,
  parseCountOption,
  parseDurationOption,
  parseFractionOption,
  parseNanosecondsOption,
  parseSeedOption,
  parseShardOption,
} from "./options.js";
import { describeResult } from "./outputs.js";
import { createProgress } from "./progress.js";
import { runScenario, type Scenario } from "./scenario.js";
import { demoScenario } from "./scenarios/demo.js";
import { TraceRecording } from "./trace/recording.js";
import { loadConformanceDriver } from "./validate.js";
import { cliVersion } from "./version.js";

interface RunFlags {
  seed: number | string;
  duration?: number;
  trace?: string;
  traceLast?: number;
  report?: string;
  validator: "throw" | "collect" | "off";
  quiet?: boolean;
}

/** Where the CLI writes: results to `out`, progress and errors to `err` (a TTY gets a progress bar). */
export interface CliIo {
  out: (s: string) => void;
  err: NodeJS.WriteStream;
  /** How a command is spelled where the user is (`pnpm drmsim`, `npx drmsim`, …; default: detected). */
  command?: string;
  /** A millisecond clock for the progress bar's rate and time left (default `performance.now`). */
  now?: () => number;
}

/** The prefix of every error line. */
export const ERROR_PREFIX = "drmsim: error: ";

/** Each command's usage hint (printed after a usage error), set by `buildProgram`. */
const HELP_HINTS = new WeakMap<Command, string>();

/** Builds the program; `io` lets tests capture output. */
export function buildProgram(io: CliIo): Command {
  const prefix = io.command ?? detectedCommand();
  const progressOpts = io.now === undefined ? {} : { now: io.now };
  const exploreIo = { ...io, command: prefix };
  const program = new Command("drmsim")
    .description(
      "Deterministic simulation of the Linux GPU driver stack: run scenarios, validate drivers, look at traces.",
    )
    .version(cliVersion(), "-V, --version", "print the version of drmsim")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err.write(s),
      // commander's own messages start "error: "; ours start with the same prefix.
      outputError: (s, write) => write(`${ERROR_PREFIX}${s.replace(/^error: /, "")}`),
    });
  // After a usage error: the command's help, as a command that works here.
  const helpHint = (cmd: Command): Command => {
    const path: string[] = [];
    for (let c: Command | null = cmd; c !== null && c !== program; c = c.parent) path.unshift(c.name());
    const hint = `(run '${[prefix, ...path, "--help"].join(" ")}' for usage)`;
    HELP_HINTS.set(cmd, hint);
    return cmd.showHelpAfterError(hint);
  };
  helpHint(program);

  const runOne = async (
    scenario: Scenario,
    flags: RunFlags,
    defaults: { trace?: string; report?: string },
  ): Promise<number> => {
    const durationNs = flags.duration;
    const progress = createProgress(io.err, scenario.name, {
      ...progressOpts,
      // Simulated seconds per wall-clock second.
      rate: (fraction, elapsed) =>
        `${((fraction * (durationNs ?? scenario.durationNs ?? 1e9)) / 1e9 / elapsed).toPrecision(3)}× real time`,
    });
    // Records only what was asked for (streamed to the file, or the last stretch in a ring).
    const recording = new TraceRecording({
      trace: flags.trace ?? defaults.trace,
      report: flags.report ?? defaults.report,
      lastNs: flags.traceLast,
    });
    const result = await runScenario(scenario, {
      seed: flags.seed,
      ...(durationNs === undefined ? {} : { durationNs }),
      trace: (sim) => recording.sinks(sim),
      validator: flags.validator,
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

  const seedOption = (what: string) =>
    new Option("--seed <seed>", `${what}: an integer 0..4294967295 or a name`)
      .argParser(parseSeedOption)
      .default(1);
  const durationOption = (what: string) =>
    new Option("--duration <time>", `${what}, e.g. 10s, 500ms, 250us`).argParser(parseDurationOption);

  const withRunFlags = (cmd: Command): Command =>
    helpHint(cmd)
      .addOption(seedOption("seed of the run"))
      .addOption(durationOption("simulated duration"))
      .option("--trace <file>", "write a Chrome/Perfetto trace (JSON), streamed as the run goes")
      .addOption(
        new Option(
          "--trace-last <time>",
          "keep only the last <time> of the run in the trace (a ring buffer), e.g. 5s",
        ).argParser(parseDurationOption),
      )
      .option("--report <file>", "write a self-contained HTML timeline report")
      .addOption(
        new Option("--validator <mode>", "what a finding does")
          .choices(["throw", "collect", "off"])
          .default("collect"),
      )
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

  const checkIds = CONFORMANCE_CHECKS.map((c) => c.id);
  helpHint(program.command("validate"))
    .argument(
      "<driver>",
      "a driver package directory, or a module exporting `driver` (defineConformanceDriver)",
    )
    .description("run the driver conformance suite; exit 0 if every check passes, 1 if any fails")
    .addOption(seedOption("seed of every check's simulator"))
    .addOption(
      new Option(
        "--only <check>",
        `run only this check; repeat it or separate with commas (${checkIds.join(", ")})`,
      ).argParser(choiceListOption(checkIds)),
    )
    .action(async (target: string, flags: { seed: number | string; only?: string[] }) => {
      const driver = await loadConformanceDriver(target);
      const report = await runDriverConformance(driver, {
        seed: flags.seed,
        ...(flags.only ? { only: flags.only as ConformanceCheckId[] } : {}),
      });
      io.out(`${formatConformanceReport(report)}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });

  helpHint(program.command("explore"))
    .argument("<scenario>", "a built-in scenario (demo, gpu-frames) or a scenario file")
    .description(
      "run a scenario under many perturbed schedules; shrink each failure and print the command that replays it (exit 1 on any finding)",
    )
    .addOption(
      new Option("--runs <n>", "perturbed runs on this machine")
        .argParser(parseCountOption)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--workers <n>", "threads running seeds, this one included (default: the CPUs)").argParser(
        parseCountOption,
      ),
    )
    .addOption(
      new Option(
        "--shard <i/n>",
        "this machine's slice of the seed space (n machines, no overlap)",
      ).argParser(parseShardOption),
    )
    .addOption(seedOption("the scenario's seed (every run uses it)"))
    .addOption(
      new Option("--first-seed <n>", "first perturbation seed").argParser(parseCountOption).default(1),
    )
    .addOption(durationOption("simulated duration of each run"))
    .addOption(
      new Option("--hw-jitter <fraction>", "hardware execution time jitter (0.1 = up to +10%)").argParser(
        parseFractionOption,
      ),
    )
    .addOption(
      new Option("--irq-jitter <ns>", "extra interrupt latency, up to this many ns").argParser(
        parseNanosecondsOption,
      ),
    )
    .option("--no-tie-break", "keep FIFO order for events at the same virtual time")
    .option("--no-wake-order", "wake sleepers in queue order")
    .option("--out <dir>", "where traces and reports of failures go", ".drmsim/explore")
    .action(async (scenario: string, flags: ExploreFlags) => {
      const r = await exploreCommand(exploreOptions(scenario, flags), exploreIo);
      process.exitCode = r.failingRuns > 0 ? 1 : 0;
    });

  helpHint(program.command("replay"))
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

  program.addHelpText(
    "after",
    "\nReal programs on simulated devices (from a repository checkout; see tools/shim/README.md):\n" +
      "  serve [--scenario file] [--socket path]   host the devices; prints the environment a program needs\n" +
      "  exec [--scenario file] [--] program args  run an unmodified libdrm program against them\n",
  );

  const create = helpHint(program.command("new")).description("scaffold new things");
  helpHint(create.command("driver"))
    .argument("<name>", "driver name: lowercase letters, digits, '-' or '_'")
    .description(
      "scaffold a driver package (rings on drm_sched, SUBMIT with a BO list and syncobjs, PRIME, tests against vgem) in drivers/<name>",
    )
    .option("--dir <dir>", "where to create the package (default: drivers/<name> in the workspace)")
    .action((name: string, flags: { dir?: string }) => {
      const cwd = process.cwd();
      const r = scaffoldDriver(name, flags.dir === undefined ? { cwd } : { dir: flags.dir, cwd });
      const here = (p: string) => relative(cwd, p).replaceAll("\\", "/") || ".";
      io.out(`created ${here(r.dir)}\n`);
      for (const f of r.files) io.out(`  ${f}\n`);
      if (r.registered.length > 0 && r.root !== undefined)
        io.out(
          `added to ${r.registered.map((f) => here(join(r.root!, f))).join(", ")} (to throw the driver away, delete its directory and these entries)\n`,
        );
      io.out("next:\n");
      for (const step of nextSteps(r, cwd, prefix)) io.out(`  ${step}\n`);
      if (r.root !== undefined) {
        const guide = join(r.root, "docs", "writing-a-driver.md");
        if (existsSync(guide)) io.out(`what each file does and how to change it: ${here(guide)}\n`);
      }
      process.exitCode = 0;
    });

  return program;
}

/** The explore flags, as the option parsers above hand them over. */
interface ExploreFlags {
  runs: number;
  workers?: number;
  shard?: ExploreCommandOptions["shard"];
  seed: number | string;
  firstSeed: number;
  duration?: number;
  hwJitter?: number;
  irqJitter?: number;
  tieBreak: boolean;
  wakeOrder: boolean;
  out: string;
}

/** `drmsim explore`'s options from its parsed flags. */
function exploreOptions(scenario: string, f: ExploreFlags): ExploreCommandOptions {
  return {
    scenario,
    runs: f.runs,
    seed: f.seed,
    firstSeed: f.firstSeed,
    outDir: f.out,
    knobs: {
      tieBreak: f.tieBreak,
      wakeOrder: f.wakeOrder,
      hwJitter: f.hwJitter ?? DEFAULT_EXPLORE_KNOBS.hwJitter ?? 0,
      irqJitterNs: f.irqJitter ?? DEFAULT_EXPLORE_KNOBS.irqJitterNs ?? 0,
    },
    ...(f.workers === undefined ? {} : { workers: f.workers }),
    ...(f.shard === undefined ? {} : { shard: f.shard }),
    ...(f.duration === undefined ? {} : { durationNs: f.duration }),
  };
}

/**
 * `drmsim serve` / `drmsim exec`: real C programs on simulated devices. They live in the
 * repository's private `tools/shim` (a preload library built with the system compiler), so they are
 * found from a checkout and run under tsx (`pnpm drmsim …`).
 */
async function shimCommand(command: "serve" | "exec", args: string[], io: CliIo): Promise<number> {
  const bin = new URL("../../shim/src/bin.ts", import.meta.url);
  if (!existsSync(fileURLToPath(bin))) {
    io.err.write(
      `${ERROR_PREFIX}drmsim ${command} needs the repository's tools/shim (it is not published): run \`pnpm drmsim ${command}\` in a drmsim checkout\n`,
    );
    return 1;
  }
  const mod = (await import(bin.href)) as {
    shimMain(command: string, args: readonly string[]): Promise<number>;
  };
  return mod.shimMain(command, args);
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  io: CliIo = { out: (s: string) => void process.stdout.write(s), err: process.stderr },
): Promise<number> {
  if (argv[0] === "serve" || argv[0] === "exec") return shimCommand(argv[0], argv.slice(1), io);
  const program = buildProgram(io);
  // The command being run, for the usage hint after an error its action reports.
  let active: Command = program;
  program.hook("preAction", (_top, cmd) => {
    active = cmd;
  });
  process.exitCode = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    // commander printed its message (and the help hint) already.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      io.err.write(`${ERROR_PREFIX}${e.message}\n`);
      const hint = HELP_HINTS.get(active);
      if (hint !== undefined) io.err.write(`${hint}\n`);
      return 2;
    }
    // A failure of the run itself: the message on the error line, the stack below it.
    const err = e instanceof Error ? e : new Error(String(e));
    const frames = (err.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
    io.err.write(`${ERROR_PREFIX}${err.message}\n${frames.length > 0 ? `${frames.join("\n")}\n` : ""}`);
    return 1;
  }
}
