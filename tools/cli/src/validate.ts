/**
 * `drmsim validate <driver>`: loads a driver package (a directory with package.json, or a module
 * file) and runs the conformance suite of `@drmsim/testing` against the descriptor it exports as
 * `driver` or as its default export.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type ConformanceDriver, isConformanceDriver } from "@drmsim/testing";
import { registerTsx, UsageError } from "./load-scenario.js";

type ExportsEntry = string | { [condition: string]: ExportsEntry };

/** The module file a package directory's `.` export points to, preferring sources. */
function packageEntry(dir: string): string {
  const pj = join(dir, "package.json");
  if (!existsSync(pj))
    throw new UsageError(`${dir} has no package.json: give a driver package directory or a module file`);
  const pkg = JSON.parse(readFileSync(pj, "utf8")) as { exports?: ExportsEntry; main?: string };
  let dot: ExportsEntry | undefined = pkg.exports;
  if (typeof dot === "object" && dot !== null && "." in dot) dot = dot["."];
  const pick = (e: ExportsEntry | undefined): string | undefined => {
    if (e === undefined || typeof e === "string") return e;
    for (const c of ["@drmsim/source", "import", "default"]) {
      const v = pick(e[c]);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const rel = pick(dot) ?? pkg.main;
  if (rel === undefined) throw new UsageError(`${pj} has no "." export or main entry`);
  const file = resolve(dir, rel);
  if (!existsSync(file))
    throw new UsageError(
      `${file} (the entry of ${pj}) does not exist: build the package or add an "@drmsim/source" export`,
    );
  return file;
}

/** Loads the conformance descriptor of `target` (package directory or module file). */
export async function loadConformanceDriver(target: string): Promise<ConformanceDriver> {
  const abs = resolve(target);
  if (!existsSync(abs)) throw new UsageError(`driver not found: ${target}`);
  const file = statSync(abs).isDirectory() ? packageEntry(abs) : abs;
  if (/\.[mc]?ts$/.test(file)) await registerTsx();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    // A module that does not load is a wrong argument, not a failed check.
    throw new UsageError(`cannot load ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const d = mod.driver ?? mod.default;
  if (!isConformanceDriver(d))
    throw new UsageError(
      `${target} exports no conformance driver: export \`driver = defineConformanceDriver({ name, probe, submit })\` from @drmsim/testing (as \`driver\` or the default export)`,
    );
  return d;
}
