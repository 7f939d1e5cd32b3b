/**
 * The commands the CLI prints must work where the user is: `drmsimCommand` per kind of install,
 * and, end to end in this checkout, the `replay` line of `drmsim explore` pasted as printed from
 * a subdirectory replays the failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { drmsimCommand } from "../src/invocation.js";

const tmp = mkdtempSync(join(tmpdir(), "drmsim-invocation-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Creates `files` (path → content) under `base`. */
function tree(base: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(base, p)), { recursive: true });
    writeFileSync(join(base, p), text);
  }
}
const cmd = (file: string, cwd: string, env: Record<string, string> = {}) =>
  drmsimCommand({ file, cwd, env, version: "1.2.3" });

describe("drmsimCommand: how a printed command is spelled", () => {
  const ws = join(tmp, "checkout");
  tree(ws, {
    "pnpm-workspace.yaml": "packages: [tools/*]\n",
    "tools/cli/package.json": "{}",
    "tools/cli/src/invocation.ts": "",
    "drivers/x/.keep": "",
  });
  const fromSource = join(ws, "tools/cli/src/invocation.ts");

  it("a source checkout: the workspace script at its root, with -w below it", () => {
    expect(cmd(fromSource, ws)).toBe("pnpm drmsim");
    expect(cmd(fromSource, join(ws, "drivers/x"))).toBe("pnpm -w drmsim");
    expect(cmd(join(ws, "tools/cli/dist/invocation.js"), ws)).toBe("pnpm drmsim");
  });

  const proj = join(tmp, "project");
  tree(proj, {
    "package.json": "{}",
    "node_modules/.pnpm/@drmsim+cli@1.2.3/node_modules/@drmsim/cli/package.json": "{}",
    "node_modules/.pnpm/@drmsim+cli@1.2.3/node_modules/@drmsim/cli/dist/invocation.js": "",
    "src/.keep": "",
  });
  const store = join(proj, "node_modules/.pnpm/@drmsim+cli@1.2.3/node_modules/@drmsim/cli");
  mkdirSync(join(proj, "node_modules/@drmsim"), { recursive: true });
  symlinkSync(store, join(proj, "node_modules/@drmsim/cli"), "dir");
  const installed = join(store, "dist/invocation.js");

  it("installed in the user's project (also through pnpm's symlinks): the package manager's runner", () => {
    expect(cmd(installed, proj)).toBe("npx drmsim");
    expect(cmd(installed, join(proj, "src"))).toBe("npx drmsim");
    expect(cmd(installed, proj, { npm_config_user_agent: "pnpm/10.34.9 npm/? node/v20.20.2" })).toBe(
      "pnpm exec drmsim",
    );
    expect(cmd(installed, proj, { npm_config_user_agent: "yarn/4.5.0 npm/? node/v20.20.2" })).toBe(
      "yarn drmsim",
    );
    expect(cmd(installed, proj, { npm_config_user_agent: "bun/1.2.0" })).toBe("bunx drmsim");
  });

  it("run from npx's cache: the package and its version", () => {
    const cache = join(tmp, ".npm/_npx/0123abcd/node_modules/@drmsim/cli");
    tree(cache, { "package.json": "{}", "dist/invocation.js": "" });
    expect(cmd(join(cache, "dist/invocation.js"), proj)).toBe("npx -y @drmsim/cli@1.2.3");
  });

  it("installed globally (not in the project the user is in): the bin on PATH", () => {
    const global = join(tmp, "prefix/lib/node_modules/@drmsim/cli");
    tree(global, { "package.json": "{}", "dist/invocation.js": "" });
    expect(cmd(join(global, "dist/invocation.js"), proj)).toBe("drmsim");
    expect(cmd(join(global, "dist/invocation.js"), tmp)).toBe("drmsim");
  });
});

describe("the replay line of `drmsim explore`, pasted as printed", () => {
  it("replays the failure from a subdirectory of this checkout (pnpm -w drmsim, paths relative to it)", () => {
    const cliDir = join(import.meta.dirname, "..");
    const root = join(cliDir, "..", "..");
    // The scenario lives below tools/cli and is named relative to it, as a user in tools/cli would.
    const work = mkdtempSync(join(import.meta.dirname, ".tmp-"));
    try {
      writeFileSync(join(work, "package.json"), '{ "type": "module" }\n');
      writeFileSync(
        join(work, "tie-race.ts"),
        `import { HardwareEngine, usecs, WaitQueue } from "${join(root, "packages/runtime/src/index.js")}";
import { defineScenario } from "${join(root, "tools/cli/src/index.js")}";
export default defineScenario({
  name: "tie-race",
  durationNs: usecs(10),
  setup({ sim }) {
    const wq = new WaitQueue(sim, "slot_wq");
    let first: string | null = null;
    for (const name of ["gfx", "copy"])
      new HardwareEngine(sim, name).submit({ durationNs: usecs(1), onComplete: () => { first ??= name; if (name === "gfx") wq.wakeUpAll(); } });
    sim.spawn("waiter", () => wq.waitEvent(() => first === "gfx"));
  },
});
`,
      );
      const scenario = relative(cliDir, join(work, "tie-race.ts"));
      const out = join(relative(cliDir, work), "out");
      const explore = spawnSync(
        "pnpm",
        ["-w", "--silent", "drmsim", "explore", scenario, "--runs", "40", "--workers", "1", "--out", out],
        { cwd: cliDir, encoding: "utf8" },
      );
      expect(explore.status, explore.stderr).toBe(1);
      const line = /^ {2}replay: (.+)$/m.exec(explore.stdout)?.[1];
      expect(line).toMatch(/^pnpm -w drmsim replay \S+$/);
      // Pasted into a shell where the user is, with a relative --trace path of theirs.
      const trace = join(relative(cliDir, work), "t.json");
      const replayed = spawnSync(
        "sh",
        ["-c", `${line!.replace(/^pnpm /, "pnpm --silent ")} --trace ${trace}`],
        {
          cwd: cliDir,
          encoding: "utf8",
        },
      );
      expect(replayed.stdout).toMatch(/replaying .*tie-race\.ts \(seed 1\) with 1 decision/);
      expect(replayed.stdout).toMatch(/deadlock/);
      expect(replayed.status).toBe(1);
      // Written relative to where the user typed the command, not to the workspace root.
      expect(execFileSync("ls", [work], { encoding: "utf8" })).toContain("t.json");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("bin/drmsim.js, the committed launcher pnpm links before anything is built", () => {
  it("without dist/, says how to build or run from sources, exit 1", () => {
    const pkg = join(tmp, "unbuilt-cli");
    tree(pkg, { "package.json": '{ "type": "module" }' });
    mkdirSync(join(pkg, "bin"));
    writeFileSync(
      join(pkg, "bin", "drmsim.js"),
      readFileSync(join(import.meta.dirname, "..", "bin", "drmsim.js"), "utf8"),
    );
    const r = spawnSync(process.execPath, [join(pkg, "bin", "drmsim.js"), "--version"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "drmsim: error: this checkout of @drmsim/cli is not built: run `pnpm build`, or run the CLI from sources with `pnpm drmsim <command>` at the workspace root\n",
    );
  });

  it("with dist/, runs the built CLI", () => {
    const pkg = join(tmp, "built-cli");
    tree(pkg, {
      "package.json": '{ "type": "module" }',
      "dist/bin.js": 'process.stdout.write("built " + process.argv.slice(2).join(" ") + "\\n");\n',
    });
    mkdirSync(join(pkg, "bin"));
    writeFileSync(
      join(pkg, "bin", "drmsim.js"),
      readFileSync(join(import.meta.dirname, "..", "bin", "drmsim.js"), "utf8"),
    );
    const r = spawnSync(process.execPath, [join(pkg, "bin", "drmsim.js"), "--version"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("built --version\n");
  });
});
