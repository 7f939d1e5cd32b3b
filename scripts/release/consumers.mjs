// The consumer fixtures of release:check (scripts/consumers/<name>/): each is a real project that
// installs `@drmsim/*` by version from the local registry (a scoped registry in its .npmrc) and
// everything else from the machine's npm registry, then runs `npm run check`.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./proc.mjs";
import { scopedNpmrc } from "./registry-client.mjs";

const fixturesDir = join(import.meta.dirname, "..", "consumers");

/** The fixture names (every directory of scripts/consumers but `shared`). */
export function consumerNames() {
  return readdirSync(fixturesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "shared")
    .map((e) => e.name)
    .sort();
}

/**
 * Lays fixture `name` out in `dir`: its files, the shared scenario files under `shared/`, every
 * `@drmsim/*` dependency pinned to `version`, an .npmrc sending `@drmsim/*` to `url`, and for
 * the `esm-tsc` fixture the public READMEs' examples under `readme/` (`examples`: file → code).
 */
export function layOut(name, dir, { url, version, examples }) {
  cpSync(join(fixturesDir, name), dir, { recursive: true });
  cpSync(join(fixturesDir, "shared"), join(dir, "shared"), { recursive: true });
  const manifestPath = join(dir, "package.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  for (const deps of [manifest.dependencies, manifest.devDependencies])
    for (const dep of Object.keys(deps ?? {})) if (dep.startsWith("@drmsim/")) deps[dep] = version;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, ".npmrc"), scopedNpmrc(url));
  if (existsSync(join(dir, "readme.mjs"))) {
    mkdirSync(join(dir, "readme"), { recursive: true });
    for (const [file, code] of Object.entries(examples)) writeFileSync(join(dir, "readme", file), code);
  }
}

/** `npm install` in a laid-out fixture (no lockfile: it resolves like a new user's project). */
export const installConsumer = (dir) =>
  run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], dir);

/** `npm run check` in an installed fixture; resolves with its output. */
export const checkConsumer = (dir) =>
  run("npm", ["run", "--silent", "check"], dir, { env: { FORCE_COLOR: "0" } });
