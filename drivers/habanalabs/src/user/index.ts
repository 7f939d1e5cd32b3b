/**
 * @drmsim/habanalabs/user — hl-thunk in miniature: the userspace side of the habanalabs uAPI,
 * one function per hl-thunk call, each making the ioctl the real library makes. Used by the
 * driver's tests, the interop suite, the fuzzer and the CLI scenarios.
 */
export * from "./hlthunk-cs.js";
export * from "./hlthunk-debug.js";
export * from "./hlthunk-info.js";
export * from "./hlthunk-memory.js";
