import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@drmsim/source"] },
  ssr: { resolve: { conditions: ["@drmsim/source"] } },
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "drivers/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "tools/*/test/**/*.test.ts",
    ],
    setupFiles: ["./vitest.setup.ts"],
    pool: "threads",
  },
});
