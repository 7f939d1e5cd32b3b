#!/usr/bin/env node
/**
 * `drmsim serve [--scenario file] [--socket path] [--root dir]` and `drmsim exec [--] program args…`.
 * `serve` prints the environment a program needs and runs until interrupted; `exec` starts a
 * server in this process, runs the program with the preload library and exits with its status.
 */
import "reflect-metadata";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { preloadLibrary } from "./build.js";
import type { ShimScenario } from "./devices.js";
import { shimExec, shimExecWith } from "./exec.js";
import { startShimServer } from "./server.js";

/** Runs `drmsim serve` / `drmsim exec` with `args` (after the command name); resolves to the exit code. */
export async function shimMain(command: string, args: readonly string[]): Promise<number> {
  const opts: { socket?: string; root?: string; scenario?: ShimScenario; seed?: number } = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("--")) break;
    const v = args[++i];
    if (v === undefined) return usage(`${a} needs a value`);
    if (a === "--socket") opts.socket = path.resolve(v);
    else if (a === "--root") opts.root = path.resolve(v);
    else if (a === "--seed") opts.seed = Number(v);
    else if (a === "--scenario") {
      const mod = (await import(pathToFileURL(path.resolve(v)).href)) as { default?: ShimScenario };
      if (typeof mod.default !== "function") return usage(`${v} has no default export (ctx) => …`);
      opts.scenario = mod.default;
    } else return usage(`unknown option ${a}`);
  }
  if (!fs.existsSync(preloadLibrary())) {
    process.stderr.write(
      `drmsim ${command}: ${preloadLibrary()} is not built; run \`pnpm build\` (needs gcc)\n`,
    );
    return 1;
  }
  // `exec` inside `drmsim serve`'s environment: use that server.
  const running = process.env.DRMSIM_SOCKET;
  if (
    command === "exec" &&
    running !== undefined &&
    fs.existsSync(running) &&
    process.env.DRMSIM_ROOT !== undefined
  ) {
    const argv = args.slice(i);
    if (argv.length === 0) return usage("exec needs a program");
    const r = await shimExecWith({ DRMSIM_SOCKET: running, DRMSIM_ROOT: process.env.DRMSIM_ROOT }, argv, {
      inherit: true,
    });
    return r.code ?? 128 + 9;
  }
  const server = await startShimServer(opts);
  if (command === "serve") {
    // Not LD_PRELOAD itself: a shell that sources these lines would preload the library into every
    // command it runs (pnpm and node too). `drmsim exec` or `LD_PRELOAD=$DRMSIM_PRELOAD prog` uses it.
    const env = { ...server.env, DRMSIM_PRELOAD: preloadLibrary() };
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${v}\n`);
    process.stdout.write(`# nodes: ${server.nodes.map((n) => n.path).join(" ")}\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.close();
    return 0;
  }
  const argv = args.slice(i);
  if (argv.length === 0) return usage("exec needs a program");
  try {
    const r = await shimExec(server, argv, { inherit: true });
    return r.code ?? 128 + 9;
  } finally {
    await server.close();
  }
}

function usage(why: string): number {
  process.stderr.write(
    `drmsim: ${why}\nusage: drmsim serve [--scenario file] [--socket path] [--root dir] [--seed n]\n       drmsim exec [--scenario file] [--] program [args…]\n`,
  );
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [command, ...rest] = process.argv.slice(2);
  process.exitCode =
    command === "serve" || command === "exec" ? await shimMain(command, rest) : usage("serve or exec?");
}
