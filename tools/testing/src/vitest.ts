/**
 * The conformance suite as vitest tests: `describeDriverConformance(driver)` in a driver's own
 * test file gives one test per check, each failing with the check's problems (validator findings
 * in full). A separate entry (`@drmsim/testing/vitest`) so that the suite's engine does not pull
 * vitest into `drmsim validate`.
 */
import { describe, expect, it } from "vitest";
import { CONFORMANCE_CHECKS, type ConformanceCheckId, runConformanceCheck } from "./conformance.js";
import type { ConformanceDriver } from "./conformance-driver.js";

/** Options of `describeDriverConformance`. */
export interface DescribeConformanceOptions {
  seed?: number | string;
  /** Checks to leave out, with the reason (shown in the test name, so the gap stays visible). */
  exclude?: Partial<Record<ConformanceCheckId, string>>;
}

/** Declares a `describe` block with one test per conformance check of `driver`. */
export function describeDriverConformance(
  driver: ConformanceDriver,
  opts: DescribeConformanceOptions = {},
): void {
  describe(`${driver.name} driver conformance`, () => {
    for (const c of CONFORMANCE_CHECKS) {
      if (opts.exclude?.[c.id] !== undefined) continue;
      it(`${c.id}: ${c.title}`, async () => {
        const r = await runConformanceCheck(driver, c.id, opts.seed === undefined ? {} : { seed: opts.seed });
        expect(r.problems, r.problems.join("\n\n")).toEqual([]);
      });
    }
  });
}
