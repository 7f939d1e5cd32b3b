/** hl-thunk's profiler controls (`hlthunk_debug`, `hlthunk_profiler_start`/`stop`): the `HL_DEBUG` ioctl. */
import type { Process } from "@drmsim/runtime";
import { DRM_IOCTL_HL_DEBUG, HL_DEBUG_OP_SET_MODE, type HlDebugArgs } from "../habanalabs-accel.js";

/** `hlthunk_debug`: `HL_DEBUG` with `args` as given. */
export async function hlthunkDebug(p: Process, fd: number, args: HlDebugArgs): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_HL_DEBUG, args);
}

/** `HL_DEBUG_OP_SET_MODE`: debug (profiling) mode on or off, as `hlthunk_profiler_start`/`stop` do. */
export async function hlthunkDebugSetMode(p: Process, fd: number, enable: boolean): Promise<void> {
  await hlthunkDebug(p, fd, { op: HL_DEBUG_OP_SET_MODE, enable: enable ? 1 : 0 });
}
