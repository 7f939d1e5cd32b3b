/**
 * `struct drm_device` (`include/drm/drm_device.h`, `drivers/gpu/drm/drm_drv.c`): one probed
 * device. It owns its minors (device nodes), the open files, the DRM master of its primary node,
 * and the driver's ioctl table. Drivers never construct it: `DrmPluginHost.probe()` does, and
 * `DrmPluginHost.remove()` unplugs it.
 */
import {
  Device,
  type DmaBuf,
  type DmaBufAttachOps,
  type DmaBufExportInfo,
  type DmaBufOps,
  dmaBufExport,
  type PciDev,
} from "@drmsim/dma-buf";
import type { DmaFenceOps } from "@drmsim/dma-fence";
import type { DrmSchedBackendOps } from "@drmsim/drm-sched";
import {
  DrmGemNameTable,
  type DrmGemObject,
  type DrmGemObjectFuncs,
  DrmVmaOffsetManager,
  drmGemDmabufExport,
  drmGemPrimeExport,
} from "@drmsim/gem";
import {
  File,
  type FileOperations,
  KernelError,
  type Process,
  registerCharDevice,
  type Simulator,
  unregisterCharDevice,
} from "@drmsim/runtime";
import { drmMasterOpen, drmMasterRelease } from "./drm-auth.js";
import { DrmDriverFeature, type DrmDriverInfo } from "./drm-drv.js";
import { DrmFile } from "./drm-file.js";
import { DRM_COMMAND_BASE, DRM_COMMAND_END, type DrmIoctlDef } from "./drm-ioctl-def.js";
import { DrmMinor } from "./drm-minor.js";
import type { DrmHooks } from "./plugin/hooks.js";
import {
  drmDmaBufAttachOpsFromHooks,
  drmDmaBufOpsFromHooks,
  drmFenceOpsFromHooks,
  drmGemFuncsFromHooks,
  drmHasOwnDmaBufOps,
  drmSchedOpsFromHooks,
} from "./plugin/ops-tables.js";

/** The file kind of an open DRM node (`File.fops.kind`). */
export const DRM_FILE_KIND = "drm";

/** Per-simulator minor numbering: cards and accels count separately, as in the kernel's idrs. */
const MINORS = {};
interface MinorState {
  cards: Set<number>;
  accels: Set<number>;
}

/** `struct drm_device`. */
export class DrmDevice {
  /** `dev->unplugged` (`drm_dev_unplug`): every later ioctl gets `ENODEV`. */
  unplugged = false;
  /** `dev->master`: the primary-node file whose master is the current one, if any (`drm-auth.ts`). */
  master: DrmFile | null = null;
  /** Open files (`dev->filelist`), in open order. */
  readonly files = new Set<DrmFile>();
  readonly minors: readonly DrmMinor[];
  /** `drm_driver.ioctls`, by name. */
  private readonly ioctlsByName = new Map<string, DrmIoctlDef>();
  private readonly ioctlsByNr = new Map<number, DrmIoctlDef>();
  /** `dev->object_name_idr`: flink names of this device. */
  readonly names = new DrmGemNameTable();
  /** `dev->vma_offset_manager`: the fake mmap offsets of this device's GEM objects. */
  readonly vmaOffsetManager = new DrmVmaOffsetManager();
  /**
   * The `struct device` buffers are DMA-mapped for (attachments of imports, p2p checks), with the
   * device's PCI position when its probe provided one (`PCI_DEV`).
   */
  readonly dmaDev: Device;
  /** `drm_gem_object_funcs` of the device's GEM objects, calling `hooks.gem`. */
  readonly gemFuncs: DrmGemObjectFuncs;
  /** `dma_buf_ops` of the device's own exports, calling `hooks.dmaBuf` (GEM defaults behind). */
  readonly dmaBufOps: DmaBufOps;
  /** `drm_sched_backend_ops` of the device's schedulers, calling `hooks.sched` (see `DRM_SCHED_FACTORY`). */
  readonly schedOps: DrmSchedBackendOps;
  /** `dma_fence_ops` of the driver's own fences, calling `hooks.fence`. */
  readonly fenceOps: DmaFenceOps;
  private readonly slot: number;
  private registered = false;

  constructor(
    readonly sim: Simulator,
    /** The driver's name, version and `driver_features`. */
    readonly driver: DrmDriverInfo,
    /** The device's frozen ops tables (`drm_driver`, `drm_gem_object_funcs`, `dma_buf_ops`, …). */
    readonly hooks: DrmHooks,
    /** The ioctl dispatcher the file operations call (`drm_ioctl`); set by the core. */
    private readonly fops: FileOperations<DrmFile>,
    /** Where the device sits on the PCI bus (`pdev`), for peer-to-peer checks; null if it does not. */
    pci: PciDev | null = null,
  ) {
    const st = sim.subsystem<MinorState>(MINORS, () => ({ cards: new Set(), accels: new Set() }));
    const accel = this.checkFeature(DrmDriverFeature.COMPUTE_ACCEL);
    const used = accel ? st.accels : st.cards;
    let n = 0;
    while (used.has(n)) n++;
    // drm_minor_alloc: the render node is 128 + the card index; an accel device has only its node.
    if (n >= 64) throw new KernelError("ENOSPC", `no free ${accel ? "accel" : "card"} minor (64 in use)`);
    used.add(n);
    this.slot = n;
    const minors: DrmMinor[] = [];
    if (accel) minors.push(new DrmMinor(this, "accel", n));
    else {
      minors.push(new DrmMinor(this, "primary", n));
      if (this.checkFeature(DrmDriverFeature.RENDER)) minors.push(new DrmMinor(this, "render", 128 + n));
    }
    this.minors = minors;
    this.dmaDev = new Device(sim, { name: `${driver.name}.${n}`, pci });
    this.gemFuncs = this.buildGemFuncs();
    this.dmaBufOps = drmDmaBufOpsFromHooks(hooks, driver.name);
    this.schedOps = drmSchedOpsFromHooks(hooks, driver.name);
    this.fenceOps = drmFenceOpsFromHooks(hooks, driver.name);
  }

  /**
   * `drm_gem_object_init` from the core's side: routes `obj.funcs` through this device's
   * `hooks.gem`, so the driver's (and helpers') taps — and the framework's interceptors — run for
   * every op. An op nobody tapped stays absent, so GEM applies the kernel's default for a NULL op.
   */
  initGemObject(obj: DrmGemObject): DrmGemObject {
    obj.funcs = this.gemFuncs;
    return obj;
  }

  /**
   * `drm_gem_object_create` via `drm_driver.gem_create_object`: a new object of `size` bytes
   * (rounded up to a page), funcs routed through the hooks. `ENOSYS` if nothing creates objects
   * (a driver without GEM); `EINVAL` for a size that is not a positive integer.
   */
  gemCreateObject(size: number): DrmGemObject {
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new KernelError("EINVAL", `GEM object size must be a positive integer, got ${size}`);
    const obj = this.hooks.driver.gemCreateObject.call(Math.ceil(size / 4096) * 4096);
    if (obj === undefined) throw new KernelError("ENOSYS", `${this.driver.name} does not create GEM objects`);
    return this.initGemObject(obj);
  }

  /** True if `buf` was exported by this device with its own `dma_buf_ops` (self-import check). */
  ownsDmaBuf(buf: DmaBuf): boolean {
    return buf.ops === this.dmaBufOps;
  }

  /**
   * `dma_buf_export` with this device's `dma_buf_ops` (the `hooks.dmaBuf` taps): what a driver
   * without GEM (habanalabs' device memory) or with its own export path calls. `priv` is the
   * exporter's object, handed back to the taps as `buf.priv`. The buffer is revoked when this
   * device is unplugged.
   */
  dmaBufExport(info: Omit<DmaBufExportInfo, "ops">): DmaBuf {
    return dmaBufExport(this.sim, { owner: this, ...info, ops: this.dmaBufOps });
  }

  /** `dma_buf_attach_ops` for this device importing `buf` (see `hooks.dmaBufAttach`). */
  dmaBufAttachOps(buf: DmaBuf): DmaBufAttachOps {
    return drmDmaBufAttachOpsFromHooks(this.hooks, buf);
  }

  /** `drm_gem_dmabuf_export` with the driver's `dma_buf_ops` (the `hooks.dmaBuf` taps over the GEM defaults). */
  private primeExportOwnOps(obj: DrmGemObject, flags: number): DmaBuf {
    // The dma-buf holds a reference on the object, dropped by the default release.
    return drmGemDmabufExport(obj, this.dmaBufOps, flags);
  }

  /**
   * `hooks.gem` funcs plus `export`: the driver's `export` tap, else `drm_gem_prime_export` —
   * with the driver's `dma_buf_ops` when it tapped any (decided at each export: the driver taps
   * after this table exists).
   */
  private buildGemFuncs(): DrmGemObjectFuncs {
    const g = this.hooks.gem;
    const funcs = drmGemFuncsFromHooks(this.hooks, this.driver.name);
    const exp: NonNullable<DrmGemObjectFuncs["export"]> = (o, flags) =>
      g.export.call(o, flags) ??
      (drmHasOwnDmaBufOps(this.hooks) ? this.primeExportOwnOps(o, flags) : drmGemPrimeExport(o, flags));
    return Object.defineProperty(funcs, "export", {
      get: () => (g.export.taps.length > 0 || drmHasOwnDmaBufOps(this.hooks) ? exp : undefined),
    });
  }

  /** `drm_core_check_feature(dev, feature)`. */
  checkFeature(feature: number): boolean {
    return (this.driver.features & feature) === feature;
  }

  /** The primary node (`dev->primary`), if the device has one. */
  get primary(): DrmMinor | undefined {
    return this.minors.find((m) => m.type === "primary");
  }

  /** The render node (`dev->render`), if the device has one. */
  get render(): DrmMinor | undefined {
    return this.minors.find((m) => m.type === "render");
  }

  /** The accel node (`dev->accel`), if the device has one. */
  get accel(): DrmMinor | undefined {
    return this.minors.find((m) => m.type === "accel");
  }

  /**
   * Adds a driver ioctl (an entry of `drm_driver.ioctls`, `DRM_IOCTL_DEF_DRV`). Its number must be
   * in the driver range [`DRM_COMMAND_BASE`, `DRM_COMMAND_END`) and unique, as must its name.
   * The plugin host calls this from the `ioctls` hook at probe time.
   */
  addIoctl(def: DrmIoctlDef): void {
    if (!(def.nr >= DRM_COMMAND_BASE && def.nr < DRM_COMMAND_END))
      throw new KernelError(
        "EINVAL",
        `driver ioctl ${def.name} has number 0x${def.nr.toString(16)}, outside the driver range 0x40..0x9f (DRM_COMMAND_BASE..DRM_COMMAND_END)`,
      );
    if (this.ioctlsByName.has(def.name) || this.ioctlsByNr.has(def.nr))
      throw new KernelError("EEXIST", `driver ioctl ${def.name} (0x${def.nr.toString(16)}) is defined twice`);
    this.ioctlsByName.set(def.name, def);
    this.ioctlsByNr.set(def.nr, def);
  }

  /** The driver ioctl with this name or number, or undefined. */
  driverIoctl(key: string | number): DrmIoctlDef | undefined {
    return typeof key === "number" ? this.ioctlsByNr.get(key) : this.ioctlsByName.get(key);
  }

  /** The driver's ioctls, by number. */
  driverIoctls(): DrmIoctlDef[] {
    return [...this.ioctlsByNr.values()].sort((a, b) => a.nr - b.nr);
  }

  /** `drm_dev_register`: makes the device nodes openable. */
  register(): void {
    if (this.registered) return;
    const done: string[] = [];
    try {
      for (const m of this.minors) {
        registerCharDevice(this.sim, m.path, (proc, flags) => this.open(m, proc, flags));
        done.push(m.path);
      }
    } catch (e) {
      for (const p of done) unregisterCharDevice(this.sim, p);
      throw e;
    }
    this.registered = true;
  }

  /**
   * `drm_dev_unplug`: the nodes disappear, every later ioctl on a still-open file gets `ENODEV`,
   * and the minor numbers become free for the next device. Open files stay valid until closed.
   * Every dma-buf the device exported is revoked from now on (`DmaBuf.revoked`): importers get
   * `ENODEV`, CPU mappings fault.
   */
  unplug(): void {
    if (this.registered) for (const m of this.minors) unregisterCharDevice(this.sim, m.path);
    this.registered = false;
    if (!this.unplugged) {
      const st = this.sim.subsystem<MinorState>(MINORS, () => ({ cards: new Set(), accels: new Set() }));
      (this.checkFeature(DrmDriverFeature.COMPUTE_ACCEL) ? st.accels : st.cards).delete(this.slot);
    }
    this.unplugged = true;
  }

  /** `drm_open_helper` + `drm_file_alloc` + `drm_master_open`: creates the file of one `open()`. */
  private open(minor: DrmMinor, proc: Process, flags: number): File<DrmFile> {
    if (this.unplugged) throw new KernelError("ENODEV", `${minor.path}: the device was unplugged`);
    const dfile = new DrmFile(this, minor, proc);
    // drm_file_free order: per-file subsystems (syncobjs, GEM handles) go, then the driver's postclose.
    // drm_driver.open runs before the file is visible; a failure leaves nothing behind
    // (drm_file_alloc's unwinding: the per-file tables go, then the file's memory).
    try {
      this.hooks.driver.open.call(dfile);
    } catch (e) {
      dfile.closed = true;
      dfile.runReleaseFns();
      dfile.free();
      throw e;
    }
    // drm_master_open: the first opener of a primary node with no master becomes master; the
    // others join the current master's group (drm-auth.ts).
    if (minor.type === "primary") drmMasterOpen(dfile);
    this.files.add(dfile);
    return new File(this.sim, this.fops, dfile, flags, minor.path);
  }

  /** @internal `drm_release` of the last reference: `postclose`, then the core's per-file cleanup. */
  releaseFile(dfile: DrmFile): void {
    if (dfile.closed) return;
    dfile.closed = true;
    this.sim.withFrame(`drm_release(${dfile.minor.path})`, () => {
      dfile.runReleaseFns();
      // drm_file_free: drm_master_release before the driver's postclose.
      if (dfile.isPrimaryClient) drmMasterRelease(dfile);
      this.hooks.driver.postclose.call(dfile);
    });
    dfile.free();
    this.files.delete(dfile);
  }

  toString(): string {
    return `drm_device ${this.driver.name} (${this.minors.map((m) => m.path).join(", ")})`;
  }
}
