import { expect, it } from "vitest";
import { runFuzz } from "../src/index.js";

it("README example: a short campaign from a test", async () => {
  const { stats, failure } = await runFuzz({ runs: 50, seed: 1 });
  console.log(stats.calls, stats.invariants, failure === undefined);
  expect(failure).toBeUndefined();
  expect(stats.invariants).toBeGreaterThan(stats.calls);
});
