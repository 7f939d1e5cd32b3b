/**
 * IGT's vgem helpers (`lib/igt_vgem.c`: `vgem_fence_attach`, `vgem_fence_signal`): the
 * `VGEM_FENCE_ATTACH` and `VGEM_FENCE_SIGNAL` ioctls with the kernel's structs, as a test program
 * calls them to put a fence on a buffer and signal it later.
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR,
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  type DrmVgemFenceAttach,
  type DrmVgemFenceSignal,
} from "../vgem-drm.js";

/**
 * `vgem_fence_attach`: a new fence on the buffer `handle` (`VGEM_FENCE_WRITE` for a write, else a
 * read; upstream refuses IGT's `VGEM_FENCE_NOTIMEOUT`); the fence's id.
 */
export async function vgemFenceAttach(p: Process, fd: number, handle: number, flags = 0): Promise<number> {
  const r = await p.ioctl<DrmVgemFenceAttach>(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags });
  return r.out_fence ?? 0;
}

/**
 * `vgem_fence_signal`: signals the fence `fence` (an id from `vgemFenceAttach`). `error` (drmsim
 * only) is a negative errno the fence carries, to model a failed job: the header's struct has no
 * room for it, so it goes first through the `DRMSIM_VGEM_FENCE_ERROR` side channel.
 */
export async function vgemFenceSignal(p: Process, fd: number, fence: number, error?: number): Promise<void> {
  if (error !== undefined) await p.ioctl(fd, DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR, { fence, error });
  await p.ioctl(fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, { fence } satisfies DrmVgemFenceSignal);
}
