/** This package's version, read from its package.json (the same file from `src/` and `dist/`). */
import { readFileSync } from "node:fs";

/** The `@drmsim/cli` version (`drmsim --version`). */
export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
