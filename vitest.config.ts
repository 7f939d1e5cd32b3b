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
    // No test decides pass or fail on wall-clock time: on a machine shared by many jobs a test may
    // take minutes. The timeouts only stop a test that hangs (the simulator reports deadlocks
    // itself, so this is a guard against a bug in the harness, not a speed limit).
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
  },
});
