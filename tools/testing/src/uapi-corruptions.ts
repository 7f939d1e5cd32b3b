/**
 * The invalid arguments an ioctl's declared layout implies: every checked pad (`mbz`) set to 1,
 * every flags member with a declared mask (`flagsMask`) given the lowest bit outside it — the
 * checks `drm_ioctl` makes before the handler runs, as the kernel's handlers make them first
 * thing (`if (args->pad) return -EINVAL`). Each is `EINVAL`. Derived from the same walk the
 * dispatcher's entry check makes (`uapiCheckEntry`): the struct's members, embedded structs and
 * the input members of unions; the inactive variants of anonymous unions are left alone (setting
 * one would make a different call, not a corrupted one). There is no kernel counterpart.
 */
import type { UapiLayout, UapiScalarField, UapiStruct } from "@drmsim/runtime";
import type { ConformanceArg, ConformanceCorruption } from "./conformance-driver.js";

type Obj = Record<string, unknown>;

const WIDTH: Record<UapiScalarField["kind"], number> = { u8: 8, u16: 16, u32: 32, s32: 32, u64: 64, s64: 64 };

/** The lowest bit of a `kind` member outside `mask`, or undefined if every bit is defined. */
function undefinedBit(kind: UapiScalarField["kind"], mask: bigint): bigint | undefined {
  for (let b = 0n; b < BigInt(WIDTH[kind]); b++) if (((mask >> b) & 1n) === 0n) return 1n << b;
  return undefined;
}

/** `v | bit` in the form a JavaScript caller passes: a number while it is a safe integer. */
function withBit(v: unknown, bit: bigint): number | bigint {
  const r = BigInt(typeof v === "number" || typeof v === "bigint" ? v : 0) | bit;
  return r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
}

/** The object at `path` in `root`, creating empty objects on the way (an absent struct is zeroes). */
function objectAt(root: ConformanceArg, path: readonly string[]): Obj {
  let o = root as Obj;
  for (const k of path) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Obj;
  }
  return o;
}

/** The corruptions `layout` implies for a call whose valid argument is `arg` (see the module comment). */
export function layoutCorruptions(layout: UapiLayout, arg: unknown): ConformanceCorruption[] {
  const out: ConformanceCorruption[] = [];
  if (layout.type !== "struct" || typeof arg !== "object" || arg === null) return out;
  walk(layout, arg as Obj, [], out);
  return out;
}

function walk(s: UapiStruct, value: Obj | undefined, path: string[], out: ConformanceCorruption[]): void {
  const anonMembers = new Set((s.anon ?? []).flatMap((g) => g.members));
  for (const [k, f] of Object.entries(s.fields)) {
    if (s.union?.out !== undefined && k === s.union.out) continue;
    // Another variant of a union is another call: only the variant the valid call used is changed.
    const present = value?.[k] !== undefined;
    if ((s.union !== undefined || anonMembers.has(k)) && !present) continue;
    const at = [...path, k];
    const name = at.join(".");
    if (f.type === "scalar") {
      if (f.mbz)
        out.push({
          what: `${name} (a pad that must be 0) set to 1`,
          errno: "EINVAL",
          corrupt: (a) => {
            objectAt(a, path)[k] = f.size === 8 ? 1n : 1;
          },
        });
      if (f.mask !== undefined) {
        const bit = undefinedBit(f.kind, f.mask);
        if (bit !== undefined)
          out.push({
            what: `${name} with the undefined flag bit 0x${bit.toString(16)}`,
            errno: "EINVAL",
            corrupt: (a) => {
              const o = objectAt(a, path);
              o[k] = withBit(o[k], bit);
            },
          });
      }
    } else if (f.type === "struct") walk(f, value?.[k] as Obj | undefined, at, out);
    else if (f.type === "union") {
      const u = value?.[k] as Obj | undefined;
      for (const [m, ms] of Object.entries(f.members))
        if (m !== f.out && u?.[m] !== undefined) walk(ms, u[m] as Obj, [...at, m], out);
    }
  }
}
