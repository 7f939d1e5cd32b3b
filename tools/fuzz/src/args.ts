/**
 * Argument generation. fast-check generates *descriptions* of values (`ValueSpec`), resolved
 * against the live world only when the call runs: "the caller's 2nd GEM handle", "an fd of the
 * other process", "a handle that went stale". That keeps generated sequences meaningful after
 * earlier calls changed the world, and lets fast-check shrink a failing sequence.
 */
import { type DrmFile, drmSyncobjTable } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import fc from "fast-check";
import type { FuzzDriver, FuzzTemplate } from "./drivers.js";
import { ioctlDefOf, layoutFieldPool } from "./ioctls.js";
import { namedRefs, type RefTable } from "./reach.js";
import { reachOf } from "./reach-drivers.js";
import { drmFds, drmFileOf, type FuzzWorld } from "./world.js";

/** What a generated value refers to in the world. */
export type RefKind =
  | "ownHandle"
  | "foreignHandle"
  | "staleHandle"
  | "ownSyncobj"
  | "foreignSyncobj"
  | "ownFd"
  | "otherProcFd"
  | "closedFd"
  | "dmabufFd"
  | "syncFileFd"
  | "syncobjFd"
  | "eventfd"
  | "drmFd"
  | "foreignObject"
  | "flinkName"
  | "magic"
  | "soon"
  | "countOfHandles";

const REF_KINDS: readonly RefKind[] = [
  "ownHandle",
  "foreignHandle",
  "staleHandle",
  "ownSyncobj",
  "foreignSyncobj",
  "ownFd",
  "otherProcFd",
  "closedFd",
  "dmabufFd",
  "syncFileFd",
  "syncobjFd",
  "eventfd",
  "drmFd",
  "foreignObject",
  "flinkName",
  "magic",
  "soon",
  "countOfHandles",
];

/** A generated value: a literal, a reference into the world, or an array of those. */
export type ValueSpec =
  | { readonly lit: unknown }
  | { readonly ref: RefKind; readonly i: number }
  | { readonly arr: readonly ValueSpec[] }
  | { readonly obj: Readonly<Record<string, ValueSpec>> };

/**
 * Hostile literals: overflow-sized and non-integer numbers, negative values, and wrong types —
 * what a C struct cannot carry but a JavaScript caller can pass.
 */
export const HOSTILE_LITERALS: readonly unknown[] = [
  -1,
  0x7fff_ffff,
  0xffff_ffff,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 63,
  2 ** 64,
  -(2 ** 53),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0.5,
  1.5,
  -0,
  "1",
  "",
  null,
  true,
  {},
  [],
  1n,
];

/** Every argument field name of the uAPI structs the fuzzer knows (core + drivers' hints). */
export const FIELD_POOL: readonly string[] = [
  "handle",
  "new_handle",
  "flags",
  "pad",
  "fd",
  "point",
  "name",
  "size",
  "width",
  "height",
  "bpp",
  "offset",
  "handles",
  "points",
  "count_handles",
  "timeout_nsec",
  "deadline_nsec",
  "src_handle",
  "dst_handle",
  "src_point",
  "dst_point",
  "capability",
  "magic",
  "fence",
  "error",
];

const scalarArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ ref: fc.constantFrom(...REF_KINDS), i: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }).map((v) => ({ lit: v })) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_LITERALS).map((v) => ({ lit: v })) },
  { weight: 1, arbitrary: fc.double().map((v) => ({ lit: v })) },
);

/**
 * A field value over `pool`: mostly scalars, sometimes an array of scalars (the `handles`/`points`
 * pointers) or of small structs with fields from `pool` (command chunks, bind ops, sync entries).
 */
export function valueArbOver(pool: readonly string[]): fc.Arbitrary<ValueSpec> {
  const structArb = fc
    .record(Object.fromEntries(pool.map((k) => [k, scalarArb])) as Record<string, typeof scalarArb>, {
      requiredKeys: [],
    })
    .map((obj) => ({ obj: obj as Record<string, ValueSpec> }));
  return fc.oneof(
    { weight: 12, arbitrary: scalarArb },
    { weight: 2, arbitrary: fc.array(scalarArb, { maxLength: 4 }).map((arr) => ({ arr })) },
    { weight: 1, arbitrary: fc.array(structArb, { maxLength: 3 }).map((arr) => ({ arr })) },
  );
}

/**
 * One generated argument object, in one of four shapes:
 * - `random`: any pool field may be present with any value (`stray` keeps fields the ioctl does
 *   not read);
 * - `valid`: every field the ioctl reads gets a plausible value from the world (`pick` varies it);
 * - `oneBad`: plausible, except field number `bad` gets the generated (often hostile) value;
 * - `foreign`: plausible, except reference number `bad` (a member that names an object, see
 *   `reach.ts`) names one of the same kind that exists only in another file or process — what a
 *   lookup across files would wrongly find.
 * The last three reach the deep paths behind the argument checks.
 */
export function argsArbOver(pool: readonly string[]) {
  const valueArb = valueArbOver(pool);
  return fc.record({
    mode: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom("random" as const, "valid" as const, "oneBad" as const) },
      { weight: 1, arbitrary: fc.constant("foreign" as const) },
    ),
    fields: fc.record(Object.fromEntries(pool.map((k) => [k, valueArb])) as Record<string, typeof valueArb>, {
      requiredKeys: [],
    }),
    stray: fc.boolean(),
    pick: fc.nat(7),
    bad: fc.nat(7),
    badValue: valueArb,
  });
}

/** The generated argument description (`argsArbOver`'s values). */
export type ArgsSpec = {
  mode: "random" | "valid" | "oneBad" | "foreign";
  fields: Partial<Record<string, ValueSpec>>;
  stray: boolean;
  pick: number;
  bad: number;
  badValue: ValueSpec;
};

/** The field pool for a set of drivers: every member of the core's and their argument structs. */
export function fieldPoolOf(drivers: readonly FuzzDriver[]): string[] {
  return layoutFieldPool(drivers, FIELD_POOL);
}

/** What one generated step does. */
export type FuzzAction =
  | {
      readonly op: "ioctl";
      readonly proc: number;
      readonly fd: number;
      readonly ioctl: number;
      readonly args: ArgsSpec;
      /** If the call is still blocked this long after it started (virtual ns), it gets `SIGALRM`. */
      readonly alarmNs?: number;
    }
  | { readonly op: "close" | "dup" | "send"; readonly proc: number; readonly fd: ValueSpec };

/** A step over `pool`: mostly ioctls, sometimes an fd syscall that reshapes the fd tables. */
export function actionArbOver(pool: readonly string[]): fc.Arbitrary<FuzzAction> {
  return fc.oneof(
    {
      weight: 17,
      arbitrary: fc.record({
        op: fc.constant("ioctl" as const),
        proc: fc.nat(1),
        fd: fc.nat(15),
        ioctl: fc.nat(255),
        args: argsArbOver(pool),
        alarmNs: fc.option(fc.integer({ min: 0, max: 2_000_000 }), { freq: 3, nil: undefined }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constantFrom("close" as const, "dup" as const, "send" as const),
        proc: fc.nat(1),
        fd: scalarArb,
      }),
    },
  );
}

function pick<T>(list: readonly T[], i: number, none: T): T {
  return list.length === 0 ? none : list[i % list.length]!;
}

function allFiles(world: FuzzWorld) {
  return world.devices.flatMap((d) => [...d.files]);
}

function handlesOf(file: ReturnType<typeof drmFileOf>): number[] {
  if (file === undefined) return [];
  // Not a scan from 1: GEM_CHANGE_HANDLE puts handles anywhere up to INT_MAX.
  return file.gem.handles();
}

function syncobjsOf(file: ReturnType<typeof drmFileOf>): number[] {
  if (file === undefined || !file.device.checkFeature(0x20)) return [];
  return drmSyncobjTable(file).list();
}

/** The ids in `file`'s driver tables (`FuzzReach.objects`), by table; empty for a driver without any. */
function objectsOf(world: FuzzWorld, file: DrmFile | undefined): Readonly<Record<string, readonly number[]>> {
  if (file === undefined) return {};
  const objects = reachOf(world.drivers[world.devices.indexOf(file.device)])?.objects;
  return objects === undefined ? {} : objects(file);
}

/**
 * Values in other files' tables, those that name nothing in `file`'s own first: a lookup that
 * wrongly searches other files finds them, a correct one does not.
 */
function foreignValues(own: readonly number[], others: readonly number[]): number[] {
  const mine = new Set(own);
  const only = others.filter((v) => !mine.has(v));
  return only.length > 0 ? only : [...others];
}

/** Resolves a generated value for a call by `proc` on `fd` (the DRM fd the ioctl goes to). */
export function resolveValue(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  v: ValueSpec,
  siblings?: Record<string, unknown>,
): unknown {
  if ("lit" in v) return v.lit;
  if ("arr" in v) return v.arr.map((x) => resolveValue(world, proc, fd, x));
  if ("obj" in v)
    return Object.fromEntries(Object.entries(v.obj).map(([k, x]) => [k, resolveValue(world, proc, fd, x)]));
  const file = drmFileOf(proc, fd);
  const other = world.procs.find((p) => p !== proc)!;
  const kindFds = (kind: string) => proc.files.list().filter((n) => proc.files.get(n).fops.kind === kind);
  switch (v.ref) {
    case "ownHandle":
      return pick(handlesOf(file), v.i, 1);
    case "foreignHandle":
      return pick(
        foreignValues(
          handlesOf(file),
          allFiles(world)
            .filter((f) => f !== file)
            .flatMap((f) => handlesOf(f)),
        ),
        v.i,
        1,
      );
    case "staleHandle":
      return pick(world.staleHandles, v.i, 3);
    case "ownSyncobj":
      return pick(syncobjsOf(file), v.i, 1);
    case "foreignSyncobj":
      return pick(
        foreignValues(
          syncobjsOf(file),
          allFiles(world)
            .filter((f) => f !== file)
            .flatMap((f) => syncobjsOf(f)),
        ),
        v.i,
        1,
      );
    case "foreignObject": {
      // Another file's context, VM, queue … id (of the same driver first), one this file lacks.
      const own = objectsOf(world, file);
      const others = allFiles(world)
        .filter((f) => f !== file)
        .sort((x, y) => Number(y.device === file?.device) - Number(x.device === file?.device));
      const ids = others.flatMap((f) =>
        Object.entries(objectsOf(world, f)).flatMap(([table, list]) =>
          list.filter((id) => !(own[table] ?? []).includes(id)),
        ),
      );
      return pick(ids, v.i, 2);
    }
    case "ownFd":
      return pick(proc.files.list(), v.i, 0);
    case "otherProcFd":
      return pick(other.files.list(), v.i, 0);
    case "closedFd":
      return pick(world.closedFds, v.i, 1023);
    case "dmabufFd":
      return pick(kindFds("dma_buf"), v.i, -1);
    case "syncFileFd":
      return pick(kindFds("sync_file"), v.i, -1);
    case "syncobjFd":
      return pick(kindFds("syncobj"), v.i, -1);
    case "eventfd":
      return pick(kindFds("eventfd"), v.i, -1);
    case "drmFd":
      return pick(drmFds(proc), v.i, -1);
    case "flinkName":
      return file === undefined ? 1 : 1 + (v.i % Math.max(1, file.device.names.count + 1));
    case "magic":
      return pick(
        allFiles(world)
          .map((f) => f.magic)
          .filter((m) => m !== 0),
        v.i,
        1,
      );
    case "soon":
      return world.sim.now + (v.i + 1) * 1_000_000;
    case "countOfHandles": {
      const hs = siblings?.handles;
      return Array.isArray(hs) ? hs.length + (v.i === 7 ? 1 : 0) : v.i;
    }
  }
}

/** A plausible value of `field` for `ioctl` called by `proc` on `fd`: what a correct caller would pass. */
export function plausibleValue(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  ioctl: string,
  field: string,
  i: number,
  sofar: Record<string, unknown>,
): unknown {
  const r = (ref: RefKind, j = i) => resolveValue(world, proc, fd, { ref, i: j }, sofar);
  const syncobj = ioctl.startsWith("DRM_IOCTL_SYNCOBJ_");
  switch (field) {
    case "handle":
      return r(syncobj ? "ownSyncobj" : "ownHandle");
    case "src_handle":
    case "dst_handle":
      return r("ownSyncobj", field === "src_handle" ? i : i + 1);
    case "handles":
      return i % 2 === 0 ? [r("ownSyncobj")] : [r("ownSyncobj"), r("ownSyncobj", i + 1)];
    case "points":
      return Array.from({ length: i % 2 === 0 ? 1 : 2 }, (_, k) => (i + k) % 4);
    case "count_handles":
      return Array.isArray(sofar.handles) ? sofar.handles.length : 1;
    case "fd":
      if (ioctl === "DRM_IOCTL_PRIME_FD_TO_HANDLE") return r("dmabufFd");
      if (ioctl === "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE")
        return (Number(sofar.flags) & 1) !== 0 ? r("syncFileFd") : r("syncobjFd");
      if (ioctl === "DRM_IOCTL_SYNCOBJ_EVENTFD") return r("eventfd");
      return r("ownFd");
    case "flags":
      return [0, 0, 1, 2, 0, 1, 4, 3][i] ?? 0;
    case "pad":
    case "deadline_nsec":
      return 0;
    case "point":
    case "src_point":
    case "dst_point":
      return i % 4;
    case "name":
      return r("flinkName");
    case "magic":
      return r("magic");
    case "capability":
      return [0x1, 0x5, 0x6, 0x13, 0x14, 0x3, 0x10, 0x99][i] ?? 1;
    case "width":
    case "height":
      return 1 + i * 9;
    case "bpp":
      return [32, 16, 8, 24][i % 4];
    case "size":
      return 4096 * (1 + i);
    case "timeout_nsec":
      return i % 2 === 0 ? 0 : r("soon");
    case "fence":
      return 1 + (i % 4);
    case "error":
      return i % 3 === 0 ? -5 : 0;
    default:
      // A driver's own fields: sizes get page multiples, ids/ops/indices small numbers (the
      // objects a driver numbers from 0 or 1), so a plausible call can get past the checks.
      if (/size$/.test(field)) return 4096 * (1 + (i % 2));
      return [0, 1, 2, 1, 0, 3, 1, 2][i] ?? 0;
  }
}

/** The paths of every non-object value in `v` (object keys and array indices), depth first. */
function leafPaths(
  v: unknown,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) leafPaths(v[i], [...at, i], out);
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) leafPaths(x, [...at, k], out);
  else if (at.length > 0) out.push(at);
  return out;
}

/** Builds a template's arguments; `oneBad` replaces one of its leaves, however deep. */
function fromTemplate(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  spec: ArgsSpec,
  template: FuzzTemplate,
): Record<string, unknown> {
  const file = drmFileOf(proc, fd);
  const ids = file === undefined ? {} : (world.setupIds.get(file) ?? {});
  const out = template({ handles: handlesOf(file), ids, pick: spec.pick });
  if (spec.mode === "oneBad") {
    const leaves = leafPaths(out);
    const path = leaves[(spec.bad * 8 + spec.pick) % Math.max(1, leaves.length)];
    if (path !== undefined) {
      let parent = out as Record<string | number, unknown>;
      for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const v = resolveValue(world, proc, fd, spec.badValue, out);
      // A leaf inside a byte buffer (a command stream, ops at a stride) is an element of a typed
      // array, which stores only its own kind of number: give it the value as that kind.
      if (ArrayBuffer.isView(parent)) {
        const big = parent instanceof BigInt64Array || parent instanceof BigUint64Array;
        const num = Math.trunc(Number(v));
        const n = typeof v === "bigint" ? v : BigInt(Number.isFinite(num) ? num : 0);
        parent[path.at(-1)!] = big ? n : Number(BigInt.asIntN(53, n));
      } else parent[path.at(-1)!] = v;
    }
  }
  return out;
}

/**
 * Builds the argument object of one ioctl call. `fields` lists what the ioctl reads (undefined:
 * all); a driver's `template` for the ioctl, if it has one, gives the "valid" and "oneBad" shapes.
 */
export function resolveArgs(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  ioctl: string,
  spec: ArgsSpec,
  fields: readonly string[] | undefined,
  template?: FuzzTemplate,
): Record<string, unknown> {
  if (spec.mode === "foreign") {
    const base = resolveArgs(world, proc, fd, ioctl, { ...spec, mode: "valid" }, fields, template);
    return withForeignRef(world, proc, fd, ioctl, base, spec.bad * 8 + spec.pick);
  }
  if (spec.mode !== "random" && template !== undefined) return fromTemplate(world, proc, fd, spec, template);
  const out: Record<string, unknown> = {};
  if (spec.mode !== "random" && fields !== undefined) {
    // flags first: the fd a syncobj import wants depends on them.
    const order = [...fields].sort((a, b) => (a === "flags" ? -1 : b === "flags" ? 1 : 0));
    for (const f of order) out[f] = plausibleValue(world, proc, fd, ioctl, f, spec.pick, out);
    if (spec.mode === "oneBad" && fields.length > 0) {
      const f = fields[spec.bad % fields.length]!;
      out[f] = resolveValue(world, proc, fd, spec.badValue, out);
    }
    return out;
  }
  const later: [string, ValueSpec][] = [];
  for (const [k, v] of Object.entries(spec.fields)) {
    if (v === undefined) continue;
    if (fields !== undefined && !spec.stray && !fields.includes(k)) continue;
    if ("ref" in v && v.ref === "countOfHandles") later.push([k, v]);
    else out[k] = resolveValue(world, proc, fd, v);
  }
  for (const [k, v] of later) out[k] = resolveValue(world, proc, fd, v, out);
  return out;
}

/**
 * A value of `table` that names something in another file (or, for fds, the other process) and
 * nothing in the caller's: the foreign counterpart of a reference (see `reach.ts`). Undefined for
 * tables with no such thing (flink names and magics are device-wide).
 */
export function foreignValue(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  table: RefTable,
  i: number,
): unknown {
  const file = drmFileOf(proc, fd);
  switch (table) {
    case "gem":
      return resolveValue(world, proc, fd, { ref: "foreignHandle", i });
    case "syncobj":
      return resolveValue(world, proc, fd, { ref: "foreignSyncobj", i });
    case "fd": {
      const mine = new Set(proc.files.list());
      const other = world.procs.find((p) => p !== proc)!;
      return pick(
        other.files.list().filter((n) => !mine.has(n)),
        i,
        pick(world.closedFds, i, 1023),
      );
    }
    case "flink":
    case "magic":
      return undefined;
    default: {
      const own = objectsOf(world, file)[table] ?? [];
      const ids = allFiles(world)
        .filter((f) => f !== file && f.device === file?.device)
        .flatMap((f) => objectsOf(world, f)[table] ?? []);
      const only = ids.filter((id) => !own.includes(id));
      return only.length > 0 ? pick(only, i, 0) : undefined;
    }
  }
}

/** `args` with reference number `i` (of those `namedRefs` finds) replaced by its foreign counterpart. */
function withForeignRef(
  world: FuzzWorld,
  proc: Process,
  fd: number,
  ioctl: string,
  args: Record<string, unknown>,
  i: number,
): Record<string, unknown> {
  const file = drmFileOf(proc, fd);
  const def = ioctlDefOf(world.devices, ioctl);
  if (file === undefined || def === undefined) return args;
  const own = file.device.driverIoctl(def.name) === def;
  const driver = own ? world.drivers[world.devices.indexOf(file.device)] : undefined;
  const refs = namedRefs(def, args, driver, file);
  const ref = refs[i % Math.max(1, refs.length)];
  if (ref === undefined || ref.path.length === 0) return args;
  const v = foreignValue(world, proc, fd, ref.table, i);
  if (v === undefined) return args;
  let parent = args as Record<string | number, unknown>;
  for (const k of ref.path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  parent[ref.path.at(-1)!] = v;
  return args;
}
