/**
 * @drmsim/dma-fence — `struct dma_fence` and its family, as in `drivers/dma-buf/`: fences and
 * contexts, arrays, chains, unwrap/merge, sync_file and sw_sync.
 *
 * @example
 * ```ts
 * import { Simulator, msecs } from "@drmsim/runtime";
 * import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
 *
 * const sim = new Simulator();
 * const ops = { getDriverName: () => "example", getTimelineName: () => "ring0" };
 * const fence = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
 * sim.schedule(msecs(2), () => fence.signal(), sim.irqContext("ring0"));
 * const left = await sim.exec("waiter", () => fence.wait({ timeoutNs: msecs(10) }));
 * console.log(left); // 8000000: 8 ms of the timeout were left
 * fence.put();
 * ```
 */

export { dmaFenceBeginSignalling, dmaFenceEndSignalling, withDmaFenceSignalling } from "@drmsim/runtime";
export * from "./dma-fence.js";
export * from "./dma-fence-array.js";
export * from "./dma-fence-chain.js";
export * from "./dma-fence-lock.js";
export * from "./dma-fence-progress.js";
export * from "./dma-fence-unwrap.js";
export * from "./fence-context.js";
export * from "./stub.js";
export * from "./sw-sync.js";
export * from "./sync-file.js";
export * from "./sync-file-uapi.js";
export * from "./trace.js";
export * from "./wait-any.js";
