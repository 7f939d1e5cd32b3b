/**
 * An existing libdrm program, unmodified: `drmdevice` from Debian's libdrm-tests (libdrm's own
 * test tool) lists the simulated devices through sysfs and opens each node, as it would on a
 * machine with GPUs. Outside CI a machine without the package says so in one line; under CI=true
 * it must run (`.ci/run` installs it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { preloadLibrary, shimExec, startShimServer } from "../src/index.js";
import { describeRun } from "./run-report.js";

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir !== "" && fs.existsSync(p)) return p;
  }
  return undefined;
}

const drmdevice = onPath("drmdevice");
const lib = fs.existsSync(preloadLibrary());
const inCi = process.env.CI === "true";
const missing = [
  ...(drmdevice === undefined ? ["drmdevice (apt-get install -y libdrm-tests)"] : []),
  ...(lib ? [] : ["the preload library (apt-get install -y gcc pkg-config libdrm-dev, then pnpm build)"]),
];
if (missing.length > 0 && !inCi)
  console.log(`tools/shim/test/libdrm-tests.test.ts: not run, missing ${missing.join(" and ")}`);

async function run() {
  const log: string[] = [];
  const server = await startShimServer({ log: (l) => log.push(l) });
  try {
    const r = await shimExec(server, [drmdevice ?? "drmdevice"]);
    await server.whenIdle();
    return { ...r, log, backings: server.backings };
  } finally {
    await server.close();
  }
}

describe.skipIf(missing.length > 0 && !inCi)("libdrm's own drmdevice on the simulated devices", () => {
  if (inCi && missing.length > 0)
    it("needs drmdevice and the preload library under CI", () => {
      throw new Error(`CI=true but missing ${missing.join(" and ")}`);
    });
  else
    it("lists vgem and the drmsim device, each a platform device with a primary and a render node, and opens every node; twice the same", async () => {
      const a = await run();
      expect(
        { exit: a.code, stderr: a.stderr, serverLog: a.log },
        describeRun("drmdevice", a, a.log),
      ).toEqual({
        exit: 0,
        stderr: "",
        serverLog: [],
      });
      expect(a.stdout).toContain("--- Devices reported 2 ---");
      for (const node of ["/dev/dri/card0", "/dev/dri/renderD128", "/dev/dri/card1", "/dev/dri/renderD129"])
        expect(a.stdout).toContain(`--- Opening device node ${node} ---`);
      expect(a.stdout.match(/\+-> available_nodes 0x05/g)?.length).toBe(6);
      expect(a.stdout).toContain("fullname\tvgem.0");
      expect(a.stdout).toContain("fullname\tdrmsim.1");
      expect(a.backings).toBe(0);
      const b = await run();
      expect(b.stdout).toBe(a.stdout);
    });
});
