/**
 * `drm_ioctl()` (`drivers/gpu/drm/drm_ioctl.c`): looks the command up in the core table, then in
 * the driver's table, checks the caller's permission (`drm_ioctl_permit`), and calls the handler.
 * Also the core ioctls that need nothing but the device and file: VERSION, GET_CAP, the DRM
 * master and authentication ioctls.
 */
import { defineTracepoint, type FileOperations, KernelError, type Process } from "@drmsim/runtime";
import { DrmDriverFeature } from "./drm-drv.js";
import { type DrmFile, drmProcessIsRoot } from "./drm-file.js";
import {
  coreIoctl,
  DRM_AUTH,
  DRM_MASTER,
  DRM_RENDER_ALLOW,
  DRM_ROOT_ONLY,
  type DrmIoctlDef,
  registerCoreIoctl,
} from "./drm-ioctl-def.js";

/** Tracepoint: one DRM ioctl, as a slice from entry to return. */
export const traceDrmIoctl = defineTracepoint<{ ioctl: string; file: string; ret: number }>(
  "drm_ioctl",
  "drm",
);

/**
 * `drm_ioctl_permit(flags, file)`: `EACCES` unless the caller may run an ioctl with these flags.
 * Render and accel clients need `DRM_RENDER_ALLOW` and pass `DRM_AUTH`; primary clients need to
 * be authenticated for `DRM_AUTH` and the current master for `DRM_MASTER`.
 */
export function drmIoctlPermit(flags: number, file: DrmFile, name = "this ioctl"): void {
  const where = file.minor.path;
  if ((flags & DRM_ROOT_ONLY) !== 0 && !drmProcessIsRoot(file.proc))
    throw new KernelError("EACCES", `${name} needs CAP_SYS_ADMIN (DRM_ROOT_ONLY); ${file.proc} is not root`);
  const renderLike = file.isRenderClient || file.isAccelClient;
  if ((flags & DRM_AUTH) !== 0 && !renderLike && !file.authenticated)
    throw new KernelError(
      "EACCES",
      `${name} needs an authenticated client (DRM_AUTH), and this client of ${where} is not authenticated by the DRM master`,
    );
  if ((flags & DRM_MASTER) !== 0 && !file.isMaster)
    throw new KernelError("EACCES", `${name} may only be called by the DRM master of ${where} (DRM_MASTER)`);
  if ((flags & DRM_RENDER_ALLOW) === 0 && renderLike)
    throw new KernelError(
      "EACCES",
      `${name} is not allowed on ${file.isAccelClient ? "accel" : "render"} node ${where} (no DRM_RENDER_ALLOW)`,
    );
}

/**
 * `drm_ioctl(filp, cmd, arg)`: dispatches `cmd` (the ioctl's name) for `file`. `ENODEV` once the
 * device is unplugged; `EINVAL` for a command neither the core nor the driver defines (as the
 * kernel answers an unknown DRM ioctl number); `EACCES` from the permission check.
 */
export async function drmIoctl(file: DrmFile, cmd: string, args: Record<string, unknown>, proc: Process) {
  const dev = file.device;
  if (dev.unplugged || file.closed)
    throw new KernelError("ENODEV", `${cmd}: ${file.minor.path} was unplugged`);
  const def: DrmIoctlDef | undefined = coreIoctl(cmd) ?? dev.driverIoctl(cmd);
  if (def === undefined)
    throw new KernelError("EINVAL", `${cmd} is not an ioctl of the DRM core or of driver ${dev.driver.name}`);
  drmIoctlPermit(def.flags, file, cmd);
  const sim = dev.sim;
  const ctx = sim.current;
  if (!sim.tracer.on) return def.handler(file, args, { proc, ctx, name: cmd });
  const t0 = sim.now;
  let ret = 0;
  try {
    return await def.handler(file, args, { proc, ctx, name: cmd });
  } catch (e) {
    ret = e instanceof KernelError ? e.errno : -1;
    throw e;
  } finally {
    sim.tracer.slice(traceDrmIoctl, { process: dev.driver.name, thread: ctx.label }, t0, {
      ioctl: cmd,
      file: file.minor.path,
      ret,
    });
  }
}

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

// --- core ioctls that need only the device and the file ---------------------------------------

/** `DRM_CAP_*` numbers (`include/uapi/drm/drm.h`). */
export const DrmCap = {
  DUMB_BUFFER: 0x1,
  VBLANK_HIGH_CRTC: 0x2,
  DUMB_PREFERRED_DEPTH: 0x3,
  DUMB_PREFER_SHADOW: 0x4,
  PRIME: 0x5,
  TIMESTAMP_MONOTONIC: 0x6,
  ASYNC_PAGE_FLIP: 0x7,
  CURSOR_WIDTH: 0x8,
  CURSOR_HEIGHT: 0x9,
  ADDFB2_MODIFIERS: 0x10,
  PAGE_FLIP_TARGET: 0x11,
  CRTC_IN_VBLANK_EVENT: 0x12,
  SYNCOBJ: 0x13,
  SYNCOBJ_TIMELINE: 0x14,
} as const;

/** `DRM_PRIME_CAP_IMPORT`. */
export const DRM_PRIME_CAP_IMPORT = 0x1;
/** `DRM_PRIME_CAP_EXPORT`. */
export const DRM_PRIME_CAP_EXPORT = 0x2;

/** `struct drm_version` as returned. */
export interface DrmVersion {
  version_major: number;
  version_minor: number;
  version_patchlevel: number;
  name: string;
  name_len: number;
  date: string;
  date_len: number;
  desc: string;
  desc_len: number;
}

registerCoreIoctl({
  name: "DRM_IOCTL_VERSION",
  nr: 0x00,
  flags: DRM_RENDER_ALLOW,
  handler(file, args: Partial<DrmVersion>) {
    const d = file.device.driver;
    // Linux 6.14 dropped drm_driver.date; drm_version reports "0" since.
    const name = d.name;
    const date = "0";
    const desc = d.desc ?? d.name;
    Object.assign(args, {
      version_major: d.major ?? 1,
      version_minor: d.minor ?? 0,
      version_patchlevel: d.patchlevel ?? 0,
      name,
      name_len: name.length,
      date,
      date_len: date.length,
      desc,
      desc_len: desc.length,
    });
  },
});

registerCoreIoctl({
  name: "DRM_IOCTL_GET_CAP",
  nr: 0x0c,
  flags: DRM_RENDER_ALLOW,
  handler(file, args: { capability?: number; value?: number }) {
    const dev = file.device;
    const cap = drmArgU(args, "capability", "DRM_IOCTL_GET_CAP");
    // drm_getcap: these caps make sense for every driver …
    switch (cap) {
      case DrmCap.TIMESTAMP_MONOTONIC:
        args.value = 1;
        return;
      case DrmCap.PRIME:
        args.value = DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT;
        return;
      case DrmCap.SYNCOBJ:
        args.value = dev.checkFeature(DrmDriverFeature.SYNCOBJ) ? 1 : 0;
        return;
      case DrmCap.SYNCOBJ_TIMELINE:
        args.value = dev.checkFeature(DrmDriverFeature.SYNCOBJ_TIMELINE) ? 1 : 0;
        return;
    }
    // … the others only for KMS drivers: a render-only driver (vgem) answers EOPNOTSUPP, not EINVAL.
    if (!dev.checkFeature(DrmDriverFeature.MODESET))
      throw new KernelError(
        "EOPNOTSUPP",
        `capability 0x${cap.toString(16)} needs a KMS (DRIVER_MODESET) driver`,
      );
    switch (cap) {
      case DrmCap.DUMB_BUFFER:
        args.value = dev.hooks.driver.dumbCreate.taps.length > 0 ? 1 : 0;
        return;
      case DrmCap.DUMB_PREFERRED_DEPTH:
      case DrmCap.DUMB_PREFER_SHADOW:
        args.value = 0;
        return;
    }
    throw new KernelError("EINVAL", `unknown capability 0x${cap.toString(16)}`);
  },
});

registerCoreIoctl({
  name: "DRM_IOCTL_GET_MAGIC",
  nr: 0x02,
  flags: 0,
  handler(file, args: { magic?: number }) {
    args.magic = file.device.getMagic(file);
  },
});

registerCoreIoctl({
  name: "DRM_IOCTL_AUTH_MAGIC",
  nr: 0x11,
  flags: DRM_AUTH | DRM_MASTER,
  handler(file, args: { magic?: number }) {
    file.device.authMagic(drmArgU(args, "magic", "DRM_IOCTL_AUTH_MAGIC"));
  },
});

registerCoreIoctl({
  name: "DRM_IOCTL_SET_MASTER",
  nr: 0x1e,
  flags: 0,
  handler(file) {
    const dev = file.device;
    if (dev.master === file) return;
    // drm_master_check_perm: only root or a file that was master before may (re)take it.
    if (!drmProcessIsRoot(file.proc) && !file.wasMaster)
      throw new KernelError(
        "EACCES",
        `${file.proc} is neither root nor a previous master of ${file.minor.path}`,
      );
    if (dev.master !== null) throw new KernelError("EBUSY", `${file.minor.path} already has a DRM master`);
    dev.master = file;
    file.wasMaster = true;
  },
});

registerCoreIoctl({
  name: "DRM_IOCTL_DROP_MASTER",
  nr: 0x1f,
  flags: 0,
  handler(file) {
    if (file.device.master !== file)
      throw new KernelError("EINVAL", `${file} is not the DRM master, so it cannot drop it`);
    file.device.master = null;
  },
});

/** @internal The dispatcher as `file_operations`. */
export function drmFops(): FileOperations<DrmFile> {
  return {
    kind: "drm",
    ioctl: (f, cmd, arg, proc) => drmIoctl(f.priv, cmd, arg, proc),
    release: (f) => f.priv.device.releaseFile(f.priv),
  };
}
