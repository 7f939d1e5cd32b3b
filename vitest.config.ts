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
    // A timeout here only catches a hang: no test passes or fails on how fast it ran, and a
    // machine shared with other work must not turn a slow run into a failure (nor a timed-out
    // test's still-running simulation into the next test's wrong result).
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
