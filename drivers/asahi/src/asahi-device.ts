/**
 * The Asahi device (`asahi::driver::AsahiDevice` with its `gpu::GpuManager`): the simulated GPU's
 * limits, and the factories every user queue takes its firmware rings (`HW_ENGINE_FACTORY`) and
 * its scheduler (`DRM_SCHED_FACTORY`) from. The device container builds it (`asahiProviders`), so
 * a test replaces the hardware — a firmware ring that hangs on its n-th command or loses an
 * interrupt — through `asahiProbe`'s `providers` without touching the driver.
 *
 * Queues are numbered per device, as the driver's global queue ids are (`gpu.ids().queue`): engine
 * and scheduler names (`asahi-q<N>-frag`, `asahi-q<N>`) are unique on the device, while the
 * `queue_id` userspace sees is per file.
 */
import {
  DRM_DEVICE,
  DRM_SCHED_FACTORY,
  type DrmDevice,
  type DrmProvider,
  type DrmSchedFactory,
  drmToken,
  HW_ENGINE_FACTORY,
  SIMULATOR,
} from "@drmsim/drm";
import type { DrmSchedJob } from "@drmsim/drm-sched";
import { type HardwareEngineFactory, KernelError, msecs, type Simulator } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { ASAHI_MAX_COMMANDS_PER_SUBMISSION } from "./asahi-drm.js";
import { ASAHI_DEFAULT_HW_MODEL, ASAHI_HW_MODEL, type AsahiHwModel } from "./asahi-hw-model.js";
import { AsahiJob } from "./asahi-job.js";
import { AsahiQueue } from "./asahi-queue.js";
import type { AsahiVm } from "./asahi-vm.js";

/** Tunables of the simulated GPU (probe options). */
export interface AsahiGpuConfig {
  /** Work slots per firmware ring (default 128). */
  slots: number;
  /** Entries per firmware ring, work + barrier commands (default `WQ_SIZE` = 0x500). */
  ringSize: number;
  /** Scheduler job timeout, ns (default 100 s, the driver's 100 000 ms). */
  timeoutNs: number;
  /** `max_commands_per_submission` (default 64, the driver's `MAX_COMMANDS_PER_SUBMISSION`). */
  maxCommands: number;
}

/** `WQ_SIZE`: entries of a firmware ring. */
export const ASAHI_WQ_SIZE = 0x500;
/** Work commands a firmware ring holds in flight ("up to 128 … per queue (barriers don't count)"). */
export const ASAHI_FW_QUEUE_SLOTS = 128;

/** The simulated GPU's defaults. */
export const ASAHI_DEFAULT_CONFIG: Readonly<AsahiGpuConfig> = {
  slots: ASAHI_FW_QUEUE_SLOTS,
  ringSize: ASAHI_WQ_SIZE,
  timeoutNs: msecs(100_000),
  maxCommands: ASAHI_MAX_COMMANDS_PER_SUBMISSION,
};

/** Container token: the device's GPU configuration, defaults applied. */
export const ASAHI_CONFIG = drmToken<AsahiGpuConfig>("ASAHI_CONFIG");
/** Container token: the device model (`AsahiDevice`), built from `ASAHI_CONFIG` and the generic tokens. */
export const ASAHI_DEVICE = drmToken<AsahiDevice>("ASAHI_DEVICE");

/** The configuration with defaults applied; `EINVAL` for a limit below 1 or a fractional count. */
export function asahiResolveConfig(opts: Partial<AsahiGpuConfig> = {}): AsahiGpuConfig {
  const config: AsahiGpuConfig = { ...ASAHI_DEFAULT_CONFIG, ...opts };
  for (const [k, v] of Object.entries(config))
    if (!(typeof v === "number" && v >= 1 && (k === "timeoutNs" || Number.isInteger(v))))
      throw new KernelError("EINVAL", `asahiProbe: ${k} must be a positive integer, got ${String(v)}`);
  return config;
}

/**
 * The device container of an asahi probe: `ASAHI_CONFIG`, `ASAHI_HW_MODEL` (the default model)
 * and `ASAHI_DEVICE`. A test appends its own providers after these (a hardware model, or a
 * `HW_ENGINE_FACTORY` with planned faults) — see `asahiProbe`.
 */
export function asahiProviders(config: Partial<AsahiGpuConfig> = {}): DrmProvider[] {
  return [
    { provide: ASAHI_CONFIG, useValue: asahiResolveConfig(config) },
    { provide: ASAHI_HW_MODEL, useValue: ASAHI_DEFAULT_HW_MODEL },
    { provide: ASAHI_DEVICE, useClass: AsahiDevice },
  ];
}

const DEVICES = new WeakMap<DrmDevice, AsahiDevice>();

/** The Asahi device model behind a probed DRM device. `ENODEV` for another driver's device. */
export function asahiDeviceOf(dev: DrmDevice): AsahiDevice {
  const a = DEVICES.get(dev);
  if (a === undefined) throw new KernelError("ENODEV", `${dev} is not an asahi device`);
  return a;
}

/** `AsahiDevice`: see the module comment. */
export class AsahiDevice {
  /** The device's name in traces (`asahi.N`). */
  readonly name: string;
  /** Live user queues. */
  private readonly live = new Set<AsahiQueue>();
  private nextQueue = 1;

  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly drm: DrmDevice,
    @inject(ASAHI_CONFIG) readonly config: AsahiGpuConfig,
    @inject(HW_ENGINE_FACTORY) readonly engines: HardwareEngineFactory,
    @inject(DRM_SCHED_FACTORY) readonly scheds: DrmSchedFactory,
    /** How long commands run and which fail: the simulation's side channel (`asahi-hw-model.ts`). */
    @inject(ASAHI_HW_MODEL) readonly hwModel: AsahiHwModel,
  ) {
    this.name = drm.dmaDev.name;
    DEVICES.set(drm, this);
  }

  /** A new user queue on `vm` (`ASAHI_QUEUE_CREATE`); `fileQueueId` is the id its file gives it. */
  createQueue(fileQueueId: number, vm: AsahiVm, priority: number): AsahiQueue {
    const q = new AsahiQueue(this, this.nextQueue++, fileQueueId, vm, priority);
    this.live.add(q);
    return q;
  }

  /**
   * The user queue a scheduler job of this device was submitted to (`to_queue_job` +
   * its queue); undefined for any other job. It answers for jobs of destroyed queues too: a
   * job killed at teardown is freed after its queue is gone.
   */
  queueOf(job: DrmSchedJob): AsahiQueue | undefined {
    const aj = job.driverData;
    return aj instanceof AsahiJob && aj.queue.adev === this ? aj.queue : undefined;
  }

  /** @internal A queue was destroyed. */
  forgetQueue(q: AsahiQueue): void {
    this.live.delete(q);
  }

  /** Live user queues, in creation order. */
  get queues(): AsahiQueue[] {
    return [...this.live];
  }

  /** Device teardown (`drm_driver.release`): every file is closed by now. */
  fini(): void {
    DEVICES.delete(this.drm);
  }
}
