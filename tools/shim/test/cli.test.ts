/**
 * `drmsim serve` and `drmsim exec` as the README shows them, through the CLI's own entry point:
 * exec with a scenario module that adds an accelerator, and exec inside serve's environment, which
 * runs the program against that server (its virtual clock moves) instead of starting another.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { shimBuildStatus, shimProgram } from "../src/index.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const scenario = path.join(repo, "tools/shim/test/fixtures/accel-scenario.ts");
const status = shimBuildStatus(["nodes", "syncobj_basic"]);
const inCi = process.env.CI === "true";

/** Every child started here, ended after the tests even when one timed out. */
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** `pnpm drmsim …` without pnpm: the workspace script's command line. */
function drmsim(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = { ...process.env };
  delete clean.DRMSIM_SOCKET;
  delete clean.DRMSIM_ROOT;
  delete clean.LD_PRELOAD;
  const child = spawn(
    process.execPath,
    ["--conditions=@drmsim/source", "--import", "tsx", path.join(repo, "tools/cli/src/bin.ts"), ...args],
    { cwd: repo, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  return child;
}

function finish(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(status.missing.length > 0 && !inCi)("drmsim serve and exec from the CLI", () => {
  it("exec --scenario runs the program against the defaults plus the scenario's accelerator", async () => {
    const r = await finish(drmsim(["exec", "--scenario", scenario, "--", shimProgram("nodes"), "accel"]));
    expect({ code: r.code, stderr: r.stderr }, r.stdout.split("\n").slice(-12).join("\n")).toEqual({
      code: 0,
      stderr: "",
    });
    expect(r.stdout).toContain("  major (ACCEL_MAJOR): 261\n");
    expect(r.stdout).toMatch(/\ndone\n$/);
  });

  it("serve prints the environment; exec in it uses that server, whose virtual clock the program moves", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drmsim-cli-"));
    const serve = drmsim(["serve", "--root", dir]);
    try {
      let out = "";
      serve.stdout?.setEncoding("utf8");
      await new Promise<void>((resolve, reject) => {
        serve.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
        serve.stdout?.on("data", (d: string) => {
          out += d;
          if (out.includes("# nodes:")) resolve();
        });
      });
      const env: Record<string, string> = {};
      for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
      // Not LD_PRELOAD: sourced into a shell it would preload the library into pnpm and node too.
      expect(Object.keys(env).sort()).toEqual(["DRMSIM_PRELOAD", "DRMSIM_ROOT", "DRMSIM_SOCKET"]);
      expect(out).toContain("/dev/dri/renderD129");
      const clock = () => fs.readFileSync(path.join(env.DRMSIM_ROOT!, "clock")).readBigInt64LE(0);
      expect(clock()).toBe(0n);
      const r = await finish(drmsim(["exec", "--", shimProgram("syncobj_basic")], env));
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      // syncobj_basic waits out a 5 s absolute timeout: serve's clock went past it.
      expect(clock()).toBeGreaterThanOrEqual(5_000_000_000n);
    } finally {
      serve.kill("SIGTERM");
      await finish(serve);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
