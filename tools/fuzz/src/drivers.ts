/**
 * The drivers the fuzzer probes. Adding a driver is one line: its name and its probe function
 * (`(host) => DrmDevice`). The fuzzer then enumerates that device's ioctl table
 * (`DrmDevice.driverIoctls()`) together with the core table, opens all of its nodes from two
 * processes and fuzzes every ioctl on every node. `fields` optionally names the argument fields
 * of a driver's ioctls, so generated arguments hit them more often (unnamed ioctls get the
 * generic field pool).
 */
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { vgemProbe } from "@drmsim/vgem";
import { fuzzAccelProbe } from "./fuzz-accel.js";

/** One driver under fuzz. */
export interface FuzzDriver {
  readonly name: string;
  probe(host: DrmPluginHost): DrmDevice;
  /** Argument field names per ioctl name (hints for the generator). */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
}

/** Every driver the fuzzer probes, in probe order. */
export const FUZZ_DRIVERS: readonly FuzzDriver[] = [
  {
    name: "vgem",
    probe: vgemProbe,
    fields: {
      DRM_IOCTL_VGEM_FENCE_ATTACH: ["handle", "flags", "pad", "out_fence"],
      DRM_IOCTL_VGEM_FENCE_SIGNAL: ["fence", "flags", "error"],
    },
  },
  { name: "fuzzaccel", probe: fuzzAccelProbe, fields: { DRM_IOCTL_FUZZACCEL_CREATE_BO: ["size", "flags"] } },
];
