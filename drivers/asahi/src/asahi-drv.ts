/**
 * The Asahi driver plugin (`drivers/gpu/drm/asahi/driver.rs` + `file.rs`): a render-only GPU with
 * shmem GEM objects, PRIME, syncobjs (binary and timeline), per-file VMs and user queues on a
 * firmware-scheduled GPU. Everything the driver does to the DRM core is in `apply()` — per-file
 * state in `open`/`postclose`, the PRIME rules through `hooks.gem` and `hooks.dmaBufAttach`, its
 * `drm_sched_backend_ops` through `hooks.sched`, its fence ops through `hooks.fence`, and its
 * ioctls. The hardware model lives in `AsahiDevice`, which the device container builds
 * (`asahiProviders`).
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
  type DrmPluginHost,
  type DrmProbeOptions,
  drmIoctlDefDrv,
} from "@drmsim/drm";
import type { DrmSchedJob } from "@drmsim/drm-sched";
import { KernelError, type UapiValue, uapiU64ToNumber } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { ASAHI_DEVICE, type AsahiDevice, type AsahiGpuConfig, asahiProviders } from "./asahi-device.js";
import {
  ASAHI_PAGE_SIZE,
  DRM_ASAHI_GEM_VM_PRIVATE,
  DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
  DRM_IOCTL_ASAHI_GET_PARAMS,
  DRM_IOCTL_ASAHI_GET_TIME,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_DESTROY,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_BIND,
  DRM_IOCTL_ASAHI_VM_CREATE,
  DRM_IOCTL_ASAHI_VM_DESTROY,
  drm_asahi_gem_bind_object,
  drm_asahi_gem_create,
  drm_asahi_gem_mmap_offset,
  drm_asahi_get_params,
  drm_asahi_get_time,
  drm_asahi_queue_create,
  drm_asahi_queue_destroy,
  drm_asahi_submit,
  drm_asahi_vm_bind,
  drm_asahi_vm_create,
  drm_asahi_vm_destroy,
} from "./asahi-drm.js";
import { AsahiFile, asahiFileOf } from "./asahi-file.js";
import { asahiHwOverride, DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT, drmsim_asahi_hw_next } from "./asahi-hw-model.js";
import { asahiGemMmapOffset } from "./asahi-mmap.js";
import { asahiGetParams, asahiGetTime } from "./asahi-params.js";
import { asahiPrimeApply } from "./asahi-prime.js";
import { AsahiJobFence } from "./asahi-queue.js";
import { asahiSubmitIoctl } from "./asahi-submit.js";
import { isVmPrivate, markVmPrivate } from "./asahi-vm.js";
import { AsahiFwFence } from "./asahi-workqueue.js";

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

/** The Asahi driver plugin. */
export class AsahiDriver {
  constructor(
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(ASAHI_DEVICE) readonly adev: AsahiDevice,
  ) {}

  apply(hooks: DrmHooks): void {
    const name = "asahi";
    const adev = this.adev;
    hooks.driver.open.tap(name, (file) => {
      file.driverPriv = new AsahiFile(adev);
    });
    hooks.driver.postclose.tap(name, (file) => {
      asahiFileOf(file).close();
      file.driverPriv = undefined;
    });
    hooks.driver.release.tap(name, () => adev.fini());
    // Foreign dma-bufs are imported dynamically and mapped at submit (asahi-prime.ts).
    asahiPrimeApply(hooks, this.device, name);
    // DRM_ASAHI_GEM_VM_PRIVATE objects are never exported; everything else takes the PRIME helper.
    hooks.gem.export.tap({ name, stage: DrmHookStage.DRIVER }, (obj) => {
      if (isVmPrivate(obj))
        throw new KernelError("EINVAL", "PRIME export of a DRM_ASAHI_GEM_VM_PRIVATE object");
      return undefined;
    });
    // The queues' drm_sched_backend_ops: every user queue's scheduler comes from the device's
    // DRM_SCHED_FACTORY, so the scheduler calls these, and they dispatch to the job's queue.
    const queueOf = (job: DrmSchedJob) => adev.queueOf(job);
    hooks.sched.prepareJob.tap(name, (job) => queueOf(job)?.prepareJob(job));
    hooks.sched.runJob.tap(name, (job) => queueOf(job)?.runJob(job));
    hooks.sched.timedoutJob.tap(name, (job) => queueOf(job)?.timedoutJob(job));
    hooks.sched.freeJob.tap(name, (job) => queueOf(job)?.freeJob(job));
    hooks.sched.cancelJob.tap(name, (job) => queueOf(job)?.cancelJob(job));
    // dma_fence_ops of the job fences (one timeline per queue) and the firmware command fences
    // (one per ring).
    hooks.fence.getDriverName.tap(name, (f) =>
      f instanceof AsahiJobFence || f instanceof AsahiFwFence ? "asahi" : undefined,
    );
    hooks.fence.getTimelineName.tap(name, (f) =>
      f instanceof AsahiJobFence ? f.queue.name : f instanceof AsahiFwFence ? f.ring.name : undefined,
    );
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // The driver's declare_drm_ioctls!: GET_PARAMS is RENDER_ALLOW, every other ioctl
      // AUTH | RENDER_ALLOW. So on the primary node an unauthenticated client may ask for the
      // parameters and nothing else; render clients always pass DRM_AUTH.
      const flags = DRM_AUTH | DRM_RENDER_ALLOW;
      const file = (f: DrmFile) => asahiFileOf(f);
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_GET_PARAMS",
          DRM_IOCTL_ASAHI_GET_PARAMS,
          drm_asahi_get_params,
          (_f, a) => asahiGetParams(a, adev.config.maxCommands),
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_GET_TIME",
          DRM_IOCTL_ASAHI_GET_TIME,
          drm_asahi_get_time,
          (_f, a) => asahiGetTime(a, adev.sim),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_VM_CREATE",
          DRM_IOCTL_ASAHI_VM_CREATE,
          drm_asahi_vm_create,
          (f, a) => file(f).vms.create(a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_VM_DESTROY",
          DRM_IOCTL_ASAHI_VM_DESTROY,
          drm_asahi_vm_destroy,
          (f, a) => file(f).vms.destroy(a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_VM_BIND",
          DRM_IOCTL_ASAHI_VM_BIND,
          drm_asahi_vm_bind,
          (f, a) => file(f).vms.bind(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_GEM_CREATE",
          DRM_IOCTL_ASAHI_GEM_CREATE,
          drm_asahi_gem_create,
          (f, a) => this.gemCreate(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_GEM_MMAP_OFFSET",
          DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET,
          drm_asahi_gem_mmap_offset,
          (f, a) => {
            a.offset = asahiGemMmapOffset(f, a.handle, a.flags);
          },
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_GEM_BIND_OBJECT",
          DRM_IOCTL_ASAHI_GEM_BIND_OBJECT,
          drm_asahi_gem_bind_object,
          (f, a) => file(f).objects.ioctl(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_QUEUE_CREATE",
          DRM_IOCTL_ASAHI_QUEUE_CREATE,
          drm_asahi_queue_create,
          (f, a, call) => file(f).createQueue(a, call.proc),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_QUEUE_DESTROY",
          DRM_IOCTL_ASAHI_QUEUE_DESTROY,
          drm_asahi_queue_destroy,
          (f, a) => file(f).destroyQueue(a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "ASAHI_SUBMIT",
          DRM_IOCTL_ASAHI_SUBMIT,
          drm_asahi_submit,
          (f, a) => asahiSubmitIoctl(f, file(f), a),
          flags,
        ),
      );
      // drmsim only, never in asahi_drm.h: the simulation's per-command knobs (asahi-hw-model.ts).
      ioctls.add(
        drmIoctlDefDrv(
          "DRMSIM_ASAHI_HW_NEXT",
          DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT,
          drmsim_asahi_hw_next,
          (f, a) =>
            file(f).queue(a.queue_id, "DRMSIM_ASAHI_HW_NEXT").hwNext.push(a.cmds.read(), asahiHwOverride),
          flags,
        ),
      );
    });
  }

  /**
   * `ASAHI_GEM_CREATE`: a shmem object of `size` rounded up to the 16 KiB page. `EINVAL` for size
   * 0 or a `vm_id` without `DRM_ASAHI_GEM_VM_PRIVATE` (unknown flags and a non-zero pad are
   * refused by the core); `ENOENT` for an unknown VM with it; `ENOMEM` for a size no memory holds.
   */
  private gemCreate(file: DrmFile, args: UapiValue<typeof drm_asahi_gem_create>): void {
    const name = "ASAHI_GEM_CREATE";
    if (args.size === 0n) throw new KernelError("EINVAL", `${name}: size must be > 0`);
    const priv = (args.flags & DRM_ASAHI_GEM_VM_PRIVATE) !== 0;
    if (!priv && args.vm_id !== 0)
      throw new KernelError("EINVAL", `${name}: vm_id is only meaningful with DRM_ASAHI_GEM_VM_PRIVATE`);
    const vm = priv ? asahiFileOf(file).vms.lookup(args.vm_id, name) : null;
    // No simulated machine has 2^53 bytes to give: such a size fails as an allocation would.
    if (args.size > BigInt(Number.MAX_SAFE_INTEGER - ASAHI_PAGE_SIZE))
      throw new KernelError("ENOMEM", `${name}: ${args.size} bytes fit nowhere`);
    const size = uapiU64ToNumber(args.size, `${name}: size`);
    const obj = this.device.gemCreateObject(Math.ceil(size / ASAHI_PAGE_SIZE) * ASAHI_PAGE_SIZE);
    try {
      if (vm !== null) markVmPrivate(obj, vm);
      args.handle = file.gem.handleCreate(obj);
    } finally {
      obj.put();
    }
  }
}

/**
 * Probes an Asahi device on `host` with the GPU limits `config` (defaults `ASAHI_DEFAULT_CONFIG`;
 * `EINVAL` for limits below 1), card N and renderD 128+N. `opts.providers` replace parts of the
 * device container (`asahiProviders`: `ASAHI_CONFIG`, `ASAHI_DEVICE`, or the generic
 * `HW_ENGINE_FACTORY` / `DRM_SCHED_FACTORY`) — a firmware ring that hangs or loses an interrupt —
 * without touching the driver; `opts.plugins` tap its hooks after it (or before, at
 * `DrmHookStage.EARLY`).
 */
export function asahiProbe(
  host: DrmPluginHost,
  config: Partial<AsahiGpuConfig> = {},
  opts: Pick<DrmProbeOptions, "providers" | "plugins"> = {},
): DrmDevice {
  return host.probe(AsahiDriver, {
    ...ASAHI_DRIVER_INFO,
    providers: [...asahiProviders(config), ...(opts.providers ?? [])],
    plugins: opts.plugins,
  });
}
