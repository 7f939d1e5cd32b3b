#!/usr/bin/env node
// Every symbol a public package exports must carry a doc comment: that comment is the only place a
// driver author learns which kernel symbol the export mirrors and what it requires (STYLE.md), and
// it is what `pnpm run docs` (TypeDoc) renders. Uses the TypeScript compiler API on the sources, so
// it needs no build and is fast enough to run from release-check.
//
//   node scripts/check-docs.mjs            check every public package, exit 1 listing what is missing
//   node scripts/check-docs.mjs --json     the same, as JSON on stdout
//   node scripts/check-docs.mjs drivers/vgem packages/gem   only these packages
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const asJson = args.includes("--json");
// --members: also list public members (methods, properties, accessors) of exported classes and
// interfaces without a comment. Informational: it never changes the exit status.
const withMembers = args.includes("--members");
const only = args.filter((a) => !a.startsWith("--")).map((a) => resolve(root, a));

/** Public (non-private) workspace packages with their entry modules, from the exports map. */
export function publicPackages() {
  return ["packages", "drivers", "tools"]
    .flatMap((top) =>
      existsSync(join(root, top)) ? readdirSync(join(root, top)).map((d) => join(root, top, d)) : [],
    )
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ dir, manifest }) => ({
      dir,
      name: manifest.name,
      // Every subpath export that has a source entry (e.g. "@drmsim/drm-sched/testing") is public too.
      entries: Object.entries(manifest.exports ?? {})
        .filter(([sub]) => sub !== "./package.json")
        .map(([sub, target]) => {
          const src = typeof target === "object" ? target["@drmsim/source"] : undefined;
          const dist = typeof target === "object" ? (target.default ?? target.import) : target;
          const file =
            src ??
            String(dist)
              .replace(/^\.\/dist\//, "./src/")
              .replace(/\.js$/, ".ts");
          return { sub, file: join(dir, file) };
        })
        .filter((e) => existsSync(e.file)),
    }));
}

function hasDoc(decl) {
  // A variable's comment sits on its statement; ts.getJSDocCommentsAndTags walks up to it.
  const docs = ts.getJSDocCommentsAndTags(decl);
  if (docs.some((d) => ts.isJSDoc(d) && (d.comment || d.tags?.length))) return true;
  return false;
}

const undocumentedMembers = [];
function memberGaps(pkg, entry, owner, decls) {
  for (const d of decls) {
    if (!ts.isClassDeclaration(d) && !ts.isInterfaceDeclaration(d)) continue;
    for (const m of d.members) {
      const name = m.name && ts.isIdentifier(m.name) ? m.name.text : undefined;
      if (!name || name.startsWith("_") || ts.isConstructorDeclaration(m)) continue;
      const mods = ts.getCombinedModifierFlags(m);
      if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      if (m.name && ts.isPrivateIdentifier(m.name)) continue;
      if (ts.getJSDocCommentsAndTags(m).some((j) => ts.isJSDoc(j) && (j.comment || j.tags?.length))) continue;
      const sfile = m.getSourceFile();
      const { line } = sfile.getLineAndCharacterOfPosition(m.getStart());
      undocumentedMembers.push({
        pkg: pkg.name,
        entry: entry.sub,
        symbol: `${owner}.${name}`,
        where: `${relative(root, sfile.fileName)}:${line + 1}`,
      });
    }
  }
}

function check(pkgs) {
  const missing = [];
  let checked = 0;
  const files = pkgs.flatMap((p) => p.entries.map((e) => e.file));
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  const program = ts.createProgram({ rootNames: files, options: { ...config.options, noEmit: true } });
  const checker = program.getTypeChecker();
  for (const pkg of pkgs) {
    for (const entry of pkg.entries) {
      const sf = program.getSourceFile(entry.file);
      const mod = sf && checker.getSymbolAtLocation(sf);
      if (!mod) {
        missing.push({
          pkg: pkg.name,
          entry: entry.sub,
          symbol: "(module)",
          where: relative(root, entry.file),
        });
        continue;
      }
      for (const exp of checker.getExportsOfModule(mod)) {
        const target = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
        const decls = (target.declarations ?? []).filter((d) => !ts.isSourceFile(d));
        // Re-exported namespaces (`export * as x`) and declarations outside the workspace (a
        // re-exported dependency type) are documented where they come from.
        const own = decls.filter((d) => !d.getSourceFile().fileName.includes("/node_modules/"));
        if (own.length === 0) continue;
        checked++;
        if (withMembers) memberGaps(pkg, entry, exp.name, own);
        // Overloads and declaration merging: a comment on any declaration documents the symbol.
        if (own.some(hasDoc)) continue;
        const d = own[0];
        const sfile = d.getSourceFile();
        const { line } = sfile.getLineAndCharacterOfPosition(d.getStart());
        missing.push({
          pkg: pkg.name,
          entry: entry.sub,
          symbol: exp.name,
          where: `${relative(root, sfile.fileName)}:${line + 1}`,
        });
      }
    }
  }
  return { missing, checked };
}

const pkgs = publicPackages().filter((p) => only.length === 0 || only.includes(p.dir));
const { missing, checked } = check(pkgs);
if (asJson) {
  console.log(JSON.stringify(missing, null, 2));
} else if (missing.length === 0) {
  const n = pkgs.reduce((s, p) => s + p.entries.length, 0);
  console.log(
    `check-docs: all ${checked} exports of ${pkgs.length} public packages (${n} entry points) have a doc comment`,
  );
} else {
  console.error(`check-docs: ${missing.length} exported symbol(s) without a doc comment:`);
  for (const m of missing)
    console.error(`  ${m.pkg}${m.entry === "." ? "" : m.entry.slice(1)}  ${m.symbol}  (${m.where})`);
}
if (withMembers) {
  // Node 20 has no Object.groupBy.
  const byPkg = {};
  for (const m of undocumentedMembers) {
    byPkg[m.pkg] ??= [];
    byPkg[m.pkg].push(m);
  }
  console.log(`check-docs --members: ${undocumentedMembers.length} public member(s) without a doc comment`);
  for (const [name, list] of Object.entries(byPkg)) {
    console.log(`  ${name}: ${list.length}`);
    if (args.includes("--verbose")) for (const m of list) console.log(`    ${m.symbol}  (${m.where})`);
  }
}
process.exit(missing.length === 0 ? 0 : 1);
