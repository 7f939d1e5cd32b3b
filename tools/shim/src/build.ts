/**
 * Where `pnpm build` put the preload library and the C test programs, and — when it could not
 * build them — the one line that says why and which apt command fixes it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const APT = "apt-get install -y gcc pkg-config libdrm-dev";

/** The preload library's path (it may not exist: see `shimBuildStatus`). */
export function preloadLibrary(): string {
  return path.join(here, "build", "libdrmsim-preload.so");
}

/** A C test program's path. */
export function shimProgram(name: string): string {
  return path.join(here, "build", "progs", name);
}

/** What was built: the C test programs that exist and, for those that do not, what to do. */
export function shimBuildStatus(names: readonly string[]): {
  built: string[];
  missing: string[];
  hint: string;
} {
  const lib = fs.existsSync(preloadLibrary());
  const built = lib ? names.filter((n) => fs.existsSync(shimProgram(n))) : [];
  const missing = names.filter((n) => !built.includes(n));
  const hint =
    missing.length === 0
      ? ""
      : `C tests not built (${missing.join(", ")}): ${lib ? "no libdrm headers" : "no preload library"} — run \`${APT}\` then \`pnpm build\``;
  return { built, missing, hint };
}
