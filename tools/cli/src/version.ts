/** This package's version, read from its package.json (the same file from `src/` and `dist/`). */
import { readFileSync } from "node:fs";

let version: string | undefined;

/** The `@drmsim/cli` version (`drmsim --version`), read once, when first asked for. */
export function cliVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
  return version;
}
