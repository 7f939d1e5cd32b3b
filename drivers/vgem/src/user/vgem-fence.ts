/**
 * IGT's vgem helpers (`lib/igt_vgem.c`: `vgem_fence_attach`, `vgem_fence_signal`): the
 * `VGEM_FENCE_ATTACH` and `VGEM_FENCE_SIGNAL` ioctls with the kernel's structs, as a test program
 * calls them to put a fence on a buffer and signal it later.
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  type DrmVgemFenceAttach,
  type DrmVgemFenceSignal,
} from "../vgem-drm.js";

/**
 * `vgem_fence_attach`: a new fence on the buffer `handle` (`VGEM_FENCE_WRITE` for a write, else a
 * read; `VGEM_FENCE_NOTIMEOUT` for one without the 10 s safety timer); the fence's id.
 */
export async function vgemFenceAttach(p: Process, fd: number, handle: number, flags = 0): Promise<number> {
  const r = await p.ioctl<DrmVgemFenceAttach>(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags });
  return r.out_fence ?? 0;
}

/**
 * `vgem_fence_signal`: signals the fence `fence` (an id from `vgemFenceAttach`). `error` (drmsim
 * extension) is a negative errno the fence carries, to model a failed job.
 */
export async function vgemFenceSignal(p: Process, fd: number, fence: number, error?: number): Promise<void> {
  const args: DrmVgemFenceSignal = error === undefined ? { fence } : { fence, error };
  await p.ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, args);
}
