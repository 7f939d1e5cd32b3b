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
 * The host provides the generic ones below; a driver's own device-scoped hardware and services (a
 * VRAM manager, HBM, its configuration) get their own tokens, declared next to the service with
 * `drmToken<T>(name)` and provided by its probe function, where a test can override them.
 */
import type { PciDev } from "@drmsim/dma-buf";
import type { HardwareEngineFactory, Simulator } from "@drmsim/runtime";
import type { InjectionToken } from "tsyringe";
import type { DrmDevice } from "../drm-device.js";
import type { DrmHooks } from "./hooks.js";
import type { DrmSchedFactory } from "./sched-factory.js";

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
/**
 * The device's hardware engines (rings, firmware queues, DMA engines). The host provides a plain
 * `HardwareEngineFactory`; a test overrides it at probe with one that plans faults into named
 * engines.
 */
export const HW_ENGINE_FACTORY = drmToken<HardwareEngineFactory>("HW_ENGINE_FACTORY");
/** The device's schedulers: `drm_sched_init` with the device's hook-routed `drm_sched_backend_ops`. */
export const DRM_SCHED_FACTORY = drmToken<DrmSchedFactory>("DRM_SCHED_FACTORY");
/**
 * Where the device sits on the PCI bus (`pdev`), for peer-to-peer dma-buf checks; null (the
 * default): not a PCI device. Provide it with `useValue`: the host gives it to `device.dmaDev`.
 */
export const PCI_DEV = drmToken<PciDev | null>("PCI_DEV");
