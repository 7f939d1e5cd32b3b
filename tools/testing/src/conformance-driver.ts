/**
 * What a driver hands the conformance suite: how to probe a device, how to get a buffer, and how
 * to submit one job that reads or writes it through the driver's own uAPI. The suite cannot know a
 * driver's command-submission ioctl, so the driver describes it here — the same way IGT's
 * `prime_vgem` knows vgem's FENCE_ATTACH and an i915 batch.
 *
 * A driver package exports one of these (as `driver`, or as its default export) so that
 * `drmsim validate <package>` and `describeDriverConformance` find it.
 */
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { drmModeCreateDumbBuffer } from "@drmsim/drm";
import type { Process, Simulator } from "@drmsim/runtime";

/** The userspace side of one conformance step: a process with the device open. */
export interface ConformanceWork {
  readonly sim: Simulator;
  readonly device: DrmDevice;
  readonly proc: Process;
  /** An fd of `proc` on the driver's node (`ConformanceDriver.node`). */
  readonly fd: number;
}

/** One job for `submit`: read or write the buffer `handle` of `work.fd`. */
export interface ConformanceJob {
  handle: number;
  write: boolean;
}

/** A driver as the conformance suite sees it. */
export interface ConformanceDriver {
  /** Shown in verdicts, e.g. `vgem`. */
  name: string;
  /** Probes one device of the driver on `host` (e.g. `vgemProbe`). */
  probe(host: DrmPluginHost): DrmDevice;
  /**
   * Submits one job that reads or writes `job.handle` through the driver's ioctls and returns once
   * it is queued. The job's fence must be on the buffer's reservation object when this returns
   * (WRITE usage for a write, READ for a read) and must signal without any further help from
   * userspace within `fenceTimeoutNs` of virtual time.
   */
  submit(work: ConformanceWork, job: ConformanceJob): Promise<void>;
  /**
   * Creates a buffer of at least `size` bytes in `work.fd` and returns its handle. Default: a
   * dumb buffer (`DRM_IOCTL_MODE_CREATE_DUMB`, 32 bpp, `size / 4` pixels wide).
   */
  createBuffer?(work: ConformanceWork, size: number): Promise<number>;
  /** The node userspace opens. Default: the primary node (`/dev/dri/cardN`), else the accel node. */
  node?(device: DrmDevice): string;
  /** How long a job's fence may take to signal, in virtual ns. Default 20 s (vgem expires at 10 s). */
  fenceTimeoutNs?: number;
}

/** Identity helper that gives a driver's descriptor its type. */
export function defineConformanceDriver(d: ConformanceDriver): ConformanceDriver {
  return d;
}

/** Default fence bound: twice vgem's `VGEM_FENCE_TIMEOUT`, the longest a kernel driver may hold a fence before its safety timer. */
export const DEFAULT_FENCE_TIMEOUT_NS = 20_000_000_000;

/** The node `driver` opens on `device`. */
export function conformanceNode(driver: ConformanceDriver, device: DrmDevice): string {
  if (driver.node) return driver.node(device);
  const minor = device.primary ?? device.accel ?? device.render;
  if (minor === undefined) throw new Error(`${device} has no device node`);
  return minor.path;
}

/** `driver.createBuffer`, or a dumb buffer. */
export async function conformanceCreateBuffer(
  driver: ConformanceDriver,
  work: ConformanceWork,
  size: number,
): Promise<number> {
  if (driver.createBuffer) return driver.createBuffer(work, size);
  const width = Math.max(1, Math.ceil(size / 4));
  return (await drmModeCreateDumbBuffer(work.proc, work.fd, width, 1, 32)).handle;
}

/** Whether `value` looks like a `ConformanceDriver` (used by loaders such as `drmsim validate`). */
export function isConformanceDriver(value: unknown): value is ConformanceDriver {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.probe === "function" && typeof v.submit === "function";
}
