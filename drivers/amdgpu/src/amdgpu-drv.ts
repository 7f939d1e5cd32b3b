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
  DRM_MASTER,
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
import { KernelError, type Process, type UapiLayout, type UapiValue } from "@drmsim/runtime";
import { inject } from "tsyringe";
import { amdgpuBoListIoctl } from "./amdgpu-bo-list.js";
import { amdgpuCpuAccessApply } from "./amdgpu-cpu-access.js";
import {
  amdgpuCsFenceToHandleIoctl,
  amdgpuCsIoctl,
  amdgpuCsWaitFencesIoctl,
  amdgpuCsWaitIoctl,
} from "./amdgpu-cs.js";
import { amdgpuCtxPriorityIsValid, amdgpuCtxPriorityPermit } from "./amdgpu-ctx.js";
import { AMDGPU_DEVICE, type AmdgpuConfig, type AmdgpuDevice, amdgpuProviders } from "./amdgpu-device.js";
import { amdgpuDmaBufApply, amdgpuGemPrimeImport } from "./amdgpu-dma-buf.js";
import {
  AMDGPU_CTX_NO_RESET,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_GET_STABLE_PSTATE,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_OP_QUERY_STATE2,
  AMDGPU_CTX_OP_SET_STABLE_PSTATE,
  AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
  AMDGPU_CTX_QUERY2_FLAGS_RESET,
  AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
  AMDGPU_CTX_STABLE_PSTATE_FLAGS_MASK,
  AMDGPU_CTX_STABLE_PSTATE_PEAK,
  AMDGPU_CTX_UNKNOWN_RESET,
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
  AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE,
  AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE,
  AMDGPU_VM_OP_RESERVE_VMID,
  AMDGPU_VM_OP_UNRESERVE_VMID,
  DRM_IOCTL_AMDGPU_BO_LIST,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES,
  DRM_IOCTL_AMDGPU_GEM_METADATA,
  DRM_IOCTL_AMDGPU_GEM_MMAP,
  DRM_IOCTL_AMDGPU_GEM_OP,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  DRM_IOCTL_AMDGPU_GEM_VA,
  DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE,
  DRM_IOCTL_AMDGPU_SCHED,
  DRM_IOCTL_AMDGPU_SIM_DOORBELL,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_SIGNAL,
  DRM_IOCTL_AMDGPU_USERQ_WAIT,
  DRM_IOCTL_AMDGPU_VM,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  DRM_IOCTL_AMDGPU_WAIT_FENCES,
  drm_amdgpu_bo_list,
  drm_amdgpu_cs,
  drm_amdgpu_ctx,
  drm_amdgpu_fence_to_handle,
  drm_amdgpu_gem_create,
  drm_amdgpu_gem_list_handles,
  drm_amdgpu_gem_metadata,
  drm_amdgpu_gem_mmap,
  drm_amdgpu_gem_op,
  drm_amdgpu_gem_userptr,
  drm_amdgpu_gem_va,
  drm_amdgpu_gem_wait_idle,
  drm_amdgpu_sched,
  drm_amdgpu_sim_doorbell,
  drm_amdgpu_userq,
  drm_amdgpu_userq_signal,
  drm_amdgpu_userq_wait,
  drm_amdgpu_vm,
  drm_amdgpu_wait_cs,
  drm_amdgpu_wait_fences,
} from "./amdgpu-drm.js";
import { DRM_IOCTL_AMDGPU_INFO, drm_amdgpu_info } from "./amdgpu-drm-info.js";
import { AmdgpuFpriv, amdgpuFprivOf } from "./amdgpu-fpriv.js";
import {
  amdgpuGemCreateIoctl,
  amdgpuGemListHandlesIoctl,
  amdgpuGemMetadataIoctl,
  amdgpuGemMmapIoctl,
  amdgpuGemObjectClose,
  amdgpuGemObjectOpen,
  amdgpuGemOpIoctl,
  amdgpuGemUserptrIoctl,
  amdgpuGemVaIoctl,
  amdgpuGemWaitIdleIoctl,
} from "./amdgpu-gem.js";
import { amdgpuHmmUnregister } from "./amdgpu-hmm.js";
import { AmdgpuJob, amdgpuJobPrepareJob } from "./amdgpu-job.js";
import { amdgpuInfoIoctl } from "./amdgpu-kms.js";
import { AmdgpuBo } from "./amdgpu-object.js";
import { AmdgpuFence } from "./amdgpu-ring.js";
import { AmdgpuEvictionFence, AmdgpuUserqFence } from "./amdgpu-userq.js";
import {
  amdgpuSimDoorbellIoctl,
  amdgpuUserqIoctl,
  amdgpuUserqSignalIoctl,
  amdgpuUserqWaitIoctl,
} from "./amdgpu-userq-ioctl.js";

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
    // amdgpu_gem_object_open / _close: the BO's bo_va in the file's VM.
    hooks.gem.open.tap(name, (obj, file) => {
      if (obj instanceof AmdgpuBo) amdgpuGemObjectOpen(file as DrmFile, obj);
    });
    hooks.gem.close.tap(name, (obj, file) => {
      if (obj instanceof AmdgpuBo) amdgpuGemObjectClose(file as DrmFile, obj);
    });
    // amdgpu_gem_prime_export: per-VM and userptr BOs are not shared.
    hooks.gem.export.tap(name, (obj) => {
      if (
        obj instanceof AmdgpuBo &&
        (obj.userptr !== null || (obj.flags & AMDGPU_GEM_CREATE_VM_ALWAYS_VALID) !== 0)
      )
        throw new KernelError("EPERM", `${obj.label} is a per-VM or userptr BO and cannot be exported`);
      return undefined;
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
    // amdgpu_fence_ops, amdgpu_eviction_fence_ops and amdgpu_userq_fence_ops.
    hooks.fence.getDriverName.tap(name, (f) =>
      f instanceof AmdgpuFence || f instanceof AmdgpuEvictionFence || f instanceof AmdgpuUserqFence
        ? "amdgpu"
        : undefined,
    );
    hooks.fence.getTimelineName.tap(name, (f) =>
      f instanceof AmdgpuFence
        ? f.ring.name
        : f instanceof AmdgpuEvictionFence
          ? f.mgr.timeline
          : f instanceof AmdgpuUserqFence
            ? f.queue.engine.name
            : undefined,
    );
    // Runs under the fence lock: only queue the suspend work, never preempt here.
    hooks.fence.enableSignaling.tap(name, (f) => {
      if (!(f instanceof AmdgpuEvictionFence)) return undefined;
      f.mgr.scheduleSuspend();
      return true;
    });
    hooks.driver.ioctls.tap(name, (ioctls) => {
      // amdgpu_ioctls_kms[]: every one DRM_AUTH | DRM_RENDER_ALLOW, except SCHED (DRM_MASTER).
      const flags = DRM_AUTH | DRM_RENDER_ALLOW;
      const def = <L extends UapiLayout>(
        ioctlName: string,
        cmd: number,
        layout: L,
        handler: (f: DrmFile, a: UapiValue<L>, caller: Process) => unknown,
        f = flags,
      ) =>
        ioctls.add(drmIoctlDefDrv(ioctlName, cmd, layout, (file, a, call) => handler(file, a, call.proc), f));
      def("AMDGPU_GEM_CREATE", DRM_IOCTL_AMDGPU_GEM_CREATE, drm_amdgpu_gem_create, (f, a) =>
        amdgpuGemCreateIoctl(adev, f, a),
      );
      def("AMDGPU_GEM_MMAP", DRM_IOCTL_AMDGPU_GEM_MMAP, drm_amdgpu_gem_mmap, (f, a) =>
        amdgpuGemMmapIoctl(f, a),
      );
      def("AMDGPU_CTX", DRM_IOCTL_AMDGPU_CTX, drm_amdgpu_ctx, (f, a, p) => this.ctxIoctl(f, a, p));
      def("AMDGPU_BO_LIST", DRM_IOCTL_AMDGPU_BO_LIST, drm_amdgpu_bo_list, (f, a) => amdgpuBoListIoctl(f, a));
      def("AMDGPU_CS", DRM_IOCTL_AMDGPU_CS, drm_amdgpu_cs, (f, a, p) =>
        amdgpuCsIoctl(amdgpuFprivOf(f), f, a, p),
      );
      def("AMDGPU_INFO", DRM_IOCTL_AMDGPU_INFO, drm_amdgpu_info, (f, a) => amdgpuInfoIoctl(adev, f, a));
      def("AMDGPU_GEM_METADATA", DRM_IOCTL_AMDGPU_GEM_METADATA, drm_amdgpu_gem_metadata, (f, a) =>
        amdgpuGemMetadataIoctl(f, a),
      );
      def("AMDGPU_GEM_WAIT_IDLE", DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, drm_amdgpu_gem_wait_idle, (f, a) =>
        amdgpuGemWaitIdleIoctl(f, a),
      );
      def("AMDGPU_GEM_VA", DRM_IOCTL_AMDGPU_GEM_VA, drm_amdgpu_gem_va, (f, a) => amdgpuGemVaIoctl(f, a));
      def("AMDGPU_WAIT_CS", DRM_IOCTL_AMDGPU_WAIT_CS, drm_amdgpu_wait_cs, (f, a) =>
        amdgpuCsWaitIoctl(amdgpuFprivOf(f), a),
      );
      def("AMDGPU_GEM_OP", DRM_IOCTL_AMDGPU_GEM_OP, drm_amdgpu_gem_op, (f, a) => amdgpuGemOpIoctl(f, a));
      def("AMDGPU_GEM_USERPTR", DRM_IOCTL_AMDGPU_GEM_USERPTR, drm_amdgpu_gem_userptr, (f, a) =>
        amdgpuGemUserptrIoctl(adev, f, a),
      );
      def("AMDGPU_WAIT_FENCES", DRM_IOCTL_AMDGPU_WAIT_FENCES, drm_amdgpu_wait_fences, (f, a) =>
        amdgpuCsWaitFencesIoctl(amdgpuFprivOf(f), a),
      );
      def("AMDGPU_VM", DRM_IOCTL_AMDGPU_VM, drm_amdgpu_vm, (f, a) => this.vmIoctl(f, a));
      def("AMDGPU_FENCE_TO_HANDLE", DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, drm_amdgpu_fence_to_handle, (f, a, p) =>
        amdgpuCsFenceToHandleIoctl(amdgpuFprivOf(f), f, a, p),
      );
      def(
        "AMDGPU_SCHED",
        DRM_IOCTL_AMDGPU_SCHED,
        drm_amdgpu_sched,
        (_f, a, p) => this.schedIoctl(a, p),
        DRM_MASTER,
      );
      def("AMDGPU_USERQ", DRM_IOCTL_AMDGPU_USERQ, drm_amdgpu_userq, (f, a, p) => amdgpuUserqIoctl(f, a, p));
      def("AMDGPU_USERQ_SIGNAL", DRM_IOCTL_AMDGPU_USERQ_SIGNAL, drm_amdgpu_userq_signal, (f, a) =>
        amdgpuUserqSignalIoctl(f, a),
      );
      def("AMDGPU_USERQ_WAIT", DRM_IOCTL_AMDGPU_USERQ_WAIT, drm_amdgpu_userq_wait, (f, a) =>
        amdgpuUserqWaitIoctl(f, a),
      );
      def("AMDGPU_GEM_LIST_HANDLES", DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES, drm_amdgpu_gem_list_handles, (f, a) =>
        amdgpuGemListHandlesIoctl(f, a),
      );
      // drmsim extension, past the header's numbers.
      def("AMDGPU_SIM_DOORBELL", DRM_IOCTL_AMDGPU_SIM_DOORBELL, drm_amdgpu_sim_doorbell, (f, a) =>
        amdgpuSimDoorbellIoctl(f, a),
      );
    });
  }

  /**
   * `amdgpu_ctx_ioctl`: ALLOC (priority checked: `EINVAL` unknown, `EACCES` above NORMAL without
   * privilege), FREE (`EINVAL` unknown id), QUERY_STATE, QUERY_STATE2 (reset / VRAM lost / guilty),
   * GET_STABLE_PSTATE and SET_STABLE_PSTATE (`EINVAL` past PEAK). `EINVAL` for non-zero flags on
   * other ops, or an unknown op.
   */
  private async ctxIoctl(
    file: DrmFile,
    args: UapiValue<typeof drm_amdgpu_ctx>,
    caller: Process,
  ): Promise<void> {
    const N = "AMDGPU_CTX";
    const fpriv = amdgpuFprivOf(file);
    const { op, flags, ctx_id, priority } = args.in;
    if (flags !== 0 && op !== AMDGPU_CTX_OP_SET_STABLE_PSTATE)
      throw new KernelError("EINVAL", `${N}: flags must be 0, got ${flags}`);
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
      case AMDGPU_CTX_OP_GET_STABLE_PSTATE:
        args.out.pstate.flags = fpriv.ctxMgr.get(ctx_id).stablePstate;
        return;
      case AMDGPU_CTX_OP_SET_STABLE_PSTATE: {
        const ctx = fpriv.ctxMgr.get(ctx_id);
        const p = flags & AMDGPU_CTX_STABLE_PSTATE_FLAGS_MASK;
        if (p > AMDGPU_CTX_STABLE_PSTATE_PEAK)
          throw new KernelError("EINVAL", `${N}: invalid stable pstate ${p}`);
        ctx.stablePstate = p;
        return;
      }
      default:
        throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    }
  }

  /**
   * `amdgpu_vm_ioctl`: RESERVE_VMID (the VM's jobs use one ID kept for the VMs that asked) and
   * UNRESERVE_VMID; both idempotent per VM. `EINVAL` for flags or an unknown op.
   */
  private vmIoctl(file: DrmFile, args: UapiValue<typeof drm_amdgpu_vm>): void {
    const N = "AMDGPU_VM";
    const vm = amdgpuFprivOf(file).vm;
    const { op, flags } = args.in;
    if (flags !== 0) throw new KernelError("EINVAL", `${N}: no flags are defined, got ${flags}`);
    switch (op) {
      case AMDGPU_VM_OP_RESERVE_VMID:
        if (!vm.reservedVmid) {
          this.adev.vmids.allocReserved();
          vm.reservedVmid = true;
        }
        args.out.flags = 0n;
        return;
      case AMDGPU_VM_OP_UNRESERVE_VMID:
        if (vm.reservedVmid) {
          vm.reservedVmid = false;
          this.adev.vmids.freeReserved();
        }
        args.out.flags = 0n;
        return;
      default:
        throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    }
  }

  /**
   * `amdgpu_sched_ioctl` (DRM master only): override the priority of every context of the amdgpu
   * file behind `fd` in the caller, or of its context `ctx_id`. `EINVAL` for an unknown op or
   * priority, an fd that is not an amdgpu file of this device, or an unknown context.
   */
  private schedIoctl(args: UapiValue<typeof drm_amdgpu_sched>, caller: Process): void {
    const N = "AMDGPU_SCHED";
    const { op, fd, priority, ctx_id } = args.in;
    if (!amdgpuCtxPriorityIsValid(priority))
      throw new KernelError("EINVAL", `${N}: invalid priority ${priority}`);
    const f = caller.files.lookup(fd);
    if (f === undefined) throw new KernelError("EBADF", `${N}: fd ${fd} is not open in ${caller}`);
    const target = f.priv;
    const fpriv = (target as DrmFile | undefined)?.driverPriv;
    if (!(fpriv instanceof AmdgpuFpriv) || fpriv.adev !== this.adev)
      throw new KernelError("EINVAL", `${N}: fd ${fd} is not a file of ${this.device}`);
    switch (op) {
      case AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE:
        for (const ctx of fpriv.ctxMgr.ctxs.values()) ctx.setOverridePriority(priority);
        return;
      case AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE:
        fpriv.ctxMgr.get(ctx_id).setOverridePriority(priority);
        return;
      default:
        throw new KernelError("EINVAL", `${N}: unknown op ${op}`);
    }
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
