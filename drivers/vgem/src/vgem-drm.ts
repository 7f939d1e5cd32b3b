/**
 * The vgem uAPI (`include/uapi/drm/vgem_drm.h`): ioctl numbers, flags and argument structs as the
 * header lays them out, plus drmsim's two opt-in extensions that the kernel lacks: the flag
 * `VGEM_FENCE_NOTIMEOUT` (IGT's `WIP_VGEM_FENCE_NOTIMEOUT`) and the drmsim-only ioctl
 * `DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR`, the side channel that gives a fence an error before it is
 * signalled (no member of the header's structs carries one).
 */
import { DRM_COMMAND_BASE, DRM_IOW, DRM_IOWR } from "@drmsim/drm";
import { __s32, __u32, flagsMask, mbz, type UapiArgsOf, uapiStruct } from "@drmsim/runtime";

/** `DRM_VGEM_FENCE_ATTACH`: driver ioctl 0x1, i.e. `DRM_COMMAND_BASE + 0x1`. */
export const DRM_VGEM_FENCE_ATTACH = 0x1;
/** `DRM_VGEM_FENCE_SIGNAL`: driver ioctl 0x2. */
export const DRM_VGEM_FENCE_SIGNAL = 0x2;

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

/**
 * `struct drm_vgem_fence_attach`: in `handle`, `flags`; out `out_fence`. Unknown flags or a
 * non-zero `pad` are `EINVAL` (`vgem_fence_attach_ioctl`).
 */
export const drm_vgem_fence_attach = uapiStruct(
  "drm_vgem_fence_attach",
  {
    handle: __u32,
    flags: flagsMask(__u32, VGEM_FENCE_WRITE | VGEM_FENCE_NOTIMEOUT),
    out_fence: __u32,
    pad: mbz(__u32),
  },
  { size: 16 },
);
/** `struct drm_vgem_fence_attach` as a caller passes it. */
export type DrmVgemFenceAttach = UapiArgsOf<typeof drm_vgem_fence_attach>;

/** `struct drm_vgem_fence_signal`: `fence` is the id from FENCE_ATTACH; `flags` must be 0. */
export const drm_vgem_fence_signal = uapiStruct(
  "drm_vgem_fence_signal",
  { fence: __u32, flags: mbz(__u32) },
  { size: 8 },
);
/** `struct drm_vgem_fence_signal` as a caller passes it. */
export type DrmVgemFenceSignal = UapiArgsOf<typeof drm_vgem_fence_signal>;

/** `DRM_IOCTL_VGEM_FENCE_ATTACH`. */
export const DRM_IOCTL_VGEM_FENCE_ATTACH = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_VGEM_FENCE_ATTACH,
  drm_vgem_fence_attach,
);
/** `DRM_IOCTL_VGEM_FENCE_SIGNAL`. */
export const DRM_IOCTL_VGEM_FENCE_SIGNAL = DRM_IOW(
  DRM_COMMAND_BASE + DRM_VGEM_FENCE_SIGNAL,
  drm_vgem_fence_signal,
);

/**
 * drmsim only: `struct drmsim_vgem_fence_error` — the outstanding fence `fence` will carry `error`
 * (a negative errno, e.g. `-5` for EIO) when it is signalled, to model a failed GPU job.
 */
export const drmsim_vgem_fence_error = uapiStruct(
  "drmsim_vgem_fence_error",
  { fence: __u32, error: __s32 },
  { size: 8 },
);
/** `struct drmsim_vgem_fence_error` as a caller passes it. */
export type DrmsimVgemFenceError = UapiArgsOf<typeof drmsim_vgem_fence_error>;

/**
 * The side-channel ioctl's number within the driver range: the top (`DRM_COMMAND_BASE + 0x5f`),
 * far from the header's, which count up from 0x1.
 */
export const DRMSIM_VGEM_FENCE_ERROR = 0x5f;
/** `DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR`: drmsim only, never in `vgem_drm.h`. */
export const DRM_IOCTL_DRMSIM_VGEM_FENCE_ERROR = DRM_IOW(
  DRM_COMMAND_BASE + DRMSIM_VGEM_FENCE_ERROR,
  drmsim_vgem_fence_error,
);
