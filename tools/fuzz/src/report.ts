/**
 * The campaign summary (totals, rejections by errno, signals, and calls and successes per ioctl)
 * and the success floor: a fuzzer whose calls never get past an ioctl's argument checks tests
 * only those checks, so every registered ioctl must succeed at least `SUCCESS_FLOOR` times in the
 * fixed-seed CI campaign (`CI_CAMPAIGN`) — except those no call can make succeed in the
 * fuzzer's world, listed with the reason in `NEVER_SUCCEEDS`.
 */
import type { FuzzOptions, FuzzStats } from "./fuzz.js";
import { BOGUS_IOCTL } from "./ioctls.js";

/** The campaign `pnpm test` runs (tools/fuzz/test/fuzz.test.ts): seed 0x5eed, at least 4,000 ioctls. */
export const CI_CAMPAIGN: FuzzOptions = { runs: 60, callsPerRun: 40, seed: 0x5eed, minCalls: 4000 };

/**
 * Successes every registered ioctl must have in `CI_CAMPAIGN`. Low enough that a change to the
 * campaign's random stream (any new ioctl or template reshuffles it) does not flip it, high enough
 * that a success path reached once by luck does not pass for covered.
 */
export const SUCCESS_FLOOR = 3;

/** Ioctls that cannot succeed in the fuzzer's world, and why. */
export const NEVER_SUCCEEDS: Readonly<Record<string, string>> = {
  [BOGUS_IOCTL]: "no table defines it: EINVAL is the only right answer",
  FUZZACCEL_ADMIN:
    "it is DRM_MASTER and its device has only an accel node, which has no master (EACCES): it is there to be refused",
};

/** The ioctls of `names` with fewer than `floor` successes in `stats` (those of `NEVER_SUCCEEDS` aside). */
export function belowSuccessFloor(
  stats: FuzzStats,
  names: readonly string[],
  floor = SUCCESS_FLOOR,
): { name: string; ok: number }[] {
  return names
    .filter((name) => NEVER_SUCCEEDS[name] === undefined)
    .map((name) => ({ name, ok: stats.byIoctl[name]?.ok ?? 0 }))
    .filter((r) => r.ok < floor);
}

/** The campaign summary as printed by `pnpm fuzz` and the CI campaign test. */
export function formatFuzzStats(stats: FuzzStats, head: string): string {
  const lines = [
    `${head}: ${stats.runs} sequences, ${stats.calls} ioctls + ${stats.syscalls} fd syscalls`,
    `  ${stats.ok} ioctls succeeded; rejected by errno: ${JSON.stringify(stats.errnos)}`,
    `  ${stats.invariants} invariant checks; ${stats.named} values named by successful calls checked against the caller's tables`,
    `  blocked calls signalled: ${JSON.stringify(stats.signals)}`,
    `  ${"ioctl".padEnd(40)} ${"calls".padStart(6)} ${"ok".padStart(6)}`,
  ];
  const rows = Object.entries(stats.byIoctl).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, s] of rows)
    lines.push(`  ${name.padEnd(40)} ${String(s.calls).padStart(6)} ${String(s.ok).padStart(6)}`);
  return lines.join("\n");
}
