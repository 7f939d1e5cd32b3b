#!/usr/bin/env node
// The `drmsim` command. This launcher is committed (dist/ is not), so that `pnpm install` on a fresh
// clone can link the bin before anything is built; it runs the built CLI, or says how to get one.
import { existsSync } from "node:fs";

const built = new URL("../dist/bin.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write(
    "drmsim: error: this checkout of @drmsim/cli is not built: run `pnpm build`, or run the CLI from sources with `pnpm drmsim <command>` at the workspace root\n",
  );
  process.exitCode = 1;
}
