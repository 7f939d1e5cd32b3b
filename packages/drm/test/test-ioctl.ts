/**
 * Driver ioctls for the core's tests: `struct t_arg { __u32 v; }` at `DRM_COMMAND_BASE + nr`.
 * The default handler sets `v` to 1, so a caller sees that the handler ran.
 */
import { __u32, type UapiValue, uapiStruct } from "@drmsim/runtime";
import { DRM_COMMAND_BASE, DRM_IOWR, type DrmIoctlDef, drmIoctlDefDrv } from "../src/index.js";

/** `struct t_arg`. */
export const t_arg = uapiStruct("t_arg", { v: __u32 }, { size: 4 });

/** The request number of test ioctl `nr`. */
export function T(nr: number): number {
  return DRM_IOWR(DRM_COMMAND_BASE + nr, t_arg);
}

/** A test driver ioctl `name` at `nr` with `flags`. */
export function tIoctl(
  name: string,
  nr: number,
  flags: number,
  handler: (file: import("../src/index.js").DrmFile, args: UapiValue<typeof t_arg>) => unknown = (_f, a) => {
    a.v = 1;
  },
): DrmIoctlDef {
  return drmIoctlDefDrv(name, T(nr), t_arg, handler, flags);
}
