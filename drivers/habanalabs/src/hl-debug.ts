/**
 * `HL_DEBUG` (`hl_debug_ioctl`): debug mode and the CoreSight configuration ops.
 *
 * As the driver: `EBUSY` while the device is not operational (in reset); `SET_MODE` with `enable`
 * puts the device in debug mode — `EFAULT` if it already is, or, to leave it, if it is not; the
 * configuration ops (`ETR` … `TIMESTAMP`) are `EFAULT` outside debug mode ("Rejecting debug
 * configuration request because device not in debug mode"); any other op is `EINVAL`. In debug
 * mode a configuration op copies in at most the op's parameter struct (`hl_debug_struct_size`;
 * `EFAULT` if user memory holds less) and, since drmsim has no CoreSight blocks, configures
 * nothing and writes no trace data back. The mode ends with the context that set it.
 */
import { __u8, KernelError, type UapiValue } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";
import {
  HL_DEBUG_OP_BMON,
  HL_DEBUG_OP_ETF,
  HL_DEBUG_OP_ETR,
  HL_DEBUG_OP_FUNNEL,
  HL_DEBUG_OP_SET_MODE,
  HL_DEBUG_OP_SPMU,
  HL_DEBUG_OP_STM,
  HL_DEBUG_OP_TIMESTAMP,
  type hl_debug_args,
} from "./habanalabs-accel.js";

/** `hl_debug_struct_size`: the parameter struct each configuration op reads (`hl_debug_params_*`). */
export const HL_DEBUG_STRUCT_SIZE: Readonly<Record<number, number>> = Object.freeze({
  [HL_DEBUG_OP_ETR]: 24,
  [HL_DEBUG_OP_ETF]: 24,
  [HL_DEBUG_OP_STM]: 24,
  [HL_DEBUG_OP_FUNNEL]: 0,
  [HL_DEBUG_OP_BMON]: 48,
  [HL_DEBUG_OP_SPMU]: 88,
  [HL_DEBUG_OP_TIMESTAMP]: 0,
});

/** `hl_debug_ioctl`: see the module comment. */
export function hlDebugIoctl(ctx: HlCtx, args: UapiValue<typeof hl_debug_args>): void {
  const hdev = ctx.hdev;
  if (hdev.inReset) throw new KernelError("EBUSY", "Device is in reset. Can't execute DEBUG IOCTL");
  const op = args.op;
  if (op === HL_DEBUG_OP_SET_MODE) {
    // hl_device_set_debug_mode
    if (args.enable === 0) {
      if (hdev.debugCtx === null)
        throw new KernelError("EFAULT", "Failed to disable debug mode because device was not in debug mode");
      hdev.debugCtx = null;
      return;
    }
    if (hdev.debugCtx !== null)
      throw new KernelError("EFAULT", "Failed to enable debug mode because device is already in debug mode");
    hdev.debugCtx = ctx;
    return;
  }
  const size = HL_DEBUG_STRUCT_SIZE[op];
  if (size === undefined) throw new KernelError("EINVAL", `HL_DEBUG: invalid request ${op}`);
  if (hdev.debugCtx === null)
    throw new KernelError("EFAULT", "Rejecting debug configuration request because device not in debug mode");
  // debug_coresight: copy_from_user of the op's parameters, clamped to their struct.
  const n = Math.min(args.input_size, size);
  if (n > 0) args.input_ptr.as<number>(__u8).read(n);
}
