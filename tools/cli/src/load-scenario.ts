/** Loads a user scenario module (`.ts` through tsx, or `.js`/`.mjs`). */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Scenario } from "./scenario.js";

let tsxRegistered = false;

/** Imports `file` and returns its default (or `scenario`) export, checking its shape. */
export async function loadScenario(file: string): Promise<Scenario> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new UsageError(`scenario file not found: ${file}`);
  if (/\.[mc]?ts$/.test(abs)) await registerTsx();
  const mod = (await import(pathToFileURL(abs).href)) as { default?: Scenario; scenario?: Scenario };
  const s = mod.default ?? mod.scenario;
  if (s === undefined || typeof s.setup !== "function" || typeof s.name !== "string")
    throw new UsageError(
      `${file} does not export a scenario: write \`export default defineScenario({ name, setup(ctx) { … } })\``,
    );
  return s;
}

/** Lets `import()` load TypeScript files (through tsx), once per process. */
export async function registerTsx(): Promise<void> {
  if (tsxRegistered) return;
  const { register } = await import("tsx/esm/api");
  register();
  tsxRegistered = true;
}

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}
