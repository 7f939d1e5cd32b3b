/**
 * @drmsim/amdgpu/user — libdrm_amdgpu in miniature: the userspace side of the amdgpu uAPI, one
 * function per libdrm call, each making the ioctl the real library makes with the real struct.
 * Used by the driver's tests, the interop suite, the fuzzer and the CLI scenarios. drmsim's test
 * IBs (`duration_ns`, `hang`, `fill`) are written as IB bytes the hardware model reads
 * (`amdgpu-sim.ts`), never as struct members.
 */
export * from "./amdgpu-bo.js";
export * from "./amdgpu-cs.js";
export * from "./amdgpu-device.js";
export * from "./amdgpu-mmap.js";
export * from "./amdgpu-sim.js";
export * from "./amdgpu-userq.js";
