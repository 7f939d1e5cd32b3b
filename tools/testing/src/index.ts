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
  CONFORMANCE_CHECKS,
  type ConformanceCheckId,
  type ConformanceOptions,
  type ConformanceReport,
  type ConformanceResult,
  formatConformanceReport,
  runConformanceCheck,
  runDriverConformance,
} from "./conformance.js";
export {
  type ConformanceDriver,
  type ConformanceJob,
  type ConformanceWork,
  conformanceCreateBuffer,
  conformanceNode,
  DEFAULT_FENCE_TIMEOUT_NS,
  defineConformanceDriver,
  isConformanceDriver,
} from "./conformance-driver.js";
export { runUntil, runUntilSignaled } from "./wait.js";
export { createWorld, type World, type WorldOptions } from "./world.js";
