/**
 * Bundled consumers, from the workspace's sources: esbuild and Vite (Rolldown) bundle the PRIME
 * scenario of the consumer fixtures (scripts/consumers/shared) with every dependency inlined,
 * minified and tree-shaken under each package's `sideEffects`, and the bundle runs on its own where
 * no node_modules can be reached: vgem creates a dumb buffer (a core ioctl, from a table a bundler
 * must keep) and amdgpu imports it by PRIME and waits for vgem's fence. A package that registered
 * something at import time while promising `sideEffects: false`, or a polyfill evaluated after the
 * module that needs it, fails here before release:check's bundles of the published packages do.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build as esbuild } from "esbuild";
import { build as viteBuild } from "vite";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..", "..");
const shared = join(root, "scripts", "consumers", "shared");
// The entry sits under test/ so that `@drmsim/*` resolve through test/node_modules.
const work = mkdtempSync(join(import.meta.dirname, ".bundle-"));
const out = mkdtempSync(join(tmpdir(), "drmsim-bundle-"));
for (const f of ["main.mjs", "prime.mjs"]) copyFileSync(join(shared, f), join(work, f));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const EXPECTED =
  "prime: vgem dumb buffer (16384 bytes) shared by PRIME with amdgpu; the amdgpu job waited for vgem's fence and ended at 3 ms; teardown clean";

/** Runs `bundle` alone in an empty directory; its output. */
function runAlone(bundle: string): string {
  const code = readFileSync(bundle, "utf8");
  expect(code).not.toMatch(/(from\s*|import\s*\(\s*|require\s*\(\s*)["']@drmsim\//);
  const dir = mkdtempSync(join(out, "run-"));
  copyFileSync(bundle, join(dir, "bundle.mjs"));
  try {
    return execFileSync(process.execPath, ["bundle.mjs"], { cwd: dir, encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    // A minified bundle's error quotes its one long line: keep the message, not the code.
    const stderr = String((e as { stderr?: unknown }).stderr ?? "");
    const why = stderr.split("\n").filter((l) => /^\w*Error\b|^\s+at /.test(l) && l.length < 400);
    throw new Error(`the bundle failed:\n${why.slice(0, 8).join("\n")}`);
  }
}

describe("bundled consumers of the workspace packages", () => {
  it("esbuild: a minified ESM bundle runs the two-driver PRIME scenario", async () => {
    const outfile = join(out, "esbuild.mjs");
    await esbuild({
      entryPoints: [join(work, "main.mjs")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      minify: true,
      conditions: ["@drmsim/source"],
      outfile,
      // tapable is CommonJS and requires node:util (see scripts/consumers/esbuild/build.mjs).
      banner: {
        js: 'import { createRequire as __r } from "node:module"; const require = __r(import.meta.url);',
      },
      logLevel: "silent",
    });
    expect(runAlone(outfile).trim()).toBe(EXPECTED);
  });

  it("Vite: an SSR build with every dependency inlined runs the two-driver PRIME scenario", async () => {
    const dir = join(out, "vite");
    await viteBuild({
      root: work,
      configFile: false,
      logLevel: "silent",
      resolve: { conditions: ["@drmsim/source"] },
      ssr: { noExternal: true, target: "node", resolve: { conditions: ["@drmsim/source"] } },
      build: {
        ssr: join(work, "main.mjs"),
        outDir: dir,
        target: "node20",
        minify: true,
        rollupOptions: { output: { entryFileNames: "bundle.mjs" } },
      },
    });
    expect(runAlone(join(dir, "bundle.mjs")).trim()).toBe(EXPECTED);
  });
});
