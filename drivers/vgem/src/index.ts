/**
 * @drmsim/vgem — the virtual GEM driver: shmem buffers, dumb buffers, PRIME, and vgem fences for
 * implicit-sync tests. The minimal reference driver, and the other side of interop tests.
 *
 * @example
 * ```ts
 * import "reflect-metadata";
 * import { DrmPluginHost, drmModeCreateDumbBuffer, drmPrimeHandleToFD } from "@drmsim/drm";
 * import { EPOLLIN, Process, Simulator } from "@drmsim/runtime";
 * import { VGEM_FENCE_WRITE, vgemProbe } from "@drmsim/vgem";
 * import { vgemFenceAttach, vgemFenceSignal } from "@drmsim/vgem/user";
 *
 * const sim = new Simulator();
 * const host = new DrmPluginHost(sim);
 * const dev = vgemProbe(host);
 * const app = new Process(sim, "app");
 * const ready = await sim.exec("app", async () => {
 *   const fd = await app.open("/dev/dri/card0");
 *   const bo = await drmModeCreateDumbBuffer(app, fd, 64, 64, 32);
 *   const dmabuf = await drmPrimeHandleToFD(app, fd, bo.handle);
 *   const fence = await vgemFenceAttach(app, fd, bo.handle, VGEM_FENCE_WRITE);
 *   const busy = [{ fd: dmabuf, events: EPOLLIN }];
 *   const before = await app.poll(busy, 0); // 0: a writer is still busy
 *   await vgemFenceSignal(app, fd, fence);
 *   const after = await app.poll(busy, 0); // 1: readable now
 *   return [before, after];
 * });
 * console.log(ready); // [0, 1]
 * app.exit();
 * host.remove(dev);
 * ```
 */
export { driver } from "./conformance.js";
export * from "./vgem-drm.js";
export * from "./vgem-drv.js";
export * from "./vgem-fence.js";
