/**
 * @drmsim/asahi/user — Mesa's asahi winsys in miniature: the userspace side of the asahi uAPI,
 * each function the ioctl Mesa makes, with command buffers and bind arrays written as bytes.
 * Used by the driver's tests, the interop suite, the fuzzer and the CLI scenarios.
 */
export * from "./agx-bytes.js";
export * from "./agx-cmdbuf.js";
export * from "./agx-device.js";
export * from "./agx-submit.js";
export * from "./agx-sync.js";
