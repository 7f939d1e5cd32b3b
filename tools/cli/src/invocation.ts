/**
 * How to spell a `drmsim` command so that it works where the user is: hints the CLI prints
 * (`replay: … replay <token>`, `… validate <dir>`, `… --help`) must be pasteable as they are. In
 * a source checkout there is no `drmsim` on PATH — the workspace's `pnpm drmsim` script runs it
 * (`pnpm -w drmsim` from a subdirectory); in a project that installed the package, the package
 * manager's runner does (`npx drmsim`, `pnpm exec drmsim`, …); installed globally, `drmsim`.
 */
import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { cliVersion } from "./version.js";

/** What the decision depends on (all of it injectable for tests). */
export interface InvocationContext {
  /** The CLI module's own file. */
  file: string;
  cwd: string;
  env: Record<string, string | undefined>;
  /** This package's version (for `npx @drmsim/cli@<version>`). */
  version: string;
}

/** The directory with `pnpm-workspace.yaml` at or above `from`, or undefined. */
function workspaceRootOf(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** The package directory (`…/@drmsim/cli`) of the CLI module `file`. */
function packageDirOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) || dirname(dir) === dir) return dir;
  }
}

/** The package manager's command that runs a project's installed bin, from its user agent. */
function projectRunner(env: InvocationContext["env"]): string {
  const agent = env.npm_config_user_agent ?? "";
  if (agent.startsWith("pnpm/")) return "pnpm exec drmsim";
  if (agent.startsWith("yarn/")) return "yarn drmsim";
  if (agent.startsWith("bun/")) return "bunx drmsim";
  return "npx drmsim";
}

/** The command prefix (`pnpm drmsim`, `npx drmsim`, `drmsim`, …) that runs this CLI from `ctx.cwd`. */
export function drmsimCommand(ctx: InvocationContext): string {
  const pkgDir = real(packageDirOf(ctx.file));
  const installed = pkgDir.split(sep).includes("node_modules");
  if (!installed) {
    // A source checkout: the root script runs the CLI; from below the root, -w reaches it.
    const root = workspaceRootOf(pkgDir);
    if (root === undefined) return "drmsim";
    return real(resolve(ctx.cwd)) === real(root) ? "pnpm drmsim" : "pnpm -w drmsim";
  }
  // npx's cache: nothing is installed in the project; name the package and version.
  if (pkgDir.split(sep).includes("_npx")) return `npx -y @drmsim/cli@${ctx.version}`;
  // Installed in the project the user is in (its node_modules, at or above cwd)?
  for (let dir = resolve(ctx.cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", "@drmsim", "cli");
    if (existsSync(candidate) && real(candidate) === pkgDir) return projectRunner(ctx.env);
    if (dirname(dir) === dir) break;
  }
  // Elsewhere (a global install): the bin is on PATH.
  return "drmsim";
}

/** The command prefix for this process: this module's file, the working directory, the environment. */
export function detectedCommand(): string {
  return drmsimCommand({
    file: fileURLToPath(import.meta.url),
    cwd: process.cwd(),
    env: process.env,
    version: cliVersion(),
  });
}
