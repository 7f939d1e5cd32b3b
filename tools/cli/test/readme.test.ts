import { msecs } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { defineScenario, runScenario } from "../src/index.js";

it("README example: the timer scenario logs at 5 ms and ends clean", async () => {
  const scenario = defineScenario({
    name: "timer",
    durationNs: msecs(10),
    setup(ctx) {
      ctx.sim.schedule(msecs(5), () => ctx.log("five milliseconds in"));
    },
  });
  const lines: string[] = [];
  const result = await runScenario(scenario, { log: (l) => lines.push(l) });
  expect(lines).toEqual([expect.stringMatching(/^\[\s*0\.005000000\] five milliseconds in$/)]);
  expect(result.sim.now).toBe(msecs(10));
  expect(result.findings).toEqual([]);
});
