/**
 * Scalar members of uAPI structs: checking what a JavaScript caller passed, converting between
 * the handler's values (`number` up to 32 bits, `bigint` for 64) and the caller's (`number` while
 * it is a safe integer), and reading and writing them in a little-endian argument block — the
 * byte order of every architecture drmsim's real-userspace bridge runs on.
 */
import { KernelError } from "../errno.js";
import type { UapiScalarKind, UapiScalarValue } from "./layout.js";

const RANGE: Record<UapiScalarKind, readonly [bigint, bigint]> = {
  u8: [0n, 0xffn],
  u16: [0n, 0xffffn],
  u32: [0n, 0xffff_ffffn],
  s32: [-0x8000_0000n, 0x7fff_ffffn],
  u64: [0n, 0xffff_ffff_ffff_ffffn],
  s64: [-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn],
};

/** `S64_MAX` (`KTIME_MAX`): what a timeout of "forever" is written as. */
export const S64_MAX = 0x7fff_ffff_ffff_ffffn;
/** `U64_MAX` (`~0ull`). */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

const CTYPE: Record<UapiScalarKind, string> = {
  u8: "__u8",
  u16: "__u16",
  u32: "__u32",
  s32: "__s32",
  u64: "__u64",
  s64: "__s64",
};

/**
 * Checks a JavaScript value for a scalar member and returns the handler's value. Absent
 * (`undefined`/`null`) is 0, as in a zeroed C struct. Anything no C program could have stored in
 * the member — a fraction, NaN, a string, a number out of range, or a 64-bit value above 2^53
 * given as a `number` (which has already lost its low bits; pass a `bigint`) — is `EINVAL`,
 * naming the member `where` (or `where.member`, or `where[member]` for an array index: a struct's
 * copy passes the member apart, so the name is only built for an error).
 */
export function uapiScalarFromJs<K extends UapiScalarKind>(
  kind: K,
  v: unknown,
  where: string,
  member?: string | number,
): UapiScalarValue<K> {
  const fast = fastFromJs(kind, v);
  if (fast !== undefined) return fast;
  const field =
    member === undefined ? where : typeof member === "number" ? `${where}[${member}]` : `${where}.${member}`;
  const wide = kind === "u64" || kind === "s64";
  let b: bigint;
  if (v === undefined || v === null) b = 0n;
  else if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isInteger(v) && (!wide || Number.isSafeInteger(v))) b = BigInt(v);
  else
    throw new KernelError(
      "EINVAL",
      `${field} must be a ${CTYPE[kind]}, got ${describe(v)}${typeof v === "number" && wide && Number.isInteger(v) ? " (above 2^53 a number has lost precision: pass a bigint)" : ""}`,
    );
  const [lo, hi] = RANGE[kind];
  if (b < lo || b > hi)
    throw new KernelError("EINVAL", `${field} must be a ${CTYPE[kind]} (${lo}..${hi}), got ${describe(v)}`);
  return (wide ? b : Number(b)) as UapiScalarValue<K>;
}

/** The `number` range of each kind a caller may pass as a `number` (64-bit kinds: the safe integers). */
const NUMBER_RANGE: Record<UapiScalarKind, readonly [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffff_ffff],
  s32: [-0x8000_0000, 0x7fff_ffff],
  u64: [0, Number.MAX_SAFE_INTEGER],
  s64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * The values callers pass almost always — absent, or an integer `number` in range — converted
 * without going through `bigint`; `undefined` for anything else (a `bigint`, or a value to
 * refuse), which `uapiScalarFromJs` then handles in full.
 */
function fastFromJs<K extends UapiScalarKind>(kind: K, v: unknown): UapiScalarValue<K> | undefined {
  const wide = kind === "u64" || kind === "s64";
  if (typeof v === "number") {
    const [lo, hi] = NUMBER_RANGE[kind];
    if (!Number.isInteger(v) || v < lo || v > hi) return undefined;
    // `+ 0` makes a -0 a 0, as the C member stores it.
    return (wide ? BigInt(v) : v + 0) as UapiScalarValue<K>;
  }
  if (v === undefined || v === null) return (wide ? 0n : 0) as UapiScalarValue<K>;
  return undefined;
}

/** A handler's 64-bit value as a JavaScript caller reads it back: a `number` while it is safe. */
export function uapiU64ToJs(v: bigint): number | bigint {
  return v >= -0x1f_ffff_ffff_ffffn && v <= 0x1f_ffff_ffff_ffffn ? Number(v) : v;
}

/**
 * A 64-bit handler value as a `number`, for sizes, offsets and counts the simulation keeps in
 * doubles: `EINVAL` (naming `field`) above `max` (default 2^53−1), which no simulated resource
 * reaches; the caller decides whether the kernel would say something else for such a value.
 */
export function uapiU64ToNumber(v: bigint, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (v < 0n || v > BigInt(max))
    throw new KernelError("EINVAL", `${field} ${v} is out of range (max ${max})`);
  return Number(v);
}

/**
 * A `__s64` time in nanoseconds on the simulator's clock as a `number`: times beyond 2^53 ns
 * (104 days of virtual time, past any run) become ±Infinity, i.e. "never" and "long ago".
 */
export function uapiNsToNumber(v: bigint): number {
  if (v > 0x1f_ffff_ffff_ffffn) return Number.POSITIVE_INFINITY;
  if (v < -0x1f_ffff_ffff_ffffn) return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** Reads a scalar at `off` (little-endian). */
export function uapiReadScalar<K extends UapiScalarKind>(
  view: DataView,
  off: number,
  kind: K,
): UapiScalarValue<K> {
  switch (kind) {
    case "u8":
      return view.getUint8(off) as UapiScalarValue<K>;
    case "u16":
      return view.getUint16(off, true) as UapiScalarValue<K>;
    case "u32":
      return view.getUint32(off, true) as UapiScalarValue<K>;
    case "s32":
      return view.getInt32(off, true) as UapiScalarValue<K>;
    case "u64":
      return view.getBigUint64(off, true) as UapiScalarValue<K>;
    default:
      return view.getBigInt64(off, true) as UapiScalarValue<K>;
  }
}

/** Writes a scalar at `off` (little-endian). */
export function uapiWriteScalar(view: DataView, off: number, kind: UapiScalarKind, v: number | bigint): void {
  switch (kind) {
    case "u8":
      view.setUint8(off, Number(v));
      return;
    case "u16":
      view.setUint16(off, Number(v), true);
      return;
    case "u32":
      view.setUint32(off, Number(v), true);
      return;
    case "s32":
      view.setInt32(off, Number(v), true);
      return;
    case "u64":
      view.setBigUint64(off, BigInt(v), true);
      return;
    default:
      view.setBigInt64(off, BigInt(v), true);
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "object") return Array.isArray(v) ? "an array" : "an object";
  return String(v);
}
