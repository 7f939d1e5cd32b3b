/**
 * The ops tables of a DRM device as tapable hooks: one frozen `hooks` object per device, with a
 * group per kernel ops struct, every hook documented by the op it mirrors. A driver taps them in
 * its `apply(hooks)`; the framework's tracer and validator intercept them (`interceptors.ts`).
 *
 * Shapes follow STACK.md: hook type arguments are tuples; bail hooks include `undefined` in their
 * result so a tap may decline ("not mine, ask the next one"). Default implementations (the
 * kernel's helpers) are plugins tapped at `DrmHookStage.HELPER`, after the driver's own taps.
 */
import { SyncBailHook, SyncHook } from "tapable";
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

/** `struct drm_driver`'s ops. */
export interface DrmDriverHooks {
  /** `drm_driver.open`: a new client; set `file.driverPriv`. Throwing fails the `open()`. */
  readonly open: SyncHook<[file: DrmFile]>;
  /** `drm_driver.postclose`: the client's last reference is gone; free `file.driverPriv`. */
  readonly postclose: SyncHook<[file: DrmFile]>;
  /** `drm_driver.ioctls`: called once at probe; tap it to add the driver's ioctls. */
  readonly ioctls: SyncHook<[registry: DrmIoctlRegistry]>;
  /** `drm_driver.release` / `drm_dev_put`'s last step: free device-wide driver state at remove. */
  readonly release: SyncHook<[]>;
}

/** Every hook group of a device. Frozen at probe. */
export interface DrmHooks {
  readonly driver: DrmDriverHooks;
}

/** Hooks that must have at least one tap after every plugin applied, else the probe fails. */
export const MANDATORY_OPS: readonly (readonly [group: string, op: string, kernelName: string])[] = [];

/** Creates a fresh, unfrozen hooks object for one device. */
export function createDrmHooks(): DrmHooks {
  return {
    driver: {
      open: new SyncHook<[file: DrmFile]>(["file"]),
      postclose: new SyncHook<[file: DrmFile]>(["file"]),
      ioctls: new SyncHook<[registry: DrmIoctlRegistry]>(["registry"]),
      release: new SyncHook<[]>([]),
    },
  };
}

/** Unused-import guard for the bail-hook type used by later groups. @internal */
export type _Bail = SyncBailHook<[], undefined>;
