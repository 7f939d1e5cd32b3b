/** The README's scenario file, read from the README and run as `drmsim run` would. */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { msecs } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { fencedBlocks } from "../../../test/helpers/markdown.js";
import { runScenario, type Scenario } from "../src/index.js";

it("README example: the timer scenario logs at 5 ms and ends clean", async () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = fencedBlocks(readme).find((b) => b.lang === "ts" && b.code.startsWith("// my-scenario.ts"));
  expect(block).toBeDefined();
  const file = join(import.meta.dirname, `.my-scenario-${randomBytes(4).toString("hex")}.ts`);
  writeFileSync(file, block!.code);
  try {
    const scenario = ((await import(pathToFileURL(file).href)) as { default: Scenario }).default;
    const lines: string[] = [];
    const result = await runScenario(scenario, { log: (l) => lines.push(l) });
    expect(lines).toEqual([expect.stringMatching(/^\[\s*0\.005000000\] five milliseconds in$/)]);
    expect(result.sim.now).toBe(msecs(10));
    expect(result.findings).toEqual([]);
  } finally {
    rmSync(file, { force: true });
  }
});
