/**
 * `@drmsim/shim` (private): real C programs on simulated drivers. `startShimServer` hosts the
 * devices; `shimExec` runs a program against one with the preload library (`csrc/`).
 */
export { BackingRegistry } from "./backing.js";
export { preloadLibrary, shimBuildStatus, shimProgram } from "./build.js";
export { ClientThread } from "./channel.js";
export { DrmsimGenericDriver, type ShimScenario, type ShimScenarioContext, setupDevices } from "./devices.js";
export { type ShimExecResult, shimExec } from "./exec.js";
export { ShimMappings } from "./mmap.js";
export { Down, frame, MessageReader, Msg } from "./protocol.js";
export { type ShimServer, type ShimServerOptions, startShimServer } from "./server.js";
export { ShimFdTable, ShimProcess } from "./shim-process.js";
export { ACCEL_MAJOR, ClockPage, DRM_MAJOR, type ShimNode, writeTree } from "./tree.js";
export { ShimUserMemory } from "./user-memory.js";
