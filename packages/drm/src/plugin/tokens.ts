/**
 * Typed injection tokens of a device's DI container. A driver constructor takes what it needs
 * with `@inject(TOKEN)` on every parameter (the rule of STACK.md: implicit injection from
 * `design:paramtypes` breaks under esbuild/tsx and with `import type`), e.g.
 *
 * ```ts
 * class MyDriver implements DrmDriverPlugin {
 *   constructor(@inject(DRM_DEVICE) readonly dev: DrmDevice, @inject(SIMULATOR) readonly sim: Simulator) {}
 * }
 * ```
 *
 * A driver's own device-scoped services (a VRAM manager, firmware, schedulers) get their own
 * tokens, declared next to the service with `drmToken<T>(name)` and provided at probe.
 */
import type { Simulator } from "@drmsim/runtime";
import type { InjectionToken } from "tsyringe";
import type { DrmDevice } from "../drm-device.js";
import type { DrmHooks } from "./hooks.js";

/** A typed token. Symbols keep two drivers' tokens of the same name apart. */
export function drmToken<T>(name: string): InjectionToken<T> & symbol {
  return Symbol(name) as InjectionToken<T> & symbol;
}

/** The simulator the device lives in. */
export const SIMULATOR = drmToken<Simulator>("SIMULATOR");
/** The device being probed (`struct drm_device`). */
export const DRM_DEVICE = drmToken<DrmDevice>("DRM_DEVICE");
/** The device's frozen ops tables. */
export const DRM_HOOKS = drmToken<DrmHooks>("DRM_HOOKS");
