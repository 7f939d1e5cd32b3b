/**
 * @drmsim/amdgpu — an amdgpu-like GPU: gfx, compute and SDMA rings on drm_sched and
 * `HardwareEngine`s, contexts with priorities, command submission with explicit, syncobj and
 * implicit (BO list) sync, shared VMIDs and gang submit as `prepareJob` fences, VRAM/GTT with
 * pipelined SDMA eviction and a shrinker, dma-buf export (p2p or migrate to GTT) and dynamic
 * import, user queues with eviction fences, userptr BOs with an mmu notifier, and GPU recovery.
 *
 * See README.md for a runnable example.
 */

export { amdgpuCpuAccessApply, amdgpuGemMmapOffset } from "./amdgpu-cpu-access.js";
export * from "./amdgpu-cs.js";
export * from "./amdgpu-ctx.js";
export * from "./amdgpu-device.js";
export * from "./amdgpu-dma-buf.js";
export * from "./amdgpu-drm.js";
export * from "./amdgpu-drv.js";
export * from "./amdgpu-fpriv.js";
export { amdgpuHmmInvalidateRange, amdgpuHmmRangeFault } from "./amdgpu-hmm.js";
export {
  type AmdgpuIbMem,
  type AmdgpuIbMemArgs,
  type AmdgpuIbMemOp,
  amdgpuBoGpuRegion,
} from "./amdgpu-ib-mem.js";
export * from "./amdgpu-ids.js";
export * from "./amdgpu-job.js";
export * from "./amdgpu-object.js";
export * from "./amdgpu-ring.js";
export * from "./amdgpu-trace.js";
export * from "./amdgpu-userq.js";
