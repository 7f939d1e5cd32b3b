/**
 * The ops tables of a DRM device as tapable hooks: one frozen `hooks` object per device, with a
 * group per kernel ops struct — `drm_driver`, `drm_gem_object_funcs`, `dma_buf_ops`,
 * `dma_buf_attach_ops`, `drm_sched_backend_ops` and `dma_fence_ops` — every hook documented by
 * the op it mirrors. This is the one way a driver supplies kernel ops: it taps them in its
 * `apply(hooks)`, and the core hands the lower layers ops tables that call these hooks
 * (`ops-tables.ts`: `device.schedOps`, `device.fenceOps`, the dma-buf ops of its exports, the
 * attach ops of its imports), so every call into the driver passes the framework's interceptors
 * (`interceptors.ts`: a backtrace frame named after the op, a lock-balance check, a tracepoint).
 *
 * A driver with several kinds of one object (ring fences and eviction fences; shmem objects and
 * its own BOs) taps each op once and answers for its own kinds: bail hooks take `undefined` as
 * "not mine, ask the next tap", the way the shmem helper only handles shmem objects.
 *
 * Shapes follow STACK.md: hook type arguments are tuples; bail hooks include `undefined` in their
 * result. Default implementations (the kernel's helpers) are plugins tapped at
 * `DrmHookStage.HELPER`, after the driver's own taps; a test plugin can tap before the driver
 * with a negative `stage` (e.g. `DrmHookStage.EARLY`).
 */
import type {
  Device,
  DmaBuf,
  DmaBufAttachment,
  DmaDataDirection,
  IosysMap,
  SgTable,
  VmArea,
} from "@drmsim/dma-buf";
import type { DmaFence } from "@drmsim/dma-fence";
import type { DrmGpuSchedStat, DrmSchedEntity, DrmSchedJob } from "@drmsim/drm-sched";
import type { DrmGemObject } from "@drmsim/gem";
import type { UapiValue } from "@drmsim/runtime";
import { AsyncSeriesBailHook, SyncBailHook, SyncHook } from "tapable";
import type { DrmFile } from "../drm-file.js";
import type { DrmIoctlDef } from "../drm-ioctl-def.js";
import type { drm_mode_create_dumb } from "../drm-uapi.js";

/** Ordered phases for `stage` in tap options: lower runs first. */
export const DrmHookStage = {
  /** Before the driver: fault injectors and test plugins that answer instead of it. */
  EARLY: -100,
  /** The driver's own implementation (the default stage 0). */
  DRIVER: 0,
  /** The kernel helpers drmsim installs by default (shmem GEM, PRIME); a driver tap before them wins. */
  HELPER: 100,
} as const;

/** Where a driver declares its ioctls (`drm_driver.ioctls` + `num_ioctls`). */
export interface DrmIoctlRegistry {
  /** Adds one `DRM_IOCTL_DEF_DRV` entry: number in [0x40, 0xa0), unique name and number. */
  add(def: DrmIoctlDef): void;
}

/** What `dumb_create` receives: the ioctl's `struct drm_mode_create_dumb`, outputs zeroed. */
export type DrmDumbCreateArgs = UapiValue<typeof drm_mode_create_dumb>;

/** `struct drm_driver`'s ops. */
export interface DrmDriverHooks {
  /** `drm_driver.open`: a new client; set `file.driverPriv`. Throwing fails the `open()`. */
  readonly open: SyncHook<[file: DrmFile]>;
  /** `drm_driver.postclose`: the client's last reference is gone; free `file.driverPriv`. */
  readonly postclose: SyncHook<[file: DrmFile]>;
  /** `drm_driver.ioctls`: called once at probe; tap it to add the driver's ioctls. */
  readonly ioctls: SyncHook<[registry: DrmIoctlRegistry]>;
  /**
   * `drm_driver.dumb_create`: allocate a dumb buffer for `DRM_IOCTL_MODE_CREATE_DUMB`, fill in
   * `handle`, `pitch` and `size`, and return true. Optional: without a tap the ioctl answers
   * `ENOSYS` and `DRM_CAP_DUMB_BUFFER` reads 0, as in the kernel.
   */
  readonly dumbCreate: AsyncSeriesBailHook<[file: DrmFile, args: DrmDumbCreateArgs], true | undefined>;
  /**
   * `drm_driver.gem_create_object`: a new, unattached GEM object of `size` bytes (page-aligned by
   * the caller). The shmem helper answers by default; a driver tapping first makes its own type.
   */
  readonly gemCreateObject: SyncBailHook<[size: number], DrmGemObject | undefined>;
  /**
   * `drm_driver.gem_prime_import`: turn a dma-buf into an object of this device (self-import
   * returns the original object). Default: `drm_gem_prime_import` (attach, map, `gemPrimeImportSgTable`).
   */
  readonly gemPrimeImport: AsyncSeriesBailHook<[buf: DmaBuf], DrmGemObject | undefined>;
  /** `drm_driver.gem_prime_import_sg_table`: wrap a mapped foreign buffer. Default: the shmem helper's. */
  readonly gemPrimeImportSgTable: SyncBailHook<
    [attach: DmaBufAttachment, sgt: SgTable],
    DrmGemObject | undefined
  >;
  /**
   * `drm_driver.prime_handle_to_fd` (gone from the kernel in 6.6, where the core always uses
   * `drm_gem_prime_handle_to_dmabuf`): the dma-buf for a handle, with a reference for the caller.
   */
  readonly primeHandleToFd: SyncBailHook<[file: DrmFile, handle: number, flags: number], DmaBuf | undefined>;
  /** `drm_driver.prime_fd_to_handle` (likewise): the handle of a dma-buf in this file. */
  readonly primeFdToHandle: AsyncSeriesBailHook<[file: DrmFile, buf: DmaBuf], number | undefined>;
  /** `drm_driver.release` / `drm_dev_put`'s last step: free device-wide driver state at remove. */
  readonly release: SyncHook<[]>;
}

/**
 * `struct drm_gem_object_funcs`: every GEM object the core creates for this device
 * (`gemCreateObject`, PRIME import) has its `funcs` routed here, so these taps run for it. An op
 * nobody tapped is absent from the object's table (the kernel's NULL op and its default).
 */
export interface DrmGemHooks {
  /** `free`: the last reference is gone. Mandatory for GEM drivers (the kernel calls it unconditionally). */
  readonly free: SyncHook<[obj: DrmGemObject]>;
  /** `open`: a handle to `obj` was created in `file`; throw to refuse it. */
  readonly open: SyncHook<[obj: DrmGemObject, file: object]>;
  /** `close`: a handle to `obj` in `file` goes away. */
  readonly close: SyncHook<[obj: DrmGemObject, file: object]>;
  /** `export`: build the dma-buf for PRIME (default `drm_gem_prime_export`). */
  readonly export: SyncBailHook<[obj: DrmGemObject, flags: number], DmaBuf | undefined>;
  /** `pin` (resv held). */
  readonly pin: SyncHook<[obj: DrmGemObject]>;
  /** `unpin` (resv held). */
  readonly unpin: SyncHook<[obj: DrmGemObject]>;
  /** `get_sg_table`: a new table of the backing pages for `dev`. */
  readonly getSgTable: SyncBailHook<[obj: DrmGemObject, dev: Device | undefined], SgTable | undefined>;
  /** `vmap` (resv held). */
  readonly vmap: SyncBailHook<[obj: DrmGemObject], IosysMap | undefined>;
  /** `vunmap` (resv held). */
  readonly vunmap: SyncHook<[obj: DrmGemObject, map: IosysMap]>;
  /** `mmap`: check and set up a userspace mapping. */
  readonly mmap: SyncHook<[obj: DrmGemObject, vma: VmArea]>;
}

/**
 * `struct dma_buf_ops` of the dma-bufs this device exports. Without taps, GEM exports use the GEM
 * defaults (`drm_gem_prime_dmabuf_ops`, which call the object's funcs — so `hooks.gem` already
 * sees every map/vmap/pin). A driver that taps any of these exports with its own ops table (as
 * amdgpu does with `amdgpu_dmabuf_ops`, and habanalabs, which has no GEM, for its device-memory
 * exports through `device.dmaBufExport`): each op runs the driver's taps first; a tap returning
 * `undefined` declines and the GEM default runs (for a GEM object); `true` (or a value) means
 * handled. Self-import still recognises the device's own buffers.
 */
export interface DrmDmaBufHooks {
  /** `attach`: may refuse (throw). */
  readonly attach: SyncBailHook<[buf: DmaBuf, att: DmaBufAttachment], true | undefined>;
  /** `detach`. */
  readonly detach: SyncBailHook<[buf: DmaBuf, att: DmaBufAttachment], true | undefined>;
  /** `pin` (resv held). */
  readonly pin: SyncBailHook<[att: DmaBufAttachment], true | undefined>;
  /** `unpin` (resv held). */
  readonly unpin: SyncBailHook<[att: DmaBufAttachment], true | undefined>;
  /** `map_dma_buf` (resv held). */
  readonly mapDmaBuf: SyncBailHook<[att: DmaBufAttachment, dir: DmaDataDirection], SgTable | undefined>;
  /** `unmap_dma_buf` (resv held). */
  readonly unmapDmaBuf: SyncBailHook<
    [att: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection],
    true | undefined
  >;
  /** `mmap`. */
  readonly mmap: SyncBailHook<[buf: DmaBuf, vma: VmArea], true | undefined>;
  /** `vmap` (resv held). */
  readonly vmap: SyncBailHook<[buf: DmaBuf], IosysMap | undefined>;
  /** `vunmap` (resv held). */
  readonly vunmap: SyncBailHook<[buf: DmaBuf, map: IosysMap], true | undefined>;
  /** `begin_cpu_access` (may sleep). */
  readonly beginCpuAccess: AsyncSeriesBailHook<[buf: DmaBuf, dir: DmaDataDirection], true | undefined>;
  /** `end_cpu_access` (may sleep). */
  readonly endCpuAccess: AsyncSeriesBailHook<[buf: DmaBuf, dir: DmaDataDirection], true | undefined>;
  /** `release`: the last reference to the dma-buf is gone; drop the exporter's hold on its storage. */
  readonly release: SyncBailHook<[buf: DmaBuf], true | undefined>;
}

/**
 * `struct dma_buf_attach_ops` of this device as an importer. Tapping `invalidateMappings` makes
 * the device a dynamic importer: the core PRIME import (`DrmPrimeHelper`) then attaches foreign
 * buffers with `dma_buf_dynamic_attach`, does not map them at import time, and wraps them in a
 * `DrmGemPrimeDynamicObject` that the driver maps under the resv lock when it uses it. Without a
 * tap the import is static (attach + map at import), as for every kernel driver that leaves
 * `gem_prime_import` to `drm_gem_prime_import`. A driver that taps `gemPrimeImport` itself (as
 * amdgpu does) makes its own attach ops and these hooks do not run.
 */
export interface DrmDmaBufAttachHooks {
  /**
   * `dma_buf_attach_ops.allow_peer2peer`: may this device DMA to the exporter's device memory
   * (PCI BARs)? The kernel has a constant per driver; here it is asked once per import, with the
   * buffer, so a driver can decide per exporter. The first tap that answers wins; no answer is
   * `false`, the kernel's zeroed field. The exporter's `attach` op may still clear
   * `attachment.peer2peer` (PCI distance).
   */
  readonly allowPeer2peer: SyncBailHook<[buf: DmaBuf], boolean | undefined>;
  /**
   * `dma_buf_attach_ops.invalidate_mappings` (≤ 6.19 `move_notify`): the exporter is moving the
   * storage; called with the buffer's resv held (the exporter holds it). `att.importerPriv` is
   * the importing GEM object. The mappings stay valid until the move's fences signal, but the
   * importer must stop using them and unmap them (`DrmGemPrimeDynamicObject.unmapLocked`) so the
   * next use maps the new location.
   */
  readonly invalidateMappings: SyncHook<[att: DmaBufAttachment]>;
}

/**
 * `struct drm_sched_backend_ops` of the device's schedulers (every scheduler a driver makes
 * through `DRM_SCHED_FACTORY` calls these). `prepareJob` and `runJob` run inside the
 * scheduler's fence-signalling section, and so does `timedoutJob`: no `GFP_KERNEL` allocation,
 * no fence wait, no dma_resv lock there — the validator reports each on the first job, naming
 * the op. There is deliberately no `canRunJob`: a job depends on fences and nothing else.
 */
export interface DrmSchedHooks {
  /**
   * `prepare_job`: after the job's dependencies signalled, and again after each fence it returns
   * signalled. Return the fence of what must happen first (a firmware slot, a VMID, the gang
   * leader), with a reference for the scheduler, or null when the job may run. No tap answering
   * is null.
   */
  readonly prepareJob: SyncBailHook<[job: DrmSchedJob, entity: DrmSchedEntity], DmaFence | null | undefined>;
  /**
   * `run_job`: hand the job to the hardware; the hardware fence (with a reference for the
   * scheduler), null to finish it at once, or a negative errno (or a thrown `KernelError`) to
   * finish it with that error. Mandatory once any sched op is tapped.
   */
  readonly runJob: SyncBailHook<[job: DrmSchedJob], DmaFence | null | number | undefined>;
  /** `timedout_job`: the job at the head of the pending list timed out. Mandatory with the others. */
  readonly timedoutJob: SyncBailHook<[job: DrmSchedJob], DrmGpuSchedStat | undefined>;
  /** `free_job`: the job left the pending list; `job.cleanup()` and drop it. Mandatory with the others. */
  readonly freeJob: SyncHook<[job: DrmSchedJob]>;
  /** `cancel_job` (optional): at scheduler teardown, signal the job's hardware fence with an error. */
  readonly cancelJob: SyncHook<[job: DrmSchedJob]>;
}

/**
 * `struct dma_fence_ops` of the fences this driver creates with `device.fenceOps` (hardware
 * fences, firmware fences, eviction fences). One table per device: a driver with several fence
 * types answers by type and declines (`undefined`) the others.
 */
export interface DrmFenceHooks {
  /** `get_driver_name`: mandatory once any fence op is tapped. */
  readonly getDriverName: SyncBailHook<[fence: DmaFence], string | undefined>;
  /** `get_timeline_name`: mandatory once any fence op is tapped. */
  readonly getTimelineName: SyncBailHook<[fence: DmaFence], string | undefined>;
  /**
   * `enable_signaling`: called once, lazily, under the fence lock; false means the fence already
   * signalled. No tap answering means true (nothing to enable).
   */
  readonly enableSignaling: SyncBailHook<[fence: DmaFence], boolean | undefined>;
  /** `signaled`: a poll for lazily signalled fences; true signals the fence. No answer: false. */
  readonly signaled: SyncBailHook<[fence: DmaFence], boolean | undefined>;
  /** `release`: the last reference is gone (a tapped `release` keeps the ops attached after signal). */
  readonly release: SyncHook<[fence: DmaFence]>;
  /** `set_deadline`: someone needs the fence by `deadlineNs`. */
  readonly setDeadline: SyncHook<[fence: DmaFence, deadlineNs: number]>;
}

/** Every hook group of a device. Frozen at probe. */
export interface DrmHooks {
  /** `struct drm_driver`. */
  readonly driver: DrmDriverHooks;
  /** `struct drm_gem_object_funcs`. */
  readonly gem: DrmGemHooks;
  /** `struct dma_buf_ops` of this device's exports. */
  readonly dmaBuf: DrmDmaBufHooks;
  /** `struct dma_buf_attach_ops` of this device's (dynamic) imports. */
  readonly dmaBufAttach: DrmDmaBufAttachHooks;
  /** `struct drm_sched_backend_ops` of this device's schedulers. */
  readonly sched: DrmSchedHooks;
  /** `struct dma_fence_ops` of this device's own fences. */
  readonly fence: DrmFenceHooks;
}

/** The kernel struct each hook group mirrors, for backtrace frames and messages. */
export const DRM_HOOK_GROUP_STRUCT: Readonly<Record<keyof DrmHooks, string>> = {
  driver: "drm_driver",
  gem: "drm_gem_object_funcs",
  dmaBuf: "dma_buf_ops",
  dmaBufAttach: "dma_buf_attach_ops",
  sched: "drm_sched_backend_ops",
  fence: "dma_fence_ops",
};

/**
 * An op that must be implemented once every plugin applied, else the probe fails with `EINVAL`
 * naming it: `[group, op, kernel name, condition]`. The condition says when the op is required.
 */
export type DrmMandatoryOp = readonly [
  group: keyof DrmHooks,
  op: string,
  kernelName: string,
  requiredWhen: (hooks: DrmHooks) => boolean,
];

/**
 * The mandatory ops. `postclose` is required as soon as a driver implements `open`: whatever the
 * driver sets up per client must be torn down when the client goes, or every closed fd leaks it.
 */
export const MANDATORY_OPS: readonly DrmMandatoryOp[] = [
  ["driver", "postclose", "drm_driver.postclose", (h) => h.driver.open.taps.length > 0],
  // drm_gem_object_free calls funcs->free unconditionally: a GEM object without it can never be freed.
  ["gem", "free", "drm_gem_object_funcs.free", (h) => h.driver.gemCreateObject.taps.length > 0],
  // drm_sched_init refuses ops without these three.
  ["sched", "runJob", "drm_sched_backend_ops.run_job", (h) => groupTapped(h.sched)],
  ["sched", "timedoutJob", "drm_sched_backend_ops.timedout_job", (h) => groupTapped(h.sched)],
  ["sched", "freeJob", "drm_sched_backend_ops.free_job", (h) => groupTapped(h.sched)],
  // dma_fence_init BUGs on ops without the two name callbacks.
  ["fence", "getDriverName", "dma_fence_ops.get_driver_name", (h) => groupTapped(h.fence)],
  ["fence", "getTimelineName", "dma_fence_ops.get_timeline_name", (h) => groupTapped(h.fence)],
];

function groupTapped(group: object): boolean {
  return Object.values(group).some((h) => (h as { taps: unknown[] }).taps.length > 0);
}

/** Creates a fresh, unfrozen hooks object for one device. */
export function createDrmHooks(): DrmHooks {
  return {
    driver: {
      open: new SyncHook<[file: DrmFile]>(["file"]),
      postclose: new SyncHook<[file: DrmFile]>(["file"]),
      ioctls: new SyncHook<[registry: DrmIoctlRegistry]>(["registry"]),
      dumbCreate: new AsyncSeriesBailHook<[file: DrmFile, args: DrmDumbCreateArgs], true | undefined>([
        "file",
        "args",
      ]),
      gemCreateObject: new SyncBailHook<[size: number], DrmGemObject | undefined>(["size"]),
      gemPrimeImport: new AsyncSeriesBailHook<[buf: DmaBuf], DrmGemObject | undefined>(["buf"]),
      gemPrimeImportSgTable: new SyncBailHook<
        [attach: DmaBufAttachment, sgt: SgTable],
        DrmGemObject | undefined
      >(["attach", "sgt"]),
      primeHandleToFd: new SyncBailHook<[file: DrmFile, handle: number, flags: number], DmaBuf | undefined>([
        "file",
        "handle",
        "flags",
      ]),
      primeFdToHandle: new AsyncSeriesBailHook<[file: DrmFile, buf: DmaBuf], number | undefined>([
        "file",
        "buf",
      ]),
      release: new SyncHook<[]>([]),
    },
    gem: {
      free: new SyncHook<[obj: DrmGemObject]>(["obj"]),
      open: new SyncHook<[obj: DrmGemObject, file: object]>(["obj", "file"]),
      close: new SyncHook<[obj: DrmGemObject, file: object]>(["obj", "file"]),
      export: new SyncBailHook<[obj: DrmGemObject, flags: number], DmaBuf | undefined>(["obj", "flags"]),
      pin: new SyncHook<[obj: DrmGemObject]>(["obj"]),
      unpin: new SyncHook<[obj: DrmGemObject]>(["obj"]),
      getSgTable: new SyncBailHook<[obj: DrmGemObject, dev: Device | undefined], SgTable | undefined>([
        "obj",
        "dev",
      ]),
      vmap: new SyncBailHook<[obj: DrmGemObject], IosysMap | undefined>(["obj"]),
      vunmap: new SyncHook<[obj: DrmGemObject, map: IosysMap]>(["obj", "map"]),
      mmap: new SyncHook<[obj: DrmGemObject, vma: VmArea]>(["obj", "vma"]),
    },
    dmaBuf: {
      attach: new SyncBailHook<[buf: DmaBuf, att: DmaBufAttachment], true | undefined>(["buf", "att"]),
      detach: new SyncBailHook<[buf: DmaBuf, att: DmaBufAttachment], true | undefined>(["buf", "att"]),
      pin: new SyncBailHook<[att: DmaBufAttachment], true | undefined>(["att"]),
      unpin: new SyncBailHook<[att: DmaBufAttachment], true | undefined>(["att"]),
      mapDmaBuf: new SyncBailHook<[att: DmaBufAttachment, dir: DmaDataDirection], SgTable | undefined>([
        "att",
        "dir",
      ]),
      unmapDmaBuf: new SyncBailHook<
        [att: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection],
        true | undefined
      >(["att", "sgt", "dir"]),
      mmap: new SyncBailHook<[buf: DmaBuf, vma: VmArea], true | undefined>(["buf", "vma"]),
      vmap: new SyncBailHook<[buf: DmaBuf], IosysMap | undefined>(["buf"]),
      vunmap: new SyncBailHook<[buf: DmaBuf, map: IosysMap], true | undefined>(["buf", "map"]),
      beginCpuAccess: new AsyncSeriesBailHook<[buf: DmaBuf, dir: DmaDataDirection], true | undefined>([
        "buf",
        "dir",
      ]),
      endCpuAccess: new AsyncSeriesBailHook<[buf: DmaBuf, dir: DmaDataDirection], true | undefined>([
        "buf",
        "dir",
      ]),
      release: new SyncBailHook<[buf: DmaBuf], true | undefined>(["buf"]),
    },
    dmaBufAttach: {
      allowPeer2peer: new SyncBailHook<[buf: DmaBuf], boolean | undefined>(["buf"]),
      invalidateMappings: new SyncHook<[att: DmaBufAttachment]>(["att"]),
    },
    sched: {
      prepareJob: new SyncBailHook<[job: DrmSchedJob, entity: DrmSchedEntity], DmaFence | null | undefined>([
        "job",
        "entity",
      ]),
      runJob: new SyncBailHook<[job: DrmSchedJob], DmaFence | null | number | undefined>(["job"]),
      timedoutJob: new SyncBailHook<[job: DrmSchedJob], DrmGpuSchedStat | undefined>(["job"]),
      freeJob: new SyncHook<[job: DrmSchedJob]>(["job"]),
      cancelJob: new SyncHook<[job: DrmSchedJob]>(["job"]),
    },
    fence: {
      getDriverName: new SyncBailHook<[fence: DmaFence], string | undefined>(["fence"]),
      getTimelineName: new SyncBailHook<[fence: DmaFence], string | undefined>(["fence"]),
      enableSignaling: new SyncBailHook<[fence: DmaFence], boolean | undefined>(["fence"]),
      signaled: new SyncBailHook<[fence: DmaFence], boolean | undefined>(["fence"]),
      release: new SyncHook<[fence: DmaFence]>(["fence"]),
      setDeadline: new SyncHook<[fence: DmaFence, deadlineNs: number]>(["fence", "deadlineNs"]),
    },
  };
}
