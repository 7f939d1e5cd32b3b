/**
 * Copying ioctl arguments across the user/kernel boundary by their declared layout.
 *
 * - `uapiCopyFromJs` / `uapiCopyToJs`: a simulated process's argument object in and out
 *   (`copy_from_user` / `copy_to_user` of the struct): every member checked against its kind, the
 *   handler given a fresh typed value, the caller's object updated member by member afterwards.
 * - `uapiDecode` / `uapiEncode`: the same value from and to the bytes real userspace passes, user
 *   pointers resolved through a `UserMemory`.
 * - `uapiCheckEntry`: the checks the kernel makes before doing anything (`mbz` pads, flag masks).
 */
import { KernelError } from "../errno.js";
import { mightFault } from "../lockdep/annotations.js";
import type { Simulator } from "../simulator.js";
import { type UapiCopyParts, uapiCompiledCopy } from "./compiled-copy.js";
import type {
  UapiAnonGroup,
  UapiElem,
  UapiField,
  UapiLayout,
  UapiPtrField,
  UapiScalarField,
  UapiStruct,
  UapiUnionField,
  UapiValue,
} from "./layout.js";
import { uapiReadScalar, uapiScalarFromJs, uapiU64ToJs, uapiWriteScalar } from "./scalar.js";
import type { UserMemory, UserPtr } from "./user-ptr.js";

/** Who copies: the simulator (for `might_fault`), the ioctl (for messages) and, for real programs, their memory. */
export interface UapiCopyContext {
  readonly sim: Simulator;
  /** The ioctl or struct the copy belongs to, for messages (`DRM_IOCTL_SYNCOBJ_WAIT`). */
  readonly what: string;
  /** A real program's address space; absent for simulated processes. */
  readonly mem?: UserMemory;
}

type Obj = Record<string, unknown>;

/** The bytes a union was decoded from (binary mode), to write back unchanged when no member changed. */
const RAW = Symbol("uapi.raw");

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

// --- JavaScript argument objects ----------------------------------------------------------------

/**
 * `copy_from_user` of a simulated process's argument: checks every member of `arg` against
 * `layout` and returns the handler's value (absent members are 0; a member the struct does not
 * have, or a value no C program could store there, is `EINVAL`). User pointers become `UserPtr`s
 * over the caller's arrays.
 */
export function uapiCopyFromJs<L extends UapiLayout>(
  layout: L,
  arg: unknown,
  ctx: UapiCopyContext,
): UapiValue<L> {
  return fieldFromJs(layout, arg, ctx, ctx.what) as UapiValue<L>;
}

function structFromJs(s: UapiStruct, arg: unknown, ctx: UapiCopyContext, path: string): Obj {
  const compiled = uapiCompiledCopy(s, PARTS);
  return compiled !== null ? compiled.fromJs(arg, ctx, path) : genericStructFromJs(s, arg, ctx, path);
}

/** The copy every check's error comes from; a compiled copy hands anything out of the ordinary to it. */
function genericStructFromJs(s: UapiStruct, arg: unknown, ctx: UapiCopyContext, path: string): Obj {
  if (arg !== undefined && arg !== null && !isObj(arg))
    throw new KernelError(
      "EINVAL",
      `${path}: ${s.union ? "union" : "struct"} ${s.name} must be an object, got ${typeof arg}`,
    );
  const src = (arg ?? NO_MEMBERS) as Obj;
  // for…in walks the object's enumerable keys without copying them into an array (Object.keys
  // would, on every call); argument objects are plain, so there are no inherited ones.
  for (const k in src)
    if (!(k in s.fields) && src[k] !== undefined)
      throw new KernelError(
        "EINVAL",
        `${path}: ${s.union ? "union" : "struct"} ${s.name} has no member ${k}`,
      );
  checkVariants(s, src, path);
  const out: Obj = {};
  for (const [k, f] of membersOf(s)) {
    const v = src[k];
    // Scalars are most members: convert them without building the member's path, which only an
    // error message needs.
    out[k] =
      f.type === "scalar" ? uapiScalarFromJs(f.kind, v, path, k) : fieldFromJs(f, v, ctx, `${path}.${k}`);
  }
  linkCounts(s, out);
  return out;
}

function checkVariants(s: UapiStruct, src: Obj, path: string): void {
  if (s.anon !== undefined) for (const g of s.anon) checkOneVariant(g, src, path);
}

const NO_MEMBERS: Obj = Object.freeze({});

/** Whether `v` is a member value a caller set (a variant of an anonymous union is in use). */
function given(v: unknown): boolean {
  return v !== undefined && v !== null && v !== 0 && v !== 0n;
}

/** A JavaScript caller may give the members of one variant of an anonymous union, as C stores one. */
function checkOneVariant(g: UapiAnonGroup, src: Obj, path: string): void {
  let used = 0;
  for (const v of g.variants) if (variantUsed(v, src)) used++;
  if (used <= 1) return;
  const names = g.variants.filter((v) => variantUsed(v, src)).map((v) => Object.keys(v.fields).join("/"));
  throw new KernelError("EINVAL", `${path}: ${names.join(" and ")} share one union: give one of them`);
}

function variantUsed(v: UapiStruct, src: Obj): boolean {
  for (const k in v.fields) if (given(src[k])) return true;
  return false;
}

/** A struct's members (or a union's) in order, computed once per declaration: walked on every copy. */
const ENTRIES = new WeakMap<object, readonly (readonly [string, never])[]>();
function entriesOf<T>(record: Readonly<Record<string, T>>): readonly (readonly [string, T])[] {
  let m = ENTRIES.get(record) as readonly (readonly [string, T])[] | undefined;
  if (m === undefined) {
    m = Object.entries(record);
    ENTRIES.set(record, m as readonly (readonly [string, never])[]);
  }
  return m;
}

function membersOf(s: UapiStruct): readonly (readonly [string, UapiField])[] {
  return entriesOf(s.fields);
}

/** The members of a struct that are user pointers with a count member, computed once per declaration. */
const COUNTED = new WeakMap<UapiStruct, readonly string[]>();

/** Points each counted user pointer of a decoded struct at the struct, so `read()` finds its count. */
function linkCounts(s: UapiStruct, out: Obj): void {
  let counted = COUNTED.get(s);
  if (counted === undefined) {
    counted = membersOf(s)
      .filter(([, f]) => f.type === "ptr" && f.count !== undefined)
      .map(([k]) => k);
    COUNTED.set(s, counted);
  }
  for (const k of counted) (out[k] as BaseUserPtr<unknown>).countOf = out;
}

function fieldFromJs(f: UapiField, v: unknown, ctx: UapiCopyContext, path: string): unknown {
  switch (f.type) {
    case "scalar":
      return uapiScalarFromJs(f.kind, v, path);
    case "struct":
      return structFromJs(f, v, ctx, path);
    case "union": {
      if (v !== undefined && v !== null && !isObj(v))
        throw new KernelError(
          "EINVAL",
          `${path}: a union must be an object with one of ${Object.keys(f.members).join(", ")}`,
        );
      const src = (v ?? NO_MEMBERS) as Obj;
      for (const k in src)
        if (!(k in f.members) && src[k] !== undefined)
          throw new KernelError("EINVAL", `${path}: the union has no member ${k}`);
      const out: Obj = {};
      for (const [k, m] of entriesOf(f.members)) out[k] = structFromJs(m, src[k], ctx, `${path}.${k}`);
      return out;
    }
    case "array": {
      if (v !== undefined && v !== null && !Array.isArray(v))
        throw new KernelError("EINVAL", `${path}: must be an array of ${f.length}`);
      const src = (v ?? []) as unknown[];
      if (src.length > f.length) throw new KernelError("EINVAL", `${path}: at most ${f.length} elements`);
      return Array.from({ length: f.length }, (_, i) => fieldFromJs(f.elem, src[i], ctx, `${path}[${i}]`));
    }
    case "chars": {
      if (v === undefined || v === null) return "";
      if (typeof v !== "string") throw new KernelError("EINVAL", `${path}: must be a string`);
      if (new TextEncoder().encode(v).length > f.length)
        throw new KernelError("EINVAL", `${path}: "${v}" does not fit char[${f.length}]`);
      return v;
    }
    case "ext":
      return f.parse(v, path);
    case "ptr":
      return new JsUserPtr(f.elem, jsMemory(f, v, path), f.count, ctx, path);
  }
}

/** What a simulated process's pointer value points to. */
type JsMem = unknown[] | ArrayBufferView | null | "bad";

function jsMemory(f: UapiPtrField, v: unknown, path: string): JsMem {
  if (v === undefined || v === null || v === 0 || v === 0n) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v;
  if (typeof v === "string" && f.elem.type === "scalar" && f.elem.kind === "u8")
    return new TextEncoder().encode(`${v}\0`);
  // One element (a struct, or what an opaque pointer will be read as), given as the object itself.
  if (isObj(v)) return [v];
  // A raw address means nothing to a simulated process: any access faults.
  if (typeof v === "number" || typeof v === "bigint") return "bad";
  throw new KernelError(
    "EINVAL",
    `${path}: a user pointer must be an array, a typed array, an object (one struct), a string (char *) or null`,
  );
}

function elemToJs(e: UapiElem, v: unknown, into?: unknown): unknown {
  if (e.type === "scalar") return typeof v === "bigint" ? uapiU64ToJs(v) : v;
  if (e.type === "ptr") return v instanceof JsUserPtr ? v.jsMem : null;
  const target = isObj(into) ? into : {};
  structToJs(e, v as Obj, target);
  return target;
}

/**
 * `copy_to_user` of the struct: writes the handler's value back into the caller's `arg`, member by
 * member (64-bit members as `number` while safe, else `bigint`). User pointers keep the caller's
 * arrays, which `UserPtr.write` already filled in place; drmsim extension members are inputs and
 * are left alone. A union writes back its `out` member (all members if it names none).
 */
export function uapiCopyToJs(layout: UapiLayout, value: unknown, arg: unknown): void {
  if (layout.type !== "struct" || !isObj(arg)) return;
  structToJs(layout, value as Obj, arg);
}

function structToJs(s: UapiStruct, value: Obj, target: Obj): void {
  const compiled = uapiCompiledCopy(s, PARTS);
  if (compiled !== null) {
    compiled.toJs(value, target);
    return;
  }
  for (const [k, f] of membersOf(s)) {
    if (s.union?.out !== undefined && k !== s.union.out) continue;
    const v = value[k];
    if (f.type === "scalar") target[k] = typeof v === "bigint" ? uapiU64ToJs(v) : v;
    else memberToJs(f, v, target, k);
  }
}

/** Copies back one member that is not a scalar. */
function memberToJs(f: UapiField, v: unknown, target: Obj, k: string): void {
  switch (f.type) {
    case "struct": {
      const t = isObj(target[k]) ? (target[k] as Obj) : {};
      structToJs(f, v as Obj, t);
      target[k] = t;
      break;
    }
    case "union": {
      const u = isObj(target[k]) ? (target[k] as Obj) : {};
      for (const [m, ms] of entriesOf(f.members)) {
        if (f.out !== undefined && m !== f.out) continue;
        const t = isObj(u[m]) ? (u[m] as Obj) : {};
        structToJs(ms, (v as Obj)[m] as Obj, t);
        u[m] = t;
      }
      target[k] = u;
      break;
    }
    case "array": {
      const old = Array.isArray(target[k]) ? (target[k] as unknown[]) : [];
      target[k] = (v as unknown[]).map((x, i) => elemToJs(f.elem, x, old[i]));
      break;
    }
    case "chars":
      target[k] = v;
      break;
    default:
      break;
  }
}

const PARTS: UapiCopyParts = {
  structFromJs: genericStructFromJs,
  fieldFromJs,
  scalarFromJs: uapiScalarFromJs,
  checkVariants,
  memberToJs,
  u64ToJs: uapiU64ToJs,
};

/** What both kinds of user pointer share: the count member and the default `read()` size. */
abstract class BaseUserPtr<T> implements UserPtr<T> {
  /** @internal The decoded struct whose count member sizes a default `read()`. */
  countOf: Obj | null = null;

  constructor(
    protected readonly elem: UapiElem,
    protected readonly countField: string | undefined,
    protected readonly ctx: UapiCopyContext,
    protected readonly path: string,
  ) {}

  abstract readonly isNull: boolean;
  abstract readonly addr: bigint;
  abstract read(n?: number, at?: number): T[];
  abstract write(values: readonly T[], at?: number): void;
  abstract readBytes(length: number): Uint8Array;
  abstract as<U>(elem: UapiElem): UserPtr<U>;
  abstract accessOk(n: number, at?: number): void;

  get count(): number | undefined {
    if (this.countField === undefined || this.countOf === null) return undefined;
    return Number(this.countOf[this.countField]);
  }

  protected checkRange(n: number, at: number, len: number, op: string): void {
    if (!Number.isInteger(n) || !Number.isInteger(at) || n < 0 || at < 0 || at + n > len)
      throw new KernelError(
        "EFAULT",
        `${this.path}: ${op} of elements ${at}..${at + n - 1} but the user buffer holds ${len}`,
      );
  }

  /** Entry checks of struct elements as they are copied in. */
  protected checked(v: unknown, i: number): unknown {
    if (this.elem.type === "struct") uapiCheckEntry(this.elem, v, `${this.path}[${i}]`);
    return v;
  }
}

/** A user pointer over a simulated process's array, typed array, string or object. */
class JsUserPtr<T> extends BaseUserPtr<T> {
  constructor(
    elem: UapiElem,
    /** @internal What the pointer points to. */
    readonly jsMem: JsMem,
    countField: string | undefined,
    ctx: UapiCopyContext,
    path: string,
  ) {
    super(elem, countField, ctx, path);
  }

  get isNull(): boolean {
    return this.jsMem === null;
  }

  get addr(): bigint {
    return 0n;
  }

  read(n = this.count ?? 0, at = 0): T[] {
    if (n === 0) return [];
    const mem = this.reach(n, at, "copy_from_user");
    const out: unknown[] = [];
    if (Array.isArray(mem)) {
      const elem = this.elem;
      // Scalars (handles, points) are most arrays: no element path unless one is refused.
      if (elem.type === "scalar")
        for (let i = 0; i < n; i++) out.push(uapiScalarFromJs(elem.kind, mem[at + i], this.path, at + i));
      else
        for (let i = 0; i < n; i++)
          out.push(this.checked(fieldFromJs(elem, mem[at + i], this.ctx, `${this.path}[${at + i}]`), at + i));
      return out as T[];
    }
    const bytes = bytesOf(mem);
    const size = this.elem.size;
    if (this.elem.type === "scalar") return readScalars(this.elem, bytes, at * size, n) as T[];
    for (let i = 0; i < n; i++) {
      const el = bytes.subarray((at + i) * size, (at + i + 1) * size);
      out.push(this.checked(decodeElem(this.elem, el, this.ctx, `${this.path}[${at + i}]`), at + i));
    }
    return out as T[];
  }

  write(values: readonly T[], at = 0): void {
    if (values.length === 0) return;
    const mem = this.reach(values.length, at, "copy_to_user");
    if (Array.isArray(mem)) {
      for (let i = 0; i < values.length; i++) mem[at + i] = elemToJs(this.elem, values[i], mem[at + i]);
      return;
    }
    const bytes = bytesOf(mem);
    const size = this.elem.size;
    for (let i = 0; i < values.length; i++) bytes.set(encodeElem(this.elem, values[i]), (at + i) * size);
  }

  readBytes(length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    mightFault(this.ctx.sim, `copy_from_user(${this.path})`);
    const mem = this.jsMem;
    if (mem === null || mem === "bad")
      throw new KernelError(
        "EFAULT",
        `${this.path}: copy_from_user of ${length} bytes through a ${mem === null ? "NULL" : "bad"} user pointer`,
      );
    let bytes: Uint8Array;
    if (Array.isArray(mem)) {
      // An array of elements: its C bytes, each element checked as it is laid out.
      const size = this.elem.size;
      const n = Math.min(mem.length, Math.ceil(length / size));
      bytes = new Uint8Array(n * size);
      for (let i = 0; i < n; i++)
        bytes.set(
          encodeElem(this.elem, fieldFromJs(this.elem, mem[i], this.ctx, `${this.path}[${i}]`)),
          i * size,
        );
    } else bytes = bytesOf(mem);
    if (length > bytes.length)
      throw new KernelError(
        "EFAULT",
        `${this.path}: copy_from_user of ${length} bytes but the user buffer holds ${bytes.length}`,
      );
    return bytes.slice(0, length);
  }

  as<U>(elem: UapiElem): UserPtr<U> {
    return new JsUserPtr<U>(elem, this.jsMem, undefined, this.ctx, this.path);
  }

  accessOk(n: number, at = 0): void {
    if (n > 0) this.bounds(n, at, "access_ok");
  }

  private reach(n: number, at: number, op: string): unknown[] | ArrayBufferView {
    mightFault(this.ctx.sim, `${op}(${this.path})`);
    return this.bounds(n, at, op);
  }

  private bounds(n: number, at: number, op: string): unknown[] | ArrayBufferView {
    const mem = this.jsMem;
    if (mem === null || mem === "bad")
      throw new KernelError(
        "EFAULT",
        `${this.path}: ${op} of ${n} element(s) through a ${mem === null ? "NULL" : "bad"} user pointer`,
      );
    const len = Array.isArray(mem) ? mem.length : Math.floor(mem.byteLength / this.elem.size);
    this.checkRange(n, at, len, op);
    return mem;
  }
}

/** `n` scalars of kind `f` from `bytes` at byte `offset` (arrays of bytes and handles: one view, no per-element copies). */
function readScalars(f: UapiScalarField, bytes: Uint8Array, offset: number, n: number): unknown[] {
  if (f.kind === "u8") return Array.from(bytes.subarray(offset, offset + n));
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, n * f.size);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = uapiReadScalar(view, i * f.size, f.kind);
  return out;
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

// --- entry checks -------------------------------------------------------------------------------

/**
 * The checks the kernel makes on entry: every `mbz` member is 0 and every `flagsMask` member has
 * only defined bits, in member order (embedded structs and the input members of unions included).
 * `EINVAL` naming the member otherwise.
 */
export function uapiCheckEntry(layout: UapiLayout, value: unknown, what: string): void {
  if (layout.type === "scalar") {
    checkScalar(layout, value as number | bigint, what);
    return;
  }
  if (layout.type === "ptr" || !hasEntryChecks(layout)) return;
  const v = value as Obj;
  for (const [k, f] of membersOf(layout)) {
    if (layout.union?.out !== undefined && k === layout.union.out) continue;
    // A member's path is built only for a member with something to check (and, for a scalar, only
    // for the refusal).
    if (f.type === "scalar") {
      if (f.mbz === true || f.mask !== undefined) checkScalar(f, v[k] as number | bigint, what, k);
    } else if (f.type === "struct") {
      if (hasEntryChecks(f)) uapiCheckEntry(f, v[k], `${what}.${k}`);
    } else if (f.type === "union")
      for (const [m, s] of entriesOf(f.members))
        if (m !== f.out && hasEntryChecks(s)) uapiCheckEntry(s, (v[k] as Obj)[m], `${what}.${k}.${m}`);
  }
}

/** Whether a struct has anything for `uapiCheckEntry` to check (most have not), once per declaration. */
const ENTRY_CHECKS = new WeakMap<UapiStruct, boolean>();
function hasEntryChecks(s: UapiStruct): boolean {
  let has = ENTRY_CHECKS.get(s);
  if (has === undefined) {
    has = membersOf(s).some(([k, f]) => {
      if (s.union?.out !== undefined && k === s.union.out) return false;
      if (f.type === "scalar") return f.mbz === true || f.mask !== undefined;
      if (f.type === "struct") return hasEntryChecks(f);
      if (f.type === "union")
        return entriesOf(f.members).some(([m, ms]) => m !== f.out && hasEntryChecks(ms));
      return false;
    });
    ENTRY_CHECKS.set(s, has);
  }
  return has;
}

/** `mbz` and `flagsMask` of one scalar, named `where` (or `where.member`) if refused. */
function checkScalar(f: UapiScalarField, v: number | bigint, where: string, member?: string): void {
  if (f.mbz && v !== 0 && v !== 0n)
    throw new KernelError("EINVAL", `${memberPath(where, member)} must be 0, got ${v}`);
  if (f.mask !== undefined) {
    const bits = BigInt(v) & ~f.mask;
    if (bits !== 0n)
      throw new KernelError(
        "EINVAL",
        `${memberPath(where, member)}: unknown flag bits 0x${bits.toString(16)}`,
      );
  }
}

function memberPath(where: string, member: string | undefined): string {
  return member === undefined ? where : `${where}.${member}`;
}

// --- binary argument blocks ---------------------------------------------------------------------

/**
 * Decodes the argument block real userspace passed (`copy_from_user` of the struct): the same
 * value `uapiCopyFromJs` gives, with user pointers into `ctx.mem`. `bytes` must hold the whole
 * layout (the dispatcher zero-extends a shorter struct from older userspace first).
 */
export function uapiDecode<L extends UapiLayout>(
  layout: L,
  bytes: Uint8Array,
  ctx: UapiCopyContext,
): UapiValue<L> {
  return decodeElem(layout, bytes, ctx, ctx.what) as UapiValue<L>;
}

function decodeElem(e: UapiElem, bytes: Uint8Array, ctx: UapiCopyContext, path: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (e.type === "scalar") return uapiReadScalar(view, 0, e.kind);
  if (e.type === "ptr") return new MemUserPtr(e.elem, view.getBigUint64(0, true), e.count, ctx, path);
  return decodeStruct(e, view, 0, bytes, ctx, path);
}

function decodeStruct(
  s: UapiStruct,
  view: DataView,
  base: number,
  bytes: Uint8Array,
  ctx: UapiCopyContext,
  path: string,
): Obj {
  const out: Obj = {};
  for (const [k, f] of membersOf(s)) {
    const off = base + s.offsets[k]!;
    const p = `${path}.${k}`;
    switch (f.type) {
      case "scalar":
        out[k] = uapiReadScalar(view, off, f.kind);
        break;
      case "struct":
        out[k] = decodeStruct(f, view, off, bytes, ctx, p);
        break;
      case "union": {
        const u: Obj = {};
        for (const [m, ms] of entriesOf(f.members))
          u[m] = decodeStruct(ms, view, off, bytes, ctx, `${p}.${m}`);
        Object.defineProperty(u, RAW, { value: bytes.slice(off, off + f.size) });
        out[k] = u;
        break;
      }
      case "array":
        out[k] = Array.from({ length: f.length }, (_, i) =>
          decodeElem(
            f.elem,
            bytes.subarray(off + i * f.elem.size, off + (i + 1) * f.elem.size),
            ctx,
            `${p}[${i}]`,
          ),
        );
        break;
      case "chars": {
        const raw = bytes.subarray(off, off + f.length);
        const nul = raw.indexOf(0);
        out[k] = new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul));
        break;
      }
      case "ext":
        out[k] = f.parse(undefined, p);
        break;
      case "ptr":
        out[k] = new MemUserPtr(f.elem, view.getBigUint64(off, true), f.count, ctx, p);
        break;
    }
  }
  linkCounts(s, out);
  if (s.union !== undefined || s.anon !== undefined)
    Object.defineProperty(out, RAW, { value: bytes.slice(base, base + s.size) });
  return out;
}

/** Encodes a handler's value back into an argument block (`copy_to_user` of the struct). */
export function uapiEncode(layout: UapiLayout, value: unknown): Uint8Array {
  return encodeElem(layout, value);
}

function encodeElem(e: UapiElem, value: unknown): Uint8Array {
  const bytes = new Uint8Array(e.size);
  const view = new DataView(bytes.buffer);
  if (e.type === "scalar") uapiWriteScalar(view, 0, e.kind, value as number | bigint);
  else if (e.type === "ptr") view.setBigUint64(0, (value as UserPtr<unknown>).addr, true);
  else encodeStruct(e, value as Obj, view, 0, bytes);
  return bytes;
}

function encodeStruct(s: UapiStruct, v: Obj, view: DataView, base: number, bytes: Uint8Array): void {
  if (s.union !== undefined) {
    const members = s.fields as Record<string, UapiStruct>;
    encodeUnion({ type: "union", members, out: s.union.out, size: s.size, align: s.align }, v, base, bytes);
    return;
  }
  const shared = new Set(s.anon?.flatMap((g) => g.members));
  for (const [k, f] of membersOf(s)) {
    if (shared.has(k)) continue;
    const off = base + s.offsets[k]!;
    const x = v[k];
    switch (f.type) {
      case "scalar":
        uapiWriteScalar(view, off, f.kind, x as number | bigint);
        break;
      case "struct":
        encodeStruct(f, x as Obj, view, off, bytes);
        break;
      case "union":
        encodeUnion(f, x as Obj, off, bytes);
        break;
      case "array":
        (x as unknown[]).forEach((el, i) => {
          bytes.set(encodeElem(f.elem, el), off + i * f.elem.size);
        });
        break;
      case "chars":
        bytes.set(new TextEncoder().encode(x as string).subarray(0, f.length), off);
        break;
      case "ptr":
        view.setBigUint64(off, (x as UserPtr<unknown>).addr, true);
        break;
      default:
        break;
    }
  }
  for (const g of s.anon ?? []) encodeAnon(g, v, base, bytes);
}

/**
 * An anonymous union's bytes: the first variant whose encoding differs from the bytes that were
 * decoded (the one the handler changed), written over them; without decoded bytes, the first
 * variant that is not all zeros.
 */
function encodeAnon(g: UapiAnonGroup, v: Obj, base: number, bytes: Uint8Array): void {
  const raw = (v as { [RAW]?: Uint8Array })[RAW]?.subarray(g.offset, g.offset + g.size);
  const at = base + g.offset;
  if (raw !== undefined) bytes.set(raw, at);
  for (const variant of g.variants) {
    const enc = encodeElem(variant, v);
    if (enc.some((b, i) => b !== (raw?.[i] ?? 0))) {
      bytes.set(enc, at);
      return;
    }
  }
}

/**
 * A union's bytes: its `out` member over the bytes passed in when it names one; otherwise the
 * member the handler changed (the first whose bytes differ from what was decoded), else the
 * decoded bytes as they were.
 */
function encodeUnion(f: UapiUnionField, u: Obj, off: number, bytes: Uint8Array): void {
  const raw = (u as { [RAW]?: Uint8Array })[RAW];
  if (f.out !== undefined) {
    // The kernel's copy of the union: what userspace passed, the out member written over it.
    if (raw !== undefined) bytes.set(raw, off);
    bytes.set(encodeElem(f.members[f.out]!, u[f.out]), off);
    return;
  }
  for (const [name, m] of entriesOf(f.members)) {
    const enc = encodeElem(m, u[name]);
    if (raw === undefined || enc.some((b, i) => b !== raw[i])) {
      bytes.set(enc, off);
      return;
    }
  }
  if (raw !== undefined) bytes.set(raw, off);
}

/** A user pointer into a real program's memory. */
class MemUserPtr<T> extends BaseUserPtr<T> {
  constructor(
    elem: UapiElem,
    readonly addr: bigint,
    countField: string | undefined,
    ctx: UapiCopyContext,
    path: string,
  ) {
    super(elem, countField, ctx, path);
  }

  get isNull(): boolean {
    return this.addr === 0n;
  }

  read(n = this.count ?? 0, at = 0): T[] {
    if (n === 0) return [];
    this.checkRange(n, at, Number.MAX_SAFE_INTEGER, "copy_from_user");
    const size = this.elem.size;
    const bytes = this.access("copy_from_user").read(this.addr + BigInt(at * size), n * size);
    if (this.elem.type === "scalar") return readScalars(this.elem, bytes, 0, n) as T[];
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const el = bytes.subarray(i * size, (i + 1) * size);
      out.push(this.checked(decodeElem(this.elem, el, this.ctx, `${this.path}[${at + i}]`), at + i));
    }
    return out as T[];
  }

  write(values: readonly T[], at = 0): void {
    if (values.length === 0) return;
    const size = this.elem.size;
    const bytes = new Uint8Array(values.length * size);
    values.forEach((v, i) => {
      bytes.set(encodeElem(this.elem, v), i * size);
    });
    this.access("copy_to_user").write(this.addr + BigInt(at * size), bytes);
  }

  readBytes(length: number): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    return this.access("copy_from_user").read(this.addr, length);
  }

  as<U>(elem: UapiElem): UserPtr<U> {
    return new MemUserPtr<U>(elem, this.addr, undefined, this.ctx, this.path);
  }

  accessOk(n: number, at = 0): void {
    if (n === 0) return;
    this.checkRange(n, at, Number.MAX_SAFE_INTEGER, "access_ok");
    if (this.addr === 0n || this.ctx.mem === undefined)
      throw new KernelError("EFAULT", `${this.path}: access_ok of a NULL or unmapped user pointer`);
  }

  private access(op: string): UserMemory {
    mightFault(this.ctx.sim, `${op}(${this.path})`);
    const mem = this.ctx.mem;
    if (this.addr === 0n || mem === undefined)
      throw new KernelError(
        "EFAULT",
        `${this.path}: ${op} through ${this.addr === 0n ? "a NULL" : "an unmapped"} user pointer`,
      );
    return mem;
  }
}

/**
 * `strndup_user(ptr, n)`: a NUL-terminated string from user memory, at most `n` bytes with its
 * NUL. `EINVAL` if there is no NUL within `n` bytes, `EFAULT` if the memory ends first.
 */
export function uapiStrndupUser(ptr: UserPtr<number>, n: number, what: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < n; i++) {
    const [b] = ptr.read(1, i);
    if (b === 0) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(b!);
  }
  throw new KernelError("EINVAL", `${what}: the string is longer than ${n - 1} bytes`);
}
