/**
 * @drmsim/habanalabs — a habanalabs-like accelerator (`drivers/accel/habanalabs/`): an accel
 * node, external and internal queues on hardware engines, command submission with completion
 * fences (not dma_fence), sync streams (signal and wait CSs), a bounded CS ring per context,
 * device memory behind a device MMU, hard
 * reset on CS timeout, and a peer-to-peer dma-buf exporter of device memory.
 *
 * See README.md for a runnable example.
 */
export * from "./command-submission.js";
export { driver } from "./conformance.js";
export { HlCb, HlCtx } from "./context.js";
export * from "./habanalabs-accel.js";
export * from "./habanalabs-drv.js";
export { HL_DEBUG_STRUCT_SIZE, hlDebugIoctl } from "./hl-debug.js";
export * from "./hl-device.js";
export * from "./hl-dma-buf.js";
export * from "./hl-dram.js";
export * from "./hl-fence.js";
export * from "./hl-hw-model.js";
export * from "./hl-mmu.js";
export * from "./hw-queue.js";
export { hlMemIoctl } from "./memory.js";
export * from "./sync-stream.js";
