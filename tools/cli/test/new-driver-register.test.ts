/**
 * Where `drmsim new driver` puts a package and what it tells the user next, on scratch copies of
 * this checkout's workspace files (the end-to-end scaffold in the real checkout is in
 * new-driver.test.ts).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/load-scenario.js";
import { findWorkspaceRoot, nextSteps, type ScaffoldResult, scaffoldDriver } from "../src/new-driver.js";
import { driverLocationProblem, registerDriverPackage } from "../src/new-driver-register.js";

const root = findWorkspaceRoot(import.meta.dirname)!;
const LISTS = [
  "pnpm-workspace.yaml",
  "tsconfig.json",
  "tsconfig.build.json",
  "typedoc.json",
  ".changeset/config.json",
];
const scratch = mkdtempSync(join(tmpdir(), "drmsim-register-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A directory with copies of the checkout's workspace files (and nothing else). */
function fakeCheckout(): string {
  const dir = mkdtempSync(join(scratch, "ws-"));
  for (const f of LISTS) cpSync(join(root, f), join(dir, f));
  return dir;
}

const lines = (text: string) => text.split("\n");

describe("registerDriverPackage", () => {
  it("adds the package to tsconfig.build.json, typedoc.json and the fixed group, changing nothing else", () => {
    const ws = fakeCheckout();
    const before = new Map(LISTS.map((f) => [f, readFileSync(join(ws, f), "utf8")]));
    expect(registerDriverPackage(ws, "drivers/mygpu", "@drmsim/mygpu", true)).toEqual([
      "tsconfig.build.json",
      "typedoc.json",
      ".changeset/config.json",
    ]);
    const added = (f: string) => {
      const old = new Set(lines(before.get(f)!));
      return lines(readFileSync(join(ws, f), "utf8")).filter((l) => !old.has(l));
    };
    expect(added("tsconfig.build.json").map((l) => l.trim())).toEqual(['"path": "drivers/mygpu"']);
    expect(added("typedoc.json")).toEqual(['    "drivers/mygpu",']);
    // The old last member gets its comma; the new one goes on a line of its own.
    const last = JSON.parse(before.get(".changeset/config.json")!).fixed[0].at(-1);
    expect(added(".changeset/config.json").map((l) => l.trim())).toEqual([`"${last}",`, '"@drmsim/mygpu"']);
    // After the other drivers, before the tools.
    const refs = JSON.parse(readFileSync(join(ws, "tsconfig.build.json"), "utf8")).references.map(
      (r: { path: string }) => r.path,
    );
    expect(refs.indexOf("drivers/mygpu")).toBe(refs.indexOf("tools/testing") - 1);
    for (const f of ["pnpm-workspace.yaml", "tsconfig.json"])
      expect(readFileSync(join(ws, f), "utf8")).toBe(before.get(f));
  });

  it("is idempotent, and leaves the release group alone for a private package", () => {
    const ws = fakeCheckout();
    registerDriverPackage(ws, "drivers/mygpu", "@drmsim/mygpu", true);
    expect(registerDriverPackage(ws, "drivers/mygpu", "@drmsim/mygpu", true)).toEqual([]);
    expect(registerDriverPackage(ws, "drivers/other", "@drmsim/other", false)).toEqual([
      "tsconfig.build.json",
      "typedoc.json",
    ]);
  });

  it("touches only the lists a workspace has", () => {
    const ws = mkdtempSync(join(scratch, "bare-"));
    writeFileSync(join(ws, "pnpm-workspace.yaml"), "packages:\n  - drivers/*\n");
    expect(registerDriverPackage(ws, "drivers/mygpu", "@drmsim/mygpu", true)).toEqual([]);
  });
});

describe("driverLocationProblem", () => {
  it("accepts drivers/<name>, packages/<name> and tools/<name>; refuses what the globs miss", () => {
    for (const ok of ["drivers/mygpu", "packages/mygpu", "tools/mygpu"])
      expect(driverLocationProblem(root, ok), ok).toBeUndefined();
    for (const bad of ["drivers/gpu/mygpu", "test/mygpu", "elsewhere/mygpu", "mygpu"])
      expect(driverLocationProblem(root, bad), bad).toMatch(
        /is not where this workspace looks for packages \(packages\/<name>, drivers\/<name>, tools\/<name>\)/,
      );
  });

  it("scaffoldDriver refuses such a place inside the checkout and writes nothing", () => {
    const dir = join(root, "test", "scaffold-misplaced");
    expect(() => scaffoldDriver("mygpu", { dir, cwd: root })).toThrow(UsageError);
    expect(existsSync(dir)).toBe(false);
  });
});

describe("nextSteps", () => {
  const inCheckout = (rel: string): ScaffoldResult => ({
    dir: join(root, rel),
    files: [],
    inWorkspace: true,
    root,
    registered: [],
    formatted: true,
  });

  it("at the root: pnpm, paths from the root", () => {
    expect(nextSteps(inCheckout("drivers/mygpu"), root, "pnpm drmsim")).toEqual([
      "pnpm install",
      "pnpm test drivers/mygpu/",
      "pnpm drmsim validate drivers/mygpu",
      "pnpm build",
      "pnpm typecheck",
    ]);
  });

  it("below the root: pnpm -w; vitest filters from the root, drmsim takes the path from where the user is", () => {
    expect(nextSteps(inCheckout("drivers/mygpu"), join(root, "drivers"), "pnpm -w drmsim")).toEqual([
      "pnpm install",
      "pnpm -w test drivers/mygpu/",
      "pnpm -w drmsim validate mygpu",
      "pnpm -w build",
      "pnpm -w typecheck",
    ]);
    expect(
      nextSteps(inCheckout("drivers/mygpu"), join(root, "drivers", "mygpu"), "pnpm -w drmsim"),
    ).toContain("pnpm -w drmsim validate .");
  });

  it("outside a checkout: install and test in the new package", () => {
    const out = join(scratch, "project");
    mkdirSync(out, { recursive: true });
    const r = scaffoldDriver("mygpu", { dir: join(out, "mygpu"), cwd: out });
    expect(r).toMatchObject({ inWorkspace: false, registered: [] });
    expect(r.root).toBeUndefined();
    expect(
      JSON.parse(readFileSync(join(out, "mygpu", "package.json"), "utf8")).dependencies["@drmsim/drm"],
    ).toMatch(/^\^/);
    expect(nextSteps(r, out, "npx drmsim")).toEqual(["cd mygpu", "npm install", "npx vitest run"]);
  });
});
