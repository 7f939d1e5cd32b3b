/**
 * Argument readers the ioctl handlers share while their arguments are plain objects.
 */
import { KernelError } from "@drmsim/runtime";

/** Rejects a non-zero value in a field userspace must zero (`pad`, reserved flags). */
export function drmCheckZero(args: Record<string, unknown>, field: string, ioctl: string): void {
  const v = args[field];
  if (v !== undefined && v !== 0)
    throw new KernelError("EINVAL", `${ioctl}: ${field} must be 0, got ${String(v)}`);
}

/** Reads a required unsigned integer field, `EINVAL` if it is missing or not a u32/u64-like integer. */
export function drmArgU(args: Record<string, unknown>, field: string, ioctl: string, dflt?: number): number {
  const v = args[field] ?? dflt;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new KernelError("EINVAL", `${ioctl}: ${field} must be a non-negative integer, got ${String(v)}`);
  return v;
}
