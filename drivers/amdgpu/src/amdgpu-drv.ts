/**
 * The amdgpu driver plugin (`amdgpu_drv.c`, `amdgpu_kms.c`, `amdgpu_gem.c`): everything it does
 * to the DRM core is in `apply()` — per-file state in `open`/`postclose`, its BO type through the
 * GEM hooks and `gemPrimeImport`, `amdgpu_dmabuf_ops` and its importer ops, `amdgpu_sched_ops`,
 * its fence ops, and its ioctls. The hardware model and the kernel-side machinery live in
 * `AmdgpuDevice`, which the device container builds (`amdgpuProviders`).
 */
import type { DmaBuf } from "@drmsim/dma-buf";
import {
  DRM_AUTH,
  DRM_DEVICE,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  type DrmHooks,
  type DrmPluginHost,
  type DrmProbeOptions,
  drmIoctlDefDrv,
} from "@drmsim/drm";
import type { DrmSchedJob } from "@drmsim/drm-sched";
import { KernelError, type Process, type UapiValue, uapiU64ToNumber } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { amdgpuCpuAccessApply } from "./amdgpu-cpu-access.js";
import { amdgpuCsIoctl, amdgpuCsWaitIoctl } from "./amdgpu-cs.js";
import { amdgpuCtxPriorityIsValid, amdgpuCtxPriorityPermit } from "./amdgpu-ctx.js";
import { AMDGPU_DEVICE, type AmdgpuConfig, type AmdgpuDevice, amdgpuProviders } from "./amdgpu-device.js";
import { amdgpuDmaBufApply, amdgpuGemPrimeImport } from "./amdgpu-dma-buf.js";
import {
  AMDGPU_CTX_NO_RESET,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_OP_QUERY_STATE2,
  AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
  AMDGPU_CTX_QUERY2_FLAGS_RESET,
  AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
  AMDGPU_CTX_UNKNOWN_RESET,
  AMDGPU_GEM_CREATE_FLAGS_MASK,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_MASK,
  AMDGPU_GEM_USERPTR_ANONONLY,
  AMDGPU_GEM_USERPTR_READONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_GEM_USERPTR_VALIDATE,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_USERQ_OP_CREATE,
  AMDGPU_USERQ_OP_FREE,
  type AmdgpuHwIp,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  drm_amdgpu_cs,
  drm_amdgpu_ctx,
  drm_amdgpu_gem_create,
  drm_amdgpu_gem_userptr,
  drm_amdgpu_userq,
  drm_amdgpu_userq_doorbell,
  drm_amdgpu_wait_cs,
} from "./amdgpu-drm.js";
import { AmdgpuFpriv, amdgpuFprivOf } from "./amdgpu-fpriv.js";
import { amdgpuHmmRegister, amdgpuHmmUnregister } from "./amdgpu-hmm.js";
import { AmdgpuJob, amdgpuJobPrepareJob } from "./amdgpu-job.js";
import { AmdgpuBo } from "./amdgpu-object.js";
import { AmdgpuFence } from "./amdgpu-ring.js";
import { AmdgpuEvictionFence } from "./amdgpu-userq.js";

/** amdgpu's `struct drm_driver` data. */
export const AMDGPU_DRIVER_INFO = {
  name: "amdgpu",
  desc: "AMD GPU",
  major: 3,
  minor: 64,
  patchlevel: 0,
  features:
    DrmDriverFeature.GEM |
    DrmDriverFeature.RENDER |
    DrmDriverFeature.SYNCOBJ |
    DrmDriverFeature.SYNCOBJ_TIMELINE,
} as const;

const PAGE = 4096;

/** The amdgpu driver plugin. */
export class AmdgpuDriver {
  private files = 0;

  constructor(
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(AMDGPU_DEVICE) readonly adev: AmdgpuDevice,
  ) {}

  apply(hooks: DrmHooks): void {
    const name = "amdgpu";
    const adev = this.adev;
    hooks.driver.open.tap(name, (file) => {
      file.driverPriv = new AmdgpuFpriv(adev, file, `${adev.name}.vm${++this.files}`);
    });
    hooks.driver.postclose.tap(name, (file) => {
      amdgpuFprivOf(file).fini();
      file.driverPriv = undefined;
    });
    hooks.driver.release.tap(name, () => adev.fini());
    hooks.gem.free.tap(name, (obj) => {
      if (!(obj instanceof AmdgpuBo)) return;
      if (obj.userptr !== null) amdgpuHmmUnregister(obj);
      obj.freeBo();
    });
    hooks.driver.gemPrimeImport.tapPromise(name, async (buf: DmaBuf) => amdgpuGemPrimeImport(adev, buf));
    amdgpuDmaBufApply(hooks, adev, name);
    amdgpuCpuAccessApply(hooks, adev, name);
    // amdgpu_sched_ops (amdgpu_job.c): every ring's scheduler.
    const ringOf = (job: DrmSchedJob) => (job instanceof AmdgpuJob ? adev.ringOf(job) : undefined);
    hooks.sched.prepareJob.tap(name, (job, entity) =>
      job instanceof AmdgpuJob ? amdgpuJobPrepareJob(job, entity) : undefined,
    );
    hooks.sched.runJob.tap(name, (job) => (job instanceof AmdgpuJob ? ringOf(job)?.runJob(job) : undefined));
    hooks.sched.timedoutJob.tap(name, (job) => ringOf(job)?.timedoutJob(job));
    hooks.sched.freeJob.tap(name, (job) => {
      if (job instanceof AmdgpuJob) job.release();
    });
    hooks.sched.cancelJob.tap(name, (job) => ringOf(job)?.cancel());
    // amdgpu_fence_ops and amdgpu_eviction_fence_ops.
    hooks.fence.getDriverName.tap(name, (f) =>
      f instanceof AmdgpuFence || f instanceof AmdgpuEvictionFence ? "amdgpu" : undefined,
    );
    hooks.fence.getTimelineName.tap(name, (f) =>
      f instanceof AmdgpuFence ? f.ring.name : f instanceof AmdgpuEvictionFence ? f.mgr.timeline : undefined,
    );
    // Runs under the fence lock: only queue the suspend work, never preempt here.
    hooks.fence.enableSignaling.tap(name, (f) => {
      if (!(f instanceof AmdgpuEvictionFence)) return undefined;
      f.mgr.scheduleSuspend();
      return true;
    });
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // amdgpu_ioctls_kms[]: every one DRM_AUTH | DRM_RENDER_ALLOW.
      const flags = DRM_AUTH | DRM_RENDER_ALLOW;
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_GEM_CREATE",
          DRM_IOCTL_AMDGPU_GEM_CREATE,
          drm_amdgpu_gem_create,
          (f, a) => this.gemCreate(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_CTX",
          DRM_IOCTL_AMDGPU_CTX,
          drm_amdgpu_ctx,
          (f, a, call) => this.ctxIoctl(f, a, call.proc),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_CS",
          DRM_IOCTL_AMDGPU_CS,
          drm_amdgpu_cs,
          (f, a) => amdgpuCsIoctl(amdgpuFprivOf(f), f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_WAIT_CS",
          DRM_IOCTL_AMDGPU_WAIT_CS,
          drm_amdgpu_wait_cs,
          (f, a) => amdgpuCsWaitIoctl(amdgpuFprivOf(f), a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_GEM_USERPTR",
          DRM_IOCTL_AMDGPU_GEM_USERPTR,
          drm_amdgpu_gem_userptr,
          (f, a) => this.userptr(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_USERQ",
          DRM_IOCTL_AMDGPU_USERQ,
          drm_amdgpu_userq,
          (f, a) => this.userq(f, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "AMDGPU_USERQ_DOORBELL",
          DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
          drm_amdgpu_userq_doorbell,
          (f, a) => this.doorbell(f, a),
          flags,
        ),
      );
    });
  }

  /**
   * `amdgpu_gem_create_ioctl`: a BO in the requested domains (VRAM first, evicting others if
   * needed; GTT if VRAM cannot make room and GTT is allowed). `EINVAL` for a zero size, unknown
   * flags or domains, no domain; `ENOMEM` when it fits nowhere. Out: `handle`.
   */
  private gemCreate(file: DrmFile, args: UapiValue<typeof drm_amdgpu_gem_create>): void {
    const N = "AMDGPU_GEM_CREATE";
    const { bo_size, alignment, domains, domain_flags: flags } = args.in;
    if (bo_size === 0n) throw new KernelError("EINVAL", `${N}: bo_size must not be 0`);
    if ((flags & ~BigInt(AMDGPU_GEM_CREATE_FLAGS_MASK)) !== 0n)
      throw new KernelError("EINVAL", `${N}: unknown flags 0x${flags.toString(16)}`);
    if (domains === 0n || (domains & ~BigInt(AMDGPU_GEM_DOMAIN_MASK)) !== 0n)
      throw new KernelError("EINVAL", `${N}: invalid domains 0x${domains.toString(16)}`);
    if (alignment !== 0n && (alignment & (alignment - 1n)) !== 0n)
      throw new KernelError("EINVAL", `${N}: alignment ${alignment} is not a power of two`);
    // No simulated device has 2^53 bytes to give: such a size fails as any size that fits nowhere.
    if (bo_size > BigInt(Number.MAX_SAFE_INTEGER - PAGE))
      throw new KernelError("ENOMEM", `${N}: ${bo_size} bytes fit nowhere`);
    const size = Number(bo_size);
    const bo = new AmdgpuBo(this.adev, Math.ceil(size / PAGE) * PAGE, { domains: Number(domains) });
    this.device.initGemObject(bo);
    try {
      // A fresh BO: nobody else can hold its lock.
      if (!bo.resv.trylock()) throw new KernelError("EBUSY", `${N}: fresh BO is locked`);
      try {
        this.adev.mman.placeNew(bo);
      } finally {
        bo.resv.unlock();
      }
      args.out.handle = file.gem.handleCreate(bo);
    } finally {
      bo.put();
    }
  }

  /**
   * `amdgpu_ctx_ioctl`: ALLOC (priority checked: `EINVAL` unknown, `EACCES` above NORMAL without
   * privilege), FREE (`EINVAL` unknown id), QUERY_STATE, QUERY_STATE2 (reset / VRAM lost / guilty).
   * `EINVAL` for non-zero flags or an unknown op.
   */
  private async ctxIoctl(
    file: DrmFile,
    args: UapiValue<typeof drm_amdgpu_ctx>,
    caller: Process,
  ): Promise<void> {
    const N = "AMDGPU_CTX";
    const fpriv = amdgpuFprivOf(file);
    const { op, flags, ctx_id, priority } = args.in;
    if (flags !== 0) throw new KernelError("EINVAL", `${N}: flags must be 0, got ${flags}`);
    const adev = this.adev;
    switch (op) {
      case AMDGPU_CTX_OP_ALLOC_CTX: {
        if (!amdgpuCtxPriorityIsValid(priority))
          throw new KernelError("EINVAL", `${N}: invalid priority ${priority}`);
        amdgpuCtxPriorityPermit(file, priority, caller);
        args.out.alloc.ctx_id = fpriv.ctxMgr.alloc(priority).id;
        return;
      }
      case AMDGPU_CTX_OP_FREE_CTX: {
        const ctx = fpriv.ctxMgr.get(ctx_id);
        fpriv.ctxMgr.ctxs.delete(ctx.id);
        await ctx.destroy();
        return;
      }
      case AMDGPU_CTX_OP_QUERY_STATE: {
        const ctx = fpriv.ctxMgr.get(ctx_id);
        const reset = ctx.resetCounterQuery !== adev.gpuResetCounter;
        ctx.resetCounterQuery = adev.gpuResetCounter;
        args.out.state.reset_status = reset ? AMDGPU_CTX_UNKNOWN_RESET : AMDGPU_CTX_NO_RESET;
        return;
      }
      case AMDGPU_CTX_OP_QUERY_STATE2: {
        const ctx = fpriv.ctxMgr.get(ctx_id);
        let state = 0;
        if (ctx.resetCounter !== adev.gpuResetCounter) state |= AMDGPU_CTX_QUERY2_FLAGS_RESET;
        if (ctx.vramLostCounter !== adev.vramLostCounter) state |= AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST;
        if (ctx.guilty.value) state |= AMDGPU_CTX_QUERY2_FLAGS_GUILTY;
        args.out.state.flags = BigInt(state);
        return;
      }
      default:
        throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    }
  }

  /**
   * `amdgpu_gem_userptr_ioctl`: a GTT BO over `[addr, addr+size)` of the calling process.
   * `EINVAL` for unaligned address or size, unknown flags, or a writable range without
   * `REGISTER` (the kernel insists on the notifier unless the BO is read-only).
   */
  private userptr(file: DrmFile, args: UapiValue<typeof drm_amdgpu_gem_userptr>): void {
    const N = "AMDGPU_GEM_USERPTR";
    const addr = uapiU64ToNumber(args.addr, `${N}: addr`);
    const size = uapiU64ToNumber(args.size, `${N}: size`);
    const flags = args.flags;
    const known =
      AMDGPU_GEM_USERPTR_READONLY |
      AMDGPU_GEM_USERPTR_ANONONLY |
      AMDGPU_GEM_USERPTR_VALIDATE |
      AMDGPU_GEM_USERPTR_REGISTER;
    if (addr % PAGE !== 0 || size % PAGE !== 0 || size === 0)
      throw new KernelError("EINVAL", `${N}: addr and size must be page aligned and size non-zero`);
    if ((flags & ~known) !== 0)
      throw new KernelError("EINVAL", `${N}: unknown flags 0x${flags.toString(16)}`);
    const readonly = (flags & AMDGPU_GEM_USERPTR_READONLY) !== 0;
    if (!readonly && (flags & AMDGPU_GEM_USERPTR_REGISTER) === 0)
      throw new KernelError("EINVAL", `${N}: a writable userptr needs AMDGPU_GEM_USERPTR_REGISTER`);
    const bo = new AmdgpuBo(this.adev, size, {
      domains: AMDGPU_GEM_DOMAIN_GTT,
      userptr: { proc: file.proc, addr, size, readonly, seq: 0 },
      label: `userptr@0x${addr.toString(16)}`,
    });
    this.device.initGemObject(bo);
    try {
      bo.domain = "gtt";
      amdgpuHmmRegister(bo);
      args.handle = file.gem.handleCreate(bo);
    } finally {
      bo.put();
    }
  }

  /** `amdgpu_userq_ioctl`: CREATE (`ENOENT` bad BO handle, `EINVAL` bad IP) and FREE (`EINVAL` unknown queue). */
  private async userq(file: DrmFile, args: UapiValue<typeof drm_amdgpu_userq>): Promise<void> {
    const N = "AMDGPU_USERQ";
    const fpriv = amdgpuFprivOf(file);
    const { op, queue_id, ip_type: ip, bo_handles: handles } = args.in;
    if (op === AMDGPU_USERQ_OP_FREE) {
      fpriv.userq.free(queue_id);
      return;
    }
    if (op !== AMDGPU_USERQ_OP_CREATE) throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    if (ip !== AMDGPU_HW_IP_GFX && ip !== AMDGPU_HW_IP_COMPUTE && ip !== AMDGPU_HW_IP_DMA)
      throw new KernelError("EINVAL", `${N}: unknown IP type ${ip}`);
    const bos: AmdgpuBo[] = [];
    try {
      for (const h of handles) {
        const obj = file.gem.lookup(h);
        bos.push(obj as AmdgpuBo);
        if (!(obj instanceof AmdgpuBo))
          throw new KernelError("EINVAL", `${N}: handle ${h} is not an amdgpu BO`);
      }
      args.out.queue_id = await fpriv.userq.create(ip as AmdgpuHwIp, bos);
    } finally {
      for (const bo of bos) bo.put();
    }
  }

  /** drmsim extension: the doorbell write. `EINVAL` for an unknown queue or a bad amount of work. */
  private doorbell(file: DrmFile, args: UapiValue<typeof drm_amdgpu_userq_doorbell>): void {
    const q = amdgpuFprivOf(file).userq.queue(args.queue_id);
    q.doorbell(uapiU64ToNumber(args.work_ns, "AMDGPU_USERQ_DOORBELL: work_ns"));
  }
}

/**
 * Probes an amdgpu device on `host` with `config` (card N, renderD 128+N). `opts.providers`
 * replace parts of the device container (`amdgpuProviders`: `AMDGPU_CONFIG`, `AMDGPU_VRAM`,
 * `PCI_DEV`, or the generic `HW_ENGINE_FACTORY`) — a smaller VRAM, a ring that hangs — without
 * touching the driver; `opts.plugins` tap its hooks after it.
 */
export function amdgpuProbe(
  host: DrmPluginHost,
  config: AmdgpuConfig = {},
  opts: Pick<DrmProbeOptions, "providers" | "plugins"> = {},
): DrmDevice {
  return host.probe(AmdgpuDriver, {
    ...AMDGPU_DRIVER_INFO,
    providers: [...amdgpuProviders(config), ...(opts.providers ?? [])],
    plugins: opts.plugins,
  });
}
