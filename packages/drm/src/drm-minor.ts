/**
 * `struct drm_minor` (`include/drm/drm_file.h`): one device node of a DRM device. A GPU driver gets
 * a primary node (`/dev/dri/cardN`, with DRM master and authentication) and, with
 * `DRIVER_RENDER`, a render node (`/dev/dri/renderD(128+N)`, no master, default-deny ioctls). An
 * accel driver gets only `/dev/accel/accelN`.
 */
import type { DrmDevice } from "./drm-device.js";

/** `enum drm_minor_type`. */
export type DrmMinorType = "primary" | "render" | "accel";

/** `struct drm_minor`. */
export class DrmMinor {
  constructor(
    /** `minor->dev`. */
    readonly device: DrmDevice,
    readonly type: DrmMinorType,
    /** `minor->index`: N of cardN / accelN, 128+N of renderD. */
    readonly index: number,
  ) {}

  /** The device node path userspace opens. */
  get path(): string {
    const dir = { primary: "/dev/dri/card", render: "/dev/dri/renderD", accel: "/dev/accel/accel" }[
      this.type
    ];
    return `${dir}${this.index}`;
  }
}
