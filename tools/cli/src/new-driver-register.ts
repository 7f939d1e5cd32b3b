/**
 * Where a scaffolded driver must be listed in a drmsim checkout so that it is built, documented
 * and released with the rest: `tsconfig.build.json` (`pnpm build`, `tsc -b`, builds only what it
 * references), `typedoc.json` (`pnpm run docs`) and the changesets fixed group (every public
 * package is versioned together). `pnpm-workspace.yaml`, the root `tsconfig.json` (`pnpm
 * typecheck`) and `vitest.config.ts` (`pnpm test`) list packages by glob (`drivers/*`), so a
 * package is covered there by where it lands: `driverLocationProblem` refuses a place they do not
 * cover. Only files the workspace has are touched, so a workspace that is not a drmsim checkout
 * is left alone. There is no kernel counterpart.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const read = (root: string, file: string): string | undefined => {
  const p = join(root, file);
  return existsSync(p) ? readFileSync(p, "utf8") : undefined;
};

/** The `X` of every `X/*` package glob in `pnpm-workspace.yaml`. */
function workspaceParents(yaml: string): string[] {
  return [...yaml.matchAll(/^\s*-\s*["']?([^"'*\s]+)\/\*["']?\s*$/gm)].map((m) => m[1]!);
}

/**
 * Why a package at `rel` (relative to the workspace root, `/`-separated) would be missed by the
 * workspace's globs — `pnpm install` would not link it, `pnpm typecheck` or `pnpm test` would not
 * see it — or undefined if it is covered (or the workspace has no such lists).
 */
export function driverLocationProblem(root: string, rel: string): string | undefined {
  const parts = rel.split("/");
  const parent = parts.slice(0, -1).join("/");
  const yaml = read(root, "pnpm-workspace.yaml");
  const tsconfig = read(root, "tsconfig.json");
  const parents = yaml === undefined ? [] : workspaceParents(yaml);
  const typechecked = (p: string) =>
    tsconfig === undefined ||
    (JSON.parse(tsconfig) as { include?: string[] }).include?.includes(`${p}/*/src`);
  const ok = parents.filter((p) => typechecked(p));
  if (yaml === undefined || (parts.length === 2 && ok.includes(parent))) return undefined;
  return `${rel} is not where this workspace looks for packages (${ok.map((p) => `${p}/<name>`).join(", ")}): pnpm install, pnpm typecheck and pnpm test would miss it. Choose one of those, or a --dir outside the workspace`;
}

/** Inserts `item` into `list` after the last element `near` accepts (at the end if none does). */
function insertNear<T>(list: T[], item: T, near: (x: T) => boolean): void {
  let at = list.length;
  for (let i = list.length - 1; i >= 0; i--)
    if (near(list[i]!)) {
      at = i + 1;
      break;
    }
  list.splice(at, 0, item);
}

/** `file` parsed, changed by `edit` (which returns false for "nothing to do"), written back as `JSON.stringify` lays it out. */
function editJson<T>(root: string, file: string, edit: (json: T) => boolean): boolean {
  const text = read(root, file);
  if (text === undefined) return false;
  const json = JSON.parse(text) as T;
  if (!edit(json)) return false;
  writeFileSync(join(root, file), `${JSON.stringify(json, null, 2)}\n`);
  return true;
}

/**
 * Adds the package at `rel` (named `name`) to the build lists of the workspace at `root`; returns
 * the files it changed. A public package also joins the changesets fixed group that holds the
 * `@drmsim/*` packages (edited in place: that file is laid out by hand).
 */
export function registerDriverPackage(root: string, rel: string, name: string, isPublic: boolean): string[] {
  const changed: string[] = [];
  const parent = `${rel.split("/")[0]}/`;
  if (
    editJson<{ references?: { path: string }[] }>(root, "tsconfig.build.json", (j) => {
      const refs = j.references;
      if (refs === undefined || refs.some((r) => r.path === rel)) return false;
      insertNear(refs, { path: rel }, (r) => r.path.startsWith(parent));
      return true;
    })
  )
    changed.push("tsconfig.build.json");
  if (
    editJson<{ entryPoints?: string[] }>(root, "typedoc.json", (j) => {
      const entries = j.entryPoints;
      if (entries === undefined || entries.includes(rel)) return false;
      insertNear(entries, rel, (e) => e.startsWith(parent));
      return true;
    })
  )
    changed.push("typedoc.json");
  if (isPublic && addToFixedGroup(root, name)) changed.push(".changeset/config.json");
  return changed;
}

/** Adds `name` to the `fixed` group of `.changeset/config.json` that holds `@drmsim/*` packages. */
function addToFixedGroup(root: string, name: string): boolean {
  const file = ".changeset/config.json";
  const text = read(root, file);
  if (text === undefined) return false;
  const fixed = (JSON.parse(text) as { fixed?: string[][] }).fixed ?? [];
  const group = fixed.find((g) => g.some((n) => n.startsWith("@drmsim/")));
  if (group === undefined || group.includes(name)) return false;
  // The group's last member, as written after "fixed": insert after it on a line of its own.
  const last = JSON.stringify(group[group.length - 1]);
  const at = text.indexOf(last, text.indexOf('"fixed"'));
  if (at < 0) return false;
  const lineStart = text.lastIndexOf("\n", at) + 1;
  const indent = /^\s*/.exec(text.slice(lineStart, at))![0];
  const end = at + last.length;
  writeFileSync(
    join(root, file),
    `${text.slice(0, end)},\n${indent}${JSON.stringify(name)}${text.slice(end)}`,
  );
  return true;
}
