/**
 * `struct amdgpu_device` (`amdgpu_device.c`): one GPU — its rings, VMIDs, memory manager, the
 * gang currently on the hardware, the user-queue firmware (MES), and the reset/VRAM-lost counters
 * userspace reads through `AMDGPU_CTX_OP_QUERY_STATE2`.
 */
import type { Device, PciDev } from "@drmsim/dma-buf";
import type { DmaFence } from "@drmsim/dma-fence";
import {
  DRM_DEVICE,
  DRM_SCHED_FACTORY,
  type DrmDevice,
  type DrmProvider,
  type DrmSchedFactory,
  drmToken,
  HW_ENGINE_FACTORY,
  PCI_DEV,
  SIMULATOR,
} from "@drmsim/drm";
import { DrmGpuSchedStat, type DrmGpuScheduler, type DrmSchedJob } from "@drmsim/drm-sched";
import { DrmVramManager } from "@drmsim/gem";
import {
  ERRNO,
  type HardwareEngine,
  type HardwareEngineFactory,
  KernelError,
  msecs,
  type Simulator,
  secs,
  usecs,
  WorkQueue,
} from "@drmsim/runtime";
import { inject } from "tsyringe";
import { AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA, AMDGPU_HW_IP_GFX, type AmdgpuHwIp } from "./amdgpu-drm.js";
import { AMDGPU_HW_MODEL, type AmdgpuHwModel, AmdgpuPm4HwModel } from "./amdgpu-hw-model.js";
import { AmdgpuVmidMgr } from "./amdgpu-ids.js";
import { AmdgpuJob } from "./amdgpu-job.js";
import { AMDGPU_SDMA_BYTES_PER_NS, AmdgpuMman } from "./amdgpu-object.js";
import { AmdgpuRing } from "./amdgpu-ring.js";

/** Device configuration (module parameters and board properties). Every field has a default. */
export interface AmdgpuConfig {
  /** Bytes of VRAM (default 256 MiB). */
  vramSize?: number;
  /** Physical (BAR) address of VRAM (default 0x80_0000_0000). */
  vramBase?: number;
  /** Compute rings (≥ 2, default 2). */
  computeRings?: number;
  /** SDMA rings (≥ 1, default 1); ring 0 also carries the kernel's buffer moves. */
  sdmaRings?: number;
  /** Bytes of GTT (the GART aperture) INFO reports (default 8 GiB; system memory is `sim.mm`'s). */
  gttSize?: number;
  /** VMIDs in the shared pool (default 16). */
  vmids?: number;
  /** `amdgpu_sched_hw_submission` (default 2). */
  hwSubmission?: number;
  /** `lockup_timeout` for every ring, in virtual ns (default 10 s). */
  timeoutNs?: number;
  /** SDMA copy speed in bytes per virtual ns (default 16). */
  sdmaBytesPerNs?: number;
  /** How long MES takes to preempt a user queue (default 100 µs). */
  preemptNs?: number;
  /** Delay before evicted user queues are restored (default 1 ms, the kernel's restore delay). */
  restoreDelayNs?: number;
  /** `hmm_range_fault` time for a userptr BO at CS (default 2 µs). */
  userptrFaultNs?: number;
  /** A GPU reset loses VRAM contents (default false: a soft reset keeps it). */
  vramLostOnReset?: boolean;
  /**
   * How long a page-table update takes on SDMA (default 0: updates are ordered — every CS waits
   * for its VM's — but take no time; set it to see submissions wait for them).
   */
  ptUpdateNs?: number;
  /** How long user-queue eviction waits for a queue's last fence before it preempts anyway (default 100 ms). */
  userqFenceTimeoutNs?: number;
  /** The PCI function of the GPU, for peer-to-peer dma-buf checks (default: none, so no p2p). */
  pci?: PciDev | null;
}

/** The configuration with defaults applied. */
export type AmdgpuResolvedConfig = Required<Omit<AmdgpuConfig, "pci">> & { pci: PciDev | null };

/** Container token: the device's configuration (module parameters and board properties), defaults applied. */
export const AMDGPU_CONFIG = drmToken<AmdgpuResolvedConfig>("AMDGPU_CONFIG");
/** Container token: the VRAM region (`adev->mman.vram_mgr`), sized by `vramSize` by default. */
export const AMDGPU_VRAM = drmToken<DrmVramManager>("AMDGPU_VRAM");
/** Container token: the device (`struct amdgpu_device`), built from the tokens above and the generic ones. */
export const AMDGPU_DEVICE = drmToken<AmdgpuDevice>("AMDGPU_DEVICE");

/**
 * The device container of an amdgpu probe: the resolved configuration, the PCI position, the
 * VRAM region, the hardware model (`AMDGPU_HW_MODEL`) and the device. A scenario or test appends its own providers to replace any of
 * them (or the generic `HW_ENGINE_FACTORY`) — see `amdgpuProbe`.
 */
export function amdgpuProviders(config: AmdgpuConfig = {}): DrmProvider[] {
  const c = amdgpuResolveConfig(config);
  return [
    { provide: AMDGPU_CONFIG, useValue: c },
    { provide: PCI_DEV, useValue: c.pci },
    {
      provide: AMDGPU_VRAM,
      useFactory: (ct) => {
        const drm = ct.resolve(DRM_DEVICE);
        return new DrmVramManager(drm.sim, {
          size: c.vramSize,
          base: c.vramBase,
          contiguous: false,
          dmaDev: drm.dmaDev,
          name: `${drm.dmaDev.name}.vram`,
        });
      },
    },
    { provide: AMDGPU_HW_MODEL, useFactory: () => new AmdgpuPm4HwModel() },
    { provide: AMDGPU_DEVICE, useClass: AmdgpuDevice },
  ];
}

/** The configuration with every default filled in; `EINVAL` for a value out of range. */
export function amdgpuResolveConfig(c: AmdgpuConfig): AmdgpuResolvedConfig {
  const r: AmdgpuResolvedConfig = {
    vramSize: c.vramSize ?? 256 * 1024 * 1024,
    vramBase: c.vramBase ?? 0x80_0000_0000,
    computeRings: c.computeRings ?? 2,
    sdmaRings: c.sdmaRings ?? 1,
    gttSize: c.gttSize ?? 8 * 1024 * 1024 * 1024,
    vmids: c.vmids ?? 16,
    hwSubmission: c.hwSubmission ?? 2,
    timeoutNs: c.timeoutNs ?? secs(10),
    sdmaBytesPerNs: c.sdmaBytesPerNs ?? AMDGPU_SDMA_BYTES_PER_NS,
    preemptNs: c.preemptNs ?? usecs(100),
    restoreDelayNs: c.restoreDelayNs ?? msecs(1),
    userptrFaultNs: c.userptrFaultNs ?? usecs(2),
    vramLostOnReset: c.vramLostOnReset ?? false,
    ptUpdateNs: c.ptUpdateNs ?? 0,
    userqFenceTimeoutNs: c.userqFenceTimeoutNs ?? msecs(100),
    pci: c.pci ?? null,
  };
  const posInt = (v: number, min: number, what: string) => {
    if (!Number.isSafeInteger(v) || v < min)
      throw new KernelError("EINVAL", `amdgpu: ${what} must be an integer >= ${min}, got ${v}`);
  };
  posInt(r.vramSize, 4096, "vramSize");
  posInt(r.computeRings, 2, "computeRings");
  posInt(r.sdmaRings, 1, "sdmaRings");
  posInt(r.vmids, 1, "vmids");
  posInt(r.hwSubmission, 1, "hwSubmission");
  if (!(r.sdmaBytesPerNs > 0)) throw new KernelError("EINVAL", "amdgpu: sdmaBytesPerNs must be > 0");
  for (const k of [
    "timeoutNs",
    "preemptNs",
    "restoreDelayNs",
    "userptrFaultNs",
    "ptUpdateNs",
    "userqFenceTimeoutNs",
  ] as const)
    if (!(r[k] >= 0)) throw new KernelError("EINVAL", `amdgpu: ${k} must be >= 0`);
  return r;
}

const DEVICES = new WeakMap<DrmDevice, AmdgpuDevice>();

/** The amdgpu device behind a probed DRM device (`drm_to_adev`). `ENODEV` for another driver's device. */
export function amdgpuDeviceOf(dev: DrmDevice): AmdgpuDevice {
  const a = DEVICES.get(dev);
  if (a === undefined) throw new KernelError("ENODEV", `${dev} is not an amdgpu device`);
  return a;
}

/** `struct amdgpu_device`. */
export class AmdgpuDevice {
  readonly name: string;
  readonly config: AmdgpuResolvedConfig;
  /** The device DMA tables are built for (`drm.dmaDev`); carries the PCI function for p2p checks. */
  readonly dmaDev: Device;
  /** Every ring by its scheduler, for the scheduler ops (`to_amdgpu_ring(sched)`). */
  private readonly ringBySched = new Map<DrmGpuScheduler, AmdgpuRing>();
  /** Rings by `AMDGPU_HW_IP_*`. */
  readonly rings: Record<AmdgpuHwIp, AmdgpuRing[]>;
  /** Every ring, gfx first. */
  readonly allRings: AmdgpuRing[] = [];
  /** `adev->vm_manager.id_mgr[AMDGPU_GFXHUB]`. */
  readonly vmids: AmdgpuVmidMgr;
  readonly mman: AmdgpuMman;
  /** The MES firmware: preempts and restores user queues. */
  readonly mes: HardwareEngine;
  /** Workqueue of user-queue eviction and restore work. */
  readonly userqWq: WorkQueue;
  /** `adev->gang_submit`: the scheduled fence of the gang leader on the hardware (a reference). */
  gangSubmit: DmaFence | null = null;
  /** `adev->gpu_reset_counter`. */
  gpuResetCounter = 0;
  /** `adev->vram_lost_counter`. */
  vramLostCounter = 0;
  /** Gang switches refused because another gang held the hardware. */
  gangWaits = 0;

  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly drm: DrmDevice,
    @inject(AMDGPU_CONFIG) config: AmdgpuResolvedConfig,
    @inject(AMDGPU_VRAM) vram: DrmVramManager,
    @inject(HW_ENGINE_FACTORY) readonly engines: HardwareEngineFactory,
    @inject(DRM_SCHED_FACTORY) readonly scheds: DrmSchedFactory,
    /** What the hardware does with the bytes of an IB (`AMDGPU_HW_MODEL`). */
    @inject(AMDGPU_HW_MODEL) readonly hwModel: AmdgpuHwModel,
  ) {
    this.config = config;
    this.name = drm.dmaDev.name;
    this.dmaDev = drm.dmaDev;
    const opts = { hwSubmission: this.config.hwSubmission, timeoutNs: this.config.timeoutNs };
    const mk = (ip: AmdgpuHwIp, n: number) =>
      Array.from({ length: n }, (_, i) => new AmdgpuRing(this, ip, i, opts));
    this.rings = {
      [AMDGPU_HW_IP_GFX]: mk(AMDGPU_HW_IP_GFX, 1),
      [AMDGPU_HW_IP_COMPUTE]: mk(AMDGPU_HW_IP_COMPUTE, this.config.computeRings),
      [AMDGPU_HW_IP_DMA]: mk(AMDGPU_HW_IP_DMA, this.config.sdmaRings),
    } as Record<AmdgpuHwIp, AmdgpuRing[]>;
    for (const ip of [AMDGPU_HW_IP_GFX, AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA] as const)
      this.allRings.push(...this.rings[ip]);
    for (const r of this.allRings) this.ringBySched.set(r.sched, r);
    this.vmids = new AmdgpuVmidMgr(this.config.vmids);
    this.mman = new AmdgpuMman(this, vram);
    this.mes = engines.create(`${this.name}.mes`, { device: this.name });
    this.userqWq = new WorkQueue(sim, `${this.name}-userq`, { ordered: true, memReclaim: true });
    DEVICES.set(drm, this);
  }

  /** `to_amdgpu_ring(job->base.sched)`: the ring a job of this device runs on. */
  ringOf(job: DrmSchedJob): AmdgpuRing | undefined {
    return this.ringBySched.get(job.sched);
  }

  /** One of this device's ring schedulers (`amdgpu_sync_same_dev`). */
  ownsSched(sched: DrmGpuScheduler): boolean {
    return this.ringBySched.has(sched);
  }

  /** `adev->mman.buffer_funcs_ring`: SDMA ring 0. */
  get sdmaRing(): AmdgpuRing {
    return this.rings[AMDGPU_HW_IP_DMA][0]!;
  }

  /**
   * `amdgpu_device_switch_gang(adev, gang)`: make `gang` (a leader's scheduled fence) the gang on
   * the hardware. Returns null when it is already, or the previous gang is done; otherwise the
   * previous gang's fence (with a reference) to wait for. Called from `prepareJob`.
   */
  switchGang(gang: DmaFence): DmaFence | null {
    const old = this.gangSubmit;
    if (old === gang) return null;
    if (old !== null && !old.isSignaled()) {
      this.gangWaits++;
      return old.get();
    }
    this.gangSubmit = gang.get();
    old?.put();
    return null;
  }

  /**
   * `amdgpu_device_gpu_recover` (from `amdgpu_job_timedout`): stop every ring's scheduler, blame
   * the job (its context becomes guilty), reset the hardware, count the reset (and the VRAM loss,
   * if this reset loses VRAM), and resubmit what was pending — except gang jobs, which are never
   * re-submitted after a reset (the gang cannot be re-formed), and the guilty context's jobs.
   */
  gpuRecover(ring: AmdgpuRing, bad: DrmSchedJob): DrmGpuSchedStat {
    for (const r of this.allRings) r.sched.stop(r === ring ? bad : null);
    ring.sched.increaseKarma(bad);
    for (const r of this.allRings) r.engine.reset(-ERRNO.ETIME, { abortQueued: true });
    this.gpuResetCounter++;
    if (this.config.vramLostOnReset) {
      this.vramLostCounter++;
      // What was in VRAM is gone: the BOs there read as cleared memory from now on.
      for (const bo of this.mman.vramLru) bo.store.clear();
    }
    this.vmids.resetAll();
    for (const r of this.allRings)
      r.sched.forEachPendingJob((job) => {
        const f = job.sFence!.finished;
        if (job instanceof AmdgpuJob && job.gangSize > 1 && job.hwSubmitted && !f.signaled && f.error === 0)
          f.setError(-ERRNO.ECANCELED);
      });
    for (const r of this.allRings) r.sched.resubmitJobs();
    for (const r of this.allRings) r.sched.start(0);
    return DrmGpuSchedStat.RESET;
  }

  /** Device teardown (`amdgpu_device_fini`): schedulers, memory manager, fences. */
  fini(): void {
    this.mman.fini();
    for (const r of this.allRings) r.sched.fini();
    this.vmids.fini();
    this.gangSubmit?.put();
    this.gangSubmit = null;
    DEVICES.delete(this.drm);
  }
}
