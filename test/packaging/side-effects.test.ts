/**
 * `sideEffects` is a promise to bundlers: a module of the package that is listed there (or every
 * module, for `true`) runs its top level for a reason; any other may be dropped when nothing it
 * exports is used. publint and arethetypeswrong cannot check the promise, so this test does, on
 * every public package's sources:
 *
 * - a module not listed does no work at import time: its top level only declares (imports,
 *   exports, functions, classes, types, and constants whose initialisers call nothing outside the
 *   module but known pure factories), or fills a table private to the module (listed below, each
 *   reviewed);
 * - a bare `import "x"` (an import for side effects only) appears only in a listed module, or
 *   imports a listed module of the same package;
 * - every listed path exists, in `dist/` and `src/` alike.
 *
 * The bundled consumers (`bundlers.test.ts` here, and release:check's from the registry) prove
 * the promise on a real scenario.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..", "..");

/** Module-private lookup tables filled by a loop at load: reviewed, they touch nothing outside. */
const PRIVATE_TABLES = new Set([
  "packages/runtime/src/errno.ts", // NAMES_BY_NUMBER, from ERRNO
  "packages/drm/src/drm-ioctl-table.ts", // BY_NAME, from DRM_CORE_IOCTLS (and the duplicate check)
]);

/**
 * Functions and constructors a top-level constant may call: they build a value and touch no
 * state outside it (a tracepoint descriptor, a DI token, an ioctl descriptor, a unit conversion).
 */
const PURE = new Set([
  // uAPI declarations: a struct layout, an ioctl request code, an ioctl table (runtime/src/uapi).
  "uapiStruct",
  "uapiUnion",
  "union",
  "anonUnion",
  "mbz",
  "flagsMask",
  "userPtr",
  "opaquePtr",
  "fixedArray",
  "chars",
  "ext",
  "io",
  "ior",
  "iow",
  "iowr",
  "DRM_IO",
  "DRM_IOR",
  "DRM_IOW",
  "DRM_IOWR",
  "ioctlDef",
  "ioctlTable",
  "BigInt",
  "String", // String.raw`…`: the report's embedded script, a constant
  "defineTracepoint",
  "subsystemMemo", // makes a closure over the key and init and numbers its slot; nothing runs until it is called
  "drmToken",
  "drmIoctlDef",
  "drmIoctlDefDrv",
  "defineScenario",
  "usecs",
  "msecs",
  "secs",
  "Symbol",
  "Math",
  "Number",
  "Object",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "AsyncLocalStorage",
  "Promise",
  "URL",
  "fileURLToPath",
]);

interface Pkg {
  dir: string;
  name: string;
  sideEffects: boolean | string[];
}

const publicPackages: Pkg[] = ["packages", "drivers", "tools"]
  .flatMap((top) => readdirSync(join(root, top)).map((d) => join(root, top, d)))
  .filter((dir) => existsSync(join(dir, "package.json")) && existsSync(join(dir, "src")))
  .map((dir) => ({ dir, m: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
  .filter(({ m }) => !m.private)
  .map(({ dir, m }) => ({ dir, name: m.name, sideEffects: m.sideEffects ?? true }));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return f.endsWith(".ts") && !f.endsWith(".d.ts") ? [p] : [];
  });
}

const listed = (pkg: Pkg, file: string): boolean =>
  pkg.sideEffects === true ||
  (Array.isArray(pkg.sideEffects) && pkg.sideEffects.some((p) => resolve(pkg.dir, p) === file));

/** The names a module declares at its top level (and so may touch at load). */
function ownNames(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st))
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) names.add(st.name.text);
  }
  return names;
}

/** Calls made while evaluating `node` (not inside functions or classes it defines), by callee root name. */
function callsAtLoad(node: ts.Node, out: string[]): void {
  if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
  if (ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node)) {
    let callee: ts.Expression = ts.isTaggedTemplateExpression(node) ? node.tag : node.expression;
    while (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee))
      callee = callee.expression;
    out.push(ts.isIdentifier(callee) ? callee.text : callee.getText());
  }
  ts.forEachChild(node, (c) => callsAtLoad(c, out));
}

/** What the module does at import time that it should not, if it is not listed. */
function workAtLoad(pkg: Pkg, file: string): string[] {
  const rel = relative(root, file);
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const own = ownNames(sf);
  const problems: string[] = [];
  const line = (n: ts.Node) => `${rel}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      if (st.importClause === undefined) {
        const target = spec.startsWith(".") ? resolve(file, "..", spec.replace(/\.js$/, ".ts")) : undefined;
        if (target === undefined || !listed(pkg, target))
          problems.push(`${line(st)}: imports "${spec}" for its side effects`);
      }
      continue;
    }
    if (
      ts.isExportDeclaration(st) ||
      ts.isFunctionDeclaration(st) ||
      ts.isClassDeclaration(st) ||
      ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st) ||
      ts.isEnumDeclaration(st) ||
      ts.isModuleDeclaration(st) ||
      ts.isEmptyStatement(st)
    )
      continue;
    if (ts.isVariableStatement(st) || ts.isExportAssignment(st)) {
      const calls: string[] = [];
      callsAtLoad(st, calls);
      for (const c of calls)
        if (!PURE.has(c) && !own.has(c)) problems.push(`${line(st)}: calls ${c}() at load`);
      continue;
    }
    if (PRIVATE_TABLES.has(rel) && ts.isForOfStatement(st)) continue;
    problems.push(`${line(st)}: runs a ${ts.SyntaxKind[st.kind]} at load`);
  }
  return problems;
}

describe("sideEffects: what each public package promises bundlers holds", () => {
  it("finds the public packages", () => {
    expect(publicPackages.length).toBeGreaterThanOrEqual(13);
  });

  for (const pkg of publicPackages)
    it(`${pkg.name}: modules outside "sideEffects" do no work at import time`, () => {
      expect(pkg.sideEffects === true ? "true" : "false or a list").toBe("false or a list");
      const problems = sources(join(pkg.dir, "src"))
        .filter((f) => !listed(pkg, f))
        .flatMap((f) => workAtLoad(pkg, f));
      expect(problems).toEqual([]);
      for (const p of Array.isArray(pkg.sideEffects) ? pkg.sideEffects : []) {
        expect(p, `${pkg.name}: sideEffects lists ${p}`).toMatch(/^\.\/(dist|src|bin)\//);
        // A built module is listed with its source (bundling from sources honours the same list).
        const src = p.startsWith("./dist/") ? p.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts") : p;
        expect(existsSync(resolve(pkg.dir, src)), `${pkg.name} lists ${p}: no ${src}`).toBe(true);
        expect(pkg.sideEffects, `${pkg.name} lists ${p} but not ${src}`).toContain(src);
      }
    });
});
