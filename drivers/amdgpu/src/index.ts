/**
 * @drmsim/amdgpu — an amdgpu-like GPU: gfx, compute and SDMA rings on drm_sched and
 * `HardwareEngine`s, a GPU VM per file with page-table updates, contexts with priorities, command
 * submission of byte IBs with explicit, syncobj (binary and timeline) and implicit (BO list,
 * owner-aware) sync, shared VMIDs and gang submit as `prepareJob` fences, VRAM/GTT with pipelined
 * SDMA eviction and a shrinker, dma-buf export (p2p or migrate to GTT) and dynamic import, user
 * queues with user-queue fences and eviction fences, userptr BOs with an mmu notifier, and GPU
 * recovery — behind the full `amdgpu_drm.h` uAPI.
 *
 * See README.md for a runnable example.
 */

export * from "./amdgpu-bo-list.js";
export { amdgpuCpuAccessApply, amdgpuGemMmapOffset } from "./amdgpu-cpu-access.js";
export * from "./amdgpu-cs.js";
export * from "./amdgpu-ctx.js";
export * from "./amdgpu-device.js";
export * from "./amdgpu-dma-buf.js";
export * from "./amdgpu-drm.js";
export * from "./amdgpu-drm-info.js";
export * from "./amdgpu-drv.js";
export * from "./amdgpu-fpriv.js";
export * from "./amdgpu-gem.js";
export * from "./amdgpu-gpu-writes.js";
export { amdgpuHmmInvalidateRange, amdgpuHmmRangeFault } from "./amdgpu-hmm.js";
export * from "./amdgpu-hw-model.js";
export * from "./amdgpu-ib-mem.js";
export * from "./amdgpu-ids.js";
export * from "./amdgpu-job.js";
export * from "./amdgpu-kms.js";
export * from "./amdgpu-object.js";
export * from "./amdgpu-pm4.js";
export * from "./amdgpu-ring.js";
export * from "./amdgpu-sync.js";
export * from "./amdgpu-trace.js";
export * from "./amdgpu-userq.js";
export * from "./amdgpu-userq-ioctl.js";
export * from "./amdgpu-vm.js";
export { driver } from "./conformance.js";
