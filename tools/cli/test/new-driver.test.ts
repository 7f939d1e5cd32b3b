import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONFORMANCE_CHECKS } from "@drmsim/testing";
import { afterAll, describe, expect, it } from "vitest";
import { driverNames, findWorkspaceRoot } from "../src/new-driver.js";
import { runCli } from "./helpers.js";

const run = promisify(execFile);
const root = findWorkspaceRoot(import.meta.dirname)!;
const name = `scaffold-test-${randomBytes(4).toString("hex")}`;
const dir = join(root, "drivers", name);
// The scaffold adds the package to the checkout's build lists: put them back afterwards.
const LISTS = ["tsconfig.build.json", "typedoc.json", ".changeset/config.json"];
const saved = new Map(LISTS.map((f) => [f, readFileSync(join(root, f), "utf8")]));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [f, text] of saved) writeFileSync(join(root, f), text);
});

describe("driverNames", () => {
  it("derives the spellings templates need", () => {
    expect(driverNames("my-gpu")).toEqual({
      name: "my-gpu",
      pascal: "MyGpu",
      camel: "myGpu",
      upper: "MY_GPU",
      snake: "my_gpu",
    });
    expect(driverNames("npu2").pascal).toBe("Npu2");
  });
  for (const bad of ["", "GPU", "9gpu", "my gpu", "gpu-", "my--gpu", "a/b", "x".repeat(41)])
    it(`refuses '${bad}'`, () => expect(() => driverNames(bad)).toThrow(/invalid driver name/));
});

describe("drmsim new driver", () => {
  it("scaffolds a package in drivers/<name> (the default place) that is lint-clean, typechecks and passes its generated tests at once", async () => {
    // No --dir: drivers/<name> at the workspace root (vitest runs with the root as cwd).
    const r = await runCli(["new", "driver", name], { command: "pnpm drmsim" });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`created drivers/${name}\n`);
    for (const f of [
      "package.json",
      "tsconfig.json",
      "README.md",
      "src/index.ts",
      `src/${name}-device.ts`,
      `src/${name}-drm.ts`,
      `src/${name}-drv.ts`,
      `src/${name}-file.ts`,
      `src/${name}-job.ts`,
      `src/${name}-prime.ts`,
      `src/${name}-ring.ts`,
      `src/${name}-submit.ts`,
      "src/conformance.ts",
      "src/user/index.ts",
      `test/${name}-uapi.test.ts`,
      `test/${name}-vgem.test.ts`,
      `test/${name}-faults.test.ts`,
      "test/conformance.test.ts",
      "test/readme.test.ts",
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg.name).toBe(`@drmsim/${name}`);
    expect(pkg.exports["."]["@drmsim/source"]).toBe("./src/index.ts");
    expect(pkg.exports["./user"]["@drmsim/source"]).toBe("./src/user/index.ts");
    expect(pkg.dependencies["@drmsim/drm-sched"]).toBe("workspace:*");
    expect(Object.keys(pkg.dependencies)).toEqual(Object.keys(pkg.dependencies).sort());
    expect(pkg.devDependencies["@drmsim/vgem"]).toBe("workspace:*");
    // No test script: tests run from the root (its vitest config resolves the sources).
    expect(pkg.scripts).toEqual({ build: "tsc -b" });
    const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
    expect(tsconfig.extends).toBe("../../tsconfig.base.json");
    expect(tsconfig.references).toContainEqual({ path: "../../packages/drm-sched" });

    // Every list the checkout keeps has it, and the CLI says so.
    const rel = `drivers/${name}`;
    expect(JSON.parse(readFileSync(join(root, "tsconfig.build.json"), "utf8")).references).toContainEqual({
      path: rel,
    });
    expect(JSON.parse(readFileSync(join(root, "typedoc.json"), "utf8")).entryPoints).toContain(rel);
    expect(JSON.parse(readFileSync(join(root, ".changeset/config.json"), "utf8")).fixed[0]).toContain(
      `@drmsim/${name}`,
    );
    expect(r.out).toContain(
      "added to tsconfig.build.json, typedoc.json, .changeset/config.json (to throw the driver away, delete its directory and these entries)\n",
    );
    // Next steps that work pasted at the root: no placeholder, the real path.
    expect(r.out).toContain(
      `next:\n  pnpm install\n  pnpm test ${rel}/\n  pnpm drmsim validate ${rel}\n  pnpm build\n  pnpm typecheck\n`,
    );
    expect(r.out).not.toMatch(/<[a-z]+>/);
    expect(r.out).toContain("what each file does and how to change it: docs/writing-a-driver.md\n");
    // `pnpm build` (tsc -b tsconfig.build.json) would build it.
    const dry = await run(
      join(root, "node_modules", ".bin", "tsc"),
      ["-b", "tsconfig.build.json", "--dry", "--force"],
      {
        cwd: root,
      },
    );
    expect(dry.stdout).toContain(join(dir, "tsconfig.json"));

    // What `pnpm install` would do for the workspace deps (without touching the lockfile).
    const nm = join(dir, "node_modules", "@drmsim");
    mkdirSync(nm, { recursive: true });
    for (const d of ["runtime", "dma-fence", "dma-resv", "dma-buf", "gem", "drm", "drm-sched"])
      symlinkSync(join(root, "packages", d), join(nm, d), "dir");
    symlinkSync(join(root, "tools", "testing"), join(nm, "testing"), "dir");
    symlinkSync(join(root, "drivers", "vgem"), join(nm, "vgem"), "dir");
    // …and its one dependency from outside, from the store (vgem's copy).
    symlinkSync(
      realpathSync(join(root, "drivers", "vgem", "node_modules", "tsyringe")),
      join(dir, "node_modules", "tsyringe"),
      "dir",
    );

    const bin = (b: string) => join(root, "node_modules", ".bin", b);
    await run(bin("biome"), ["check", dir], { cwd: root });
    writeFileSync(
      join(dir, "tsconfig.check.json"),
      JSON.stringify({
        extends: "../../tsconfig.base.json",
        compilerOptions: {
          noEmit: true,
          composite: false,
          declaration: false,
          declarationMap: false,
          rootDir: ".",
        },
        include: ["src", "test"],
      }),
    );
    await run(bin("tsc"), ["-p", join(dir, "tsconfig.check.json")], { cwd: root });
    const t = await run(bin("vitest"), ["run", `drivers/${name}/`, "--reporter=json"], {
      cwd: root,
      env: { ...process.env, CI: "", FORCE_COLOR: "0" },
      maxBuffer: 1 << 24,
    });
    const report = JSON.parse(t.stdout.slice(t.stdout.indexOf("{")));
    expect(report.numFailedTests).toBe(0);
    // uAPI 9, vgem interop 4, faults 3, README 1, and one per conformance check that applies to a
    // GEM driver (all but dma-buf-export), where `ioctls` is one test for coverage and one per
    // ioctl (GEM_CREATE, SUBMIT).
    const gemChecks = CONFORMANCE_CHECKS.filter((c) => c.id !== "dma-buf-export").length;
    expect(report.numPassedTests).toBe(17 + (gemChecks - 1) + 1 + 2);
    expect(report.numTotalTests).toBe(report.numPassedTests);

    // And the CLI validates it straight from the package directory.
    const v = await runCli(["validate", dir]);
    expect(v.out).toContain(`${gemChecks} checks passed`);
    expect(v.out).toMatch(
      new RegExp(
        `✓ ${name.toUpperCase().replaceAll("-", "_")}_SUBMIT: valid call; refused: \\d+ × EINVAL, 2 × ENOENT`,
      ),
    );
    expect(v.code).toBe(0);

    // A second scaffold into the same place is refused.
    const again = await runCli(["new", "driver", name, "--dir", dir]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
  });
});
