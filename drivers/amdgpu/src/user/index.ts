/**
 * @drmsim/amdgpu/user — libdrm_amdgpu in miniature: the userspace side of the amdgpu uAPI, one
 * function per libdrm call, each making the ioctl the real library makes. Used by the driver's
 * tests, the interop suite, the fuzzer and the CLI scenarios.
 */
export * from "./amdgpu-bo.js";
export * from "./amdgpu-cs.js";
export * from "./amdgpu-userq.js";
