/**
 * Runs the packages' READMEs: every ```ts block in a README is a program this test executes as
 * written, so an example cannot drift from the code it shows.
 *
 * - Each block is written to a scratch directory beside this test (so it resolves the workspace
 *   packages), typechecked with the repository's compiler options, and imported.
 * - A `console.log(…)` in an example ends its line with a comment saying what it prints:
 *   `console.log(x); // 64: one segment per MiB`. What it printed (`util.format`, whitespace
 *   collapsed) must be the comment, or the comment's beginning followed by `:`, `,`, ` —` or ` (`
 *   and the explanation. Every such line must print at least once.
 * - A block marked ```ts fragment shows an API shape inside prose and is not run; the test lists
 *   them so a runnable example cannot hide behind the mark.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { format, promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { docScratchDir, fencedBlocks, typecheckDocScratch } from "../helpers/markdown.js";

const root = resolve(import.meta.dirname, "../..");
const _run = promisify(execFile);

const readmes = ["packages", "drivers", "tools"]
  .flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, group, d.name, "README.md")),
  )
  .filter((p) => existsSync(p));

interface LogLine {
  /** `README.md:58` — where the call is. */
  where: string;
  expected: string;
}

interface Program {
  readme: string;
  file: string;
  line: number;
  logs: Map<number, LogLine>;
}

const LOG_CALL = /console\.log\(/g;
const TRAILING_COMMENT = /\)\s*;?\s*\/\/\s?(.*)$/;

const dir = await docScratchDir(import.meta.dirname, "readmes");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a rewritten `console.log` reports to: the test reads it after each import. */
const printed: { id: number; text: string }[] = [];
(globalThis as { __readmeLog?: (id: number, ...args: unknown[]) => void }).__readmeLog = (id, ...args) => {
  printed.push({ id, text: format(...args) });
};
writeFileSync(
  join(dir, "readme-log.ts"),
  "/** Records what an example prints, keyed by the line of its console.log. */\n" +
    "export function __readmeLog(id: number, ...args: unknown[]): void {\n" +
    "  (globalThis as unknown as { __readmeLog(id: number, ...args: unknown[]): void }).__readmeLog(id, ...args);\n" +
    "}\n",
);

const programs: Program[] = [];
const fragments: string[] = [];
let nextId = 0;
for (const readme of readmes) {
  const name = relative(root, readme);
  const slug = relative(root, join(readme, "..")).replaceAll("/", "-");
  const blocks = fencedBlocks(readFileSync(readme, "utf8")).filter((b) => b.lang === "ts");
  blocks.forEach((b, n) => {
    if (b.info === "fragment") {
      fragments.push(`${name}:${b.line}`);
      return;
    }
    const logs = new Map<number, LogLine>();
    const lines = b.code.split("\n").map((text, i) => {
      const where = `${name}:${b.line + 1 + i}`;
      return text.replace(LOG_CALL, () => {
        const id = nextId++;
        logs.set(id, { where, expected: TRAILING_COMMENT.exec(text)?.[1] ?? "" });
        return `__readmeLog(${id}, `;
      });
    });
    const file = `${slug}-${n + 1}.ts`;
    const header = logs.size > 0 ? 'import { __readmeLog } from "./readme-log.js";\n' : "";
    writeFileSync(join(dir, file), header + lines.join("\n"));
    programs.push({ readme: name, file, line: b.line, logs });
  });
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim();

/** `comment` says `output`: equal, or `output` followed by an explanation. */
function says(comment: string, output: string): boolean {
  const c = squash(comment);
  const o = squash(output);
  if (c === o) return true;
  if (!c.startsWith(o)) return false;
  const rest = c.slice(o.length);
  return [":", ",", " —", " ("].some((sep) => rest.startsWith(sep));
}

describe("README examples", () => {
  it("every package README has an example that runs, and fragments are few", () => {
    const withProgram = new Set(programs.map((p) => p.readme));
    for (const readme of readmes)
      expect(withProgram, `${relative(root, readme)} has no program`).toContain(relative(root, readme));
    expect(fragments.length).toBeLessThanOrEqual(programs.length / 2);
  });

  it("typecheck", async () => {
    await typecheckDocScratch(root, dir);
  });

  for (const p of programs) {
    it(`${p.readme}:${p.line}`, async () => {
      printed.length = 0;
      await import(pathToFileURL(join(dir, p.file)).href);
      for (const [id, log] of p.logs) {
        const outputs = printed.filter((x) => x.id === id).map((x) => x.text);
        expect(log.expected, `${log.where}: console.log needs a comment saying what it prints`).not.toBe("");
        expect(outputs.length, `${log.where}: this console.log never ran`).toBeGreaterThan(0);
        for (const out of outputs)
          expect(
            says(log.expected, out),
            `${log.where}: printed "${squash(out)}", the README says "${log.expected}"`,
          ).toBe(true);
      }
    });
  }
});
