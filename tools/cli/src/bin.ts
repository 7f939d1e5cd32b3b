#!/usr/bin/env node
import "reflect-metadata";
import { main } from "./cli.js";

// `pnpm drmsim …` (the workspace's script) runs in the workspace root; the paths the user typed are
// relative to where they typed them, which pnpm passes as INIT_CWD.
if (process.env.npm_lifecycle_event === "drmsim" && process.env.INIT_CWD !== undefined)
  process.chdir(process.env.INIT_CWD);

process.exitCode = await main(process.argv.slice(2));
