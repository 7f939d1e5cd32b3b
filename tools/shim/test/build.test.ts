/**
 * What `pnpm build` and `pnpm test` say on a machine that cannot build the C side: one line naming
 * what is missing and the apt command that fixes it; under CI=true the build fails instead.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { shimBuildStatus } from "../src/index.js";

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../scripts/build-c.mjs");
const APT = "apt-get install -y gcc pkg-config libdrm-dev";

function build(env: Record<string, string>) {
  const { CI: _ci, ...rest } = process.env;
  return spawnSync(process.execPath, [script], { env: { ...rest, ...env }, encoding: "utf8" });
}

describe("the C build without a compiler", () => {
  it("outside CI: one line with what is missing and the apt command, and the build goes on (exit 0)", () => {
    const r = build({ CC: "no-such-cc" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`drmsim shim: no C compiler (no-such-cc); the C tests cannot be built (${APT})\n`);
  });

  it("under CI=true: the same line on stderr and exit 1", () => {
    const r = build({ CC: "no-such-cc", CI: "true" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`drmsim shim: no C compiler (no-such-cc); the C tests cannot be built (${APT})\n`);
  });
});

describe("shimBuildStatus", () => {
  it("names the programs that are not built and the command that builds them", () => {
    const s = shimBuildStatus(["no_such_program"]);
    expect(s.built).toEqual([]);
    expect(s.missing).toEqual(["no_such_program"]);
    expect(s.hint).toContain("C tests not built (no_such_program)");
    expect(s.hint).toContain(`run \`${APT}\` then \`pnpm build\``);
  });
});
