/**
 * `drmsim exec`: runs a program with the preload library against a server, as a child process.
 */
import { spawn } from "node:child_process";
import { preloadLibrary } from "./build.js";
import type { ShimServer } from "./server.js";

/** How a program ended and what it printed. */
export interface ShimExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `argv` with `LD_PRELOAD` set to the preload library and the server's environment.
 * `inherit` passes the program's output through instead of collecting it.
 */
export function shimExec(
  server: ShimServer,
  argv: readonly string[],
  opts: { env?: Record<string, string>; inherit?: boolean; cwd?: string } = {},
): Promise<ShimExecResult> {
  return shimExecWith(server.env, argv, opts);
}

/** `shimExec` against a server known by its environment (`DRMSIM_SOCKET`, `DRMSIM_ROOT`). */
export function shimExecWith(
  serverEnv: Record<string, string>,
  argv: readonly string[],
  opts: { env?: Record<string, string>; inherit?: boolean; cwd?: string } = {},
): Promise<ShimExecResult> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...serverEnv,
    ...opts.env,
    // The program's own preloads stay, after ours (once, even if the caller's environment has it).
    LD_PRELOAD: [
      preloadLibrary(),
      ...(process.env.LD_PRELOAD ?? "").split(/[\s:]+/).filter((l) => l !== "" && l !== preloadLibrary()),
    ].join(" "),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env,
      cwd: opts.cwd,
      stdio: opts.inherit === true ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
