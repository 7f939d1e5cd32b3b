/**
 * Invariant 8, the oracle for wrong successes: a call that succeeded named only objects its caller
 * could reach. A handle, id or fd is a small integer that means something only in one table — a
 * GEM handle in `file_priv->object_idr`, a syncobj handle in `file_priv->syncobj_idr`, an fd in
 * the calling process's fd table, a context or VM id in the driver's per-file idr — and a lookup
 * that resolves it anywhere else (every file of the device, the wrong process) hands one client
 * another client's buffer. The kernel cannot notice such a success; the fuzzer can, because it
 * knows what every table held before and after the call.
 *
 * Which members name what is read from the ioctl's declared layout: a member is a reference by its
 * name (`MEMBER_TABLES`: `handle`, `handles`, `bo_handle`, `fd`, `ctx_id`, `vm_id`, `queue_id`, …;
 * `handle`s of a `DRM_IOCTL_SYNCOBJ_*` ioctl are syncobjs), wherever it sits — in nested structs,
 * union members, arrays behind user pointers, and the JavaScript-only `ext` members and opaque
 * pointers (walked as plain data). A driver whose names mislead (a `handle` that is a sequence
 * number, an id read only by some ops) corrects the list for that ioctl (`FuzzReach.refs`) and
 * says what its own tables hold (`FuzzReach.objects`; built-in drivers' in `reach-drivers.ts`).
 *
 * The rule, per named value: a value the call wrote back (it changed) is an output and must be in
 * the caller's table after the call (a handle returned into another file's table is the same bug
 * the other way round); a value left as it was must have been in the caller's table before the call
 * or be in it after (an output that happened to equal what the caller passed). 0 names nothing in
 * every table but the fd table (handles and ids start at 1, so userspace uses 0 as "none").
 */
import { type DrmFile, type DrmIoctlDef, drmSyncobjTable } from "@drmsim/drm";
import type { Process, UapiElem, UapiField, UapiLayout } from "@drmsim/runtime";
import type { FuzzDriver } from "./drivers.js";
import { reachOf } from "./reach-drivers.js";

/**
 * A table a named value indexes: the DRM core's (`gem`, `syncobj`, `flink` names of the device,
 * `magic`s waiting in the caller's master's map, and its own), the caller's process fds (`fd`), or one a driver keeps per
 * file (`ctx`, `vm`, `queue`, …, listed by `FuzzReach.objects`).
 */
export type RefTable = "gem" | "syncobj" | "fd" | "flink" | "magic" | (string & {});

/** A path into an argument object: member names and array indices. */
export type ArgPath = readonly (string | number)[];

/** One value a call names: where it sits in the argument and which table it indexes. */
export interface FuzzRef {
  readonly path: ArgPath;
  readonly table: RefTable;
}

/** Member names that name objects, whichever ioctl they are in. `null`: a name that never does. */
export const MEMBER_TABLES: Readonly<Record<string, RefTable>> = {
  handle: "gem",
  handles: "gem",
  new_handle: "gem",
  bo_handle: "gem",
  bo_handles: "gem",
  src_handle: "gem",
  dst_handle: "gem",
  fd: "fd",
  name: "flink",
  magic: "magic",
  ctx_id: "ctx",
  vm_id: "vm",
  queue_id: "queue",
};

const SYNCOBJ_MEMBERS = new Set(["handle", "handles", "src_handle", "dst_handle"]);

/** Corrections for core ioctls, as `FuzzReach.refs` are for a driver's. */
const CORE_REFS: Readonly<Record<string, (args: Plain, found: FuzzRef[]) => FuzzRef[]>> = {
  // drm_gem_change_handle_ioctl returns 0 for handle == new_handle before looking anything up.
  DRM_IOCTL_GEM_CHANGE_HANDLE: (args, found) =>
    integer(args.handle) !== undefined && integer(args.handle) === integer(args.new_handle) ? [] : found,
};

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The members of `args` that name objects, for ioctl `def` (`driver`'s if it is a driver ioctl):
 * found by member name through the declared layout, then corrected by the driver's `refs` for
 * this ioctl, if it has one.
 */
export function namedRefs(
  def: DrmIoctlDef,
  args: unknown,
  driver: FuzzDriver | undefined,
  file: DrmFile | undefined,
): FuzzRef[] {
  const reach = reachOf(driver);
  const names: Record<string, RefTable | null> = { ...MEMBER_TABLES, ...reach?.members };
  const syncobjIoctl = def.name.startsWith("DRM_IOCTL_SYNCOBJ_");
  const tableOf = (member: string): RefTable | null => {
    const t = names[member];
    if (t === undefined || t === null) return null;
    return syncobjIoctl && SYNCOBJ_MEMBERS.has(member) ? "syncobj" : t;
  };
  const out: FuzzRef[] = [];
  const scalar = (member: string, v: unknown, path: ArgPath) => {
    const t = tableOf(member);
    if (t !== null && (typeof v === "number" || typeof v === "bigint")) out.push({ path, table: t });
  };
  // Plain data with no declaration (ext members, opaque pointers): every key by its name.
  const plain = (v: unknown, member: string, path: ArgPath): void => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        plain(x, member, [...path, i]);
      });
    else if (isPlain(v)) for (const [k, x] of Object.entries(v)) plain(x, k, [...path, k]);
    else scalar(member, v, path);
  };
  const field = (
    f: UapiField | UapiElem | UapiLayout,
    v: unknown,
    member: string,
    path: ArgPath,
    count?: number,
  ): void => {
    if (v === undefined || v === null) return;
    switch (f.type) {
      case "scalar":
        scalar(member, v, path);
        return;
      case "struct":
        if (!isPlain(v)) return;
        for (const [k, sub] of Object.entries(f.fields)) {
          // An array behind a pointer is read up to its count member, no further.
          const n = sub.type === "ptr" && sub.count !== undefined ? integer(v[sub.count]) : undefined;
          field(sub, v[k], k, [...path, k], n === undefined ? undefined : Number(n));
        }
        return;
      case "union":
        if (!isPlain(v)) return;
        for (const [k, sub] of Object.entries(f.members)) field(sub, v[k], k, [...path, k]);
        return;
      case "ptr":
        if (f.opaque) plain(v, member, path);
        else if (Array.isArray(v))
          v.slice(0, count).forEach((x, i) => {
            field(f.elem, x, member, [...path, i]);
          });
        // A pointer to one struct (amdgpu's chunk pointers) may be given as the struct itself.
        else if (isPlain(v)) field(f.elem, v, member, path);
        return;
      case "array":
        if (Array.isArray(v))
          v.forEach((x, i) => {
            field(f.elem, x, member, [...path, i]);
          });
        return;
      case "ext":
        plain(v, member, path);
        return;
      case "chars":
        return;
    }
  };
  field(def.layout, args, "", []);
  const core = CORE_REFS[def.name];
  if (core !== undefined) return isPlain(args) ? core(args, out) : out;
  const fix = reach?.refs?.[def.name];
  return fix === undefined || !isPlain(args) ? out : fix(args, out, file);
}

/** The value at `path` in `args`, or undefined. */
export function valueAt(args: unknown, path: ArgPath): unknown {
  let v: unknown = args;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** `v` as an integer (bigint), or undefined for anything that is not one. */
function integer(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  return undefined;
}

/** Where the caller stands: its process, and the DRM file the ioctl went to. */
export interface FuzzCaller {
  readonly proc: Process;
  readonly file: DrmFile;
  readonly driver: FuzzDriver | undefined;
}

/**
 * Whether `v` is in `table` as the caller sees it now; undefined if the caller has no such table
 * (a driver table its `FuzzReach.objects` does not list — a gap in the fuzzer, reported as one).
 */
export function callerReaches(c: FuzzCaller, table: RefTable, v: bigint): boolean | undefined {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return false;
  const n = Number(v);
  switch (table) {
    case "fd":
      return c.proc.files.lookup(n) !== undefined;
    case "gem":
      return c.file.gem.peek(n) !== undefined;
    case "syncobj": {
      if (!c.file.device.checkFeature(0x20 /* DRIVER_SYNCOBJ */)) return false;
      const s = drmSyncobjTable(c.file).find(n);
      s?.put();
      return s !== null;
    }
    case "flink":
      return c.file.device.names.peek(n) !== undefined;
    case "magic":
      // The caller's own magic (GET_MAGIC hands it out again after it was used), or one waiting
      // in its master's map (AUTH_MAGIC).
      return c.file.magic === n || c.file.master?.find(n) != null;
    default: {
      const ids = reachOf(c.driver)?.objects?.(c.file)[table];
      return ids === undefined ? undefined : ids.some((id) => BigInt(id) === v);
    }
  }
}

/** What `reachBefore` recorded: the refs and, per ref, the value passed and whether the caller reached it. */
export interface ReachBefore {
  readonly refs: readonly FuzzRef[];
  readonly values: readonly (bigint | undefined)[];
  readonly reached: readonly (boolean | undefined)[];
}

/** Before the call: the refs `args` makes and whether the caller reaches each value now. */
export function reachBefore(c: FuzzCaller, def: DrmIoctlDef, args: unknown): ReachBefore {
  const refs = namedRefs(def, args, c.driver, c.file);
  const values = refs.map((r) => integer(valueAt(args, r.path)));
  const reached = refs.map((r, i) => {
    const v = values[i];
    return v === undefined ? undefined : callerReaches(c, r.table, v);
  });
  return { refs, values, reached };
}

/**
 * After a successful call: every violation of the rule in the module comment, as sentences
 * (empty when the call named only what the caller could reach). `argsAfter` is the caller's
 * argument object once the kernel copied it back.
 */
export function reachViolations(c: FuzzCaller, before: ReachBefore, argsAfter: unknown): string[] {
  const out: string[] = [];
  before.refs.forEach((r, i) => {
    const vin = before.values[i];
    const vout = integer(valueAt(argsAfter, r.path));
    const where = `${r.path.join(".")} (${r.table})`;
    if (vout !== undefined && vout !== vin) {
      if (vout === 0n && r.table !== "fd") return;
      const now = callerReaches(c, r.table, vout);
      if (now === undefined) out.push(`${where}: the fuzzer knows no ${r.table} table of ${c.file}`);
      else if (!now) out.push(`${where} = ${vout} was returned, but it is not in ${owner(c, r.table)}`);
      return;
    }
    if (vin === undefined || (vin === 0n && r.table !== "fd")) return;
    const was = before.reached[i];
    const now = callerReaches(c, r.table, vin);
    if (was === undefined || now === undefined)
      out.push(`${where}: the fuzzer knows no ${r.table} table of ${c.file}`);
    else if (!was && !now)
      out.push(
        `${where} = ${vin} named an object that is not in ${owner(c, r.table)}, before or after the call`,
      );
  });
  return out;
}

function owner(c: FuzzCaller, table: RefTable): string {
  if (table === "fd") return `${c.proc}'s fd table`;
  if (table === "flink") return `the flink names of ${c.file.device.driver.name}`;
  if (table === "magic") return `the magics of ${c.file}'s master`;
  return `the ${table} table of the caller's ${c.file}`;
}
