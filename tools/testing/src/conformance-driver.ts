/**
 * What a driver hands the conformance suite: how to probe a device, how to get a buffer, how to
 * submit one job that reads or writes it through the driver's own uAPI, and the driver's ioctls,
 * each with a valid call made the way userspace makes it. The suite cannot know a driver's
 * command-submission ioctl, so the driver describes it here — the same way IGT's `prime_vgem`
 * knows vgem's FENCE_ATTACH and an i915 batch.
 *
 * Two kinds of driver are described:
 * - `buffers: "gem"` (the default): buffers are GEM objects with a reservation object, on a
 *   primary or render node; jobs put their fences on the buffers' resv; PRIME shares them.
 * - `buffers: "device"`: an accelerator on an accel node with no GEM (habanalabs): buffers are
 *   device memory the driver names its own way, shared by exporting a dma-buf of a mapped device
 *   address; jobs complete without any dma_fence, and `submit` says how userspace learns that.
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

/** What `submit` returns for a driver whose jobs have no fence on a buffer (`buffers: "device"`). */
export interface ConformanceSubmitted {
  /**
   * Whether the job has completed (successfully or not), asked the way userspace asks — a wait
   * with a zero timeout. Called from a simulated task.
   */
  completed(): Promise<boolean>;
}

/** The ids of the objects `setup` and `prepare` made in a file, by name: `{ ctx: 1, bo: 2 }`. */
export type ConformanceIds = Readonly<Record<string, number>>;

/**
 * The argument of an ioctl as the valid call passed it (a deep copy), for a corruption to change
 * in place. Any ioctl's struct, so it is untyped.
 */
// biome-ignore lint/suspicious/noExplicitAny: a copy of any ioctl's argument, changed in place.
export type ConformanceArg = any;

/** One invalid variant of an ioctl's valid argument, and the errno the driver's kernel answers. */
export interface ConformanceCorruption {
  /** What is wrong, for the report: `an unknown VM id`. */
  what: string;
  /** The errno name the kernel returns for it (`ENOENT`, `EINVAL`, …). */
  errno: string;
  /** Changes `arg` (a copy of the valid call's argument) in place. */
  corrupt(arg: ConformanceArg, ids: ConformanceIds): void;
}

/** One ioctl of the driver, as the `ioctls` check exercises it. */
export interface ConformanceIoctl {
  /** Its name in the driver's ioctl table (`ASAHI_VM_CREATE`, without `DRM_IOCTL_`). */
  name: string;
  /** Makes what this call needs beyond the driver's `setup` (a submission to wait for); the ids are merged. */
  prepare?(work: ConformanceWork, ids: ConformanceIds): Promise<Record<string, number>>;
  /**
   * The valid call, as userspace makes it — through the driver's userspace library (`/user`). It
   * must make the ioctl `name` on `work.fd` (the last such call is the one the suite corrupts) and
   * succeed; it may make other calls before it. Its result and the argument the kernel filled in
   * must be the same however often it runs on a fresh device.
   */
  call(work: ConformanceWork, ids: ConformanceIds): Promise<unknown>;
  /**
   * Invalid variants beyond the ones the suite derives from the argument's layout (every checked
   * pad set, every flags member given an undefined bit: `EINVAL`): unknown handles and ids, bad
   * values the handler refuses, each with the errno the driver's kernel returns.
   */
  invalid?: readonly ConformanceCorruption[];
}

/** A driver as the conformance suite sees it. */
export interface ConformanceDriver {
  /** Shown in verdicts, e.g. `vgem`. */
  name: string;
  /** Probes one device of the driver on `host` (e.g. `vgemProbe`). */
  probe(host: DrmPluginHost): DrmDevice;
  /** GEM buffers (default) or device memory exported by address (an accel driver without GEM). */
  buffers?: "gem" | "device";
  /**
   * Submits one job that reads or writes `job.handle` through the driver's ioctls and returns once
   * it is queued. With GEM buffers, the job's fence must be on the buffer's reservation object
   * when this returns (WRITE usage for a write, READ or stronger for a read); with device buffers
   * it returns how to ask whether the job completed. Either way the job must complete without
   * any further help from userspace within `fenceTimeoutNs` of virtual time.
   */
  submit(work: ConformanceWork, job: ConformanceJob): Promise<void | ConformanceSubmitted>;
  /**
   * Creates a buffer of at least `size` bytes in `work.fd` and returns its handle. Default (GEM
   * only): a dumb buffer (`DRM_IOCTL_MODE_CREATE_DUMB`, 32 bpp, `size / 4` pixels wide).
   */
  createBuffer?(work: ConformanceWork, size: number): Promise<number>;
  /**
   * Device buffers: exports `size` bytes of the buffer `handle` as a dma-buf (mapping it first if
   * the driver exports by device address) and returns the dma-buf's fd in `work.proc`.
   */
  exportBuffer?(work: ConformanceWork, handle: number, size: number): Promise<number>;
  /** Makes the objects the ioctls' calls refer to (contexts, VMs, queues, buffers) in `work.fd`; their ids. */
  setup?(work: ConformanceWork): Promise<Record<string, number>>;
  /** The driver's ioctls: `drmsim validate` calls each one valid and corrupted (the `ioctls` check). */
  ioctls?: readonly ConformanceIoctl[];
  /** Driver ioctls deliberately left out of `ioctls`, each with the reason (shown in the report). */
  untested?: Readonly<Record<string, string>>;
  /** The node userspace opens. Default: the primary node (`/dev/dri/cardN`), else the accel node. */
  node?(device: DrmDevice): string;
  /** How long a job may take to complete, in virtual ns. Default 20 s (vgem expires at 10 s). */
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

/** Whether `driver`'s buffers are GEM objects (the default) rather than device memory. */
export function conformanceHasGem(driver: ConformanceDriver): boolean {
  return (driver.buffers ?? "gem") === "gem";
}

/** `driver.createBuffer`, or a dumb buffer (GEM drivers only). */
export async function conformanceCreateBuffer(
  driver: ConformanceDriver,
  work: ConformanceWork,
  size: number,
): Promise<number> {
  if (driver.createBuffer) return driver.createBuffer(work, size);
  if (!conformanceHasGem(driver))
    throw new Error(`${driver.name} has device buffers and no createBuffer: the suite cannot make one`);
  const width = Math.max(1, Math.ceil(size / 4));
  return (await drmModeCreateDumbBuffer(work.proc, work.fd, width, 1, 32)).handle;
}

/** Whether `value` looks like a `ConformanceDriver` (used by loaders such as `drmsim validate`). */
export function isConformanceDriver(value: unknown): value is ConformanceDriver {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.probe === "function" && typeof v.submit === "function";
}
