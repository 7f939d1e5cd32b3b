/**
 * @drmsim/drm — the DRM core: devices and their nodes (`/dev/dri/cardN`, `renderD128+N`,
 * `/dev/accel/accelN`), per-open files, ioctl dispatch with the kernel's permission rules, and the
 * plugin host that turns a driver class into a device (tapable hooks + a tsyringe container).
 *
 * @example
 * ```ts
 * import { Process, Simulator } from "@drmsim/runtime";
 * import { DrmDriverFeature, DrmPluginHost, drmGetVersion, type DrmHooks } from "@drmsim/drm";
 *
 * class TinyDriver {
 *   apply(hooks: DrmHooks) {
 *     hooks.driver.open.tap("tiny", (file) => { file.driverPriv = { opened: true }; });
 *     hooks.driver.postclose.tap("tiny", (file) => { file.driverPriv = undefined; });
 *   }
 * }
 * const sim = new Simulator();
 * const host = new DrmPluginHost(sim);
 * const dev = host.probe(TinyDriver, { name: "tiny", features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER });
 * const app = new Process(sim, "app");
 * const name = await sim.exec("app", async () => {
 *   const fd = await app.open("/dev/dri/renderD128");
 *   return (await drmGetVersion(app, fd)).name;
 * });
 * console.log(name); // "tiny"
 * app.exit();
 * host.remove(dev);
 * ```
 */
// First: the polyfill tsyringe needs, before any module below reaches tsyringe.
import "./reflect-metadata.js";

export { DrmMaster, drmIsCurrentMaster } from "./drm-auth.js";
export * from "./drm-core-ioctls.js";
export { DRM_FILE_KIND, DrmDevice } from "./drm-device.js";
export { DrmDriverFeature, type DrmDriverInfo } from "./drm-drv.js";
export * from "./drm-dumb-buffers.js";
export { DrmFile, drmProcessIsRoot, drmProcessSetRoot } from "./drm-file.js";
export * from "./drm-gem-ioctls.js";
export { drmGemMmap } from "./drm-gem-mmap.js";
export { drmIoctl as drmCoreIoctl, drmIoctlLookup, drmIoctlPermit, traceDrmIoctl } from "./drm-ioctl.js";
export * from "./drm-ioctl-def.js";
export * from "./drm-ioctl-table.js";
export { DrmMinor, type DrmMinorType } from "./drm-minor.js";
export * from "./drm-prime-dynamic.js";
export * from "./drm-prime-ioctls.js";
export * from "./drm-uapi.js";
export * from "./libdrm.js";
export { checkExplicitInjection } from "./plugin/di-check.js";
export * from "./plugin/helpers.js";
export * from "./plugin/hooks.js";
export * from "./plugin/host.js";
export { drmKernelOpName, traceDrmDriverOp } from "./plugin/interceptors.js";
export * from "./plugin/ops-tables.js";
export * from "./plugin/sched-factory.js";
export * from "./plugin/tokens.js";
export * from "./syncobj/index.js";
