// An SSR build for Node that inlines every dependency (ssr.noExternal), minified and tree-shaken:
// what a bundled server or CLI ships.
export default {
  build: {
    ssr: "shared/main.mjs",
    outDir: "dist",
    target: "node20",
    minify: true,
    rollupOptions: { output: { entryFileNames: "bundle.mjs", inlineDynamicImports: true } },
  },
  ssr: { noExternal: true, target: "node" },
};
