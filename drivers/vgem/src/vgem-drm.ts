/**
 * The vgem uAPI (`include/uapi/drm/vgem_drm.h`), plus drmsim's two opt-in extensions that the
 * kernel lacks (see `VGEM_FENCE_NOTIMEOUT` and `DrmVgemFenceSignal.error`).
 */

/** `DRM_VGEM_FENCE_ATTACH`: driver ioctl 0x1, i.e. `DRM_COMMAND_BASE + 0x1`. */
export const DRM_VGEM_FENCE_ATTACH = 0x1;
/** `DRM_VGEM_FENCE_SIGNAL`: driver ioctl 0x2. */
export const DRM_VGEM_FENCE_SIGNAL = 0x2;

/** `DRM_IOCTL_VGEM_FENCE_ATTACH`. */
export const DRM_IOCTL_VGEM_FENCE_ATTACH = "DRM_IOCTL_VGEM_FENCE_ATTACH";
/** `DRM_IOCTL_VGEM_FENCE_SIGNAL`. */
export const DRM_IOCTL_VGEM_FENCE_SIGNAL = "DRM_IOCTL_VGEM_FENCE_SIGNAL";

/** `VGEM_FENCE_WRITE`: the fence guards a write (added as `DMA_RESV_USAGE_WRITE`), else a read. */
export const VGEM_FENCE_WRITE = 0x1;

/**
 * drmsim extension — `WIP_VGEM_FENCE_NOTIMEOUT` of IGT's `lib/igt_vgem.h` (0x2), which upstream
 * vgem rejects with `EINVAL`: a fence without the 10-second safety timer, so a test can model a
 * GPU hang (a fence that only signals when the test says so, or when the file closes).
 */
export const VGEM_FENCE_NOTIMEOUT = 0x2;

/** `VGEM_FENCE_TIMEOUT` (`10 * HZ`): every fence is force-signalled after this, in ns. */
export const VGEM_FENCE_TIMEOUT_NS = 10_000_000_000;

/** `struct drm_vgem_fence_attach`: in `handle`, `flags`; out `out_fence`; `pad` must be 0. */
export interface DrmVgemFenceAttach {
  handle: number;
  flags?: number;
  out_fence?: number;
  pad?: number;
}

/**
 * `struct drm_vgem_fence_signal`: `fence` is the id from FENCE_ATTACH; `flags` must be 0.
 * drmsim extension: `error` — a negative errno (e.g. `-5` for EIO) the fence carries when it
 * signals, to model a failed GPU job; 0 or absent is a plain signal. The kernel has no such field.
 */
export interface DrmVgemFenceSignal {
  fence: number;
  flags?: number;
  error?: number;
}
