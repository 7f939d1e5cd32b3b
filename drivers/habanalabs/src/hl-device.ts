/**
 * `struct hl_device` (`common/habanalabs.h`, `common/device.c`): one accelerator — its queue
 * table and engines, its device memory (HBM) and the PCI function importers reach it through,
 * the device-wide list of in-flight command submissions, and the hard reset.
 *
 * **Hard reset** (`hl_device_reset` with `HL_DRV_RESET_HARD`), entered when timeout detection
 * fires for a CS: the device stops taking work (`EBUSY` for CS and memory ioctls), every engine
 * is reset — every job executing or queued is aborted, so every in-flight CS completes, with
 * `-ETIMEDOUT` for the one that timed out and `-EIO` for the rest —, then every dma-buf that
 * exports device memory tells its dynamic importers to drop their mappings
 * (`dma_buf_invalidate_mappings`, under the buffer's reservation lock), since the device memory
 * behind them was just reset. The dma-bufs themselves stay valid objects: importers may map them
 * again. After `resetDurationNs` the device is operational again.
 *
 * Difference from the kernel: after a hard reset the kernel makes every user close its fds
 * (`ENODEV` from then on) before the device comes back; drmsim keeps the contexts, so a test can
 * look at the aftermath through the same fd.
 *
 * The device is built by the probe's container (`habanalabsProviders`): its options
 * (`HL_DEVICE_OPTIONS`), its HBM (`HL_DRAM`), its PCI function (`PCI_DEV`, carried by the DRM
 * device's `dmaDev`) and its queues' engines (`HW_ENGINE_FACTORY`) are tokens a test replaces
 * without touching the driver.
 */
import type { Device, PciDev } from "@drmsim/dma-buf";
import {
  DRM_DEVICE,
  type DrmDevice,
  type DrmProvider,
  drmToken,
  HW_ENGINE_FACTORY,
  PCI_DEV,
  SIMULATOR,
} from "@drmsim/drm";
import {
  type HardwareEngineFactory,
  KernelError,
  msecs,
  type Simulator,
  secs,
  WaitQueue,
  WorkQueue,
} from "@drmsim/runtime";
import { inject } from "tsyringe";
import type { HlCs } from "./command-submission.js";
import type { HlCtx } from "./context.js";
import type { HlDmabufPriv } from "./hl-dma-buf.js";
import { HlDramPool } from "./hl-dram.js";
import { HL_DEFAULT_HW_MODEL, HL_HW_MODEL, type HlHwModel } from "./hl-hw-model.js";
import {
  HL_DEFAULT_QUEUES,
  HL_QUEUE_LENGTH,
  HlHwQueue,
  type HlQueueProps,
  hlQueueEngineName,
  hlQueueRuns,
} from "./hw-queue.js";
import { HL_MAX_SOB_VAL } from "./sync-stream.js";

/** Options of a probed habanalabs device (`habanalabsProbe(host, options)`); every one has a default. */
export interface HlDeviceOptions {
  /** The device's PCI function (peer-to-peer needs one). Default: none — every p2p attach is refused. */
  pci?: PciDev | null;
  /** HBM size in bytes. Default 1 GiB. */
  dramSize?: number;
  /** DRAM page size. Default 2 MiB. */
  dramPageSize?: number;
  /** Physical address of DRAM as the device MMU sees it. Default 0x10_0000_0000. */
  dramBase?: number;
  /** Where DRAM appears in the PCI BAR, i.e. the address peers DMA to. Default 0x80_0000_0000. */
  dramBarBase?: number;
  /** `max_pending_cs`: size of each context's CS ring, a power of two. Default 64. */
  maxPendingCs?: number;
  /** `timeout_locked`: CS timeout. Default 30 s, the module parameter's default. */
  csTimeoutNs?: number;
  /** `reset_on_lockup`: hard-reset when a CS times out. Default true. */
  resetOnLockup?: boolean;
  /** How long the hard reset keeps the device unavailable. Default 100 ms. */
  resetDurationNs?: number;
  /** The queue table. Default `HL_DEFAULT_QUEUES`. */
  queues?: readonly HlQueueProps[];
  /** Jobs each queue takes before a CS gets `EAGAIN`. Default `HL_QUEUE_LENGTH`. */
  queueLength?: number;
  /** `HL_MAX_SOB_VAL`: where a sync stream switches to its next SOB (default 2^15; smaller in tests). */
  maxSobVal?: number;
}

/** The options with every default filled in (`HL_DEVICE_OPTIONS`). */
export type HlResolvedOptions = Required<Omit<HlDeviceOptions, "pci">> & { readonly pci: PciDev | null };

/** Container token: the device's options, defaults applied. */
export const HL_DEVICE_OPTIONS = drmToken<HlResolvedOptions>("HL_DEVICE_OPTIONS");
/**
 * Container token: the device memory (HBM) and its page allocator (`dram_pg_pool`), sized by the
 * options by default. A test provides its own `HlDramPool` to give the device less (or fragmented)
 * HBM without touching the driver.
 */
export const HL_DRAM = drmToken<HlDramPool>("HL_DRAM");
/** Container token: the device (`struct hl_device`), built from the tokens above and the generic ones. */
export const HL_DEVICE = drmToken<HlDevice>("HL_DEVICE");

/** The options with every default filled in; `EINVAL` for a value out of range. */
export function hlResolveOptions(o: HlDeviceOptions): HlResolvedOptions {
  const r: HlResolvedOptions = {
    pci: o.pci ?? null,
    dramSize: o.dramSize ?? 1024 * 1024 * 1024,
    dramPageSize: o.dramPageSize ?? 2 * 1024 * 1024,
    dramBase: o.dramBase ?? 0x10_0000_0000,
    dramBarBase: o.dramBarBase ?? 0x80_0000_0000,
    maxPendingCs: o.maxPendingCs ?? 64,
    csTimeoutNs: o.csTimeoutNs ?? secs(30),
    resetOnLockup: o.resetOnLockup ?? true,
    resetDurationNs: o.resetDurationNs ?? msecs(100),
    queues: o.queues ?? HL_DEFAULT_QUEUES,
    queueLength: o.queueLength ?? HL_QUEUE_LENGTH,
    maxSobVal: o.maxSobVal ?? HL_MAX_SOB_VAL,
  };
  const pending = r.maxPendingCs;
  if (!Number.isInteger(pending) || pending < 1 || (pending & (pending - 1)) !== 0)
    throw new KernelError("EINVAL", `max_pending_cs must be a power of two, got ${pending}`);
  const ps = r.dramPageSize;
  if (!Number.isSafeInteger(ps) || ps < 4096 || ps % 4096 !== 0)
    throw new KernelError("EINVAL", `DRAM page size must be a multiple of 4096, got ${ps}`);
  return r;
}

/**
 * The device container of a habanalabs probe: the resolved options, the PCI position, the HBM and
 * the device. A test appends its own providers to replace any of them (or the generic
 * `HW_ENGINE_FACTORY`, whose engines run the queues) — see `habanalabsProbe`.
 */
export function habanalabsProviders(options: HlDeviceOptions = {}): DrmProvider[] {
  const o = hlResolveOptions(options);
  return [
    { provide: HL_DEVICE_OPTIONS, useValue: o },
    { provide: PCI_DEV, useValue: o.pci },
    { provide: HL_DRAM, useFactory: () => new HlDramPool(o.dramBase, o.dramSize, o.dramPageSize) },
    { provide: HL_HW_MODEL, useValue: HL_DEFAULT_HW_MODEL },
    { provide: HL_DEVICE, useClass: HlDevice },
  ];
}

/** `struct hl_cs_counters_atomic`: why CSs were dropped (per device and per context). */
export interface HlCsCounters {
  outOfMemDropCnt: number;
  parsingDropCnt: number;
  queueFullDropCnt: number;
  deviceInResetDropCnt: number;
  maxCsInFlightDropCnt: number;
  validationDropCnt: number;
}

/** A zeroed `struct hl_cs_counters_atomic`. */
export function hlCsCounters(): HlCsCounters {
  return {
    outOfMemDropCnt: 0,
    parsingDropCnt: 0,
    queueFullDropCnt: 0,
    deviceInResetDropCnt: 0,
    maxCsInFlightDropCnt: 0,
    validationDropCnt: 0,
  };
}

const DEVICES = new WeakMap<DrmDevice, HlDevice>();

/** The `HlDevice` behind a probed habanalabs DRM device (`hpriv->hdev`). `ENODEV` for another driver's device. */
export function hlDeviceOf(dev: DrmDevice): HlDevice {
  const h = DEVICES.get(dev);
  if (h === undefined) throw new KernelError("ENODEV", `${dev} is not a habanalabs device`);
  return h;
}

/** `struct hl_device`. Built by the device container (`HL_DEVICE`). */
export class HlDevice {
  /** `hdev->kernel_queues`. */
  readonly queues: HlHwQueue[];
  /** The `struct device` exports are mapped from: the DRM device's, with its PCI function. */
  readonly dmaDev: Device;
  readonly dramBarBase: number;
  readonly dramVaBase = 0x1000_0000_0000;
  readonly dramVaSize = 0x100_0000_0000;
  readonly maxPendingCs: number;
  readonly csTimeoutNs: number;
  readonly resetOnLockup: boolean;
  readonly resetDurationNs: number;
  /** `hdev->cs_mirror_list`: submitted, unfinished CSs in submission order. */
  readonly csMirrorList: HlCs[] = [];
  /** Workqueue of the CS timeout works (`hdev->ts_free_obj_wq`-like; `cs->work_tdr` is delayed work). */
  readonly tdrWq: WorkQueue;
  /** Open contexts. */
  readonly contexts = new Set<HlCtx>();
  /** Live dma-bufs exporting device memory. */
  readonly exported = new Set<HlDmabufPriv>();
  /** `hdev->reset_info.in_reset`. */
  inReset = false;
  /** `hdev->reset_info.hard_reset_cnt`. */
  hardResetCnt = 0;
  /** `hdev->captured_err_info.cs_timeout`: when the last CS timed out, and which. */
  lastCsTimeout: { timestamp: number; seq: number } | null = null;
  /** `hdev->aggregated_cs_counters`. */
  readonly csCounters: HlCsCounters = hlCsCounters();
  /**
   * `hdev->is_compute_ctx_active` (with `compute_ctx_in_release`): the one user context of the
   * device — the accelerator serves one user at a time — or null. `hlDeviceOpenCheck` consults it.
   */
  computeCtx: HlCtx | null = null;
  /** `hdev->compute_ctx_in_release`: the user closed its fd, and its context is not released yet. */
  computeCtxInRelease = false;
  /** `hdev->in_debug`: the context that put the device in debug mode (`HL_DEBUG`), or null. */
  debugCtx: HlCtx | null = null;
  /** Woken when a reset finishes. */
  readonly resetDone: WaitQueue;
  private nextAsid = 1;

  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly drm: DrmDevice,
    @inject(HL_DEVICE_OPTIONS) readonly options: HlResolvedOptions,
    /** Device memory (HBM). */
    @inject(HL_DRAM) readonly dram: HlDramPool,
    @inject(HW_ENGINE_FACTORY) engines: HardwareEngineFactory,
    /** How long jobs run and which hang (`hl-hw-model.ts`). */
    @inject(HL_HW_MODEL) readonly hwModel: HlHwModel,
  ) {
    DEVICES.set(drm, this);
    this.maxPendingCs = options.maxPendingCs;
    this.csTimeoutNs = options.csTimeoutNs;
    this.resetOnLockup = options.resetOnLockup;
    this.resetDurationNs = options.resetDurationNs;
    this.dramBarBase = options.dramBarBase;
    this.dmaDev = drm.dmaDev;
    const name = this.name;
    this.unprobe = sim.tracer.probeCounter(
      { process: name, thread: "memory" },
      "HBM",
      "used bytes",
      () => this.dram.size - this.dram.freeBytes,
    );
    this.queues = options.queues.map(
      (p, i) =>
        new HlHwQueue(
          i,
          p,
          hlQueueRuns(p) ? engines.create(hlQueueEngineName(name, p.name), { device: name }) : null,
          options.queueLength,
          options.maxSobVal,
        ),
    );
    this.tdrWq = new WorkQueue(sim, `${name}-cs-tdr`);
    this.resetDone = new WaitQueue(sim, `${name} reset done`);
  }

  /** `dev_name()`: `habanalabs.N` after the accel minor. */
  get name(): string {
    return this.drm.dmaDev.name;
  }

  /** A new context ASID. */
  allocAsid(): number {
    return this.nextAsid++;
  }

  /** `EINVAL` unless userspace may put a job on queue `index`. */
  validateQueueIndex(index: unknown): HlHwQueue {
    return HlHwQueue.validateIndex(this.queues, index);
  }

  /** `hl_device_reset(HARD)`. See the module comment. Resolves when the device is operational again. */
  async hardReset(reason: string): Promise<void> {
    if (this.inReset) return;
    this.inReset = true;
    const sim = this.sim;
    sim.withFrame(`hl_device_reset(${reason})`, () => {
      for (const q of this.queues) q.engine?.reset(-5, { abortQueued: true });
    });
    // Whatever was not on an engine — jobs held behind a wait, or whose interrupt was still in
    // flight — is aborted too, so no waiter is left behind; the sync manager starts over.
    for (const cs of [...this.csMirrorList]) for (const j of cs.jobs) if (!j.done) cs.jobDone(j, -5);
    for (const q of this.queues) {
      q.flushHeld();
      q.syncStream?.reset();
    }
    for (const priv of [...this.exported]) {
      const buf = priv.buf;
      buf.get();
      try {
        await buf.resv.lock(null);
        try {
          buf.invalidateMappings();
        } finally {
          buf.resv.unlock();
        }
      } finally {
        buf.put();
      }
    }
    const pause = new WaitQueue(sim, `${this.name} hard reset`);
    await pause.waitEvent(() => false, { timeoutNs: this.resetDurationNs });
    this.hardResetCnt++;
    this.inReset = false;
    this.resetDone.wakeUpAll();
  }

  /**
   * `hl_device_open`'s admission rules (`common/device.c`), checked before a context is created:
   * `EAGAIN` while the device is in reset (including a reset after a device release) or while the
   * previous user's context is still being released (`compute_ctx_in_release`), `EBUSY` while
   * another user works on it (`is_compute_ctx_active`): the accelerator is exclusive.
   */
  openCheck(): void {
    if (this.inReset) throw new KernelError("EAGAIN", `Can't open ${this.name} because it is in reset`);
    if (this.computeCtxInRelease)
      throw new KernelError("EAGAIN", `Can't open ${this.name} because another user is still releasing it`);
    if (this.computeCtx !== null)
      throw new KernelError("EBUSY", `Can't open ${this.name} because another user is working on it`);
  }

  /**
   * `is_device_idle()`: no engine is executing and no job waits in a queue. A device that is not
   * idle when its user's context goes away is reset (`hpriv_release` with `reset_if_device_not_idle`,
   * on by default): whatever still runs — a hung engine the driver never saw — is aborted.
   */
  get idle(): boolean {
    return this.queues.every(
      (q) => (q.engine === null || (q.engine.busy === 0 && q.engine.queued === 0)) && q.heldJobs === 0,
    );
  }

  /** @internal `hpriv_release`: the user context is gone; reset a device left busy, then admit the next user. */
  computeCtxReleased(ctx: HlCtx): void {
    if (this.computeCtx !== ctx) return;
    if (!this.idle)
      this.sim.spawn(
        `hl_device_reset ${this.name}`,
        () =>
          this.hardReset(
            `device not idle after user context ${ctx.asid} is closed (HL_DRV_RESET_DEV_RELEASE)`,
          ),
        { kind: "worker" },
      );
    this.computeCtx = null;
    this.computeCtxInRelease = false;
  }

  /**
   * Device removal (`hl_device_fini` → `cleanup_resources`): halts the engines and rolls back every
   * CS still in flight (`hl_cs_rollback_all`) — a job hung on its engine included — so their
   * fences complete with `-EIO` and release their contexts; then stops the timeout works. The
   * device stays in reset (`hard_reset_pending`): it never runs work again.
   */
  fini(): void {
    this.inReset = true;
    this.sim.withFrame(`hl_device_fini(${this.name})`, () => {
      for (const q of this.queues) q.engine?.reset(-5, { abortQueued: true });
    });
    for (const cs of [...this.csMirrorList]) for (const j of cs.jobs) if (!j.done) cs.jobDone(j, -5);
    for (const q of this.queues) q.flushHeld();
    for (const cs of this.csMirrorList) this.tdrWq.cancelWork(cs.tdr);
    this.unprobe();
  }

  /** Stops the HBM counter of a trace (`fini`). */
  private readonly unprobe: () => void;
}
