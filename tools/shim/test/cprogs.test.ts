/**
 * The project's C programs (`cprogs/`), built against Debian's libdrm, run unmodified through the
 * preload library against a fresh server: every check in them states what the 7.1 kernel returns,
 * and each program runs twice with the same transcript (virtual time makes a run reproducible).
 *
 * Without a C compiler or libdrm's headers the programs are not built: outside CI one line says
 * which and how to get them; under CI=true that is a failure (`.ci/run` installs them).
 */
import { describe, expect, it } from "vitest";
import {
  type ShimExecResult,
  shimBuildStatus,
  shimExec,
  shimProgram,
  startShimServer,
} from "../src/index.js";
import { C_PROGRAMS, describeRun } from "./run-report.js";

const status = shimBuildStatus(C_PROGRAMS);
const inCi = process.env.CI === "true";
if (status.missing.length > 0 && !inCi) console.log(`tools/shim/test/cprogs.test.ts: ${status.hint}`);

interface Run extends ShimExecResult {
  readonly log: readonly string[];
  readonly backings: number;
  readonly threads: number;
}

async function run(name: string): Promise<Run> {
  const log: string[] = [];
  const server = await startShimServer({ log: (l) => log.push(l) });
  try {
    const r = await shimExec(server, [shimProgram(name)]);
    // Every thread detached and every simulated file was released when the program's fds closed.
    await server.whenIdle();
    return { ...r, log, backings: server.backings, threads: server.threads };
  } finally {
    await server.close();
  }
}

describe.skipIf(status.missing.length > 0 && !inCi)(
  "C programs against Debian's libdrm, through the preload library",
  () => {
    if (inCi && status.missing.length > 0)
      it("needs the C programs under CI", () => {
        throw new Error(`CI=true but ${status.hint}`);
      });
    for (const name of status.built)
      it(`${name}: every check gives the kernel's result; a second run prints the same transcript`, async () => {
        const a = await run(name);
        // One assertion with the whole story: on failure the report shows the failed check, the
        // transcript's last lines and what the server said, not a diff of two long strings.
        expect(
          {
            exit: a.code,
            signal: a.signal,
            stderr: a.stderr,
            serverLog: a.log,
            done: a.stdout.endsWith("\ndone\n"),
          },
          describeRun(name, a, a.log),
        ).toEqual({ exit: 0, signal: null, stderr: "", serverLog: [], done: true });
        expect(a.backings, "simulated files still held after the program exited").toBe(0);
        const b = await run(name);
        expect(b.code, describeRun(`${name} (second run)`, b, b.log)).toBe(0);
        expect(b.stdout, `${name}: the second run's transcript differs from the first`).toBe(a.stdout);
      });
  },
);
