/**
 * The C programs the tests run, and how a run is told in a test report when it fails.
 */
import type { ShimExecResult } from "../src/index.js";

/** Every program in `cprogs/` (the build makes one binary per `.c`). */
export const C_PROGRAMS = [
  "syncobj_basic",
  "syncobj_timeline",
  "syncobj_eventfd",
  "sync_file",
  "sw_sync_fork",
  "dumb_prime",
  "fd_pass",
  "interrupt",
  "nodes",
] as const;

const TAIL = 12;

/**
 * A run in a few readable lines: how it ended, the failed check (the program's stderr names file,
 * line, what it got and what the kernel gives), the transcript's last lines and the server's log.
 */
export function describeRun(name: string, r: ShimExecResult, serverLog: readonly string[]): string {
  const ended = r.signal !== null ? `killed by ${r.signal}` : `exited with ${r.code}`;
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  const tail = lines.slice(-TAIL);
  const parts = [
    `${name} ${ended}`,
    r.stderr.trim() === "" ? "(nothing on stderr)" : `stderr:\n  ${r.stderr.trim().split("\n").join("\n  ")}`,
    `last ${tail.length} of ${lines.length} transcript lines:\n  ${tail.join("\n  ")}`,
  ];
  if (serverLog.length > 0)
    parts.push(`server log:\n  ${serverLog.join("\n  ").split("\n").slice(0, 40).join("\n  ")}`);
  return parts.join("\n");
}
