/** hl-thunk's queries (`hlthunk_get_info` and friends): `HL_INFO` into a caller's struct. */
import type { Process, UapiStruct } from "@drmsim/runtime";
import { DRM_IOCTL_HL_INFO, type HlInfoArgs } from "../habanalabs-accel.js";

/**
 * `HL_INFO` of `op` into a fresh object of `layout` (`return_pointer` to it, `return_size` its
 * size, as hl-thunk passes a struct on its stack); the object the kernel filled.
 */
export async function hlthunkGetInfo<T = Record<string, number | bigint>>(
  p: Process,
  fd: number,
  op: number,
  layout: UapiStruct,
): Promise<T> {
  const out = {};
  await p.ioctl(fd, DRM_IOCTL_HL_INFO, {
    op,
    return_pointer: out,
    return_size: layout.size,
  } satisfies HlInfoArgs);
  return out as T;
}
