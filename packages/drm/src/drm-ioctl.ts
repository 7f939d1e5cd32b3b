/**
 * `drm_ioctl()` (`drivers/gpu/drm/drm_ioctl.c`): looks the command up in the core table, then in
 * the driver's table, checks the caller's permission (`drm_ioctl_permit`), and calls the handler.
 */
import {
  contextTrack,
  defineTracepoint,
  type ExecutionContext,
  type FileOperations,
  type IocDir,
  iocDir,
  iocNr,
  iocSize,
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
 * not whoever opened the file). `DRM_AUTH` needs a render client or an authenticated one,
 * `DRM_MASTER` the current master, and a render client needs `DRM_RENDER_ALLOW`.
 *
 * Accel clients are not render clients (`drm_is_render_client()` tests the minor type only), so in
 * 7.1 they follow the primary rules minus mastership: an ioctl without `DRM_RENDER_ALLOW` is
 * allowed on `/dev/accel/accel*` (habanalabs declares every ioctl with flags 0), `DRM_AUTH` needs
 * a file opened with `CAP_SYS_ADMIN` (`drm_file_alloc` authenticates root; nothing else can on an
 * accel node, which has no master), and `DRM_MASTER` is always refused.
 */
export function drmIoctlPermit(flags: number, file: DrmFile, name: string, caller: Process): void {
  const where = file.minor.path;
  if ((flags & DRM_ROOT_ONLY) !== 0 && !drmProcessIsRoot(caller))
    throw new KernelError("EACCES", `${name} needs CAP_SYS_ADMIN (DRM_ROOT_ONLY); ${caller} is not root`);
  if ((flags & DRM_AUTH) !== 0 && !file.isRenderClient && !file.authenticated)
    throw new KernelError(
      "EACCES",
      file.isAccelClient
        ? `${name} needs an authenticated client (DRM_AUTH), and only a CAP_SYS_ADMIN opener of accel node ${where} is one`
        : `${name} needs an authenticated client (DRM_AUTH), and this client of ${where} is not authenticated by the DRM master`,
    );
  if ((flags & DRM_MASTER) !== 0 && !drmIsCurrentMaster(file))
    throw new KernelError("EACCES", `${name} may only be called by the DRM master of ${where} (DRM_MASTER)`);
  if ((flags & DRM_RENDER_ALLOW) === 0 && file.isRenderClient)
    throw new KernelError("EACCES", `${name} is not allowed on render node ${where} (no DRM_RENDER_ALLOW)`);
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
 * neither the core nor the driver defines; then the argument is copied in (`EFAULT`), the file's
 * owner updated (`drm_file_update_pid`), the caller's permission checked (`drm_ioctl_permit`:
 * `EACCES`), the features the ioctl requires (`EOPNOTSUPP`) and its declared pads and flags
 * (`EINVAL`), the handler run, and the argument copied back — whatever the handler returned, as
 * the kernel copies `out_size` bytes back before it looks at the return code (a failed copy back
 * is `EFAULT`). Only a call that failed before its argument was copied in leaves it untouched.
 *
 * Sizes and directions (for a byte-level `UapiUserArg`): the copy directions are those both the
 * request and the declaration have; `in_size` and `out_size` are the request's `_IOC_SIZE` in
 * those directions, so a shorter struct from older userspace is zero-extended to the declared one
 * and the tail of a longer one is ignored by the handler and copied back as it came.
 *
 * Returns (or throws) when the handler did not sleep, and returns a promise only when it did: the
 * many ioctls that never sleep cost no promise on the way down (`Process.ioctl` makes the one its
 * caller awaits).
 */
export function drmIoctl(file: DrmFile, cmd: number, arg: unknown, proc: Process): void | Promise<void> {
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
  const dir = (iocDir(cmd) & iocDir(def.cmd)) as IocDir;
  if (!sim.tracer.on) return drmIoctlKernel(file, def, dir, cmd, arg, proc, ctx);
  // Traced: the `drm_ioctl` slice spans the call, returned, failed or slept.
  const t0 = sim.now;
  let call: void | Promise<void>;
  try {
    call = drmIoctlKernel(file, def, dir, cmd, arg, proc, ctx);
  } catch (e) {
    traceSlice(file, ctx, t0, def.name, e);
    throw e;
  }
  if (call !== undefined) return traced(call, file, ctx, t0, def.name);
  traceSlice(file, ctx, t0, def.name, undefined);
}

/**
 * The copy in, the checks and the handler (`drm_ioctl_kernel`), and the copy back. Returns when
 * the handler did not sleep (no promise), else a promise.
 */
function drmIoctlKernel(
  file: DrmFile,
  def: DrmIoctlDef,
  dir: IocDir,
  cmd: number,
  arg: unknown,
  proc: Process,
  ctx: ExecutionContext,
): void | Promise<void> {
  const dev = file.device;
  const name = def.name;
  return uapiIoctlCall(
    dev.sim,
    name,
    dir,
    def.layout,
    arg,
    (args) => {
      // drm_ioctl_kernel: the file follows the fd to its new process before the permission check.
      drmFileUpdatePid(file, proc);
      drmIoctlPermit(def.flags, file, name, proc);
      if (def.requires !== 0 && !dev.checkFeature(def.requires))
        throw new KernelError("EOPNOTSUPP", `${name}: ${dev.driver.name} lacks the driver feature it needs`);
      uapiCheckEntry(def.layout, args, name);
      return def.handler(file, args, { proc, ctx, name, cmd });
    },
    { userSize: iocSize(cmd), copyBack: "always" },
  );
}

/** The `drm_ioctl` trace slice around a call that has started at `t0` and sleeps. */
async function traced(
  call: PromiseLike<void>,
  file: DrmFile,
  ctx: ExecutionContext,
  t0: number,
  name: string,
) {
  let failed: unknown;
  try {
    return await call;
  } catch (e) {
    failed = e;
    throw e;
  } finally {
    traceSlice(file, ctx, t0, name, failed);
  }
}

function traceSlice(file: DrmFile, ctx: ExecutionContext, t0: number, name: string, failed: unknown): void {
  const ret = failed === undefined ? 0 : failed instanceof KernelError ? failed.errno : -1;
  file.device.sim.tracer.slice(traceDrmIoctl, contextTrack(ctx), t0, {
    ioctl: name,
    file: file.minor.path,
    ret,
  });
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
