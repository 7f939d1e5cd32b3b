/**
 * The user-queue ioctls (`amdgpu_userq.c`, `amdgpu_userq_fence.c`): USERQ (create, free),
 * USERQ_SIGNAL, USERQ_WAIT, and drmsim's doorbell (`DRM_IOCTL_AMDGPU_SIM_DOORBELL`). The queues
 * themselves are in `amdgpu-userq.ts`.
 */
import { type DmaFence, dmaFenceDedupArray, dmaFenceUnwrap } from "@drmsim/dma-fence";
import { DmaResvIter, DmaResvUsage, DrmExec, dmaResvForEachFence } from "@drmsim/dma-resv";
import {
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  type DrmFile,
  type DrmSyncobj,
  drmProcessIsRoot,
  drmSyncobjTable,
} from "@drmsim/drm";
import { KernelError, type Process, type UapiValue, uapiU64ToNumber } from "@drmsim/runtime";
import {
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_HIGH,
  AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_MASK,
  AMDGPU_USERQ_CREATE_FLAGS_QUEUE_SECURE,
  AMDGPU_USERQ_OP_CREATE,
  AMDGPU_USERQ_OP_FREE,
  type AmdgpuHwIp,
  type drm_amdgpu_sim_doorbell,
  type drm_amdgpu_userq,
  drm_amdgpu_userq_mqd_compute_gfx11,
  drm_amdgpu_userq_mqd_gfx11,
  drm_amdgpu_userq_mqd_sdma_gfx11,
  type drm_amdgpu_userq_signal,
  type drm_amdgpu_userq_wait,
} from "./amdgpu-drm.js";
import { type AmdgpuFpriv, amdgpuFprivOf } from "./amdgpu-fpriv.js";
import { AMDGPU_USERQ_FW_AREAS } from "./amdgpu-kms.js";
import { AmdgpuBo } from "./amdgpu-object.js";
import { AmdgpuUserqFence } from "./amdgpu-userq.js";
import { AMDGPU_GMC_HOLE_MASK, type AmdgpuVm } from "./amdgpu-vm.js";

/** `AMDGPU_USERQ_MAX_HANDLES`: how many syncobjs or BOs one SIGNAL or WAIT may name. */
export const AMDGPU_USERQ_MAX_HANDLES = 1 << 16;
/** Bytes of one doorbell (64-bit doorbells on gfx11). */
export const AMDGPU_DOORBELL_BYTES = 8;

/**
 * `amdgpu_userq_input_va_validate`: `[va, va + size)` must be mapped in the VM with a BO behind
 * it. `EINVAL` otherwise.
 */
function vaValidate(vm: AmdgpuVm, va: bigint, size: number, what: string): number {
  const a = Number(va & AMDGPU_GMC_HOLE_MASK);
  const spans = vm.resolve(a, Math.max(size, 1), false);
  if ("faultAt" in spans)
    throw new KernelError(
      "EINVAL",
      `AMDGPU_USERQ: ${what} 0x${a.toString(16)} (+${size}) is not mapped in the VM`,
    );
  return a;
}

/**
 * `amdgpu_userq_ioctl`: CREATE a queue on `ip_type` whose ring, read and write pointers and MQD
 * areas are mapped in the caller's VM, with doorbell `doorbell_offset` of doorbell BO
 * `doorbell_handle` (out `queue_id`), or FREE one. `EINVAL` for an unknown op or IP, unknown or
 * secure flags, an MQD of the wrong size, a range that is not mapped, a doorbell that is not in a
 * doorbell BO or already taken; `EACCES` for the high priority without `CAP_SYS_NICE` or master.
 */
export async function amdgpuUserqIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_userq>,
  caller: Process,
): Promise<void> {
  const N = "AMDGPU_USERQ";
  const fpriv = amdgpuFprivOf(file);
  const a = args.in;
  if (a.op === AMDGPU_USERQ_OP_FREE) {
    fpriv.userq.free(a.queue_id);
    return;
  }
  if (a.op !== AMDGPU_USERQ_OP_CREATE) throw new KernelError("EINVAL", `${N}: unknown op ${a.op}`);
  const ip = a.ip_type;
  if (ip !== AMDGPU_HW_IP_GFX && ip !== AMDGPU_HW_IP_COMPUTE && ip !== AMDGPU_HW_IP_DMA)
    throw new KernelError("EINVAL", `${N}: IP type ${ip} has no user queues`);
  const known = AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_MASK | AMDGPU_USERQ_CREATE_FLAGS_QUEUE_SECURE;
  if ((a.flags & ~known) !== 0)
    throw new KernelError("EINVAL", `${N}: unknown flags 0x${a.flags.toString(16)}`);
  if ((a.flags & AMDGPU_USERQ_CREATE_FLAGS_QUEUE_SECURE) !== 0)
    throw new KernelError("EINVAL", `${N}: a secure queue needs TMZ, which this device does not have`);
  const priority = a.flags & AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_MASK;
  if (
    priority === AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_HIGH &&
    !drmProcessIsRoot(caller) &&
    !file.isMaster
  )
    throw new KernelError("EACCES", `${N}: the high queue priority needs CAP_SYS_NICE or DRM master`);
  const queueSize = uapiU64ToNumber(a.queue_size, `${N}: queue_size`);
  if (queueSize === 0 || queueSize % 256 !== 0)
    throw new KernelError("EINVAL", `${N}: queue_size ${queueSize} must be a non-zero multiple of 256`);
  const vm = fpriv.vm;
  const queueVa = vaValidate(vm, a.queue_va, queueSize, "queue_va");
  const rptrVa = vaValidate(vm, a.rptr_va, 8, "rptr_va");
  const wptrVa = vaValidate(vm, a.wptr_va, 8, "wptr_va");
  // The IP's MQD: its size must be the struct's, and the areas it names mapped.
  const fw = AMDGPU_USERQ_FW_AREAS;
  const mqdSize = Number(a.mqd_size);
  if (ip === AMDGPU_HW_IP_GFX) {
    if (mqdSize !== drm_amdgpu_userq_mqd_gfx11.size)
      throw new KernelError(
        "EINVAL",
        `${N}: a gfx MQD is ${drm_amdgpu_userq_mqd_gfx11.size} bytes, not ${mqdSize}`,
      );
    const m = a.mqd.as<UapiValue<typeof drm_amdgpu_userq_mqd_gfx11>>(drm_amdgpu_userq_mqd_gfx11).read(1)[0]!;
    vaValidate(vm, m.shadow_va, fw.shadowSize, "shadow_va");
    vaValidate(vm, m.csa_va, fw.csaSize, "csa_va");
  } else if (ip === AMDGPU_HW_IP_COMPUTE) {
    if (mqdSize !== drm_amdgpu_userq_mqd_compute_gfx11.size)
      throw new KernelError(
        "EINVAL",
        `${N}: a compute MQD is ${drm_amdgpu_userq_mqd_compute_gfx11.size} bytes, not ${mqdSize}`,
      );
    const m = a.mqd
      .as<UapiValue<typeof drm_amdgpu_userq_mqd_compute_gfx11>>(drm_amdgpu_userq_mqd_compute_gfx11)
      .read(1)[0]!;
    vaValidate(vm, m.eop_va, fw.eopSize, "eop_va");
  } else {
    if (mqdSize !== drm_amdgpu_userq_mqd_sdma_gfx11.size)
      throw new KernelError(
        "EINVAL",
        `${N}: an SDMA MQD is ${drm_amdgpu_userq_mqd_sdma_gfx11.size} bytes, not ${mqdSize}`,
      );
    const m = a.mqd
      .as<UapiValue<typeof drm_amdgpu_userq_mqd_sdma_gfx11>>(drm_amdgpu_userq_mqd_sdma_gfx11)
      .read(1)[0]!;
    vaValidate(vm, m.csa_va, fw.sdmaCsaSize, "csa_va");
  }
  // amdgpu_userq_get_doorbell_index.
  const db = file.gem.peek(a.doorbell_handle);
  if (!(db instanceof AmdgpuBo) || !db.isDoorbell)
    throw new KernelError("EINVAL", `${N}: handle ${a.doorbell_handle} is not a doorbell BO`);
  if ((a.doorbell_offset + 1) * AMDGPU_DOORBELL_BYTES > db.size)
    throw new KernelError("EINVAL", `${N}: doorbell ${a.doorbell_offset} is past the end of ${db.label}`);
  for (const q of fpriv.userq.queues.values())
    if (q.props.doorbell === db && q.props.doorbellOffset === a.doorbell_offset)
      throw new KernelError(
        "EINVAL",
        `${N}: doorbell ${a.doorbell_offset} of ${db.label} is taken by queue ${q.id}`,
      );
  args.out.queue_id = await fpriv.userq.create(ip as AmdgpuHwIp, {
    queueVa,
    queueSize,
    rptrVa,
    wptrVa,
    doorbell: db,
    doorbellOffset: a.doorbell_offset,
    priority,
  });
}

/** `amdgpu_userq_fence_read_wptr`: the 64-bit write pointer userspace stored at `wptr_va`. `EINVAL` if unmapped. */
function readWptr(fpriv: AmdgpuFpriv, wptrVa: number): number {
  const spans = fpriv.vm.resolve(wptrVa, 8, false);
  if ("faultAt" in spans)
    throw new KernelError("EINVAL", "AMDGPU_USERQ_SIGNAL: the queue's wptr is not mapped");
  const bytes = new Uint8Array(8);
  let at = 0;
  for (const s of spans) {
    bytes.set(s.bo.store.read(s.offset, s.length), at);
    at += s.length;
  }
  const v = new DataView(bytes.buffer).getBigUint64(0, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** The BOs behind `handles` (references). `ENOENT` at the first unknown handle, the others dropped. */
function lookupBos(file: DrmFile, handles: readonly number[]): AmdgpuBo[] {
  const out: AmdgpuBo[] = [];
  try {
    for (const h of handles) {
      const obj = file.gem.lookup(h);
      if (!(obj instanceof AmdgpuBo)) {
        obj.put();
        throw new KernelError("EINVAL", `handle ${h} is not an amdgpu BO`);
      }
      out.push(obj);
    }
  } catch (e) {
    for (const bo of out) bo.put();
    throw e;
  }
  return out;
}

/**
 * `amdgpu_userq_signal_ioctl`: a user-queue fence for queue `queue_id`'s work up to its current
 * write pointer (read from `wptr_va`), installed in each syncobj and added to the read BOs as
 * READ and the write BOs as WRITE. `EINVAL` for too many handles, `ENOENT` for an unknown
 * syncobj, BO or queue.
 */
export async function amdgpuUserqSignalIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_userq_signal>,
): Promise<void> {
  const N = "AMDGPU_USERQ_SIGNAL";
  const fpriv = amdgpuFprivOf(file);
  const nSync = args.num_syncobj_handles;
  if (
    nSync > BigInt(AMDGPU_USERQ_MAX_HANDLES) ||
    args.num_bo_read_handles > AMDGPU_USERQ_MAX_HANDLES ||
    args.num_bo_write_handles > AMDGPU_USERQ_MAX_HANDLES
  )
    throw new KernelError("EINVAL", `${N}: more than ${AMDGPU_USERQ_MAX_HANDLES} handles`);
  const syncHandles = args.syncobj_handles.read(Number(nSync));
  const table = drmSyncobjTable(file);
  const syncobjs: DrmSyncobj[] = [];
  let reads: AmdgpuBo[] = [];
  let writes: AmdgpuBo[] = [];
  try {
    for (const h of syncHandles) {
      const s = table.find(h);
      if (s === null) throw new KernelError("ENOENT", `${N}: no syncobj ${h}`);
      syncobjs.push(s);
    }
    reads = lookupBos(file, args.bo_read_handles.read());
    writes = lookupBos(file, args.bo_write_handles.read());
    const q = fpriv.userq.queue(args.queue_id, "ENOENT");
    const fence = q.createFence(readWptr(fpriv, q.props.wptrVa));
    try {
      await DrmExec.run(
        fpriv.adev.sim,
        { flags: { interruptible: true, ignoreDuplicates: true } },
        async (exec) => {
          for (const bo of [...reads, ...writes]) await exec.prepareObj(bo, 1);
          for (const bo of reads) bo.resv.addFence(fence, DmaResvUsage.READ);
          for (const bo of writes) bo.resv.addFence(fence, DmaResvUsage.WRITE);
        },
      );
      for (const s of syncobjs) s.replaceFence(fence);
    } finally {
      fence.put();
    }
  } finally {
    for (const s of syncobjs) s.put();
    for (const bo of [...reads, ...writes]) bo.put();
  }
}

/**
 * `amdgpu_userq_wait_ioctl`: the fences queue `waitq_id` must wait for — the read BOs' KERNEL,
 * WRITE and READ fences, the write BOs' KERNEL and WRITE fences, the timeline points' (unwrapped)
 * and the binary syncobjs' (waiting for them to be submitted). With `num_fences` 0 it only counts
 * them. Otherwise it keeps the newest per context, waits here for every one that is not a
 * user-queue fence, and writes the user-queue ones as (`va`, `value`) to `out_fences`, setting
 * `num_fences` to how many. `EINVAL` for an unknown queue or more fences than `num_fences`.
 */
export async function amdgpuUserqWaitIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_userq_wait>,
): Promise<void> {
  const N = "AMDGPU_USERQ_WAIT";
  const fpriv = amdgpuFprivOf(file);
  const table = drmSyncobjTable(file);
  const syncHandles = args.syncobj_handles.read();
  const tlHandles = args.syncobj_timeline_handles.read();
  const tlPoints = args.syncobj_timeline_points.read();
  const reads = lookupBos(file, args.bo_read_handles.read());
  let writes: AmdgpuBo[] = [];
  const fences: DmaFence[] = [];
  try {
    writes = lookupBos(file, args.bo_write_handles.read());
    // A wait userspace asked for in its own call (as SYNCOBJ_WAIT), not one hidden in a submission.
    const find = (h: number, point: bigint) =>
      table.findFenceForUser(h, point, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT);
    await DrmExec.run(
      fpriv.adev.sim,
      { flags: { interruptible: true, ignoreDuplicates: true } },
      async (exec) => {
        for (const bo of [...reads, ...writes]) await exec.prepareObj(bo, 1);
        for (const bo of reads)
          for (const f of dmaResvForEachFence(new DmaResvIter(bo.resv, DmaResvUsage.READ)))
            fences.push(f.get());
        for (const bo of writes)
          for (const f of dmaResvForEachFence(new DmaResvIter(bo.resv, DmaResvUsage.WRITE)))
            fences.push(f.get());
      },
    );
    for (let i = 0; i < tlHandles.length; i++) {
      const head = await find(tlHandles[i]!, tlPoints[i]!);
      try {
        for (const f of dmaFenceUnwrap(head)) fences.push(f.get());
      } finally {
        head.put();
      }
    }
    for (const h of syncHandles) fences.push(await find(h, 0n));
    if (args.num_fences === 0) {
      args.num_fences = fences.length;
      return;
    }
    if (fences.length > args.num_fences)
      throw new KernelError(
        "EINVAL",
        `${N}: ${fences.length} fences do not fit num_fences ${args.num_fences}`,
      );
    dmaFenceDedupArray(fences);
    fpriv.userq.queue(args.waitq_id, "EINVAL");
    const info: { va: bigint; value: bigint }[] = [];
    for (const f of fences) {
      if (f instanceof AmdgpuUserqFence) {
        info.push({ va: BigInt(f.queue.props.rptrVa), value: BigInt(f.seqno) });
        continue;
      }
      // Just waiting on other drivers' fences is good for now.
      await f.wait({ interruptible: true });
    }
    args.out_fences.write(info);
    args.num_fences = info.length;
  } finally {
    for (const f of fences) f.put();
    for (const bo of [...reads, ...writes]) bo.put();
  }
}

/**
 * drmsim's doorbell write (`DRM_IOCTL_AMDGPU_SIM_DOORBELL`): the queue behind doorbell
 * `doorbell_offset` of doorbell BO `doorbell_handle` may run up to write pointer `value`
 * (dwords). `EINVAL` when no queue of this file uses that doorbell.
 */
export function amdgpuSimDoorbellIoctl(file: DrmFile, args: UapiValue<typeof drm_amdgpu_sim_doorbell>): void {
  const fpriv = amdgpuFprivOf(file);
  const db = file.gem.peek(args.doorbell_handle);
  const q = [...fpriv.userq.queues.values()].find(
    (x) => x.props.doorbell === db && x.props.doorbellOffset === args.doorbell_offset,
  );
  if (q === undefined)
    throw new KernelError(
      "EINVAL",
      `AMDGPU_SIM_DOORBELL: no user queue rings doorbell ${args.doorbell_offset} of handle ${args.doorbell_handle}`,
    );
  q.doorbell(uapiU64ToNumber(args.value, "AMDGPU_SIM_DOORBELL: value"));
}
