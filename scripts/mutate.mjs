#!/usr/bin/env node
// Mutation check: plants each bug of scripts/mutations.mjs, one at a time, in a scratch copy of
// the repository and runs the check that must catch it (the fuzz campaign or a few test files).
// A bug counts as caught only when that check fails *and* its output says what the mutation
// expects (the finding or invariant that names the bug) — a failure for another reason, a
// mutation whose target text moved (stale), or a check that passes are all reported and make the
// script exit 1. First, unless --no-baseline, every check runs on the unmutated copy and must
// pass: a check that fails anyway proves nothing about a bug.
//
// Usage: node scripts/mutate.mjs [--only id[,id]] [--no-baseline] [--keep] [--verbose]
// The scratch copy is everything but .git and node_modules; its node_modules is a symlink to the
// repository's (workspace packages link to each other by relative symlinks, so they resolve
// inside the copy, where the mutated file is).
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { applyMutation, FUZZ_CAMPAIGN, MUTATIONS } from "./mutations.mjs";

const root = resolve(import.meta.dirname, "..");
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? new Set(argv[onlyAt + 1]?.split(",")) : undefined;
const verbose = flag("verbose");
/** A check that runs longer than this is stopped and counts as not having caught anything. */
const CHECK_TIMEOUT_MS = 8 * 60_000;

const mutations = only === undefined ? MUTATIONS : MUTATIONS.filter((m) => only.has(m.id));
if (only !== undefined && mutations.length !== only.size) {
  console.error(`unknown mutation id in --only; known: ${MUTATIONS.map((m) => m.id).join(", ")}`);
  process.exit(2);
}

/** Copies the repository to a fresh scratch directory; returns its path. */
function scratchCopy() {
  const dir = mkdtempSync(join(tmpdir(), "drmsim-mutate-"));
  const skip = new Set([".git", "node_modules", ".tools", join(".ci", "out")]);
  cpSync(root, dir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      const rel = relative(root, src);
      return !skip.has(rel) && !rel.startsWith(`.git${sep}`) && !rel.split(sep).includes(".vite");
    },
  });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** Runs `args` with node in `cwd`; resolves to its exit code (null: timed out) and output. */
function run(cwd, args) {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const take = (b) => {
      out += b;
      if (verbose) process.stdout.write(b);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const timer = setTimeout(() => child.kill("SIGKILL"), CHECK_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, out });
    });
  });
}

const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

/** Runs `detector` in the scratch copy `dir`. */
function check(dir, detector) {
  if (detector.kind === "fuzz")
    return run(dir, [
      "--conditions=@drmsim/source",
      "--import",
      "tsx",
      "tools/fuzz/src/campaign.ts",
      ...FUZZ_CAMPAIGN,
    ]);
  return run(dir, [vitest, "run", "--reporter=dot", ...detector.files]);
}

/** What `re` matched in `out` (its last line, for a multi-line match), shortened to fit a line. */
function evidence(out, re) {
  const m = out.match(re);
  if (m === null) return "";
  const s = (
    m[0]
      .split("\n")
      .filter((l) => l.trim() !== "")
      .at(-1) ?? ""
  )
    .trim()
    .replace(/\s+/g, " ");
  return s.length > 120 ? `${s.slice(0, 55)} … ${s.slice(-60)}` : s;
}

function table(rows) {
  const heads = ["mutation", "planted in", "caught by", "result", "s"];
  const cells = rows.map((r) => [r.id, r.file, r.catcher, r.result, r.secs]);
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) => c.map((x, i) => String(x).padEnd(widths[i])).join("  ");
  return [line(heads), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

const started = Date.now();
const dir = scratchCopy();
console.log(`mutation check: ${mutations.length} bugs, scratch copy ${dir}`);
let bad = 0;
try {
  if (!flag("no-baseline")) {
    const suites = [
      ...new Set(mutations.flatMap((m) => (m.detector.kind === "suite" ? m.detector.files : []))),
    ];
    const detectors = [
      ...(suites.length > 0 ? [{ kind: "suite", files: suites }] : []),
      ...(mutations.some((m) => m.detector.kind === "fuzz") ? [{ kind: "fuzz" }] : []),
    ];
    // Side by side: the campaign is the long one, and the test files fit in its shadow.
    const t0 = Date.now();
    const results = await Promise.all(detectors.map((d) => check(dir, d)));
    detectors.forEach((d, i) => {
      const { code, out } = results[i];
      const what =
        d.kind === "fuzz" ? `fuzz campaign ${FUZZ_CAMPAIGN.join(" ")}` : `tests ${d.files.join(" ")}`;
      console.log(`baseline: ${what}: ${code === 0 ? "pass" : "FAIL"}`);
      if (code !== 0) {
        console.log(out.split("\n").slice(-40).join("\n"));
        bad++;
      }
    });
    console.log(`baseline: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (bad > 0) throw new Error("the checks fail without any planted bug: nothing can be concluded");
  }
  const rows = [];
  for (const m of mutations) {
    const path = join(dir, m.file);
    const original = readFileSync(path, "utf8");
    const row = { id: m.id, file: m.file, catcher: m.catcher, result: "", secs: "" };
    rows.push(row);
    let mutated;
    try {
      mutated = applyMutation(original, m);
    } catch (e) {
      row.result = "STALE";
      console.log(`${m.id}: ${e.message}`);
      bad++;
      continue;
    }
    writeFileSync(path, mutated);
    const t0 = Date.now();
    try {
      const { code, out } = await check(dir, m.detector);
      row.secs = ((Date.now() - t0) / 1000).toFixed(0);
      if (code === 0) row.result = "MISSED";
      else if (code === null) row.result = "MISSED (timeout)";
      else if (!m.expect.test(out)) row.result = "FAILED, other reason";
      else row.result = "caught";
      if (row.result === "caught") console.log(`${m.id}: ${m.bug}\n  caught: ${evidence(out, m.expect)}`);
      else {
        bad++;
        console.log(`${m.id}: ${m.bug}\n  ${row.result}; expected output matching ${m.expect}. Last lines:`);
        console.log(out.split("\n").slice(-30).join("\n"));
      }
    } finally {
      writeFileSync(path, original);
    }
  }
  console.log(`\n${table(rows)}\n`);
  const caught = rows.filter((r) => r.result === "caught").length;
  console.log(
    `mutations: ${caught} of ${rows.length} caught (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
  );
} catch (e) {
  console.log(`mutation check aborted: ${e.message}`);
  bad++;
} finally {
  if (flag("keep")) console.log(`scratch copy kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
process.exitCode = bad > 0 ? 1 : 0;
