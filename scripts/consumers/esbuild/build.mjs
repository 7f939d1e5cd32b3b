// The esbuild consumer's build: one minified, tree-shaken ESM file for Node with every dependency
// inlined. tapable (a dependency of @drmsim/drm) is CommonJS and requires Node's `util`; an ESM
// bundle has no `require`, so it gets one from `createRequire` — the usual banner for Node ESM
// bundles with CommonJS inside.
import { build } from "esbuild";

await build({
  entryPoints: ["shared/main.mjs"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  outfile: "dist/bundle.mjs",
  banner: {
    js: 'import { createRequire as __drmsimRequire } from "node:module"; const require = __drmsimRequire(import.meta.url);',
  },
  logLevel: "warning",
});
