#!/usr/bin/env node
// `pnpm release:check`: proof, offline from the workspace, that what we would publish works for
// someone else. First the source checks: every export has a doc comment (scripts/check-docs.mjs)
// and every README example is run by a test (scripts/check-readmes.mjs). Then, for every public
// package, publint (strict) and arethetypeswrong (ESM-only profile) on the packed tarball; then all
// tarballs are installed with npm into a scratch project outside the workspace, where
// scripts/smoke.mjs and every public README's example run against them.
// Run `pnpm build` first.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { firstExample } from "./check-readmes.mjs";

const root = resolve(import.meta.dirname, "..");
const run = (cmd, args, cwd, opts = {}) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: opts.capture ? "pipe" : "inherit",
    encoding: "utf8",
    env: { ...process.env, npm_config_loglevel: "error" },
  });

const dirs = ["packages", "drivers", "tools"].flatMap((top) =>
  existsSync(join(root, top)) ? readdirSync(join(root, top)).map((d) => join(root, top, d)) : [],
);
const pkgs = dirs
  .filter((d) => existsSync(join(d, "package.json")))
  .map((d) => ({ dir: d, manifest: JSON.parse(readFileSync(join(d, "package.json"), "utf8")) }))
  .filter((p) => !p.manifest.private && existsSync(join(p.dir, "dist")));

if (pkgs.length === 0) {
  console.error("release:check: no built public packages (run `pnpm build` first)");
  process.exit(1);
}

const out = mkdtempSync(join(tmpdir(), "drmsim-release-"));
const tarballs = {};
let failures = 0;
for (const check of ["check-docs.mjs", "check-readmes.mjs"]) {
  console.log(`== ${check}`);
  try {
    run("node", [join(root, "scripts", check)], root);
  } catch {
    failures++;
    console.error(`release:check: ${check} failed (see above)`);
  }
}
for (const { dir, manifest } of pkgs) {
  console.log(`\n== ${manifest.name}`);
  try {
    run("pnpm", ["exec", "publint", "--strict"], dir);
    run("pnpm", ["exec", "attw", "--pack", ".", "--profile", "esm-only", "--format", "table-flipped"], dir);
    const packed = run("pnpm", ["pack", "--pack-destination", out], dir, { capture: true })
      .trim()
      .split("\n")
      .pop();
    tarballs[manifest.name] = packed;
    const m = JSON.parse(
      execFileSync("tar", ["-xOzf", packed, "package/package.json"], { encoding: "utf8" }),
    );
    const deps = Object.values(m.dependencies ?? {});
    if (deps.some((v) => String(v).startsWith("workspace:")))
      throw new Error("packed manifest still has workspace: ranges");
    if (JSON.stringify(m.exports).includes("@drmsim/source"))
      throw new Error("packed exports still point at sources");
    const listing = execFileSync("tar", ["-tzf", packed], { encoding: "utf8" }).split("\n");
    for (const f of ["package/LICENSE", "package/README.md"])
      if (!listing.includes(f)) throw new Error(`the tarball has no ${f.slice("package/".length)}`);
  } catch (e) {
    failures++;
    console.error(`release:check: ${manifest.name} failed: ${e.message}`);
  }
}

const scratch = join(out, "consumer");
cpSync(join(root, "scripts", "smoke.mjs"), join(scratch, "smoke.mjs"));
writeFileSync(
  join(scratch, "package.json"),
  JSON.stringify(
    {
      name: "drmsim-consumer",
      private: true,
      type: "module",
      dependencies: Object.fromEntries(Object.entries(tarballs).map(([n, t]) => [n, `file:${t}`])),
    },
    null,
    2,
  ),
);
try {
  console.log(`\n== npm install of ${Object.keys(tarballs).length} tarballs in ${scratch}`);
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], scratch);
  console.log("== smoke");
  run("node", ["smoke.mjs"], scratch);
} catch (e) {
  failures++;
  console.error(`release:check: consumer install/smoke failed: ${e.message}`);
}

// Each public README's example, copied verbatim into the consumer and run against the installed
// tarballs (TypeScript through tsx, which @drmsim/cli depends on): what a reader pastes must work.
// An example that `export default`s a scenario is run the way its README says, with `drmsim run`.
if (existsSync(join(scratch, "node_modules", "tsx"))) {
  for (const { dir, manifest } of pkgs) {
    const example = firstExample(readFileSync(join(dir, "README.md"), "utf8"));
    if (!example) continue;
    const file = join(scratch, `readme-${manifest.name.split("/").pop()}.ts`);
    writeFileSync(file, example);
    console.log(`== README example of ${manifest.name}`);
    try {
      if (/^export\s+default\b/m.test(example))
        run(join(scratch, "node_modules", ".bin", "drmsim"), ["run", file, "-q"], scratch);
      else run("node", ["--import", "tsx", file], scratch);
    } catch (e) {
      failures++;
      console.error(`release:check: README example of ${manifest.name} failed: ${e.message}`);
    }
  }
} else {
  failures++;
  console.error("release:check: tsx is not installed in the consumer (it comes with @drmsim/cli)");
}
if (failures === 0) rmSync(out, { recursive: true, force: true });
console.log(
  failures === 0
    ? "\nrelease:check: ok"
    : `\nrelease:check: ${failures} failure(s); artefacts kept in ${out}`,
);
process.exit(failures === 0 ? 0 : 1);
