/**
 * The habanalabs driver plugin (`common/habanalabs_drv.c`, `common/habanalabs_ioctl.c`): an
 * accel device — `DRIVER_COMPUTE_ACCEL` only, so the core gives it `/dev/accel/accelN` and no
 * card or render node — with the six driver ioctls of the header: INFO, CB, CS, WAIT_CS, MEMORY and DEBUG.
 *
 * Like the kernel driver it uses no GEM and no drm_sched: device memory is handles of its own
 * (`HL_MEM_OP_ALLOC`), jobs go straight to hardware queues, and completions are `hl_fence`s
 * (see `hl-fence.ts` for why not dma_fence). The default GEM/PRIME helper plugins are therefore
 * not applied; sharing goes through `HL_MEM_OP_EXPORT_DMABUF_FD` only.
 */
import {
  DRM_DEVICE,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  type DrmHooks,
  type DrmPluginHost,
  type DrmProbeOptions,
  drmIoctlDefDrv,
} from "@drmsim/drm";
import {
  __u8,
  KernelError,
  type UapiArgsOf,
  type UapiStruct,
  type UapiValue,
  uapiCopyFromJs,
  uapiEncode,
} from "@drmsim/runtime";
import { inject } from "tsyringe";
import { hlCsIoctl, hlWaitCsIoctl } from "./command-submission.js";
import { HlCb, HlCtx } from "./context.js";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_DEBUG,
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  HL_CB_OP_INFO,
  HL_DEVICE_STATUS_IN_RESET,
  HL_DEVICE_STATUS_OPERATIONAL,
  HL_INFO_CS_COUNTERS,
  HL_INFO_CS_TIMEOUT_EVENT,
  HL_INFO_DEVICE_STATUS,
  HL_INFO_DRAM_USAGE,
  HL_INFO_HW_IP_INFO,
  HL_INFO_RESET_COUNT,
  HL_MAX_CB_SIZE,
  hl_cb_args,
  hl_cs_args,
  hl_debug_args,
  hl_info_args,
  hl_info_cs_counters,
  hl_info_cs_timeout_event,
  hl_info_device_status,
  hl_info_dram_usage,
  hl_info_hw_ip_info,
  hl_info_reset_count,
  hl_mem_args,
  hl_wait_cs_args,
} from "./habanalabs-accel.js";
import { hlDebugIoctl } from "./hl-debug.js";
import { HL_DEVICE, type HlDevice, type HlDeviceOptions, habanalabsProviders } from "./hl-device.js";
import { hlDmaBufApply } from "./hl-dma-buf.js";
import { DRM_IOCTL_DRMSIM_HL_HW_NEXT, drmsim_hl_hw_next, hlHwOverride } from "./hl-hw-model.js";
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

/**
 * `hl_cb_ioctl`: CREATE (size 1..HL_MAX_CB_SIZE, rounded up to a page; out `cb_handle`), DESTROY,
 * INFO (out `usage_cnt`). `EINVAL` for non-zero `flags` or `ctx_id` (CB device mapping is not
 * modelled), a bad size, an unknown or destroyed handle, an unknown op.
 */
function hlCbIoctl(ctx: HlCtx, args: UapiValue<typeof hl_cb_args>): void {
  const a = args.in;
  if (a.flags !== 0 || a.ctx_id !== 0)
    throw new KernelError("EINVAL", "HL_CB: flags and ctx_id must be 0 (CB device mapping is not modelled)");
  switch (a.op) {
    case HL_CB_OP_CREATE: {
      const size = a.cb_size;
      if (size === 0 || size > HL_MAX_CB_SIZE)
        throw new KernelError("EINVAL", `HL_CB: CB size ${size} must be in 1..${HL_MAX_CB_SIZE}`);
      const cb = new HlCb(ctx.allocCbHandle(), Math.ceil(size / 4096) * 4096);
      ctx.cbs.set(cb.handle, cb);
      args.out.cb_handle = BigInt(cb.handle);
      return;
    }
    case HL_CB_OP_DESTROY: {
      const cb = ctx.cb(a.cb_handle);
      if (cb.destroyed) throw new KernelError("EINVAL", `CB handle 0x${cb.handle.toString(16)} invalid`);
      // hl_cb_destroy drops the handle; jobs still using the CB keep it until they retire.
      cb.destroyed = true;
      if (cb.csCnt === 0) ctx.cbs.delete(cb.handle);
      return;
    }
    case HL_CB_OP_INFO: {
      const cb = ctx.cb(a.cb_handle);
      if (cb.destroyed) throw new KernelError("EINVAL", `CB handle 0x${cb.handle.toString(16)} invalid`);
      args.out.usage_cnt = cb.csCnt;
      return;
    }
    default:
      throw new KernelError("EINVAL", `HL_CB: unknown opcode ${a.op}`);
  }
}

/**
 * The copy-out of every INFO op: `EINVAL` without a buffer (`return_pointer` NULL or
 * `return_size` 0), else the op's struct — zero-initialised, then `fields` — truncated to
 * `return_size` bytes (a JavaScript caller passing an object gets the whole struct when
 * `return_size` covers it; a shorter copy is bytes, for a typed array).
 */
function infoCopyOut<L extends UapiStruct>(
  ctx: HlCtx,
  args: UapiValue<typeof hl_info_args>,
  layout: L,
  fields: UapiArgsOf<L>,
): void {
  if (args.return_size === 0 || args.return_pointer.isNull)
    throw new KernelError("EINVAL", `HL_INFO: op ${args.op} needs return_pointer and return_size`);
  const value = uapiCopyFromJs(layout, fields, { sim: ctx.hdev.sim, what: layout.name });
  const n = Math.min(args.return_size, layout.size);
  if (n === layout.size) args.return_pointer.as(layout).write([value]);
  else args.return_pointer.as<number>(__u8).write([...uapiEncode(layout, value).subarray(0, n)]);
}

/**
 * `hl_info_ioctl`: the queries listed in `HL_INFO_*` that drmsim models, each answered even while
 * the device is in reset, as the kernel does. Other ops: `EBUSY` during a reset, else `EINVAL`.
 */
function hlInfoIoctl(ctx: HlCtx, args: UapiValue<typeof hl_info_args>): void {
  const hdev = ctx.hdev;
  switch (args.op) {
    case HL_INFO_HW_IP_INFO:
      infoCopyOut(ctx, args, hl_info_hw_ip_info, {
        dram_base_address: hdev.dram.base,
        dram_size: hdev.dram.size,
        dram_page_size: hdev.dram.pageSize,
        device_mem_alloc_default_page_size: hdev.dram.pageSize,
        dram_enabled: hdev.dram.size > 4096 ? 1 : 0,
      });
      return;
    case HL_INFO_DRAM_USAGE:
      infoCopyOut(ctx, args, hl_info_dram_usage, {
        dram_free_mem: hdev.dram.freeBytes,
        ctx_dram_mem: ctx.dramPhysMem,
      });
      return;
    case HL_INFO_DEVICE_STATUS:
      infoCopyOut(ctx, args, hl_info_device_status, {
        status: hdev.inReset ? HL_DEVICE_STATUS_IN_RESET : HL_DEVICE_STATUS_OPERATIONAL,
      });
      return;
    case HL_INFO_RESET_COUNT:
      infoCopyOut(ctx, args, hl_info_reset_count, {
        hard_reset_cnt: hdev.hardResetCnt,
        soft_reset_cnt: 0,
      });
      return;
    case HL_INFO_CS_COUNTERS: {
      const t = hdev.csCounters;
      const c = ctx.csCounters;
      infoCopyOut(ctx, args, hl_info_cs_counters, {
        total_out_of_mem_drop_cnt: t.outOfMemDropCnt,
        ctx_out_of_mem_drop_cnt: c.outOfMemDropCnt,
        total_parsing_drop_cnt: t.parsingDropCnt,
        ctx_parsing_drop_cnt: c.parsingDropCnt,
        total_queue_full_drop_cnt: t.queueFullDropCnt,
        ctx_queue_full_drop_cnt: c.queueFullDropCnt,
        total_device_in_reset_drop_cnt: t.deviceInResetDropCnt,
        ctx_device_in_reset_drop_cnt: c.deviceInResetDropCnt,
        total_max_cs_in_flight_drop_cnt: t.maxCsInFlightDropCnt,
        ctx_max_cs_in_flight_drop_cnt: c.maxCsInFlightDropCnt,
        total_validation_drop_cnt: t.validationDropCnt,
        ctx_validation_drop_cnt: c.validationDropCnt,
      });
      return;
    }
    case HL_INFO_CS_TIMEOUT_EVENT:
      infoCopyOut(ctx, args, hl_info_cs_timeout_event, {
        timestamp: hdev.lastCsTimeout?.timestamp ?? 0,
        seq: hdev.lastCsTimeout?.seq ?? 0,
      });
      return;
    default:
      if (hdev.inReset) throw new KernelError("EBUSY", "Device is in reset. Can't execute INFO IOCTL");
      throw new KernelError("EINVAL", `HL_INFO: invalid request ${args.op}`);
  }
}

/**
 * The habanalabs driver plugin. Everything it does to the DRM core is in `apply()`: a compute
 * context per open, the device-memory dma-buf exporter's `dma_buf_ops` (`hl-dma-buf.ts`) and the
 * six ioctls (and the drmsim-only side channel). The hardware and the kernel-side state are `HlDevice`, which the device container
 * builds (`habanalabsProviders`).
 */
export class HabanalabsDriver {
  constructor(
    @inject(DRM_DEVICE) readonly drm: DrmDevice,
    /** The device (`struct hl_device`). */
    @inject(HL_DEVICE) readonly hdev: HlDevice,
  ) {}

  apply(hooks: DrmHooks): void {
    const name = "habanalabs";
    const hdev = this.hdev;
    // hl_device_open: one user at a time (EBUSY / EAGAIN, hlDevice.openCheck), then a compute
    // context; the file holds the first reference on it.
    hooks.driver.open.tap(name, (file) => {
      hdev.openCheck();
      const ctx = new HlCtx(hdev.sim, hdev, hdev.allocAsid());
      hdev.contexts.add(ctx);
      hdev.computeCtx = ctx;
      file.driverPriv = new HlFpriv(ctx);
    });
    // hl_device_release: the context goes when in-flight CSs and exported dma-bufs let go of it;
    // until then the next open gets EAGAIN (compute_ctx_in_release).
    hooks.driver.postclose.tap(name, (file) => {
      const ctx = hlFprivOf(file).ctx;
      if (hdev.computeCtx === ctx) hdev.computeCtxInRelease = true;
      // hpriv_release: debug mode ends with the context that set it.
      if (hdev.debugCtx === ctx) hdev.debugCtx = null;
      file.driverPriv = undefined;
      ctx.put();
    });
    hooks.driver.release.tap(name, () => hdev.fini());
    hlDmaBufApply(hooks, hdev, name);
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // hl_drm_ioctls[]: flags 0 for every one. An accel node is not a render node: drm_ioctl_permit
      // asks an accel client for neither DRM_RENDER_ALLOW nor authentication.
      const flags = 0;
      const ctxOf = (file: DrmFile) => hlFprivOf(file).ctx;
      ioctls.add(
        drmIoctlDefDrv("HL_INFO", DRM_IOCTL_HL_INFO, hl_info_args, (f, a) => hlInfoIoctl(ctxOf(f), a), flags),
      );
      ioctls.add(
        drmIoctlDefDrv("HL_CB", DRM_IOCTL_HL_CB, hl_cb_args, (f, a) => hlCbIoctl(ctxOf(f), a), flags),
      );
      ioctls.add(
        drmIoctlDefDrv("HL_CS", DRM_IOCTL_HL_CS, hl_cs_args, (f, a) => hlCsIoctl(ctxOf(f), a), flags),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "HL_WAIT_CS",
          DRM_IOCTL_HL_WAIT_CS,
          hl_wait_cs_args,
          (f, a) => hlWaitCsIoctl(ctxOf(f), a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "HL_MEMORY",
          DRM_IOCTL_HL_MEMORY,
          hl_mem_args,
          (f, a, call) => hlMemIoctl(ctxOf(f), call.proc, a),
          flags,
        ),
      );
      ioctls.add(
        drmIoctlDefDrv(
          "HL_DEBUG",
          DRM_IOCTL_HL_DEBUG,
          hl_debug_args,
          (f, a) => hlDebugIoctl(ctxOf(f), a),
          flags,
        ),
      );
      // drmsim only (hl-hw-model.ts): the simulation's side channel, above the header's range.
      ioctls.add(
        drmIoctlDefDrv(
          "DRMSIM_HL_HW_NEXT",
          DRM_IOCTL_DRMSIM_HL_HW_NEXT,
          drmsim_hl_hw_next,
          (f, a) => ctxOf(f).hwOverrides.push(a.jobs.read(a.count), hlHwOverride),
          flags,
        ),
      );
    });
  }
}

/**
 * `hl_pci_probe` + `hl_device_init`: probes a habanalabs device on `host` (`/dev/accel/accelN`).
 * `opts.providers` replace parts of the device container (`habanalabsProviders`: `HL_DEVICE_OPTIONS`,
 * `HL_DRAM`, `PCI_DEV`, or the generic `HW_ENGINE_FACTORY` whose engines run the queues) — a smaller
 * HBM, a queue that hangs — without touching the driver; `opts.plugins` tap its hooks after it.
 * The default GEM/PRIME helpers are not applied: habanalabs has no GEM.
 */
export function habanalabsProbe(
  host: DrmPluginHost,
  options: HlDeviceOptions = {},
  opts: Pick<DrmProbeOptions, "providers" | "plugins"> = {},
): DrmDevice {
  return host.probe(HabanalabsDriver, {
    ...HL_DRIVER_INFO,
    helpers: [],
    providers: [...habanalabsProviders(options), ...(opts.providers ?? [])],
    plugins: opts.plugins,
  });
}
