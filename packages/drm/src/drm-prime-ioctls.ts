/**
 * The PRIME ioctls (`drm_prime.c`): share a GEM handle as a dma-buf fd and back. The paths run
 * through the device's hooks (`primeHandleToFd`, `primeFdToHandle`), whose defaults are the
 * `DrmPrimeHelper` plugin over @drmsim/gem's PRIME helpers: the per-file cache gives one handle per
 * dma-buf per file, re-export returns the same dma-buf, self-import returns the original object.
 */
import { dmaBufFd, dmaBufGet } from "@drmsim/dma-buf";
import { KernelError, type UapiValue } from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";
import type { DrmIoctlCall } from "./drm-ioctl-def.js";
import type { drm_prime_handle } from "./drm-uapi.js";

/** `DRM_CLOEXEC`. */
const DRM_CLOEXEC = 0o2000000;
/** `DRM_RDWR`. */
const DRM_RDWR = 0x2;

/**
 * `DRM_IOCTL_PRIME_HANDLE_TO_FD` (`drm_prime_handle_to_fd_ioctl`): flags ⊆ {`DRM_CLOEXEC`,
 * `DRM_RDWR`} else `EINVAL`; the dma-buf of the handle (exported on first use) as a new fd.
 */
export function drmPrimeHandleToFdIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_prime_handle>,
  call: DrmIoctlCall,
): void {
  const flags = args.flags;
  if ((flags & ~(DRM_CLOEXEC | DRM_RDWR)) !== 0)
    throw new KernelError(
      "EINVAL",
      `PRIME_HANDLE_TO_FD: unknown flags 0x${flags.toString(16)} (only DRM_CLOEXEC | DRM_RDWR)`,
    );
  const buf = file.device.hooks.driver.primeHandleToFd.call(file, args.handle, flags);
  if (buf === undefined)
    throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot export dma-bufs`);
  try {
    args.fd = dmaBufFd(buf, call.proc, flags);
  } catch (e) {
    buf.put();
    throw e;
  }
}

/**
 * `DRM_IOCTL_PRIME_FD_TO_HANDLE` (`drm_prime_fd_to_handle_ioctl`): the handle of the dma-buf in
 * this file (`dma_buf_get` errors: `EBADF`, `EINVAL`), importing it on first use.
 */
export async function drmPrimeFdToHandleIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_prime_handle>,
  call: DrmIoctlCall,
): Promise<void> {
  const buf = dmaBufGet(call.proc, args.fd);
  try {
    const handle = await file.device.hooks.driver.primeFdToHandle.promise(file, buf);
    if (handle === undefined)
      throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot import dma-bufs`);
    args.handle = handle;
  } finally {
    buf.put();
  }
}
