/**
 * The project's C programs (`cprogs/`), built against Debian's libdrm, run unmodified through the
 * preload library against a fresh server: every check in them states what the 7.1 kernel returns,
 * and each program runs twice with the same transcript (virtual time makes a run reproducible).
 *
 * Without a C compiler or libdrm's headers the programs are not built: outside CI one line says
 * which and how to get them; under CI=true that is a failure (`.ci/run` installs them).
 */
import { describe, expect, it } from "vitest";
import { shimBuildStatus, shimExec, shimProgram, startShimServer } from "../src/index.js";

const PROGRAMS = [
  "syncobj_basic",
  "syncobj_timeline",
  "sync_file",
  "sw_sync_fork",
  "dumb_prime",
  "fd_pass",
  "interrupt",
] as const;

const status = shimBuildStatus(PROGRAMS);
const inCi = process.env.CI === "true";
if (status.missing.length > 0 && !inCi) console.log(`tools/shim/test/cprogs.test.ts: ${status.hint}`);

async function run(name: string) {
  const server = await startShimServer();
  try {
    const r = await shimExec(server, [shimProgram(name)]);
    // Every thread detached and every simulated file was released when the program's fds closed.
    await server.whenIdle();
    return { ...r, backings: server.backings, threads: server.threads };
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
        expect(a.stderr, a.stdout).toBe("");
        expect(a.code).toBe(0);
        expect(a.stdout).toMatch(/\ndone\n$/);
        expect(a.stdout).not.toContain("MISMATCH");
        expect(a.backings).toBe(0);
        const b = await run(name);
        expect(b.code).toBe(0);
        expect(b.stdout).toBe(a.stdout);
      }, 60_000);
  },
);
