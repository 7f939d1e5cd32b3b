/**
 * Runs `docs/writing-a-driver.md`: every code block in it is code this test executes, so the
 * guide cannot drift from the framework it teaches.
 *
 * - A ```ts block whose first line is `// <name>.ts — …` is a file of the guide's driver; the
 *   others are programs. All are written to a scratch directory beside this test (so they
 *   resolve the workspace packages), typechecked with the repository's compiler options and
 *   checked by biome, as a driver package's own sources would be.
 * - Each program runs, in order; what it prints (`console.log`) must be the ```text block that
 *   follows it, byte for byte — that is how the guide shows real validator reports.
 *   `UPDATE_GUIDE=1 pnpm exec vitest run test/docs` writes the actual output into the guide.
 * - The ```sh block is the scaffold and the next steps `drmsim new driver` prints, which
 *   `tools/cli/test/new-driver.test.ts` runs.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { format, promisify } from "node:util";
import { nextSteps } from "@drmsim/cli";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  type FencedBlock as Block,
  docScratchDir,
  fencedBlocks,
  typecheckDocScratch,
} from "../helpers/markdown.js";

const root = resolve(import.meta.dirname, "../..");
const guidePath = join(root, "docs", "writing-a-driver.md");
const guide = readFileSync(guidePath, "utf8");
const run = promisify(execFile);

const FILE_RE = /^\/\/ ([\w-]+\.ts) — /;
const blocks = fencedBlocks(guide);
const files = blocks.filter((b) => b.lang === "ts" && FILE_RE.test(b.code));
const programs = blocks
  .map((b, i) => ({ ...b, index: i }))
  .filter((b) => b.lang === "ts" && !FILE_RE.test(b.code))
  .map((b, n) => {
    const next = blocks[b.index + 1];
    return {
      ...b,
      file: `program-${String(n + 1).padStart(2, "0")}.ts`,
      output: next?.lang === "text" ? next : undefined,
    };
  });

const dir = await docScratchDir(import.meta.dirname, "guide");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const f of files) writeFileSync(join(dir, FILE_RE.exec(f.code)![1]!), f.code);
for (const p of programs) writeFileSync(join(dir, p.file), p.code);

const updates: { block: Block; text: string }[] = [];
afterAll(() => {
  if (updates.length === 0) return;
  let md = guide;
  for (const u of updates.sort((a, b) => b.block.start - a.block.start))
    md = md.slice(0, u.block.start) + u.text + md.slice(u.block.end);
  writeFileSync(guidePath, md);
});

describe("docs/writing-a-driver.md", () => {
  it("has the driver's files, programs and their outputs, and no code block this test does not run", () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(programs.length).toBeGreaterThanOrEqual(8);
    for (const b of blocks)
      expect(["ts", "text", "sh"], `block at line ${b.line} is \`\`\`${b.lang}`).toContain(b.lang);
    // Every output belongs to the program right before it.
    const outputs = new Set(programs.map((p) => p.output));
    for (const b of blocks.filter((x) => x.lang === "text"))
      expect(outputs.has(b), `the text block at line ${b.line} follows no program`).toBe(true);
  });

  it("shows the scaffold and the next steps drmsim new driver prints", () => {
    const sh = blocks.filter((b) => b.lang === "sh");
    expect(sh).toHaveLength(1);
    const steps = nextSteps(
      {
        dir: join(root, "drivers", "mygpu"),
        files: [],
        inWorkspace: true,
        root,
        registered: [],
        formatted: true,
      },
      root,
      "pnpm drmsim",
    );
    expect(sh[0]!.code).toBe(`${["pnpm drmsim new driver mygpu", ...steps].join("\n")}\n`);
  });

  it("its code typechecks and is lint-clean", async () => {
    const bin = (b: string) => join(root, "node_modules", ".bin", b);
    await typecheckDocScratch(root, dir);
    await run(bin("biome"), ["check", dir], { cwd: root });
  });

  for (const p of programs) {
    const title =
      p.code
        .split("\n")
        .find((l) => l.startsWith("// "))
        ?.slice(3) ?? p.file;
    it(`program at line ${p.line}: ${title}`, async () => {
      const printed: string[] = [];
      const log = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
        printed.push(format(...args));
      });
      try {
        await import(pathToFileURL(join(dir, p.file)).href);
      } finally {
        log.mockRestore();
      }
      const actual = printed.length === 0 ? "" : `${printed.join("\n")}\n`;
      if (process.env.UPDATE_GUIDE === "1" && p.output !== undefined && p.output.code !== actual)
        updates.push({ block: p.output, text: actual });
      else expect(actual).toBe(p.output?.code ?? "");
    });
  }
});
