/**
 * The mutation check's list (`scripts/mutations.mjs`; `pnpm mutate` plants each bug in a scratch
 * copy and runs its check). Planting takes minutes, so it runs as its own CI step; what can rot
 * without it — a refactoring that moves the code a mutation targets, a detector file renamed —
 * is checked here, on every `pnpm test`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CI_CAMPAIGN } from "@drmsim/fuzz";
import { describe, expect, it } from "vitest";
import { applyMutation, FUZZ_CAMPAIGN, MUTATIONS, type Mutation } from "../../scripts/mutations.mjs";

const root = resolve(import.meta.dirname, "../..");

describe("mutation check: the planted bugs", () => {
  it("covers the bugs issue #25 names, each once", () => {
    expect(MUTATIONS.map((m) => m.id)).toEqual([
      "handle-before-check",
      "lookup-across-files",
      "ref-leak-on-error",
      "fence-without-slot",
      "missing-end-signalling",
      "gfp-kernel-in-run-job",
    ]);
  });

  it.each(MUTATIONS.map((m) => [m.id, m] as const))(
    "%s applies to today's source and changes it",
    (_id, m) => {
      const text = readFileSync(join(root, m.file), "utf8");
      const mutated = applyMutation(text, m);
      expect(mutated).not.toBe(text);
      for (const e of m.edits) expect(mutated).toContain(e.replace);
      if (m.detector.kind === "suite")
        for (const f of m.detector.files) expect(existsSync(join(root, f)), f).toBe(true);
    },
  );

  it("a mutation whose target text is missing or ambiguous is stale, not silently planted", () => {
    const m: Mutation = { ...MUTATIONS[0]!, edits: [{ find: "AAA", replace: "B" }] };
    expect(applyMutation("x AAA y", m)).toBe("x B y");
    expect(() => applyMutation("x y", m)).toThrow(/contains the text to replace 0 times, not once \(stale\)/);
    expect(() => applyMutation("AAA AAA", m)).toThrow(/2 times/);
    // `$` in a replacement is literal text (template literals), not a replacement pattern.
    expect(applyMutation("AAA", { ...m, edits: [{ find: "AAA", replace: "`$" + "{x}` $&" }] })).toBe(
      "`$" + "{x}` $&",
    );
  });

  it("the fuzzer's mutations run the CI campaign", () => {
    const at = (flag: string) => Number(FUZZ_CAMPAIGN[FUZZ_CAMPAIGN.indexOf(flag) + 1]);
    expect([at("--runs"), at("--calls"), at("--seed"), at("--min-calls")]).toEqual([
      CI_CAMPAIGN.runs,
      CI_CAMPAIGN.callsPerRun,
      CI_CAMPAIGN.seed,
      CI_CAMPAIGN.minCalls,
    ]);
  });
});
