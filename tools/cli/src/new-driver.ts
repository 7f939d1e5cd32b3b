/**
 * `drmsim new driver <name>`: scaffolds a driver package built the way a DRM driver is reviewed —
 * rings on drm_sched with a container-provided `HardwareEngine` each, an entity per file, a GEM
 * create and a SUBMIT ioctl with a BO list and syncobjs, implicit sync under `DrmExec`, a TDR,
 * PRIME with a dynamic importer — with its userspace library (`/user`), a conformance descriptor,
 * a README and tests (uAPI errors, implicit sync with vgem both ways, planted faults,
 * conformance). The sources come from `templates/driver/` with the name substituted; package.json
 * and tsconfig are generated, because their relative paths depend on where the package lands. In
 * a drmsim checkout the package is added to the build lists (`new-driver-register.ts`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./load-scenario.js";
import { driverLocationProblem, registerDriverPackage } from "./new-driver-register.js";

/** A driver name: lowercase letters, digits, `-` or `_`, starting with a letter (npm- and kernel-safe). */
export const DRIVER_NAME_RE = /^[a-z][a-z0-9_-]{0,39}$/;

/** The spellings a template needs. */
export interface DriverNames {
  /** `my-gpu` — package, file and driver name. */
  name: string;
  /** `MyGpu` — class names. */
  pascal: string;
  /** `myGpu` — function names. */
  camel: string;
  /** `MY_GPU` — constants. */
  upper: string;
  /** `my_gpu` — C identifiers (`struct drm_my_gpu_submit`). */
  snake: string;
}

/** Derives the spellings of `name`; `UsageError` if it is not a valid driver name. */
export function driverNames(name: string): DriverNames {
  if (!DRIVER_NAME_RE.test(name) || /[-_]$/.test(name) || /[-_]{2}/.test(name))
    throw new UsageError(
      `invalid driver name '${name}': use lowercase letters, digits and single '-' or '_' (e.g. 'mygpu', 'my-gpu'), starting with a letter`,
    );
  const parts = name.split(/[-_]/);
  const pascal = parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join("");
  return {
    name,
    pascal,
    camel: pascal[0]!.toLowerCase() + pascal.slice(1),
    upper: parts.join("_").toUpperCase(),
    snake: parts.join("_"),
  };
}

/** The workspace root above `from` (the directory with `pnpm-workspace.yaml`), or undefined. */
export function findWorkspaceRoot(from: string): string | undefined {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const TEMPLATE_DIR = fileURLToPath(new URL("../templates/driver/", import.meta.url));

const substitute = (text: string, n: DriverNames) =>
  text
    .replaceAll("__NAME__", n.upper)
    .replaceAll("__Name__", n.pascal)
    .replaceAll("__ident__", n.camel)
    .replaceAll("__snake__", n.snake)
    .replaceAll("__name__", n.name);

function listTemplates(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const rel = prefix === "" ? entry : `${prefix}/${entry}`;
    if (statSync(join(dir, entry)).isDirectory()) out.push(...listTemplates(join(dir, entry), rel));
    else if (entry.endsWith(".tmpl")) out.push(rel);
  }
  return out;
}

const FRAMEWORK_DEPS = ["runtime", "dma-fence", "dma-resv", "dma-buf", "gem", "drm", "drm-sched"] as const;

/** A checkout of drmsim itself (its packages are workspace packages), not any pnpm workspace. */
function isDrmsimCheckout(root: string): boolean {
  const pj = join(root, "packages", "drm", "package.json");
  return existsSync(pj) && (JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "@drmsim/drm";
}

/** What `scaffoldDriver` wrote. */
export interface ScaffoldResult {
  dir: string;
  files: string[];
  /** True when the package landed inside a drmsim checkout (workspace:* deps, tsconfig references, build lists). */
  inWorkspace: boolean;
  /** The checkout's root, when `inWorkspace`. */
  root?: string;
  /** The checkout's files that now list the package (`tsconfig.build.json`, …), relative to `root`. */
  registered: string[];
  /** True when the workspace's biome formatted the files (import order and line breaks depend on the name). */
  formatted: boolean;
}

/**
 * Writes a new driver package `name` into `dir` (default `<workspace root or cwd>/drivers/<name>`).
 * `UsageError` for an invalid name, an existing directory, or a place inside a drmsim checkout
 * that its package globs do not cover; nothing is written then.
 */
export function scaffoldDriver(name: string, opts: { dir?: string; cwd?: string } = {}): ScaffoldResult {
  const n = driverNames(name);
  const cwd = opts.cwd ?? process.cwd();
  const root = findWorkspaceRoot(cwd);
  const dir = resolve(cwd, opts.dir ?? join(relative(cwd, root ?? cwd), "drivers", name));
  if (existsSync(dir)) throw new UsageError(`${dir} already exists: choose another name or --dir`);
  const found = findWorkspaceRoot(dirname(dir));
  const wsRoot = found !== undefined && isDrmsimCheckout(found) ? found : undefined;
  const inWorkspace = wsRoot !== undefined;
  const rel = wsRoot === undefined ? "" : relative(wsRoot, dir).replaceAll("\\", "/");
  if (wsRoot !== undefined) {
    const problem = driverLocationProblem(wsRoot, rel);
    if (problem !== undefined) throw new UsageError(problem);
  }
  const version = inWorkspace ? "workspace:*" : frameworkVersion();

  const files: [string, string][] = [];
  for (const rel of listTemplates(TEMPLATE_DIR)) {
    const text = readFileSync(join(TEMPLATE_DIR, rel), "utf8");
    files.push([substitute(rel.slice(0, -".tmpl".length), n), substitute(text, n)]);
  }
  // Sorted, as sherif (`pnpm lint:deps`) wants every manifest's dependencies.
  const deps = Object.fromEntries(
    [...FRAMEWORK_DEPS.map((d) => `@drmsim/${d}`), "@drmsim/testing"]
      .map((d) => [d, version])
      .concat([["tsyringe", "^4.10.0"]])
      .sort(([a], [b]) => (a! < b! ? -1 : 1)),
  );
  const pkg = {
    name: `@drmsim/${n.name}`,
    version: "0.1.0",
    description: `${n.name}: a simulated GPU driver for drmsim (rings on drm_sched, shmem GEM, PRIME, syncobjs).`,
    license: "MIT",
    type: "module",
    sideEffects: false,
    engines: { node: ">=20.19" },
    keywords: ["drm", "simulation", "driver", n.name],
    exports: {
      ".": { "@drmsim/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./user": {
        "@drmsim/source": "./src/user/index.ts",
        types: "./dist/user/index.d.ts",
        default: "./dist/user/index.js",
      },
      "./package.json": "./package.json",
    },
    files: ["dist", "src"],
    publishConfig: {
      access: "public",
      exports: {
        ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./user": { types: "./dist/user/index.d.ts", default: "./dist/user/index.js" },
        "./package.json": "./package.json",
      },
    },
    // Tests run from the workspace root (its vitest config resolves sources), as every package's do.
    scripts: { build: "tsc -b" },
    dependencies: deps,
    // vgem: the other driver of the interop tests.
    devDependencies: { "@drmsim/vgem": version, vitest: "4.1.12" },
  };
  files.push(["package.json", `${JSON.stringify(pkg, null, 2)}\n`]);
  const tsconfig =
    wsRoot !== undefined
      ? {
          extends: relative(dir, join(wsRoot, "tsconfig.base.json")).replaceAll("\\", "/"),
          include: ["src"],
          references: [...FRAMEWORK_DEPS.map((d) => `packages/${d}`), "tools/testing"].map((p) => ({
            path: relative(dir, join(wsRoot, p)).replaceAll("\\", "/"),
          })),
        }
      : {
          compilerOptions: {
            target: "ES2023",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            types: ["node"],
            strict: true,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            declaration: true,
            skipLibCheck: true,
            rootDir: "src",
            outDir: "dist",
          },
          include: ["src"],
        };
  files.push(["tsconfig.json", `${JSON.stringify(tsconfig, null, 2)}\n`]);

  for (const [rel, text] of files) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  let formatted = false;
  const biome = found === undefined ? undefined : join(found, "node_modules", ".bin", "biome");
  if (biome !== undefined && existsSync(biome))
    formatted = spawnSync(biome, ["check", "--write", dir], { cwd: found, stdio: "ignore" }).status === 0;
  const registered = wsRoot === undefined ? [] : registerDriverPackage(wsRoot, rel, pkg.name, true);
  return {
    dir,
    files: files.map(([f]) => f).sort(),
    inWorkspace,
    ...(wsRoot === undefined ? {} : { root: wsRoot }),
    registered,
    formatted,
  };
}

/**
 * What to do next, as commands that work pasted where the user stands (`cwd`): in a drmsim
 * checkout `pnpm install` links the package, then its tests (vitest runs at the workspace root,
 * `-w` below it, with the root-relative path it filters on), `drmsim validate` (`drmsim` spelled
 * `drmsim` — see `invocation.ts` — with a path relative to `cwd`), the build and the typecheck;
 * elsewhere, install and test inside the new package.
 */
export function nextSteps(r: ScaffoldResult, cwd: string, drmsim: string): string[] {
  const here = (p: string) => relative(cwd, p).replaceAll("\\", "/") || ".";
  if (!r.inWorkspace || r.root === undefined) {
    return [`cd ${here(r.dir)}`, "npm install", "npx vitest run"];
  }
  const pnpm = resolve(cwd) === resolve(r.root) ? "pnpm" : "pnpm -w";
  const rel = relative(r.root, r.dir).replaceAll("\\", "/");
  return [
    "pnpm install",
    `${pnpm} test ${rel}/`,
    `${drmsim} validate ${here(r.dir)}`,
    `${pnpm} build`,
    `${pnpm} typecheck`,
  ];
}

/** Outside a workspace, depend on the framework version this CLI ships with. */
function frameworkVersion(): string {
  const own = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `^${own.version}`;
}
