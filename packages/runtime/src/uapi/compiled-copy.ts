/**
 * The struct copies of simulated processes' arguments, compiled once per declaration. No kernel
 * counterpart: the kernel's `copy_from_user` is a `memcpy`; drmsim's copy checks every member of a
 * JavaScript object against its declared kind, and a loop over the members by name does that with
 * keyed loads and stores that see every struct's members at one site. A function generated for the
 * declaration reads and writes each member by its own name and builds the handler's value as one
 * object literal, which costs a fraction of the loop.
 *
 * A compiled copy handles what callers pass: a plain object with declared members, scalars in
 * range. Anything else — a member the struct lacks, a value to refuse, a variant clash — goes to
 * the generic copy (`fallback`), which makes the same checks in the same order and throws the same
 * error, so what a caller sees never depends on which copy ran. Where code cannot be generated (a
 * Content-Security-Policy without `unsafe-eval`) the generic copy does everything.
 */
import type { UapiCopyContext } from "./codec.js";
import type { UapiField, UapiScalarKind, UapiStruct } from "./layout.js";

type Obj = Record<string, unknown>;

/** The generic copy's parts a compiled copy calls into. */
export interface UapiCopyParts {
  /** The whole generic struct copy in (used for anything out of the ordinary, e.g. to refuse it). */
  readonly structFromJs: (s: UapiStruct, arg: unknown, ctx: UapiCopyContext, path: string) => Obj;
  /** One member that is not a scalar, copied in. */
  readonly fieldFromJs: (f: UapiField, v: unknown, ctx: UapiCopyContext, path: string) => unknown;
  /** One scalar member copied in when its value is not a plain one (a `bigint`, or one to refuse). */
  readonly scalarFromJs: (kind: UapiScalarKind, v: unknown, where: string, member: string) => unknown;
  /** The anonymous-union check (one variant given), which throws. */
  readonly checkVariants: (s: UapiStruct, src: Obj, path: string) => void;
  /** One member that is not a scalar, copied back. */
  readonly memberToJs: (f: UapiField, v: unknown, target: Obj, k: string) => void;
  /** A 64-bit value as the caller reads it back. */
  readonly u64ToJs: (v: bigint) => number | bigint;
}

/** A struct's compiled copies; `null` when the declaration is copied generically. */
export interface UapiCompiledCopy {
  readonly fromJs: (arg: unknown, ctx: UapiCopyContext, path: string) => Obj;
  readonly toJs: (value: Obj, target: Obj) => void;
}

const compiled = new WeakMap<UapiStruct, UapiCompiledCopy | null>();
let canGenerate = true;

/** The compiled copies of `s` (a struct or a union), made on first use; `null` where code cannot be generated. */
export function uapiCompiledCopy(s: UapiStruct, parts: UapiCopyParts): UapiCompiledCopy | null {
  let c = compiled.get(s);
  if (c === undefined) {
    c = canGenerate ? generate(s, parts) : null;
    compiled.set(s, c);
  }
  return c;
}

/** The test a plain `number` passes to be stored as it is (`v` holds it), per non-64-bit kind. */
const NARROW_FAST: Record<Exclude<UapiScalarKind, "u64" | "s64">, string> = {
  u8: "(v & 0xff) === v",
  u16: "(v & 0xffff) === v",
  u32: "(v >>> 0) === v",
  s32: "(v | 0) === v",
};

/**
 * The anonymous unions' check, inline: a group whose variants the caller set more than one of goes
 * to the generic check, which names them in its refusal. (A member is set when it is not absent or 0.)
 */
function variantChecks(s: UapiStruct): string {
  if (s.anon === undefined) return "";
  const given = (k: string) =>
    `((v = src[${JSON.stringify(k)}]) !== undefined && v !== null && v !== 0 && v !== 0n)`;
  const groups = s.anon.map(
    (g) =>
      `(${g.variants.map((v) => `(${Object.keys(v.fields).map(given).join(" || ")} ? 1 : 0)`).join(" + ")}) > 1`,
  );
  return `if (${groups.join(" || ")}) P.checkVariants(S, src, path);`;
}

function generate(s: UapiStruct, parts: UapiCopyParts): UapiCompiledCopy | null {
  const members = Object.entries(s.fields);
  // A member called __proto__ would set the literal's prototype: such a struct stays generic.
  if (members.some(([k]) => k === "__proto__")) return null;
  const fields: UapiField[] = [];
  const key = (k: string) => JSON.stringify(k);
  const inits: string[] = [];
  const backs: string[] = [];
  const links: string[] = [];
  // A union copies every member in (the caller may give any) and only its `out` member back, when
  // it names one: the kernel writes that member over what the caller passed.
  const out = s.union?.out;
  const back = (k: string, code: string) => {
    if (out === undefined || k === out) backs.push(code);
  };
  for (const [k, f] of members) {
    const i = fields.push(f) - 1;
    const load = `v = src[${key(k)}]`;
    const slow = (kind: UapiScalarKind) => `P.scalarFromJs(${key(kind)}, v, path, ${key(k)})`;
    if (f.type === "scalar" && (f.kind === "u64" || f.kind === "s64")) {
      const range =
        f.kind === "u64"
          ? "v >= 0 && v <= 9007199254740991"
          : "v >= -9007199254740991 && v <= 9007199254740991";
      const bigRange =
        f.kind === "u64"
          ? "v >= 0n && v <= 0xffffffffffffffffn"
          : "v >= -0x8000000000000000n && v <= 0x7fffffffffffffffn";
      inits.push(
        `${key(k)}: (${load}, typeof v === "number" && ${range} && Number.isInteger(v) ? BigInt(v)` +
          ` : typeof v === "bigint" && ${bigRange} ? v : v == null ? 0n : ${slow(f.kind)})`,
      );
      back(k, `v = value[${key(k)}]; target[${key(k)}] = typeof v === "bigint" ? P.u64ToJs(v) : v;`);
    } else if (f.type === "scalar") {
      const kind = f.kind as keyof typeof NARROW_FAST;
      // `+ 0` makes a -0 a 0, as the C member stores it.
      inits.push(
        `${key(k)}: (${load}, typeof v === "number" && ${NARROW_FAST[kind]} ? v + 0 : v == null ? 0 : ${slow(kind)})`,
      );
      back(k, `target[${key(k)}] = value[${key(k)}];`);
    } else {
      inits.push(`${key(k)}: P.fieldFromJs(F[${i}], src[${key(k)}], ctx, path + ${key(`.${k}`)})`);
      back(k, `P.memberToJs(F[${i}], value[${key(k)}], target, ${key(k)});`);
      if (f.type === "ptr" && f.count !== undefined) links.push(`out[${key(k)}].countOf = out;`);
    }
  }
  const fromJs = `
    return function fromJs(arg, ctx, path) {
      let src = arg;
      let v;
      if (src === undefined || src === null) src = EMPTY;
      else if (typeof src !== "object" || Array.isArray(src) || ArrayBuffer.isView(src)) return P.structFromJs(S, arg, ctx, path);
      for (const k in src) if (!(k in S.fields) && src[k] !== undefined) return P.structFromJs(S, arg, ctx, path);
      ${variantChecks(s)}
      const out = { ${inits.join(",\n")} };
      ${links.join("\n")}
      return out;
    };`;
  const toJs = `
    return function toJs(value, target) {
      let v;
      ${backs.join("\n")}
    };`;
  try {
    const empty = Object.freeze({});
    return {
      fromJs: new Function("S", "F", "P", "EMPTY", `"use strict";${fromJs}`)(s, fields, parts, empty),
      toJs: new Function("S", "F", "P", `"use strict";${toJs}`)(s, fields, parts),
    };
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    canGenerate = false;
    return null;
  }
}
