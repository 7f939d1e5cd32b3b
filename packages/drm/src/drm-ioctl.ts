/**
 * `drm_ioctl()` (`drivers/gpu/drm/drm_ioctl.c`): looks the command up in the core table, then in
 * the driver's table, checks the caller's permission (`drm_ioctl_permit`), and calls the handler.
 */
import {
  contextTrack,
  defineTracepoint,
  type FileOperations,
  type IocDir,
  iocDir,
  iocNr,
  iocType,
  KernelError,
  type Process,
  uapiCheckEntry,
  uapiIoctlCall,
} from "@drmsim/runtime";
import { drmFileUpdatePid, drmIsCurrentMaster } from "./drm-auth.js";
import type { DrmDevice } from "./drm-device.js";
import { type DrmFile, drmProcessIsRoot } from "./drm-file.js";
import { drmGemMmap } from "./drm-gem-mmap.js";
import {
  DRM_AUTH,
  DRM_COMMAND_BASE,
  DRM_COMMAND_END,
  DRM_MASTER,
  DRM_RENDER_ALLOW,
  DRM_ROOT_ONLY,
  type DrmIoctlDef,
} from "./drm-ioctl-def.js";
import { coreIoctlByNr } from "./drm-ioctl-table.js";
import { DRM_IOCTL_BASE } from "./drm-uapi.js";

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
 * The ioctl a request number selects on `dev`, as `drm_ioctl` finds it: by `DRM_IOCTL_NR(cmd)`,
 * in the driver's table for numbers in [`DRM_COMMAND_BASE`, `DRM_COMMAND_END`), else in the core
 * table. The size and direction bits do not take part (older userspace passes smaller structs).
 */
export function drmIoctlLookup(dev: DrmDevice, cmd: number): DrmIoctlDef | undefined {
  const nr = iocNr(cmd);
  return nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END ? dev.driverIoctl(nr) : coreIoctlByNr(nr);
}

/**
 * `drm_ioctl(filp, cmd, arg)` + `drm_ioctl_kernel()`: `ENODEV` once the device is unplugged;
 * `ENOTTY` for a request that is not a DRM one (type byte other than 'd'); `EINVAL` for a number
 * neither the core nor the driver defines; then the argument is copied in (in the directions both
 * the caller's request and the declaration have: `EFAULT`), the file's owner updated
 * (`drm_file_update_pid`), the caller's permission checked (`drm_ioctl_permit`: `EACCES`), the features the ioctl requires (`EOPNOTSUPP`) and its declared
 * pads and flags (`EINVAL`), the handler run, and the argument copied back.
 */
export async function drmIoctl(file: DrmFile, cmd: number, arg: unknown, proc: Process): Promise<void> {
  const dev = file.device;
  if (dev.unplugged || file.closed) throw new KernelError("ENODEV", `${file.minor.path} was unplugged`);
  if (String.fromCharCode(iocType(cmd)) !== DRM_IOCTL_BASE)
    throw new KernelError("ENOTTY", `request 0x${(cmd >>> 0).toString(16)} is not a DRM ioctl`);
  const def = drmIoctlLookup(dev, cmd);
  if (def === undefined)
    throw new KernelError(
      "EINVAL",
      `ioctl number 0x${iocNr(cmd).toString(16)} is not an ioctl of the DRM core or of driver ${dev.driver.name}`,
    );
  const sim = dev.sim;
  const ctx = sim.current;
  const name = def.name;
  const dir = (iocDir(cmd) & iocDir(def.cmd)) as IocDir;
  const run = () =>
    uapiIoctlCall(sim, name, dir, def.layout, arg, (args) => {
      // drm_ioctl_kernel: the file follows the fd to its new process before the permission check.
      drmFileUpdatePid(file, proc);
      drmIoctlPermit(def.flags, file, name, proc);
      if (def.requires !== 0 && !dev.checkFeature(def.requires))
        throw new KernelError("EOPNOTSUPP", `${name}: ${dev.driver.name} lacks the driver feature it needs`);
      uapiCheckEntry(def.layout, args, name);
      return def.handler(file, args, { proc, ctx, name, cmd });
    });
  if (!sim.tracer.on) return run();
  const t0 = sim.now;
  let ret = 0;
  try {
    return await run();
  } catch (e) {
    ret = e instanceof KernelError ? e.errno : -1;
    throw e;
  } finally {
    sim.tracer.slice(traceDrmIoctl, contextTrack(ctx), t0, {
      ioctl: name,
      file: file.minor.path,
      ret,
    });
  }
}

/** @internal The dispatcher (and `drm_gem_mmap`) as `file_operations`. */
export function drmFops(): FileOperations<DrmFile> {
  return {
    kind: "drm",
    ioctl: (f, cmd, arg, proc) => drmIoctl(f.priv, cmd, arg, proc),
    ioctlName: (f, cmd) => drmIoctlLookup(f.priv.device, cmd)?.name,
    mmap: (f, vma) => drmGemMmap(f.priv, vma),
    release: (f) => f.priv.device.releaseFile(f.priv),
  };
}
