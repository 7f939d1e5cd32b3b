#!/usr/bin/env node
// Every package's README is the first thing a user runs, so its example must be a program that runs.
// For each workspace package (packages/*, drivers/*, tools/*):
//   - README.md exists and starts with `# <package name>`;
//   - a public package's README has a ```ts example (private ones are not published: skipped) and an
//     "## Install" command naming the package and every package the example imports.
// Running the examples is test/docs/readmes.test.ts's job: every ```ts block of every README is a
// program it typechecks, runs and whose printed output it compares with the README's comments
// (```ts fragment blocks excepted). Exit 1 listing every problem. Run by scripts/release-check.mjs;
// `--json` prints the problems.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const asJson = process.argv.includes("--json");

/** The first ```ts / ```js block of a markdown text that is a program (not a `fragment`), or undefined. */
export function firstExample(markdown) {
  const m = /^```(?:ts|typescript|js|javascript|mjs)\s*\n([\s\S]*?)^```/m.exec(markdown);
  return m?.[1];
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
    console.log(
      `check-readmes: ${dirs.length} READMEs, each with an example and its install line (test/docs/readmes.test.ts runs them)`,
    );
  else {
    console.error(`check-readmes: ${problems.length} problem(s):`);
    for (const p of problems) console.error(`  ${p.pkg} (${p.dir}): ${p.problem}`);
  }
  process.exit(problems.length === 0 ? 0 : 1);
}
