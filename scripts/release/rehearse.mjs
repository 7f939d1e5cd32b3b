// The release path of the repository, rehearsed on a scratch copy against the local registry:
// `changeset version` (committed, as a maintainer would), then `pnpm run release:publish` — the
// same script `pnpm release` runs — which publishes every public package with `pnpm publish -r`
// (topological order, `workspace:` ranges rewritten) and tags the release.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { run } from "./proc.mjs";
import { scopedNpmrc } from "./registry-client.mjs";

const git = (args, cwd) => run("git", args, cwd, { env: GIT_ENV });
// Commits in the scratch copy need an identity whatever the machine's git config says.
const GIT_ENV = {
  GIT_AUTHOR_NAME: "release-check",
  GIT_AUTHOR_EMAIL: "release-check@localhost",
  GIT_COMMITTER_NAME: "release-check",
  GIT_COMMITTER_EMAIL: "release-check@localhost",
};

/**
 * Copies the repository at `root` into `dir` as a clean checkout of a branch `main` holding what
 * `root` looks like now: a clone (history included, so changelog lines can name the commits that
 * added their changesets) with the working tree's uncommitted changes laid over it and committed,
 * then the built `dist/` directories of `packages`. From a shallow clone (changesets would try to
 * deepen it without end) or no repository at all, the copy is one commit of the working tree.
 */
async function scratchCopy(root, dir, packages) {
  const shallow = await git(["rev-parse", "--is-shallow-repository"], root).then(
    (out) => out.trim() !== "false",
    () => true,
  );
  if (shallow) {
    mkdirSync(dir, { recursive: true });
    const files = await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root).catch(
      () => "",
    );
    for (const path of files.split("\0").filter(Boolean)) {
      if (!existsSync(join(root, path))) continue; // deleted, not yet committed
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(root, path), join(dir, path));
    }
    await git(["init", "--quiet", "--initial-branch=main"], dir);
  } else {
    await git(["clone", "--quiet", "--no-local", root, dir], root);
    await git(["checkout", "--quiet", "-B", "main"], dir);
    const status = (await git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], root)).split("\0");
    for (let i = 0; i < status.length; i++) {
      const entry = status[i];
      if (entry.length < 4) continue;
      const [xy, path] = [entry.slice(0, 2), entry.slice(3)];
      if (xy[0] === "R" || xy[0] === "C") i++; // the next field is the rename's origin
      if (xy.includes("D")) rmSync(join(dir, path), { force: true });
      else {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        copyFileSync(join(root, path), join(dir, path));
      }
    }
  }
  await git(["add", "-A"], dir);
  if ((await git(["status", "--porcelain"], dir)).trim() !== "")
    await git(["commit", "--quiet", "-m", "release:check: the working tree as it is"], dir);
  for (const p of packages) copyTree(join(p.dir, "dist"), join(dir, p.rel, "dist"));
  // `pnpm publish` reads the versions of `workspace:` dependencies from the installed links, and
  // the release scripts run changesets: install, from the store the workspace's install filled.
  await run("pnpm", ["install", "--frozen-lockfile", "--prefer-offline", "--ignore-scripts"], dir);
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.isDirectory()) copyTree(join(from, e.name), join(to, e.name));
    else copyFileSync(join(from, e.name), join(to, e.name));
  }
}

/** The changesets waiting in `.changeset/` (every .md but its README). */
function pendingChangesets(dir) {
  return readdirSync(join(dir, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
}

/**
 * Versions and publishes `packages` (each `{ name, dir, rel }`) from a scratch copy of `root`
 * into the registry at `url` (publishing with `token`). Returns the copy's directory, the version
 * released, the publish order and the changelog of the first package.
 */
export async function rehearseRelease({ root, dir, url, token, packages, log: print }) {
  const t0 = performance.now();
  const log = (line) => print(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}`);
  log("scratch copy of the repository as it is now (with dist/), pnpm install from the store");
  await scratchCopy(root, dir, packages);
  // Nothing pending (just after a release): rehearse with a patch changeset of our own, so that
  // versioning and changelogs are exercised all the same. The fixed group moves every package.
  if (pendingChangesets(dir).length === 0) {
    writeFileSync(
      join(dir, ".changeset", "release-check-rehearsal.md"),
      `---\n"${packages[0].name}": patch\n---\n\nRelease rehearsal of release:check.\n`,
    );
    await git(["add", "-A"], dir);
    await git(["commit", "--quiet", "-m", "release:check: a changeset to rehearse with"], dir);
  }
  const before = JSON.parse(readFileSync(join(dir, packages[0].rel, "package.json"), "utf8")).version;
  log(`changeset version (${pendingChangesets(dir).length} changesets, from ${before})`);
  await run(join(dir, "node_modules", ".bin", "changeset"), ["version"], dir);
  const versions = new Map(
    packages.map((p) => [p.name, JSON.parse(readFileSync(join(dir, p.rel, "package.json"), "utf8")).version]),
  );
  const version = versions.get(packages[0].name);
  const out = [...versions].filter(([, v]) => v !== version);
  if (out.length > 0)
    throw new Error(
      `the fixed group did not move every package to ${version}: ${out.map(([n, v]) => `${n}@${v}`).join(", ")}`,
    );
  if (version === before) throw new Error(`changeset version left the version at ${before}`);
  await git(["add", "-A"], dir);
  await git(["commit", "--quiet", "-m", `Version Packages (${version})`], dir);

  // The registry and its token, as a maintainer's user config would hold them; not committed.
  writeFileSync(join(dir, ".npmrc"), scopedNpmrc(url, token));
  writeFileSync(join(dir, ".git", "info", "exclude"), ".npmrc\nnode_modules\npnpm-publish-summary.json\n");
  log(`pnpm run release:publish (${packages.length} packages at ${version})`);
  await run("pnpm", ["run", "release:publish"], dir);
  log("published");
  const summary = JSON.parse(readFileSync(join(dir, "pnpm-publish-summary.json"), "utf8"));
  const tags = (await git(["tag", "--list"], dir)).split("\n").filter(Boolean);
  const changelogPath = join(dir, packages[0].rel, "CHANGELOG.md");
  return {
    dir,
    version,
    published: summary.publishedPackages.map((p) => `${p.name}@${p.version}`),
    tags,
    changelog: existsSync(changelogPath) ? readFileSync(changelogPath, "utf8") : "",
    isCommit: async (sha) =>
      git(["cat-file", "-e", `${sha}^{commit}`], dir).then(
        () => true,
        () => false,
      ),
  };
}
