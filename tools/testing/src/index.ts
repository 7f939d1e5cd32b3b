/**
 * @drmsim/testing — the driver conformance suite and helpers for interop tests.
 *
 * @example
 * ```ts
 * import { defineConformanceDriver, formatConformanceReport, runDriverConformance } from "@drmsim/testing";
 * import { DRM_IOCTL_VGEM_FENCE_ATTACH, VGEM_FENCE_WRITE, vgemProbe } from "@drmsim/vgem";
 *
 * const vgem = defineConformanceDriver({
 *   name: "vgem",
 *   probe: vgemProbe,
 *   async submit({ proc, fd }, { handle, write }) {
 *     await proc.ioctl(fd, DRM_IOCTL_VGEM_FENCE_ATTACH, { handle, flags: write ? VGEM_FENCE_WRITE : 0 });
 *   },
 * });
 * const report = await runDriverConformance(vgem);
 * console.log(formatConformanceReport(report)); // five ✓ lines, "5 checks passed"
 * ```
 */

export {
  type ConformanceIoctlVerdict,
  conformanceIoctlCoverage,
  runConformanceIoctl,
} from "./check-ioctls.js";
export {
  CONFORMANCE_CHECKS,
  type ConformanceCheckId,
  type ConformanceOptions,
  type ConformanceReport,
  type ConformanceResult,
  type ConformanceSkipped,
  type ConformanceStep,
  conformanceCheckSkipped,
  conformanceChecksFor,
  formatConformanceReport,
  runConformanceCheck,
  runDriverConformance,
} from "./conformance.js";
export {
  type ConformanceArg,
  type ConformanceCorruption,
  type ConformanceDriver,
  type ConformanceIds,
  type ConformanceIoctl,
  type ConformanceJob,
  type ConformanceSubmitted,
  type ConformanceWork,
  conformanceCreateBuffer,
  conformanceHasGem,
  conformanceNode,
  DEFAULT_FENCE_TIMEOUT_NS,
  defineConformanceDriver,
  isConformanceDriver,
} from "./conformance-driver.js";
export { processFile, syncobjFence } from "./peek.js";
export { type RecordedIoctl, RecordingProcess } from "./recording-process.js";
export { layoutCorruptions } from "./uapi-corruptions.js";
export { runUntil, runUntilSignaled } from "./wait.js";
export { createWorld, type World, type WorldOptions } from "./world.js";
