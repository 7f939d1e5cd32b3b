/** The campaign summary and the success floor (src/report.ts). */
import { describe, expect, it } from "vitest";
import { belowSuccessFloor, formatFuzzStats, NEVER_SUCCEEDS, newFuzzStats } from "../src/index.js";
import { BOGUS_IOCTL } from "../src/ioctls.js";

function statsWith(byIoctl: Record<string, { calls: number; ok: number }>) {
  const stats = newFuzzStats();
  stats.byIoctl = byIoctl;
  return stats;
}

describe("success floor", () => {
  it("lists the ioctls with fewer successes than the floor, those never called included", () => {
    const stats = statsWith({ A: { calls: 40, ok: 5 }, B: { calls: 40, ok: 4 }, C: { calls: 40, ok: 0 } });
    expect(belowSuccessFloor(stats, ["A", "B", "C", "D"], 5)).toEqual([
      { name: "B", ok: 4 },
      { name: "C", ok: 0 },
      { name: "D", ok: 0 },
    ]);
    expect(belowSuccessFloor(stats, ["A", "B"], 3)).toEqual([]);
    expect(belowSuccessFloor(stats, ["A", "B", "C"])).toEqual([{ name: "C", ok: 0 }]); // the default floor
  });

  it("exempts only the ioctls that cannot succeed, each with its reason", () => {
    expect(Object.keys(NEVER_SUCCEEDS).sort()).toEqual([BOGUS_IOCTL, "FUZZACCEL_ADMIN"].sort());
    for (const why of Object.values(NEVER_SUCCEEDS)) expect(why.length).toBeGreaterThan(20);
    expect(belowSuccessFloor(statsWith({}), [BOGUS_IOCTL, "FUZZACCEL_ADMIN"])).toEqual([]);
  });

  it("the summary has a row of calls and successes per ioctl, by name", () => {
    const text = formatFuzzStats(
      statsWith({ ZED: { calls: 7, ok: 2 }, ALPHA: { calls: 12, ok: 9 } }),
      "seed 1",
    );
    const rows = text.split("\n").filter((l) => /^\s+(ALPHA|ZED)\s/.test(l));
    expect(rows.map((l) => l.trim().split(/\s+/))).toEqual([
      ["ALPHA", "12", "9"],
      ["ZED", "7", "2"],
    ]);
    expect(text.split("\n")[0]).toBe("seed 1: 0 sequences, 0 ioctls + 0 fd syscalls");
  });
});
