/**
 * The shape of one DRM ioctl (`struct drm_ioctl_desc`, `include/drm/drm_ioctl.h`) and the
 * permission flags the core checks before calling it (`enum drm_ioctl_flags`).
 *
 * The core table (`drm_ioctls[]` in `drm_ioctl.c`) is static, the same for every device: it is
 * written out in `drm-ioctl-table.ts`; each subsystem's module exports the handlers it implements.
 */
import {
  type ExecutionContext,
  iocNr,
  iocType,
  KernelError,
  type Process,
  type UapiLayout,
  type UapiValue,
  uapiCheckRequest,
} from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";
import { DRM_IOCTL_BASE } from "./drm-uapi.js";

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
  /** The request number the caller passed (its size may differ from the declaration's). */
  readonly cmd: number;
}

/**
 * `struct drm_ioctl_desc`: one ioctl — its request number (which encodes the number, the
 * direction and the size of the argument), the argument's declared layout, the permission flags,
 * and the handler (`drm_ioctl_t`).
 *
 * The handler receives the argument as the kernel's `kdata`: a typed value copied in from the
 * caller (`__u64` members as `bigint`, user pointers as `UserPtr`), after the core checked the
 * caller's permission, the driver features the ioctl `requires` (`EOPNOTSUPP`), and the members
 * the layout declares `mbz` or `flagsMask` (`EINVAL`). It writes its outputs into that value and
 * throws a `KernelError` to fail; the core copies the value back to the caller when the request
 * has the `_IOC_READ` bit and the call succeeded, so a handler must check everything before it
 * changes any state.
 */
export interface DrmIoctlDef<L extends UapiLayout = UapiLayout> {
  /** The uAPI macro name, `DRM_IOCTL_SYNCOBJ_CREATE` (driver ioctls: `AMDGPU_CS`, as `DRM_IOCTL_DEF_DRV` names them). */
  readonly name: string;
  /** The request number (`DRM_IOWR(0xbf, struct drm_syncobj_create)`). */
  readonly cmd: number;
  /** `DRM_IOCTL_NR(cmd)`: core ioctls below `DRM_COMMAND_BASE`, driver ioctls from it. */
  readonly nr: number;
  /** The argument as the uAPI header declares it. */
  readonly layout: L;
  /** `DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY | DRM_RENDER_ALLOW`. */
  readonly flags: number;
  /** `DRIVER_*` features the ioctl needs: without them it is `EOPNOTSUPP`, before any other check. */
  readonly requires: number;
  /** `drm_ioctl_t`. */
  handler(file: DrmFile, args: UapiValue<L>, call: DrmIoctlCall): unknown;
}

/** Options of a table entry. */
export interface DrmIoctlDefOptions {
  /** `DRIVER_*` features the ioctl needs (`drm_core_check_feature` at the top of the handler). */
  readonly requires?: number;
}

function define<L extends UapiLayout>(
  name: string,
  cmd: number,
  layout: L,
  handler: (file: DrmFile, args: UapiValue<L>, call: DrmIoctlCall) => unknown,
  flags: number,
  opts: DrmIoctlDefOptions,
): DrmIoctlDef<L> {
  uapiCheckRequest(name, cmd, layout);
  if (String.fromCharCode(iocType(cmd)) !== DRM_IOCTL_BASE)
    throw new Error(`${name}: request 0x${cmd.toString(16)} is not a DRM request (type 'd')`);
  return { name, cmd, nr: iocNr(cmd), layout, flags, requires: opts.requires ?? 0, handler };
}

/**
 * `DRM_IOCTL_DEF(ioctl, func, flags)`: one entry of the core table (`drm_ioctls[]`, see
 * `DRM_CORE_IOCTLS`). Core numbers lie outside the driver range [`DRM_COMMAND_BASE`, `DRM_COMMAND_END`).
 */
export function drmIoctlDef<L extends UapiLayout>(
  name: string,
  cmd: number,
  layout: L,
  handler: (file: DrmFile, args: UapiValue<L>, call: DrmIoctlCall) => unknown,
  flags: number,
  opts: DrmIoctlDefOptions = {},
): DrmIoctlDef<L> {
  const def = define(name, cmd, layout, handler, flags, opts);
  if (def.nr >= DRM_COMMAND_BASE && def.nr < DRM_COMMAND_END)
    throw new Error(`${name}: core ioctl number 0x${def.nr.toString(16)} is in the driver range`);
  return def;
}

/**
 * `DRM_IOCTL_DEF_DRV(ioctl, func, flags)`: one entry of a driver's ioctl table. `cmd` is the
 * driver's request number as its uAPI header defines it — `DRM_IOCTL_AMDGPU_CS` is
 * `DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_CS, union drm_amdgpu_cs)` — and `name` the macro name
 * without `DRM_IOCTL_` (`AMDGPU_CS`). Tap `hooks.driver.ioctls` and `add()` it. `EINVAL` for a
 * number outside the driver range.
 */
export function drmIoctlDefDrv<L extends UapiLayout>(
  name: string,
  cmd: number,
  layout: L,
  handler: (file: DrmFile, args: UapiValue<L>, call: DrmIoctlCall) => unknown,
  flags: number,
  opts: DrmIoctlDefOptions = {},
): DrmIoctlDef<L> {
  const def = define(name, cmd, layout, handler, flags, opts);
  if (def.nr < DRM_COMMAND_BASE || def.nr >= DRM_COMMAND_END)
    throw new KernelError(
      "EINVAL",
      `DRM_IOCTL_DEF_DRV(${name}): number 0x${def.nr.toString(16)} is outside the driver range 0x40..0x9f (DRM_COMMAND_BASE + nr)`,
    );
  return def;
}
