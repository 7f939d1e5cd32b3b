#!/usr/bin/env node
// Builds the preload library and the C test programs with the system compiler (`pnpm build`).
// Without a compiler or libdrm's headers it says what is missing and how to get it; under CI=true
// that is an error, since CI must run the C tests.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = path.join(here, "build");
const APT = "apt-get install -y gcc pkg-config libdrm-dev";
const ci = process.env.CI === "true";

function have(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function newer(target, sources) {
  if (!fs.existsSync(target)) return false;
  const t = fs.statSync(target).mtimeMs;
  return sources.every((s) => fs.statSync(s).mtimeMs <= t);
}

function missing(what) {
  const line = `drmsim shim: ${what}; the C tests cannot be built (${APT})`;
  if (ci) {
    console.error(line);
    process.exit(1);
  }
  console.log(line);
}

/** Runs the compiler (its diagnostics go to the terminal); a failure is one line and exit 1. */
function compile(args, what) {
  try {
    execFileSync(cc, args, { stdio: "inherit" });
  } catch {
    console.error(`drmsim shim: ${cc} could not build ${what} (its errors are above)`);
    process.exit(1);
  }
}

fs.mkdirSync(path.join(out, "progs"), { recursive: true });
const cc = process.env.CC ?? "cc";
if (!have(cc, ["--version"])) {
  missing(`no C compiler (${cc})`);
  process.exit(0);
}
const csrc = fs.readdirSync(path.join(here, "csrc")).map((f) => path.join(here, "csrc", f));
const lib = path.join(out, "libdrmsim-preload.so");
if (!newer(lib, csrc)) {
  const c = csrc.filter((f) => f.endsWith(".c"));
  compile(
    ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-o", lib, ...c, "-ldl", "-lpthread"],
    "the preload library",
  );
  console.log(`drmsim shim: built ${path.relative(process.cwd(), lib)}`);
}
if (!have("pkg-config", ["--exists", "libdrm"])) {
  missing("no libdrm headers (pkg-config libdrm)");
  process.exit(0);
}
const flags = execFileSync("pkg-config", ["--cflags", "--libs", "libdrm"], { encoding: "utf8" })
  .trim()
  .split(/\s+/);
// cprogs/: the C tests; cbench/: the client `pnpm bench shim` measures with.
for (const dir of ["cprogs", "cbench"]) {
  const progDir = path.join(here, dir);
  const common = fs
    .readdirSync(progDir)
    .filter((f) => f.endsWith(".h"))
    .map((f) => path.join(progDir, f));
  for (const f of fs.readdirSync(progDir).filter((f) => f.endsWith(".c"))) {
    const src = path.join(progDir, f);
    const bin = path.join(out, "progs", f.replace(/\.c$/, ""));
    if (newer(bin, [src, ...common])) continue;
    compile(["-O2", "-Wall", "-o", bin, src, ...flags, "-lpthread"], path.relative(process.cwd(), src));
  }
}
console.log(`drmsim shim: C test programs in ${path.relative(process.cwd(), path.join(out, "progs"))}`);
