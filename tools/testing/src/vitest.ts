/**
 * The conformance suite as vitest tests: `describeDriverConformance(driver)` in a driver's own
 * test file gives one test per check that applies to the driver — and, for the `ioctls` check,
 * one per listed ioctl plus one for coverage — each failing with the check's problems (validator
 * findings in full). A separate entry (`@drmsim/testing/vitest`) so that the suite's engine does
 * not pull vitest into `drmsim validate`.
 */
import { describe, expect, it } from "vitest";
import { conformanceIoctlCoverage, runConformanceIoctl } from "./check-ioctls.js";
import { type ConformanceCheckId, conformanceChecksFor, runConformanceCheck } from "./conformance.js";
import type { ConformanceDriver } from "./conformance-driver.js";

/** Options of `describeDriverConformance`. */
export interface DescribeConformanceOptions {
  seed?: number | string;
  /** Checks to leave out, with the reason (shown in the test name, so the gap stays visible). */
  exclude?: Partial<Record<ConformanceCheckId, string>>;
}

/** Declares a `describe` block with one test per conformance check of `driver` (see the module comment). */
export function describeDriverConformance(
  driver: ConformanceDriver,
  opts: DescribeConformanceOptions = {},
): void {
  const seed = opts.seed === undefined ? {} : { seed: opts.seed };
  describe(`${driver.name} driver conformance`, () => {
    for (const c of conformanceChecksFor(driver)) {
      if (opts.exclude?.[c.id] !== undefined) continue;
      if (c.id === "ioctls") {
        it("ioctls: every ioctl of the driver is described", async () => {
          const problems = await conformanceIoctlCoverage(driver, opts.seed);
          expect(problems, problems.join("\n\n")).toEqual([]);
        });
        for (const { name } of driver.ioctls ?? [])
          it(`ioctls: ${name} — valid call, then each corrupted one refused with the kernel's errno and no trace`, async () => {
            const v = await runConformanceIoctl(driver, name, seed);
            expect(v.problems, v.problems.join("\n\n")).toEqual([]);
          });
        continue;
      }
      it(`${c.id}: ${c.title}`, async () => {
        const r = await runConformanceCheck(driver, c.id, seed);
        expect(r.problems, r.problems.join("\n\n")).toEqual([]);
      });
    }
  });
}
