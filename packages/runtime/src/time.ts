/**
 * Virtual time units. drmsim keeps time as a JavaScript number of nanoseconds, exact up to
 * 2^53 ns (about 104 days of simulated time), which is far beyond any scenario.
 */

/** `NSEC_PER_USEC`. */
export const NSEC_PER_USEC = 1_000;
/** `NSEC_PER_MSEC`. */
export const NSEC_PER_MSEC = 1_000_000;
/** `NSEC_PER_SEC`. */
export const NSEC_PER_SEC = 1_000_000_000;
/** `HZ`: the simulated kernel's tick rate, used only to translate jiffies-based kernel APIs. */
export const HZ = 1000;
/** One jiffy in nanoseconds. */
export const NSEC_PER_JIFFY = NSEC_PER_SEC / HZ;
/**
 * `MAX_SCHEDULE_TIMEOUT`: "wait forever". Waits given this (or no) timeout never time out, and a
 * successful wait returns this value, as the kernel's `schedule_timeout` does.
 */
export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;

/** `usecs_to_jiffies`-style helpers, in nanoseconds. */
export const usecs = (n: number): number => n * NSEC_PER_USEC;
/** Milliseconds to nanoseconds. */
export const msecs = (n: number): number => n * NSEC_PER_MSEC;
/** Seconds to nanoseconds. */
export const secs = (n: number): number => n * NSEC_PER_SEC;
/** `jiffies_to_nsecs`. */
export const jiffies = (n: number): number => n * NSEC_PER_JIFFY;

/** Formats a virtual timestamp for reports: `12.345678 s` style, like the kernel log's prefix. */
export function formatTimeNs(ns: number): string {
  const s = Math.floor(ns / NSEC_PER_SEC);
  const frac = Math.floor(ns % NSEC_PER_SEC)
    .toString()
    .padStart(9, "0");
  return `${s}.${frac}`;
}
