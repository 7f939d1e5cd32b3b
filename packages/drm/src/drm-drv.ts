/**
 * Driver identity and feature flags (`struct drm_driver`'s data half and `enum drm_driver_feature`,
 * `include/drm/drm_drv.h`). The ops half of `struct drm_driver` is the `hooks.driver` object of the
 * plugin host (`plugin/hooks.ts`).
 */

/** `enum drm_driver_feature`, same bit values as the kernel. */
export const DrmDriverFeature = {
  /** `DRIVER_GEM`: the driver uses the GEM memory manager (every drmsim driver does). */
  GEM: 1 << 0,
  /** `DRIVER_MODESET`: KMS. drmsim has no display, but the flag matters for COMPUTE_ACCEL exclusivity. */
  MODESET: 1 << 1,
  /** `DRIVER_RENDER`: the device gets a render node, `/dev/dri/renderD(128+N)`. */
  RENDER: 1 << 3,
  /** `DRIVER_ATOMIC`. */
  ATOMIC: 1 << 4,
  /** `DRIVER_SYNCOBJ`: the `DRM_IOCTL_SYNCOBJ_*` ioctls work (else `EOPNOTSUPP`). */
  SYNCOBJ: 1 << 5,
  /** `DRIVER_SYNCOBJ_TIMELINE`: timeline syncobjs. */
  SYNCOBJ_TIMELINE: 1 << 6,
  /** `DRIVER_COMPUTE_ACCEL`: an accel device, `/dev/accel/accelN` only; exclusive with RENDER and MODESET. */
  COMPUTE_ACCEL: 1 << 7,
  /** `DRIVER_GEM_GPUVA`. */
  GEM_GPUVA: 1 << 8,
} as const;

/** What a driver says about itself at probe (`drm_driver.name/desc/major/minor/patchlevel/driver_features`). */
export interface DrmDriverInfo {
  /** `drm_driver.name`: `vgem`, `amdgpu`. Also the prefix of op frames in backtraces (`vgem.gemCreateObject`). */
  readonly name: string;
  /** `drm_driver.desc`. */
  readonly desc?: string;
  /** `drm_driver.date` (removed from the kernel in 6.14; `DRM_IOCTL_VERSION` reports "0"). */
  readonly date?: string;
  readonly major?: number;
  readonly minor?: number;
  readonly patchlevel?: number;
  /** `driver_features`: an OR of `DrmDriverFeature` bits. */
  readonly features: number;
}
