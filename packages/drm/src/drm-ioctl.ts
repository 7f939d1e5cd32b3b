/**
 * `drm_ioctl()` (`drivers/gpu/drm/drm_ioctl.c`): looks the command up in the core table, then in
 * the driver's table, checks the caller's permission (`drm_ioctl_permit`), and calls the handler.
 */
import {
  contextTrack,
  defineTracepoint,
  type FileOperations,
  KernelError,
  type Process,
} from "@drmsim/runtime";
import { drmFileUpdatePid, drmIsCurrentMaster } from "./drm-auth.js";
import { type DrmFile, drmProcessIsRoot } from "./drm-file.js";
import { DRM_AUTH, DRM_MASTER, DRM_RENDER_ALLOW, DRM_ROOT_ONLY, type DrmIoctlDef } from "./drm-ioctl-def.js";
import { coreIoctl } from "./drm-ioctl-table.js";

/** Tracepoint: one DRM ioctl, as a slice from entry to return. */
export const traceDrmIoctl = defineTracepoint<{ ioctl: string; file: string; ret: number }>(
  "drm_ioctl",
  "drm",
);

/**
 * `drm_ioctl_permit(flags, file)`: `EACCES` unless `caller` may run an ioctl with these flags on
 * `file`. `DRM_ROOT_ONLY` is the calling process's `CAP_SYS_ADMIN` (`capable()` tests `current`,
 * not whoever opened the file). Render and accel clients need `DRM_RENDER_ALLOW` and pass
 * `DRM_AUTH`; primary clients need to be authenticated for `DRM_AUTH` and the current master for
 * `DRM_MASTER`.
 */
export function drmIoctlPermit(flags: number, file: DrmFile, name: string, caller: Process): void {
  const where = file.minor.path;
  if ((flags & DRM_ROOT_ONLY) !== 0 && !drmProcessIsRoot(caller))
    throw new KernelError("EACCES", `${name} needs CAP_SYS_ADMIN (DRM_ROOT_ONLY); ${caller} is not root`);
  const renderLike = file.isRenderClient || file.isAccelClient;
  if ((flags & DRM_AUTH) !== 0 && !renderLike && !file.authenticated)
    throw new KernelError(
      "EACCES",
      `${name} needs an authenticated client (DRM_AUTH), and this client of ${where} is not authenticated by the DRM master`,
    );
  if ((flags & DRM_MASTER) !== 0 && !drmIsCurrentMaster(file))
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
  // drm_ioctl_kernel: the file follows the fd to its new process before the permission check.
  drmFileUpdatePid(file, proc);
  drmIoctlPermit(def.flags, file, cmd, proc);
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
    sim.tracer.slice(traceDrmIoctl, contextTrack(ctx), t0, {
      ioctl: cmd,
      file: file.minor.path,
      ret,
    });
  }
}

/** @internal The dispatcher as `file_operations`. */
export function drmFops(): FileOperations<DrmFile> {
  return {
    kind: "drm",
    ioctl: (f, cmd, arg, proc) => drmIoctl(f.priv, cmd, arg, proc),
    release: (f) => f.priv.device.releaseFile(f.priv),
  };
}
