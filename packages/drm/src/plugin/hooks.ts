/**
 * The ops tables of a DRM device as tapable hooks: one frozen `hooks` object per device, with a
 * group per kernel ops struct, every hook documented by the op it mirrors. A driver taps them in
 * its `apply(hooks)`; the framework's tracer and validator intercept them (`interceptors.ts`).
 *
 * Shapes follow STACK.md: hook type arguments are tuples; bail hooks include `undefined` in their
 * result so a tap may decline ("not mine, ask the next one"). Default implementations (the
 * kernel's helpers) are plugins tapped at `DrmHookStage.HELPER`, after the driver's own taps.
 */
import { AsyncSeriesBailHook, SyncHook } from "tapable";
import type { DrmFile } from "../drm-file.js";
import type { DrmIoctlDef } from "../drm-ioctl-def.js";

/** Ordered phases for `stage` in tap options: lower runs first. */
export const DrmHookStage = {
  /** The driver's own implementation (the default stage 0). */
  DRIVER: 0,
  /** The kernel helpers drmsim installs by default (shmem GEM, PRIME); a driver tap before them wins. */
  HELPER: 100,
} as const;

/** Where a driver declares its ioctls (`drm_driver.ioctls` + `num_ioctls`). */
export interface DrmIoctlRegistry {
  /** Adds one `DRM_IOCTL_DEF_DRV` entry: number in [0x40, 0xa0), unique name and number. */
  add(def: DrmIoctlDef<never>): void;
}

/** `struct drm_mode_create_dumb`: in `height`, `width`, `bpp`, `flags`; out `handle`, `pitch`, `size`. */
export interface DrmModeCreateDumb {
  height: number;
  width: number;
  bpp: number;
  flags?: number;
  handle?: number;
  pitch?: number;
  size?: number;
}

/** `struct drm_driver`'s ops. */
export interface DrmDriverHooks {
  /** `drm_driver.open`: a new client; set `file.driverPriv`. Throwing fails the `open()`. */
  readonly open: SyncHook<[file: DrmFile]>;
  /** `drm_driver.postclose`: the client's last reference is gone; free `file.driverPriv`. */
  readonly postclose: SyncHook<[file: DrmFile]>;
  /** `drm_driver.ioctls`: called once at probe; tap it to add the driver's ioctls. */
  readonly ioctls: SyncHook<[registry: DrmIoctlRegistry]>;
  /**
   * `drm_driver.dumb_create`: allocate a dumb buffer for `DRM_IOCTL_MODE_CREATE_DUMB`, fill in
   * `handle`, `pitch` and `size`, and return true. Optional: without a tap the ioctl answers
   * `ENOSYS` and `DRM_CAP_DUMB_BUFFER` reads 0, as in the kernel.
   */
  readonly dumbCreate: AsyncSeriesBailHook<[file: DrmFile, args: DrmModeCreateDumb], true | undefined>;
  /** `drm_driver.release` / `drm_dev_put`'s last step: free device-wide driver state at remove. */
  readonly release: SyncHook<[]>;
}

/** Every hook group of a device. Frozen at probe. */
export interface DrmHooks {
  readonly driver: DrmDriverHooks;
}

/**
 * An op that must be implemented once every plugin applied, else the probe fails with `EINVAL`
 * naming it: `[group, op, kernel name, condition]`. The condition says when the op is required.
 */
export type DrmMandatoryOp = readonly [
  group: keyof DrmHooks,
  op: string,
  kernelName: string,
  requiredWhen: (hooks: DrmHooks) => boolean,
];

/**
 * The mandatory ops. `postclose` is required as soon as a driver implements `open`: whatever the
 * driver sets up per client must be torn down when the client goes, or every closed fd leaks it.
 */
export const MANDATORY_OPS: readonly DrmMandatoryOp[] = [
  ["driver", "postclose", "drm_driver.postclose", (h) => h.driver.open.taps.length > 0],
];

/** Creates a fresh, unfrozen hooks object for one device. */
export function createDrmHooks(): DrmHooks {
  return {
    driver: {
      open: new SyncHook<[file: DrmFile]>(["file"]),
      postclose: new SyncHook<[file: DrmFile]>(["file"]),
      ioctls: new SyncHook<[registry: DrmIoctlRegistry]>(["registry"]),
      dumbCreate: new AsyncSeriesBailHook<[file: DrmFile, args: DrmModeCreateDumb], true | undefined>([
        "file",
        "args",
      ]),
      release: new SyncHook<[]>([]),
    },
  };
}
