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
import { afterAll, describe, expect, it } from "vitest";
import { driverNames, findWorkspaceRoot } from "../src/new-driver.js";
import { runCli } from "./helpers.js";

const run = promisify(execFile);
const root = findWorkspaceRoot(import.meta.dirname)!;
const name = `scaffold-test-${randomBytes(4).toString("hex")}`;
const dir = join(root, "drivers", name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    const r = await runCli(["new", "driver", name]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`created ${dir}`);
    for (const f of [
      "package.json",
      "tsconfig.json",
      "README.md",
      "src/index.ts",
      `src/${name}-drv.ts`,
      `src/${name}-drm.ts`,
      "src/conformance.ts",
      `test/${name}.test.ts`,
    ])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg.name).toBe(`@drmsim/${name}`);
    expect(pkg.exports["."]["@drmsim/source"]).toBe("./src/index.ts");
    expect(pkg.dependencies["@drmsim/drm"]).toBe("workspace:*");
    const tsconfig = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8"));
    expect(tsconfig.extends).toBe("../../tsconfig.base.json");

    // What `pnpm install` would do for the workspace deps (without touching the lockfile).
    const nm = join(dir, "node_modules", "@drmsim");
    mkdirSync(nm, { recursive: true });
    for (const d of ["runtime", "dma-fence", "dma-resv", "dma-buf", "gem", "drm"])
      symlinkSync(join(root, "packages", d), join(nm, d), "dir");
    symlinkSync(join(root, "tools", "testing"), join(nm, "testing"), "dir");
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
    expect(report.numPassedTests).toBe(7); // 5 conformance checks + 2 uAPI tests

    // And the CLI validates it straight from the package directory.
    const v = await runCli(["validate", dir]);
    expect(v.out).toContain("5 checks passed");
    expect(v.code).toBe(0);

    // A second scaffold into the same place is refused.
    const again = await runCli(["new", "driver", name, "--dir", dir]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists/);
  });
});
