// Checks of what the rehearsed release put on the local registry, read back from it: the very
// tarballs a consumer installs. publint (strict) and arethetypeswrong (ESM-only profile) lint each
// tarball; the rest are checks neither tool makes.
import { readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { run } from "./proc.mjs";
import { packument } from "./registry-client.mjs";

/** Every file of a tarball (paths without the `package/` prefix). */
async function listing(tgz) {
  return (await run("tar", ["-tzf", tgz], dirname(tgz)))
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
}

const readEntry = (tgz, file) => run("tar", ["-xOzf", tgz, `package/${file}`], dirname(tgz));

/** Where the registry stores `name@version` (Verdaccio's layout: <storage>/<name>/<base>-<version>.tgz). */
export const tarballPath = (storage, name, version) =>
  join(storage, name, `${name.split("/").pop()}-${version}.tgz`);

/** The problems of one published package (an empty list when it is fine). */
export async function verifyPublished({ url, storage, name, version, publishedBefore, attw }) {
  const problems = [];
  const tgz = tarballPath(storage, name, version);
  const files = new Set(await listing(tgz));
  const manifest = JSON.parse(await readEntry(tgz, "package.json"));

  const doc = await packument(url, name);
  if (doc["dist-tags"]?.latest !== version)
    problems.push(`dist-tag latest is ${doc["dist-tags"]?.latest}, not the released ${version}`);

  for (const f of ["LICENSE", "README.md", "CHANGELOG.md"])
    if (!files.has(f)) problems.push(`the tarball has no ${f}`);
  const text = JSON.stringify(manifest);
  if (text.includes("workspace:")) problems.push("the published package.json still has workspace: ranges");
  if (text.includes("@drmsim/source")) problems.push("the published exports still point at sources");
  for (const [dep, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    if (dep.startsWith("@drmsim/")) {
      if (range !== version) problems.push(`depends on ${dep}@${range}, not the released ${version}`);
      // The order of interdependent publishes: a dependency must be on the registry first, or a
      // consumer installing mid-release gets a 404.
      else if (!publishedBefore.has(dep)) problems.push(`was published before its dependency ${dep}`);
    } else if (!/^\^|^>=/.test(range))
      problems.push(`pins ${dep}@${range}: external ranges must be caret ranges`);
  }

  // Source maps must lead somewhere: every `sources` entry of every map is in the tarball.
  for (const f of files) {
    if (!f.endsWith(".map")) continue;
    const map = JSON.parse(await readEntry(tgz, f));
    for (const s of map.sources ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? "", s));
      if (!files.has(target)) problems.push(`${f} maps to ${s}, which is not in the tarball`);
    }
  }

  const lint = await publint({
    pack: { tarball: readFileSync(tgz).buffer },
    strict: true,
    level: "suggestion",
  });
  for (const m of lint.messages) problems.push(`publint: ${formatMessage(m, lint.pkg, { color: false })}`);

  if (attw !== undefined) {
    try {
      await run(
        attw,
        [tgz, "--profile", "esm-only", "--format", "table-flipped", "--no-color"],
        dirname(tgz),
      );
    } catch (e) {
      problems.push(`arethetypeswrong:\n${e.output}`);
    }
  }
  return { problems, files: files.size, manifest };
}
