import { coreIoctls } from "@drmsim/drm";
import { describe, expect, it } from "vitest";
import {
  buildWorld,
  closeWorld,
  drmFds,
  drmFileOf,
  formatSweep,
  runSweep,
  SWEEP_CASES,
  sweepCase,
} from "../src/index.js";

describe("allocation-failure sweep", () => {
  it("has a case for every core ioctl", () => {
    const covered = new Set(SWEEP_CASES.map((c) => c.ioctl));
    for (const d of coreIoctls()) expect(covered.has(d.name), d.name).toBe(true);
  });

  it("every core ioctl either succeeds or fails cleanly with ENOMEM at each of its allocation sites", async () => {
    const results = await runSweep();
    console.log(`allocation-failure sweep (seed 1):\n${formatSweep(results)}`);
    for (const r of results) expect(r.problems, r.label).toEqual([]);
    // The sweep is not vacuous: at least one path allocates, and every injection was answered.
    const injected = results.reduce((n, r) => n + r.injected, 0);
    expect(injected).toBeGreaterThan(0);
    for (const r of results) expect(r.succeeded + r.enomem, r.label).toBe(r.injected);
  });

  it("a foreign PRIME import fails with ENOMEM at drm_gem_get_pages and leaves no handle, cache entry or attachment", async () => {
    const c = SWEEP_CASES.find((x) => x.label === "PRIME_FD_TO_HANDLE (foreign import)")!;
    const r = await sweepCase(c);
    expect(r.sites).toHaveProperty("drm_gem_get_pages");
    expect(r.enomem).toBeGreaterThan(0);
    expect(r.problems).toEqual([]);
  });

  it("the sweep world is the fuzz world: the master, an unauthenticated client, and all nodes open (but an exclusive one)", async () => {
    const w = await buildWorld();
    const [a, b] = w.procs;
    const nodes = w.devices.flatMap((d) => d.minors.map((m) => m.path)).sort();
    expect(
      drmFds(a!)
        .map((fd) => drmFileOf(a!, fd)!.minor.path)
        .sort(),
    ).toEqual(nodes);
    // hl_device_open: the accelerator serves one user, so the second process got EBUSY there.
    const hl = w.devices.find((d) => d.driver.name === "habanalabs")!;
    expect(w.exclusive).toEqual(hl.minors.map((m) => m.path));
    expect(
      drmFds(b!)
        .map((fd) => drmFileOf(b!, fd)!.minor.path)
        .sort(),
    ).toEqual(nodes.filter((n) => !w.exclusive.includes(n)));
    expect(drmFds(a!).some((fd) => drmFileOf(a!, fd)!.isMaster)).toBe(true);
    expect(drmFds(b!).some((fd) => drmFileOf(b!, fd)!.isMaster)).toBe(false);
    expect(drmFds(b!).some((fd) => drmFileOf(b!, fd)!.authenticated)).toBe(false);
    expect(await closeWorld(w)).toEqual([]);
  });
});
