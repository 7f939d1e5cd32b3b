/**
 * The Asahi driver plugin (`drivers/gpu/drm/asahi/driver.rs` + `file.rs`): a render-only GPU with
 * shmem GEM objects, PRIME, syncobjs (binary and timeline), per-file VMs and user queues on a
 * firmware-scheduled GPU. Everything the driver does to the DRM core is in `apply()`.
 *
 * `asahiHooks(device)` are the driver's own extension points (STACK.md's `getXHooks` pattern): the
 * `schedOps` waterfall lets a plugin wrap the scheduler backend ops of each new queue — the way
 * tracers and fault injectors get in, and the way the rejected `can_run_job` design is forced in
 * by the test fixture to show what goes wrong.
 */
import {
  DRM_AUTH,
  DRM_DEVICE,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  DrmHookStage,
  type DrmHooks,
  type DrmIoctlCall,
  type DrmPluginHost,
  drmArgU,
  drmCheckZero,
  drmIoctlDefDrv,
  drmToken,
  SIMULATOR,
} from "@drmsim/drm";
import type { DrmSchedBackendOps } from "@drmsim/drm-sched";
import { KernelError, msecs, type Simulator } from "@drmsim/runtime";
import { SyncWaterfallHook } from "tapable";
import { inject } from "tsyringe";
import {
  ASAHI_MAX_COMMANDS_PER_SUBMISSION,
  ASAHI_PAGE_SIZE,
  DRM_ASAHI_GEM_CREATE,
  DRM_ASAHI_GEM_VM_PRIVATE,
  DRM_ASAHI_GEM_WRITEBACK,
  DRM_ASAHI_QUEUE_CREATE,
  DRM_ASAHI_QUEUE_DESTROY,
  DRM_ASAHI_SUBMIT,
  DRM_ASAHI_VM_BIND,
  DRM_ASAHI_VM_CREATE,
  DRM_ASAHI_VM_DESTROY,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  type DrmAsahiGemCreate,
} from "./asahi-drm.js";
import { AsahiFile, asahiFileOf } from "./asahi-file.js";
import { asahiPrimeApply } from "./asahi-prime.js";
import type { AsahiGpuConfig, AsahiQueue } from "./asahi-queue.js";
import { asahiSubmitIoctl } from "./asahi-submit.js";
import { isVmPrivate, markVmPrivate } from "./asahi-vm.js";

/** The driver's `struct drm_driver` data. */
export const ASAHI_DRIVER_INFO = {
  name: "asahi",
  desc: "Apple AGX Graphics",
  major: 0,
  minor: 0,
  patchlevel: 0,
  features:
    DrmDriverFeature.GEM |
    DrmDriverFeature.RENDER |
    DrmDriverFeature.SYNCOBJ |
    DrmDriverFeature.SYNCOBJ_TIMELINE,
} as const;

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

/** DI token of the device's GPU configuration. */
export const ASAHI_CONFIG = drmToken<AsahiGpuConfig>("ASAHI_CONFIG");

/** The driver's own hooks. */
export interface AsahiHooks {
  /** Each new user queue's scheduler backend ops pass through this waterfall before `drm_sched_init`. */
  readonly schedOps: SyncWaterfallHook<[ops: DrmSchedBackendOps, queue: AsahiQueue]>;
}

const HOOKS = new WeakMap<DrmDevice, AsahiHooks>();

/** The driver hooks of an Asahi device (`ENODEV` for another device). */
export function asahiHooks(device: DrmDevice): AsahiHooks {
  const h = HOOKS.get(device);
  if (h === undefined) throw new KernelError("ENODEV", `${device} is not an asahi device`);
  return h;
}

/** The Asahi driver plugin. */
export class AsahiDriver {
  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(ASAHI_CONFIG) readonly config: AsahiGpuConfig,
  ) {}

  apply(hooks: DrmHooks, device: DrmDevice): void {
    const name = "asahi";
    const own: AsahiHooks = {
      schedOps: new SyncWaterfallHook<[ops: DrmSchedBackendOps, queue: AsahiQueue]>(["ops", "queue"]),
    };
    HOOKS.set(device, own);
    const wrap = (ops: DrmSchedBackendOps, q: AsahiQueue) => own.schedOps.call(ops, q);
    const devName = `asahi-${device.primary?.index ?? device.render?.index ?? 0}`;
    hooks.driver.open.tap(name, (file) => {
      file.driverPriv = new AsahiFile(this.sim, this.config, devName, wrap);
    });
    hooks.driver.postclose.tap(name, (file) => {
      asahiFileOf(file).close();
      file.driverPriv = undefined;
    });
    // Foreign dma-bufs are imported dynamically and mapped at submit (asahi-prime.ts).
    asahiPrimeApply(hooks, device, name);
    // DRM_ASAHI_GEM_VM_PRIVATE objects are never exported; everything else takes the PRIME helper.
    hooks.gem.export.tap({ name, stage: DrmHookStage.DRIVER }, (obj) => {
      if (isVmPrivate(obj))
        throw new KernelError("EINVAL", "PRIME export of a DRM_ASAHI_GEM_VM_PRIVATE object");
      return undefined;
    });
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // The asahi driver's declare_drm_ioctls!: every ioctl drmsim models is AUTH | RENDER_ALLOW
      // (only GET_PARAMS, not modelled, is RENDER_ALLOW alone). So on the primary node an
      // unauthenticated client is refused; render clients always pass DRM_AUTH.
      const add = <A extends object>(
        name: string,
        nr: number,
        handler: (file: DrmFile, args: A, call: DrmIoctlCall) => unknown,
      ) => ioctls.add(drmIoctlDefDrv<A>(name, nr, handler, DRM_AUTH | DRM_RENDER_ALLOW));
      add(DRM_IOCTL_ASAHI_VM_CREATE, DRM_ASAHI_VM_CREATE, (f, a: never) => asahiFileOf(f).vms.create(a));
      add(DRM_IOCTL_ASAHI_VM_DESTROY, DRM_ASAHI_VM_DESTROY, (f, a: never) => asahiFileOf(f).vms.destroy(a));
      add(DRM_IOCTL_ASAHI_VM_BIND, DRM_ASAHI_VM_BIND, (f, a: never) => asahiFileOf(f).vms.bind(f, a));
      add(DRM_IOCTL_ASAHI_GEM_CREATE, DRM_ASAHI_GEM_CREATE, (f, a: DrmAsahiGemCreate) =>
        this.gemCreate(f, a),
      );
      add(DRM_IOCTL_ASAHI_QUEUE_CREATE, DRM_ASAHI_QUEUE_CREATE, (f, a: never, call) =>
        asahiFileOf(f).createQueue(a, call.proc),
      );
      add(DRM_IOCTL_ASAHI_QUEUE_DESTROY, DRM_ASAHI_QUEUE_DESTROY, (f, a: never) =>
        asahiFileOf(f).destroyQueue(a),
      );
      add(DRM_IOCTL_ASAHI_SUBMIT, DRM_ASAHI_SUBMIT, (f, a: never) => asahiSubmitIoctl(f, asahiFileOf(f), a));
    });
  }

  /**
   * `ASAHI_GEM_CREATE`: a shmem object of `size` rounded up to the 16 KiB page. `EINVAL` for size
   * 0, unknown flags, a non-zero pad, or a `vm_id` without `DRM_ASAHI_GEM_VM_PRIVATE`; `ENOENT`
   * for an unknown VM with it.
   */
  gemCreate(file: DrmFile, args: DrmAsahiGemCreate): void {
    const a = args as unknown as Record<string, unknown>;
    const name = "ASAHI_GEM_CREATE";
    drmCheckZero(a, "pad", name);
    const flags = drmArgU(a, "flags", name, 0);
    if ((flags & ~(DRM_ASAHI_GEM_WRITEBACK | DRM_ASAHI_GEM_VM_PRIVATE)) !== 0)
      throw new KernelError("EINVAL", `${name}: unknown flags 0x${flags.toString(16)}`);
    const size = drmArgU(a, "size", name);
    if (size === 0) throw new KernelError("EINVAL", `${name}: size must be > 0`);
    const vmId = drmArgU(a, "vm_id", name, 0);
    const priv = (flags & DRM_ASAHI_GEM_VM_PRIVATE) !== 0;
    if (!priv && vmId !== 0)
      throw new KernelError("EINVAL", `${name}: vm_id is only meaningful with DRM_ASAHI_GEM_VM_PRIVATE`);
    const vm = priv ? asahiFileOf(file).vms.lookup(vmId, name) : null;
    const obj = this.device.gemCreateObject(Math.ceil(size / ASAHI_PAGE_SIZE) * ASAHI_PAGE_SIZE);
    try {
      if (vm !== null) markVmPrivate(obj, vm);
      args.handle = file.gem.handleCreate(obj);
    } finally {
      obj.put();
    }
  }
}

/** Options of `asahiProbe`: the simulated GPU's limits (defaults `ASAHI_DEFAULT_CONFIG`). */
export type AsahiProbeOptions = Partial<AsahiGpuConfig>;

/**
 * Probes an Asahi device on `host` (card N, renderD 128+N). `EINVAL` for limits below 1.
 */
export function asahiProbe(host: DrmPluginHost, opts: AsahiProbeOptions = {}): DrmDevice {
  const config: AsahiGpuConfig = { ...ASAHI_DEFAULT_CONFIG, ...opts };
  for (const [k, v] of Object.entries(config))
    if (!(typeof v === "number" && v >= 1 && (k === "timeoutNs" || Number.isInteger(v))))
      throw new KernelError("EINVAL", `asahiProbe: ${k} must be a positive integer, got ${String(v)}`);
  return host.probe(AsahiDriver, {
    ...ASAHI_DRIVER_INFO,
    providers: [{ provide: ASAHI_CONFIG, useValue: config }],
  });
}
