/**
 * The habanalabs driver plugin (`common/habanalabs_drv.c`, `common/habanalabs_ioctl.c`): an
 * accel device — `DRIVER_COMPUTE_ACCEL` only, so the core gives it `/dev/accel/accelN` and no
 * card or render node — with five driver ioctls: INFO, CB, CS, WAIT_CS and MEMORY.
 *
 * Like the kernel driver it uses no GEM and no drm_sched: device memory is handles of its own
 * (`HL_MEM_OP_ALLOC`), jobs go straight to hardware queues, and completions are `hl_fence`s
 * (see `hl-fence.ts` for why not dma_fence). The default GEM/PRIME helper plugins are therefore
 * not applied; sharing goes through `HL_MEM_OP_EXPORT_DMABUF_FD` only.
 */
import {
  DRM_DEVICE,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  type DrmHooks,
  type DrmPluginHost,
  drmIoctlDefDrv,
  drmToken,
  SIMULATOR,
} from "@drmsim/drm";
import { KernelError, type Simulator } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { hlCsIoctl, hlWaitCsIoctl } from "./command-submission.js";
import { HlCb, HlCtx } from "./context.js";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  HL_CB_OP_INFO,
  HL_DEVICE_STATUS_IN_RESET,
  HL_DEVICE_STATUS_OPERATIONAL,
  HL_INFO_CS_COUNTERS,
  HL_INFO_DEVICE_STATUS,
  HL_INFO_DRAM_USAGE,
  HL_INFO_HW_IP_INFO,
  HL_INFO_RESET_COUNT,
  HL_IOCTL_CB,
  HL_IOCTL_CS,
  HL_IOCTL_INFO,
  HL_IOCTL_MEMORY,
  HL_IOCTL_WAIT_CS,
  HL_MAX_CB_SIZE,
  type HlCbArgs,
  type HlCsArgs,
  type HlInfoArgs,
  type HlMemArgs,
  type HlWaitCsArgs,
} from "./habanalabs-accel.js";
import { HlDevice, type HlDeviceOptions } from "./hl-device.js";
import { hlMemIoctl } from "./memory.js";

/** habanalabs' `struct drm_driver` data: an accel driver, nothing else. */
export const HL_DRIVER_INFO = {
  name: "habanalabs",
  desc: "HabanaLabs Driver",
  major: 1,
  minor: 0,
  patchlevel: 0,
  features: DrmDriverFeature.COMPUTE_ACCEL,
} as const;

/** DI token of the probe options. */
export const HL_DEVICE_OPTIONS = drmToken<HlDeviceOptions>("HL_DEVICE_OPTIONS");

/** `struct hl_fpriv`: the per-open state, with its compute context. */
export class HlFpriv {
  constructor(readonly ctx: HlCtx) {}
}

/** The per-file state of a habanalabs file (`EINVAL` for a file of another driver). */
export function hlFprivOf(file: DrmFile): HlFpriv {
  const p = file.driverPriv;
  if (!(p instanceof HlFpriv)) throw new KernelError("EINVAL", `${file} is not a habanalabs file`);
  return p;
}

/** `hl_cb_ioctl`: CREATE (size 1..HL_MAX_CB_SIZE, rounded up to a page), DESTROY, INFO. */
function hlCbIoctl(ctx: HlCtx, args: HlCbArgs): HlCbArgs {
  const a = args as unknown as Record<string, unknown>;
  if ((a.flags ?? 0) !== 0 || (a.ctx_id ?? 0) !== 0)
    throw new KernelError("EINVAL", "HL_CB: flags and ctx_id must be 0 (CB device mapping is not modelled)");
  switch (a.op) {
    case HL_CB_OP_CREATE: {
      const size = a.cb_size;
      if (typeof size !== "number" || !Number.isInteger(size) || size <= 0 || size > HL_MAX_CB_SIZE)
        throw new KernelError("EINVAL", `HL_CB: CB size ${String(size)} must be in 1..${HL_MAX_CB_SIZE}`);
      const cb = new HlCb(ctx.allocCbHandle(), Math.ceil(size / 4096) * 4096);
      ctx.cbs.set(cb.handle, cb);
      args.cb_handle = cb.handle;
      return args;
    }
    case HL_CB_OP_DESTROY: {
      const cb = ctx.cb(a.cb_handle);
      if (cb.destroyed) throw new KernelError("EINVAL", `CB handle 0x${cb.handle.toString(16)} invalid`);
      // hl_cb_destroy drops the handle; jobs still using the CB keep it until they retire.
      cb.destroyed = true;
      if (cb.csCnt === 0) ctx.cbs.delete(cb.handle);
      return args;
    }
    case HL_CB_OP_INFO: {
      const cb = ctx.cb(a.cb_handle);
      if (cb.destroyed) throw new KernelError("EINVAL", `CB handle 0x${cb.handle.toString(16)} invalid`);
      args.usage_cnt = cb.csCnt;
      return args;
    }
    default:
      throw new KernelError("EINVAL", `HL_CB: unknown opcode ${String(a.op)}`);
  }
}

/** `hl_info_ioctl`: the queries listed in `HL_INFO_*`; `EINVAL` for other ops or a non-zero pad. */
function hlInfoIoctl(ctx: HlCtx, args: HlInfoArgs): HlInfoArgs {
  const hdev = ctx.hdev;
  if ((args.pad ?? 0) !== 0) throw new KernelError("EINVAL", "HL_INFO: pad must be 0");
  switch (args.op) {
    case HL_INFO_HW_IP_INFO:
      args.info = {
        dram_base_address: hdev.dram.base,
        dram_size: hdev.dram.size,
        dram_page_size: hdev.dram.pageSize,
        dram_enabled: 1,
      };
      return args;
    case HL_INFO_DRAM_USAGE:
      args.info = { dram_free_mem: hdev.dram.freeBytes, ctx_dram_mem: ctx.dramPhysMem };
      return args;
    case HL_INFO_DEVICE_STATUS:
      args.info = { status: hdev.inReset ? HL_DEVICE_STATUS_IN_RESET : HL_DEVICE_STATUS_OPERATIONAL };
      return args;
    case HL_INFO_RESET_COUNT:
      args.info = { hard_reset_cnt: hdev.hardResetCnt, soft_reset_cnt: 0 };
      return args;
    case HL_INFO_CS_COUNTERS: {
      const c = hdev.csCounters;
      args.info = {
        total_out_of_mem_drop_cnt: c.outOfMemDropCnt,
        total_parsing_drop_cnt: c.parsingDropCnt,
        total_queue_full_drop_cnt: c.queueFullDropCnt,
        total_device_in_reset_drop_cnt: c.deviceInResetDropCnt,
        total_max_cs_in_flight_drop_cnt: c.maxCsInFlightDropCnt,
        total_validation_drop_cnt: c.validationDropCnt,
      };
      return args;
    }
    default:
      throw new KernelError("EINVAL", `HL_INFO: unknown op ${String(args.op)}`);
  }
}

/** The habanalabs driver plugin. */
export class HabanalabsDriver {
  /** The device (`struct hl_device`). */
  readonly hdev: HlDevice;

  constructor(
    @inject(SIMULATOR) readonly sim: Simulator,
    @inject(DRM_DEVICE) readonly drm: DrmDevice,
    @inject(HL_DEVICE_OPTIONS) opts: HlDeviceOptions,
  ) {
    this.hdev = new HlDevice(sim, drm, opts);
  }

  apply(hooks: DrmHooks): void {
    const name = "habanalabs";
    const hdev = this.hdev;
    // hl_device_open: one user at a time (EBUSY / EAGAIN, hlDevice.openCheck), then a compute
    // context; the file holds the first reference on it.
    hooks.driver.open.tap(name, (file) => {
      hdev.openCheck();
      const ctx = new HlCtx(this.sim, hdev, hdev.allocAsid());
      hdev.contexts.add(ctx);
      hdev.computeCtx = ctx;
      file.driverPriv = new HlFpriv(ctx);
    });
    // hl_device_release: the context goes when in-flight CSs and exported dma-bufs let go of it;
    // until then the next open gets EAGAIN (compute_ctx_in_release).
    hooks.driver.postclose.tap(name, (file) => {
      const ctx = hlFprivOf(file).ctx;
      if (hdev.computeCtx === ctx) hdev.computeCtxInRelease = true;
      file.driverPriv = undefined;
      ctx.put();
    });
    hooks.driver.release.tap(name, () => hdev.fini());
    hooks.driver.ioctls.tap(name, (ioctls) => {
      const ctxOf = (file: DrmFile) => hlFprivOf(file).ctx;
      ioctls.add(
        drmIoctlDefDrv(
          DRM_IOCTL_HL_INFO,
          HL_IOCTL_INFO,
          (file, args: HlInfoArgs) => hlInfoIoctl(ctxOf(file), args),
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          DRM_IOCTL_HL_CB,
          HL_IOCTL_CB,
          (file, args: HlCbArgs) => hlCbIoctl(ctxOf(file), args),
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          DRM_IOCTL_HL_CS,
          HL_IOCTL_CS,
          (file, args: HlCsArgs) => hlCsIoctl(ctxOf(file), args),
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          DRM_IOCTL_HL_WAIT_CS,
          HL_IOCTL_WAIT_CS,
          (file, args: HlWaitCsArgs) => hlWaitCsIoctl(ctxOf(file), args),
          DRM_RENDER_ALLOW,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          DRM_IOCTL_HL_MEMORY,
          HL_IOCTL_MEMORY,
          (file, args: HlMemArgs, call) => hlMemIoctl(ctxOf(file), call.proc, args),
          DRM_RENDER_ALLOW,
        ),
      );
    });
  }
}

/** `hl_pci_probe` + `hl_device_init`: probes a habanalabs device on `host` (`/dev/accel/accelN`). */
export function habanalabsProbe(host: DrmPluginHost, opts: HlDeviceOptions = {}): DrmDevice {
  return host.probe(HabanalabsDriver, {
    ...HL_DRIVER_INFO,
    helpers: [],
    providers: [{ provide: HL_DEVICE_OPTIONS, useValue: opts }],
  });
}

/** The `HlDevice` of a probed habanalabs device (tests and tools: fault injection, counters). */
export function hlDeviceOf(host: DrmPluginHost, device: DrmDevice): HlDevice {
  return host.driverOf<HabanalabsDriver>(device).hdev;
}
