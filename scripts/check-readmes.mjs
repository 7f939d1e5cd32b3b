#!/usr/bin/env node
// Every package's README is the first thing a user runs, so its example must be code a test runs.
// For each workspace package (packages/*, drivers/*, tools/*):
//   - README.md exists and starts with `# <package name>`;
//   - a public package's README has a ```ts example (private ones are not published: skipped) and an
//     "## Install" command naming the package and every package the example imports;
//   - a test under <pkg>/test/ says it runs the README example ("README" in the file), and every
//     statement line of the example (imports aside: tests import `../src/index.js`) occurs in that
//     package's tests, compared without whitespace, comments and trailing commas so that
//     formatting does not matter but a changed call or argument does. A `console.log(x)` line
//     counts as run when the test uses `x` (tests assert what the README prints).
// Exit 1 listing every problem. Run by scripts/release-check.mjs; `--json` prints the problems.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const asJson = process.argv.includes("--json");

/** Strips comments, whitespace and trailing commas: what formatting may change. */
export function normalize(code) {
  return code
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1")
    .replace(/\s+/g, "")
    .replace(/,([)\]}])/g, "$1");
}

/** The first ```ts / ```js block of a markdown text, or undefined. */
export function firstExample(markdown) {
  const m = /^```(?:ts|typescript|js|javascript|mjs)\s*\n([\s\S]*?)^```/m.exec(markdown);
  return m?.[1];
}

/** The example's statement lines, without import statements (the test imports sources instead). */
export function exampleLines(code) {
  const lines = [];
  let inImport = false;
  for (const raw of code.split("\n")) {
    const line = raw.trim();
    if (!inImport && /^import\b/.test(line))
      inImport = !/;\s*$|from\s+["'][^"']+["']\s*;?$|^import\s+["'][^"']+["'];?$/.test(line);
    else if (inImport) {
      if (/from\s+["'][^"']+["']\s*;?$/.test(line)) inImport = false;
    } else {
      // A trailing comma depends on where the formatter wrapped the line.
      // A module's `export default x` is a test's `const s = x`.
      const n = normalize(line.replace(/^export\s+default\s+/, "")).replace(/,$/, "");
      // Lone braces and parentheses say nothing on their own.
      if (n.replace(/[(){}[\];,]/g, "").length > 0) lines.push({ line, n });
    }
  }
  return lines;
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === "fixtures" || f === "node_modules" ? [] : testFiles(p);
    return /\.(test\.)?[mc]?[tj]s$/.test(f) ? [p] : [];
  });
}

export function checkPackage(dir) {
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const rel = relative(root, dir);
  const readmePath = join(dir, "README.md");
  if (!existsSync(readmePath)) return [{ pkg: manifest.name, dir: rel, problem: "no README.md" }];
  const readme = readFileSync(readmePath, "utf8");
  if (!new RegExp(`^# ${manifest.name.replace(/[/.]/g, "\\$&")}(\\s|$)`).test(readme))
    problems.push({
      pkg: manifest.name,
      dir: rel,
      problem: `README.md does not start with "# ${manifest.name}"`,
    });
  // Private packages are not published: their README is for contributors and may show snippets.
  if (manifest.private) return problems;
  const example = firstExample(readme);
  if (!example) {
    problems.push({ pkg: manifest.name, dir: rel, problem: "README.md has no ```ts example" });
    return problems;
  }
  // Whoever copies the example needs every package it imports as a direct dependency (pnpm's
  // strict node_modules would not find the ones installed only transitively).
  const install =
    /^## Install\s*\n[\s\S]*?^```(?:sh|bash|console)?\s*\n([\s\S]*?)^```/m.exec(readme)?.[1] ?? "";
  const imported = [...example.matchAll(/(?:from|import)\s+["']([^"']+)["']/g)]
    .map((m) =>
      m[1]
        .split("/")
        .slice(0, m[1].startsWith("@") ? 2 : 1)
        .join("/"),
    )
    .filter((n) => !n.startsWith("node:") && !n.startsWith("."));
  const words = new Set(install.split(/\s+/));
  for (const name of new Set([manifest.name, ...imported]))
    if (!words.has(name))
      problems.push({
        pkg: manifest.name,
        dir: rel,
        problem: `the "## Install" command does not install ${name}`,
      });
  const tests = testFiles(join(dir, "test")).map((f) => ({ f, text: readFileSync(f, "utf8") }));
  const readmeTests = tests.filter((t) => /readme/i.test(t.text) || /readme/i.test(t.f));
  if (readmeTests.length === 0) {
    problems.push({ pkg: manifest.name, dir: rel, problem: "no test under test/ runs the README example" });
    return problems;
  }
  const corpus = readmeTests.map((t) => normalize(t.text)).join("\n");
  // A test may assert what the README prints: `console.log(x); // 42` is run if the test reads `x`.
  const printed = (n) => /^console\.log\((.*)\);?$/.exec(n)?.[1];
  const missing = exampleLines(example).filter(
    ({ n }) => !corpus.includes(n) && !(printed(n) !== undefined && corpus.includes(printed(n))),
  );
  for (const { line } of missing)
    problems.push({
      pkg: manifest.name,
      dir: rel,
      problem: `README example line not run by ${readmeTests.map((t) => relative(dir, t.f)).join(", ")}: ${line}`,
    });
  return problems;
}

/**
 * Workspace package directories (packages/*, drivers/*, tools/*) whose package.json git tracks: a
 * release is cut from commits, and tests (e.g. `drmsim new driver`'s) create and delete scratch
 * packages under drivers/ while this runs. Without git, every directory counts.
 */
export function packageDirs() {
  let tracked;
  try {
    tracked = new Set(
      execFileSync("git", ["ls-files", "--", "*/*/package.json"], { cwd: root, encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map((f) => join(root, f, "..")),
    );
  } catch {
    tracked = undefined;
  }
  return ["packages", "drivers", "tools"]
    .flatMap((top) =>
      existsSync(join(root, top)) ? readdirSync(join(root, top)).map((d) => join(root, top, d)) : [],
    )
    .filter((d) => existsSync(join(d, "package.json")) && (tracked === undefined || tracked.has(d)));
}

// Imported by release-check for firstExample/packageDirs: check only when run as a script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dirs = packageDirs();
  const problems = dirs.flatMap(checkPackage);
  if (asJson) console.log(JSON.stringify(problems, null, 2));
  else if (problems.length === 0)
    console.log(`check-readmes: ${dirs.length} READMEs, every example is run by a test in its package`);
  else {
    console.error(`check-readmes: ${problems.length} problem(s):`);
    for (const p of problems) console.error(`  ${p.pkg} (${p.dir}): ${p.problem}`);
  }
  process.exit(problems.length === 0 ? 0 : 1);
}
