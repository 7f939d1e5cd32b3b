/** Fenced code blocks of a markdown text — what the docs tests execute. */

/** One fenced block. */
export interface FencedBlock {
  /** The language (first word of the info string). */
  lang: string;
  /** The rest of the info string (`fragment` marks a ts block that is not a program). */
  info: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Offsets of the code in the text (to rewrite it in place). */
  start: number;
  end: number;
}

/** Every fenced block of `md`, in order. */
export function fencedBlocks(md: string): FencedBlock[] {
  const out: FencedBlock[] = [];
  const re = /^```([\w-]*)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(md); m !== null; m = re.exec(md)) {
    const start = m.index + m[0].indexOf("\n") + 1;
    out.push({
      lang: m[1]!,
      info: m[2]!.trim(),
      code: m[3]!,
      line: md.slice(0, m.index).split("\n").length,
      start,
      end: start + m[3]!.length,
    });
  }
  return out;
}

/**
 * The ```ts fragment block of `readme` whose first line is `firstLine`, run as written: its
 * `import` lines are dropped (the caller's `scope` supplies every name they import, checked), the
 * rest runs as the body of an async function over `scope`, and the names in `returns` come back.
 * Fragments are plain JavaScript in TypeScript clothing — no type annotations — so no compiler is
 * needed and the README text is what runs.
 */
export async function runReadmeFragment(
  readme: string,
  firstLine: string,
  scope: Record<string, unknown>,
  returns: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const { readFileSync } = await import("node:fs");
  const block = fencedBlocks(readFileSync(readme, "utf8")).find(
    (b) => b.lang === "ts" && b.info === "fragment" && b.code.split("\n")[0] === firstLine,
  );
  if (block === undefined) throw new Error(`${readme} has no \`\`\`ts fragment starting with ${firstLine}`);
  const imported = [...block.code.matchAll(/^import\s*\{([^}]*)\}\s*from/gm)].flatMap((m) =>
    m[1]!.split(",").map((n) => n.trim().replace(/^type\s+/, "")),
  );
  for (const name of imported.filter((n) => n !== ""))
    if (!(name in scope))
      throw new Error(`${readme}:${block.line}: the fragment imports ${name}; pass it in scope`);
  const body = `${block.code.replace(/^import\s*(?:\{[^}]*\}|[^;]*?)\s*from\s*"[^"]*";?\s*$/gm, "")}\nreturn { ${returns.join(", ")} };`;
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<Record<string, unknown>>;
  return new AsyncFunction(...Object.keys(scope), body)(...Object.values(scope));
}

/**
 * A scratch directory `<parent>/.<prefix>-<random>` for code taken from a document, with a
 * tsconfig that checks its `*.ts` files under the repository's compiler options. Inside the
 * repository, so the files resolve the workspace packages as a package's sources do.
 */
export async function docScratchDir(parent: string, prefix: string): Promise<string> {
  const { randomBytes } = await import("node:crypto");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const dir = join(parent, `.${prefix}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.base.json",
      compilerOptions: {
        noEmit: true,
        composite: false,
        declaration: false,
        declarationMap: false,
        rootDir: ".",
      },
      include: ["*.ts"],
    }),
  );
  return dir;
}

/** Runs the repository's `tsc` on a `docScratchDir`; a type error throws with tsc's report. */
export async function typecheckDocScratch(root: string, dir: string): Promise<void> {
  const { execFile } = await import("node:child_process");
  const { join } = await import("node:path");
  const { promisify } = await import("node:util");
  await promisify(execFile)(join(root, "node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
    cwd: root,
  }).catch((e: { stdout?: string }) => {
    // tsc reports on stdout; show it (with the scratch files' names) rather than "Command failed".
    throw new Error(e.stdout ?? String(e));
  });
}
