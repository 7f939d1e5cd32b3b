/**
 * Invariant 3, in one place: what a rejected ioctl may do to the caller's argument.
 *
 * Today drmsim's `drm_ioctl` copies the argument struct back only when the handler returned, so a
 * rejected call must leave the caller's struct exactly as it was passed. User memory behind the
 * struct's pointers is another matter: what a handler wrote there with `copy_to_user` before it
 * failed stays written, in the kernel as here (`drm_version` copies the driver name out, then
 * fails with `EFAULT` on a bad `date` pointer) — so the contents behind a pointer member are not
 * compared, only the struct's own members.
 *
 * The kernel's `drm_ioctl` copies an `_IOC_READ` argument back even when the handler failed (some
 * ioctls report status that way); once the core does the same, this is the rule to relax — to "a
 * rejected call writes back only what the handler wrote" — and nothing else in the fuzzer
 * depends on it.
 */
import type { KernelError, UapiElem, UapiField, UapiLayout } from "@drmsim/runtime";
import fc from "fast-check";

/** What the fuzzer keeps of an argument before the call, to compare after a rejection. */
export type ArgsBefore = string;

/** Stands for the contents of user memory behind a pointer member. */
const USER_MEMORY = "<user memory>";

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === "object" && !Array.isArray(v);

/** `v` with the contents behind `layout`'s pointer members replaced by a marker. */
function structOnly(layout: UapiField | UapiElem | UapiLayout | undefined, v: unknown): unknown {
  if (layout === undefined || v === null || typeof v !== "object") return v;
  switch (layout.type) {
    case "ptr":
      return USER_MEMORY;
    case "struct":
      if (!isPlain(v)) return v;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structOnly(layout.fields[k], x)]));
    case "union":
      if (!isPlain(v)) return v;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structOnly(layout.members[k], x)]));
    case "array":
      return Array.isArray(v) ? v.map((x) => structOnly(layout.elem, x)) : v;
    default:
      return v;
  }
}

/**
 * `args` as `rejectedArgsViolation` compares it: everything, except the contents behind the
 * pointer members of `layout` (the declaration of the ioctl that ran; undefined: none is known,
 * compare everything).
 */
export function argsBefore(args: unknown, layout?: UapiLayout): ArgsBefore {
  return fc.stringify(structOnly(layout, args));
}

/**
 * The violation of invariant 3 by a call rejected with `err`, or undefined: the caller's argument
 * `argsAfter`, seen through the same `layout`, must print as `before` did.
 */
export function rejectedArgsViolation(
  label: string,
  before: ArgsBefore,
  argsAfter: unknown,
  err: KernelError,
  layout?: UapiLayout,
): string | undefined {
  if (argsBefore(argsAfter, layout) === before) return undefined;
  return `${label} failed with ${err.code} but changed the caller's argument struct`;
}
