/**
 * The PRIME ioctls (`drm_prime.c`): share a GEM handle as a dma-buf fd and back. The paths run
 * through the device's hooks (`primeHandleToFd`, `primeFdToHandle`), whose defaults are the
 * `DrmPrimeHelper` plugin over @drmsim/gem's PRIME helpers: the per-file cache gives one handle per
 * dma-buf per file, re-export returns the same dma-buf, self-import returns the original object.
 */
import { dmaBufFd, dmaBufGet } from "@drmsim/dma-buf";
import { KernelError } from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";
import { drmArgU } from "./drm-ioctl-args.js";
import type { DrmIoctlCall } from "./drm-ioctl-def.js";

/** `DRM_CLOEXEC`. */
const DRM_CLOEXEC = 0o2000000;
/** `DRM_RDWR`. */
const DRM_RDWR = 0x2;

/** `struct drm_prime_handle`: HANDLE_TO_FD takes `handle`, `flags` and returns `fd`; FD_TO_HANDLE the reverse. */
export interface DrmPrimeHandle {
  handle?: number;
  flags?: number;
  fd?: number;
}

/** `DRM_IOCTL_PRIME_HANDLE_TO_FD` (`drm_prime_handle_to_fd_ioctl`). */
export function drmPrimeHandleToFdIoctl(file: DrmFile, args: DrmPrimeHandle, call: DrmIoctlCall): void {
  const a = args as Record<string, unknown>;
  const handle = drmArgU(a, "handle", "PRIME_HANDLE_TO_FD");
  const flags = drmArgU(a, "flags", "PRIME_HANDLE_TO_FD", 0);
  if ((flags & ~(DRM_CLOEXEC | DRM_RDWR)) !== 0)
    throw new KernelError(
      "EINVAL",
      `PRIME_HANDLE_TO_FD: unknown flags 0x${flags.toString(16)} (only DRM_CLOEXEC | DRM_RDWR)`,
    );
  const buf = file.device.hooks.driver.primeHandleToFd.call(file, handle, flags);
  if (buf === undefined)
    throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot export dma-bufs`);
  try {
    args.fd = dmaBufFd(buf, call.proc, flags);
  } catch (e) {
    buf.put();
    throw e;
  }
}

/** `DRM_IOCTL_PRIME_FD_TO_HANDLE` (`drm_prime_fd_to_handle_ioctl`). */
export async function drmPrimeFdToHandleIoctl(
  file: DrmFile,
  args: DrmPrimeHandle,
  call: DrmIoctlCall,
): Promise<void> {
  // `fd` is an __s32: a negative or closed fd reaches dma_buf_get and is EBADF, not EINVAL.
  const fd = (args as Record<string, unknown>).fd;
  if (typeof fd !== "number" || !Number.isSafeInteger(fd))
    throw new KernelError("EINVAL", `PRIME_FD_TO_HANDLE: fd must be an integer, got ${String(fd)}`);
  const buf = dmaBufGet(call.proc, fd);
  try {
    const handle = await file.device.hooks.driver.primeFdToHandle.promise(file, buf);
    if (handle === undefined)
      throw new KernelError("EOPNOTSUPP", `${file.device.driver.name} cannot import dma-bufs`);
    args.handle = handle;
  } finally {
    buf.put();
  }
}
