/**
 * @drmsim/dma-resv — reservation objects as in `drivers/dma-buf/dma-resv.c`: Wait-Die ww_mutex
 * classes and acquire contexts, `DmaResv` with its usage classes and iterators, and `DrmExec`.
 *
 * @example
 * ```ts
 * import { Simulator, msecs } from "@drmsim/runtime";
 * import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
 * import { DmaResv, DmaResvUsage } from "@drmsim/dma-resv";
 *
 * const sim = new Simulator();
 * const resv = new DmaResv(sim);
 * const ops = { getDriverName: () => "example", getTimelineName: () => "ring0" };
 * const fence = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
 * await sim.exec("submit", async () => {
 *   await resv.lock(null);
 *   resv.reserveFences(1);
 *   resv.addFence(fence, DmaResvUsage.WRITE);
 *   resv.unlock();
 * });
 * sim.schedule(msecs(1), () => fence.signal());
 * const left = await sim.exec("wait", () => resv.waitTimeout(DmaResvUsage.READ, { timeoutNs: msecs(5) }));
 * console.log(left); // 4000000
 * fence.put();
 * resv.fini();
 * ```
 */
export * from "./dma-resv.js";
export * from "./dma-resv-iter.js";
export * from "./dma-resv-usage.js";
export * from "./drm-exec.js";
export { WwAcquireCtx } from "./ww-acquire-ctx.js";
export * from "./ww-class.js";
export * from "./ww-mutex.js";
