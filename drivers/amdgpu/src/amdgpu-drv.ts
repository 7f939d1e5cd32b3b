/**
 * The amdgpu driver plugin (`amdgpu_drv.c`, `amdgpu_kms.c`, `amdgpu_gem.c`): everything it does
 * to the DRM core is in `apply()` — per-file state in `open`/`postclose`, its BO type through the
 * GEM hooks (free, PRIME export) and `gemPrimeImport`, and its ioctls. The hardware model and the
 * kernel-side machinery live in `AmdgpuDevice`.
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
  drmArgU,
  drmCheckZero,
  drmIoctlDefDrv,
  SIMULATOR,
} from "@drmsim/drm";
import { KernelError, type Process, type Simulator } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { amdgpuCsIoctl, amdgpuCsWaitIoctl } from "./amdgpu-cs.js";
import { amdgpuCtxPriorityIsValid, amdgpuCtxPriorityPermit } from "./amdgpu-ctx.js";
import { AMDGPU_CONFIG, type AmdgpuConfig, AmdgpuDevice } from "./amdgpu-device.js";
import { amdgpuGemPrimeExport, amdgpuGemPrimeImport } from "./amdgpu-dma-buf.js";
import {
  AMDGPU_CTX_NO_RESET,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_OP_QUERY_STATE2,
  AMDGPU_CTX_PRIORITY_UNSET,
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
  DRM_AMDGPU_CS,
  DRM_AMDGPU_CTX,
  DRM_AMDGPU_GEM_CREATE,
  DRM_AMDGPU_GEM_USERPTR,
  DRM_AMDGPU_USERQ,
  DRM_AMDGPU_USERQ_DOORBELL,
  DRM_AMDGPU_WAIT_CS,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  type DrmAmdgpuCs,
  type DrmAmdgpuCtx,
  type DrmAmdgpuGemCreate,
  type DrmAmdgpuGemUserptr,
  type DrmAmdgpuUserq,
  type DrmAmdgpuUserqDoorbell,
  type DrmAmdgpuWaitCs,
} from "./amdgpu-drm.js";
import { AmdgpuFpriv, amdgpuFprivOf } from "./amdgpu-fpriv.js";
import { amdgpuHmmRegister, amdgpuHmmUnregister } from "./amdgpu-hmm.js";
import { AmdgpuBo } from "./amdgpu-object.js";

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
  /** Set in `apply`. */
  adev!: AmdgpuDevice;
  private files = 0;

  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(AMDGPU_CONFIG) readonly config: AmdgpuConfig,
  ) {}

  apply(hooks: DrmHooks, device: DrmDevice): void {
    const name = "amdgpu";
    const adev = new AmdgpuDevice(this.sim, device, this.config);
    this.adev = adev;
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
    hooks.gem.export.tap(name, (obj, flags) =>
      obj instanceof AmdgpuBo ? amdgpuGemPrimeExport(obj, flags) : undefined,
    );
    hooks.driver.gemPrimeImport.tapPromise(name, async (buf: DmaBuf) => amdgpuGemPrimeImport(adev, buf));
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // amdgpu_ioctls_kms[]: every one DRM_AUTH | DRM_RENDER_ALLOW.
      const flags = DRM_AUTH | DRM_RENDER_ALLOW;
      const def = drmIoctlDefDrv;
      ioctls.add(
        def<DrmAmdgpuGemCreate>(
          DRM_IOCTL_AMDGPU_GEM_CREATE,
          DRM_AMDGPU_GEM_CREATE,
          (f, a) => this.gemCreate(f, a),
          flags,
        ),
      );
      ioctls.add(
        def<DrmAmdgpuCtx>(
          DRM_IOCTL_AMDGPU_CTX,
          DRM_AMDGPU_CTX,
          (f, a, call) => this.ctxIoctl(f, a, call.proc),
          flags,
        ),
      );
      ioctls.add(
        def<DrmAmdgpuCs>(
          DRM_IOCTL_AMDGPU_CS,
          DRM_AMDGPU_CS,
          (f, a) => amdgpuCsIoctl(amdgpuFprivOf(f), f, a),
          flags,
        ),
      );
      ioctls.add(
        def<DrmAmdgpuWaitCs>(
          DRM_IOCTL_AMDGPU_WAIT_CS,
          DRM_AMDGPU_WAIT_CS,
          (f, a) => amdgpuCsWaitIoctl(amdgpuFprivOf(f), a),
          flags,
        ),
      );
      ioctls.add(
        def<DrmAmdgpuGemUserptr>(
          DRM_IOCTL_AMDGPU_GEM_USERPTR,
          DRM_AMDGPU_GEM_USERPTR,
          (f, a) => this.userptr(f, a),
          flags,
        ),
      );
      ioctls.add(
        def<DrmAmdgpuUserq>(DRM_IOCTL_AMDGPU_USERQ, DRM_AMDGPU_USERQ, (f, a) => this.userq(f, a), flags),
      );
      ioctls.add(
        def<DrmAmdgpuUserqDoorbell>(
          DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
          DRM_AMDGPU_USERQ_DOORBELL,
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
  private gemCreate(file: DrmFile, args: DrmAmdgpuGemCreate): void {
    const a = args as unknown as Record<string, unknown>;
    const N = "AMDGPU_GEM_CREATE";
    const size = drmArgU(a, "bo_size", N);
    const alignment = drmArgU(a, "alignment", N, 0);
    const domains = drmArgU(a, "domains", N);
    const flags = drmArgU(a, "domain_flags", N, 0);
    if (size === 0) throw new KernelError("EINVAL", `${N}: bo_size must not be 0`);
    if ((flags & ~AMDGPU_GEM_CREATE_FLAGS_MASK) !== 0)
      throw new KernelError("EINVAL", `${N}: unknown flags 0x${flags.toString(16)}`);
    if (domains === 0 || (domains & ~AMDGPU_GEM_DOMAIN_MASK) !== 0)
      throw new KernelError("EINVAL", `${N}: invalid domains 0x${domains.toString(16)}`);
    if (alignment !== 0 && (alignment & (alignment - 1)) !== 0)
      throw new KernelError("EINVAL", `${N}: alignment ${alignment} is not a power of two`);
    const bo = new AmdgpuBo(this.adev, Math.ceil(size / PAGE) * PAGE, { domains });
    this.device.initGemObject(bo);
    try {
      // A fresh BO: nobody else can hold its lock.
      if (!bo.resv.trylock()) throw new KernelError("EBUSY", `${N}: fresh BO is locked`);
      try {
        this.adev.mman.placeNew(bo);
      } finally {
        bo.resv.unlock();
      }
      args.handle = file.gem.handleCreate(bo);
    } finally {
      bo.put();
    }
  }

  /**
   * `amdgpu_ctx_ioctl`: ALLOC (priority checked: `EINVAL` unknown, `EACCES` above NORMAL without
   * privilege), FREE (`EINVAL` unknown id), QUERY_STATE, QUERY_STATE2 (reset / VRAM lost / guilty).
   * `EINVAL` for non-zero flags or an unknown op.
   */
  private async ctxIoctl(file: DrmFile, args: DrmAmdgpuCtx, caller: Process): Promise<void> {
    const a = args as unknown as Record<string, unknown>;
    const N = "AMDGPU_CTX";
    const fpriv = amdgpuFprivOf(file);
    const op = drmArgU(a, "op", N);
    drmCheckZero(a, "flags", N);
    const adev = this.adev;
    switch (op) {
      case AMDGPU_CTX_OP_ALLOC_CTX: {
        const p = a.priority ?? AMDGPU_CTX_PRIORITY_UNSET;
        if (typeof p !== "number" || !amdgpuCtxPriorityIsValid(p))
          throw new KernelError("EINVAL", `${N}: invalid priority ${String(p)}`);
        amdgpuCtxPriorityPermit(file, p, caller);
        args.ctx_id = fpriv.ctxMgr.alloc(p).id;
        return;
      }
      case AMDGPU_CTX_OP_FREE_CTX: {
        const ctx = fpriv.ctxMgr.get(drmArgU(a, "ctx_id", N));
        fpriv.ctxMgr.ctxs.delete(ctx.id);
        await ctx.destroy();
        return;
      }
      case AMDGPU_CTX_OP_QUERY_STATE: {
        const ctx = fpriv.ctxMgr.get(drmArgU(a, "ctx_id", N));
        const reset = ctx.resetCounterQuery !== adev.gpuResetCounter;
        ctx.resetCounterQuery = adev.gpuResetCounter;
        args.reset_status = reset ? AMDGPU_CTX_UNKNOWN_RESET : AMDGPU_CTX_NO_RESET;
        return;
      }
      case AMDGPU_CTX_OP_QUERY_STATE2: {
        const ctx = fpriv.ctxMgr.get(drmArgU(a, "ctx_id", N));
        let flags = 0;
        if (ctx.resetCounter !== adev.gpuResetCounter) flags |= AMDGPU_CTX_QUERY2_FLAGS_RESET;
        if (ctx.vramLostCounter !== adev.vramLostCounter) flags |= AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST;
        if (ctx.guilty.value) flags |= AMDGPU_CTX_QUERY2_FLAGS_GUILTY;
        args.state_flags = flags;
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
  private userptr(file: DrmFile, args: DrmAmdgpuGemUserptr): void {
    const a = args as unknown as Record<string, unknown>;
    const N = "AMDGPU_GEM_USERPTR";
    const addr = drmArgU(a, "addr", N);
    const size = drmArgU(a, "size", N);
    const flags = drmArgU(a, "flags", N);
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
  private async userq(file: DrmFile, args: DrmAmdgpuUserq): Promise<void> {
    const a = args as unknown as Record<string, unknown>;
    const N = "AMDGPU_USERQ";
    const fpriv = amdgpuFprivOf(file);
    drmCheckZero(a, "flags", N);
    const op = drmArgU(a, "op", N);
    if (op === AMDGPU_USERQ_OP_FREE) {
      fpriv.userq.free(drmArgU(a, "queue_id", N));
      return;
    }
    if (op !== AMDGPU_USERQ_OP_CREATE) throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    const ip = drmArgU(a, "ip_type", N);
    if (ip !== AMDGPU_HW_IP_GFX && ip !== AMDGPU_HW_IP_COMPUTE && ip !== AMDGPU_HW_IP_DMA)
      throw new KernelError("EINVAL", `${N}: unknown IP type ${ip}`);
    const handles = a.bo_handles ?? [];
    if (!Array.isArray(handles)) throw new KernelError("EINVAL", `${N}: bo_handles must be an array`);
    const bos: AmdgpuBo[] = [];
    try {
      for (const h of handles) {
        const obj = file.gem.lookup(drmArgU({ h }, "h", N));
        bos.push(obj as AmdgpuBo);
        if (!(obj instanceof AmdgpuBo))
          throw new KernelError("EINVAL", `${N}: handle ${h} is not an amdgpu BO`);
      }
      args.queue_id = await fpriv.userq.create(ip as AmdgpuHwIp, bos);
    } finally {
      for (const bo of bos) bo.put();
    }
  }

  /** drmsim extension: the doorbell write. `EINVAL` for an unknown queue or a bad amount of work. */
  private doorbell(file: DrmFile, args: DrmAmdgpuUserqDoorbell): void {
    const a = args as unknown as Record<string, unknown>;
    const q = amdgpuFprivOf(file).userq.queue(drmArgU(a, "queue_id", "AMDGPU_USERQ_DOORBELL"));
    q.doorbell(drmArgU(a, "work_ns", "AMDGPU_USERQ_DOORBELL"));
  }
}

/** Probes an amdgpu device on `host` with `config` (card N, renderD 128+N). */
export function amdgpuProbe(host: DrmPluginHost, config: AmdgpuConfig = {}): DrmDevice {
  return host.probe(AmdgpuDriver, {
    ...AMDGPU_DRIVER_INFO,
    providers: [{ provide: AMDGPU_CONFIG, useValue: config }],
  });
}

/** The `AmdgpuDevice` of a probed device, through the host. */
export function amdgpuDriverOf(host: DrmPluginHost, dev: DrmDevice): AmdgpuDevice {
  return host.driverOf<AmdgpuDriver>(dev).adev;
}
