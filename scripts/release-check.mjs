#!/usr/bin/env node
// `pnpm release:check`: proof that what we would publish works for someone else, by publishing it.
//
//  1. build, and the source checks: every export documented (scripts/check-docs.mjs), every README
//     example run by a test (scripts/check-readmes.mjs), the manifests and dependencies (sherif,
//     knip: `pnpm lint:deps`);
//  2. a local registry (Verdaccio on 127.0.0.1, no uplinks) and a rehearsal of the real release on
//     a scratch copy of the repository: `changeset version`, then `pnpm run release:publish`
//     (`pnpm publish -r` in dependency order, then `changeset tag`) into that registry;
//  3. every published tarball, read back from the registry: publint (strict), arethetypeswrong,
//     and what they cannot see (dist-tags, exact internal versions, publish order, caret ranges
//     outside, LICENSE/README/CHANGELOG, source maps that resolve);
//  4. the consumer fixtures (scripts/consumers/*), each a real project installing @drmsim/* by
//     version from the registry and the rest from npm: Node ESM + tsc (node16, nodenext,
//     bundler), CommonJS require, an esbuild and a Vite bundle running a two-driver PRIME scenario,
//     a vitest project on the previous vitest minor beside the CLI, the oldest TypeScript claimed.
//
// The registry process and the scratch directory are removed on every way out (`--keep` keeps
// the directory to look at). `--only <fixture,…>` runs only those fixtures.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { firstExample, packageDirs } from "./check-readmes.mjs";
import { checkConsumer, consumerNames, installConsumer, layOut } from "./release/consumers.mjs";
import { addUser, startRegistry } from "./release/registry-client.mjs";
import { rehearseRelease } from "./release/rehearse.mjs";
import { verifyPublished } from "./release/verify-published.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const keep = args.includes("--keep");
const onlyArg = args[args.indexOf("--only") + 1];
const only = args.includes("--only") ? new Set(String(onlyArg).split(",")) : undefined;

const t0 = performance.now();
const timings = [];
let mark = performance.now();
const step = (name) => {
  const now = performance.now();
  if (timings.length > 0) timings[timings.length - 1].s = (now - mark) / 1000;
  timings.push({ name, s: 0 });
  mark = now;
  console.log(`\n== ${name}`);
};
const failures = [];
const fail = (what, why) => {
  failures.push(what);
  console.error(`release:check: ${what}: ${why}`);
};

const scratch = mkdtempSync(join(tmpdir(), "drmsim-release-"));
let registry;
let cleaned = false;
function cleanUp() {
  if (cleaned) return;
  cleaned = true;
  registry?.stop();
  if (!keep) rmSync(scratch, { recursive: true, force: true });
}
process.on("exit", cleanUp);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
  process.on(sig, () => {
    cleanUp();
    process.exit(130);
  });

/** Runs `fn` over `items`, `limit` at a time. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

const packages = packageDirs()
  .map((dir) => ({
    dir,
    rel: relative(root, dir),
    manifest: JSON.parse(readFileSync(join(dir, "package.json"))),
  }))
  .filter((p) => !p.manifest.private)
  .map((p) => ({ ...p, name: p.manifest.name }));

try {
  step("build");
  execFileSync("pnpm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });

  for (const [name, cmd, cmdArgs] of [
    ["check-docs", process.execPath, [join(root, "scripts", "check-docs.mjs")]],
    ["check-readmes", process.execPath, [join(root, "scripts", "check-readmes.mjs")]],
    ["lint:deps (sherif, knip)", "pnpm", ["run", "--silent", "lint:deps"]],
  ]) {
    step(name);
    try {
      execFileSync(cmd, cmdArgs, { cwd: root, stdio: "inherit" });
    } catch {
      fail(name, "see above");
    }
  }

  step("local registry");
  registry = await startRegistry(join(scratch, "registry"));
  const token = await addUser(registry.url);
  console.log(`Verdaccio at ${registry.url} (pid ${registry.pid}), storage ${registry.storage}`);

  step("release rehearsal: changeset version, pnpm run release:publish");
  const release = await rehearseRelease({
    root,
    dir: join(scratch, "repo"),
    url: registry.url,
    token,
    packages,
    log: (l) => console.log(l),
  });
  console.log(`published ${release.published.length} packages at ${release.version}, in this order:`);
  console.log(`  ${release.published.join("\n  ")}`);
  const names = new Set(packages.map((p) => p.name));
  const publishedNames = release.published.map((p) => p.slice(0, p.lastIndexOf("@")));
  for (const n of names) if (!publishedNames.includes(n)) fail(n, "was not published");
  for (const n of names)
    if (!release.tags.includes(`${n}@${release.version}`)) fail(n, `no git tag ${n}@${release.version}`);
  // The changelog links each change to the commit that added its changeset.
  const links = [
    ...release.changelog.matchAll(/\]\(https:\/\/github\.com\/drmsim\/drmsim\/commit\/([0-9a-f]{40})\)/g),
  ];
  if (!release.changelog.includes(`## ${release.version}`))
    fail("changelog", `no "## ${release.version}" section`);
  else if (links.length === 0) fail("changelog", "no line links its commit");
  else {
    const bad = [];
    for (const [, sha] of links) if (!(await release.isCommit(sha))) bad.push(sha);
    if (bad.length > 0) fail("changelog", `links commits that do not exist: ${bad.join(", ")}`);
    else console.log(`changelog: ${links.length} lines link the commits that added their changesets`);
  }

  // The tarball checks are CPU work and the fixtures' installs wait on the network: run them together.
  const fixtures = consumerNames().filter((n) => only === undefined || only.has(n));
  step(
    `published tarballs (publint, arethetypeswrong, manifest and map checks) and consumer installs (${fixtures.join(", ")})`,
  );
  const attw = join(root, "node_modules", ".bin", "attw");
  const order = new Map(publishedNames.map((n, i) => [n, i]));
  const verifying = pool(packages, 2, async (p) => {
    const before = new Set(publishedNames.slice(0, order.get(p.name) ?? 0));
    try {
      const r = await verifyPublished({
        ...registry,
        name: p.name,
        version: release.version,
        publishedBefore: before,
        attw,
      });
      if (r.problems.length > 0) fail(p.name, `\n  ${r.problems.join("\n  ")}`);
      else console.log(`${p.name}@${release.version}: ${r.files} files, ok`);
    } catch (e) {
      fail(p.name, e.message);
    }
  });
  const examples = {};
  for (const p of packages) {
    const code = firstExample(readFileSync(join(p.dir, "README.md"), "utf8"));
    if (code !== undefined) examples[`${p.name.split("/").pop()}.ts`] = code;
  }
  const dirs = fixtures.map((n) => join(scratch, "consumers", n));
  for (const [i, n] of fixtures.entries())
    layOut(n, dirs[i], { url: registry.url, version: release.version, examples });
  const installing = pool(fixtures, 3, async (n, i) => {
    const t = performance.now();
    try {
      await installConsumer(dirs[i]);
      console.log(`${n}: installed in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      return true;
    } catch (e) {
      fail(`consumer ${n}`, e.message);
      return false;
    }
  });
  const [installed] = await Promise.all([installing, verifying]);

  step("consumer fixtures: npm run check");
  // Longest first, so that the two at a time finish together.
  const longest = ["esm-tsc", "types-oldest", "cjs"];
  const rank = (n) => (longest.includes(n) ? longest.indexOf(n) : longest.length);
  const byLength = fixtures.map((_, i) => i).sort((a, b) => rank(fixtures[a]) - rank(fixtures[b]));
  await pool(byLength, 2, async (i) => {
    const n = fixtures[i];
    if (!installed[i]) return;
    const t = performance.now();
    try {
      const out = await checkConsumer(dirs[i]);
      console.log(`-- ${n} (${((performance.now() - t) / 1000).toFixed(1)} s)\n${out.trimEnd()}`);
    } catch (e) {
      fail(`consumer ${n}`, e.message);
    }
  });
} catch (e) {
  fail("release:check", e.stack ?? e.message);
} finally {
  step("done");
  cleanUp();
}

console.log(
  `\nrelease:check timings: ${timings
    .filter((t) => t.name !== "done")
    .map((t) => `${t.name.split(":")[0]} ${t.s.toFixed(1)} s`)
    .join(", ")}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
if (keep) console.log(`scratch kept in ${scratch}`);
console.log(failures.length === 0 ? "release:check: ok" : `release:check: ${failures.length} failure(s)`);
process.exit(failures.length === 0 ? 0 : 1);
