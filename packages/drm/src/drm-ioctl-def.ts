/**
 * The shape of one DRM ioctl (`struct drm_ioctl_desc`, `include/drm/drm_ioctl.h`) and the
 * permission flags the core checks before calling it (`enum drm_ioctl_flags`).
 *
 * The core table (`drm_ioctls[]` in `drm_ioctl.c`) is static, the same for every device: it is
 * written out in `drm-ioctl-table.ts`; each subsystem's module exports the handlers it implements.
 */
import { type ExecutionContext, KernelError, type Process } from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";

/** `DRM_AUTH`: on a primary node, only authenticated clients (render clients always pass). */
export const DRM_AUTH = 0x1;
/** `DRM_MASTER`: only the current DRM master of a primary node. */
export const DRM_MASTER = 0x2;
/** `DRM_ROOT_ONLY`: only `CAP_SYS_ADMIN` (a `Process` with `root` set, see `drmProcessIsRoot`). */
export const DRM_ROOT_ONLY = 0x4;
/** `DRM_UNLOCKED`: kept for fidelity; every modern ioctl is unlocked, so drmsim ignores it. */
export const DRM_UNLOCKED = 0x10;
/**
 * `DRM_RENDER_ALLOW`: callable on render nodes. The render node is default-deny: an ioctl without
 * this flag gets `EACCES` there, so a new driver ioctl is never exposed to unprivileged clients by
 * accident. drmsim applies the same rule to accel nodes (`/dev/accel/accelN`), which have no
 * master and no authentication either.
 */
export const DRM_RENDER_ALLOW = 0x20;

/** `DRM_COMMAND_BASE`: driver ioctl numbers start here (`include/uapi/drm/drm.h`). */
export const DRM_COMMAND_BASE = 0x40;
/** `DRM_COMMAND_END`: driver ioctl numbers end before this. */
export const DRM_COMMAND_END = 0xa0;

/** What a handler gets besides the file and its argument: who called, and from which context. */
export interface DrmIoctlCall {
  /** The calling process (`current`'s process). */
  readonly proc: Process;
  /** The calling execution context (`current`). */
  readonly ctx: ExecutionContext;
  /** The ioctl's name, e.g. `DRM_IOCTL_GEM_CLOSE`. */
  readonly name: string;
}

/**
 * `struct drm_ioctl_desc`: one ioctl. The handler (`drm_ioctl_t`) receives a private copy of the
 * caller's argument object (`kdata`), fills in its output fields in place (or returns a new
 * object), and throws a `KernelError` to fail. On failure nothing is copied back to the caller, so
 * a handler must validate everything before it changes any state.
 */
export interface DrmIoctlDef<A extends object = Record<string, unknown>> {
  /** The uAPI macro name, `DRM_IOCTL_SYNCOBJ_CREATE`; userspace passes it as the `cmd`. */
  readonly name: string;
  /** `DRM_IOCTL_NR(cmd)`: core ioctls below `DRM_COMMAND_BASE`, driver ioctls from it. */
  readonly nr: number;
  /** `DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY | DRM_RENDER_ALLOW`. */
  readonly flags: number;
  /** `drm_ioctl_t`. */
  handler(file: DrmFile, args: A, call: DrmIoctlCall): unknown | Promise<unknown>;
}

/**
 * `DRM_IOCTL_DEF(ioctl, func, flags)`: one entry of the core table (`drm_ioctls[]`, see
 * `DRM_CORE_IOCTLS`). Core numbers lie outside the driver range [`DRM_COMMAND_BASE`, `DRM_COMMAND_END`).
 */
export function drmIoctlDef<A extends object>(
  name: string,
  nr: number,
  handler: (file: DrmFile, args: A, call: DrmIoctlCall) => unknown,
  flags: number,
): DrmIoctlDef {
  if (nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END)
    throw new Error(`${name}: core ioctl number 0x${nr.toString(16)} is in the driver range`);
  return { name, nr, flags, handler: handler as DrmIoctlDef["handler"] };
}

/**
 * `DRM_IOCTL_DEF_DRV(ioctl, func, flags)`: one entry of a driver's ioctl table. `nr` is the number
 * the driver's uAPI header gives it (`DRM_AMDGPU_CS` is 0x04); the entry is numbered from
 * `DRM_COMMAND_BASE`, as `DRM_IOCTL_AMDGPU_CS` is. Tap `hooks.driver.ioctls` and `add()` it.
 */
export function drmIoctlDefDrv<A extends object>(
  name: string,
  nr: number,
  handler: (file: DrmFile, args: A, call: DrmIoctlCall) => unknown,
  flags: number,
): DrmIoctlDef<A> {
  if (!Number.isInteger(nr) || nr < 0 || nr >= DRM_COMMAND_END - DRM_COMMAND_BASE)
    throw new KernelError(
      "EINVAL",
      `DRM_IOCTL_DEF_DRV(${name}): driver ioctl number ${nr} is outside 0..0x${(DRM_COMMAND_END - DRM_COMMAND_BASE - 1).toString(16)} (it is added to DRM_COMMAND_BASE)`,
    );
  return { name, nr: DRM_COMMAND_BASE + nr, flags, handler };
}
