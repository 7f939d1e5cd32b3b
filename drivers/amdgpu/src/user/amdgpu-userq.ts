/**
 * libdrm_amdgpu's user-queue functions (`amdgpu_userq.c`): create and free a queue, signal and
 * wait with user-queue fences — and drmsim's stand-in for the doorbell write that hands a queue
 * its work.
 *
 * `amdgpuCreateUserqueueRaw` is the ioctl with the real struct. `amdgpuCreateUserqueue` does what
 * a userspace driver does around it: one GTT BO holds the ring, the read and write pointers and
 * the MQD areas, mapped in the VM, and the queue takes a doorbell of the process's doorbell BO.
 * `amdgpuUserqSubmit` writes packets into the ring, stores the new write pointer and rings the
 * doorbell; `amdgpuUserqDoorbell` does that with a drmsim RUN marker of `workNs`.
 */
import type { Process } from "@drmsim/runtime";
import {
  AMDGPU_GEM_DOMAIN_DOORBELL,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_USERQ_OP_CREATE,
  AMDGPU_USERQ_OP_FREE,
  type AmdgpuHwIp,
  DRM_IOCTL_AMDGPU_SIM_DOORBELL,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_SIGNAL,
  DRM_IOCTL_AMDGPU_USERQ_WAIT,
  type DrmAmdgpuSimDoorbell,
  type DrmAmdgpuUserq,
  type DrmAmdgpuUserqSignal,
  type DrmAmdgpuUserqWait,
  drm_amdgpu_userq_mqd_compute_gfx11,
  drm_amdgpu_userq_mqd_gfx11,
  drm_amdgpu_userq_mqd_sdma_gfx11,
} from "../amdgpu-drm.js";
import { amdgpuPacketFormat } from "../amdgpu-hw-model.js";
import { simRunPacket } from "../amdgpu-pm4.js";
import { amdgpuBoAlloc } from "./amdgpu-bo.js";
import { amdgpuDeviceInitialize } from "./amdgpu-device.js";
import { type AmdgpuCpuMapping, amdgpuBoCpuMap } from "./amdgpu-mmap.js";
import { amdgpuSimBoVa } from "./amdgpu-sim.js";

/** `amdgpu_create_userqueue`: `DRM_IOCTL_AMDGPU_USERQ` CREATE with the real struct; returns the queue id. */
export async function amdgpuCreateUserqueueRaw(
  p: Process,
  fd: number,
  args: Omit<NonNullable<DrmAmdgpuUserq["in"]>, "op">,
): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuUserq>(fd, DRM_IOCTL_AMDGPU_USERQ, {
    in: { ...args, op: AMDGPU_USERQ_OP_CREATE },
  });
  return r.out?.queue_id ?? 0;
}

/** `amdgpu_free_userqueue`. */
export async function amdgpuFreeUserqueue(p: Process, fd: number, queueId: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ, {
    in: { op: AMDGPU_USERQ_OP_FREE, queue_id: queueId },
  } satisfies DrmAmdgpuUserq);
}

/** Layout of the BO `amdgpuCreateUserqueue` allocates for a queue. */
const RING_BYTES = 8192;
const RPTR_OFF = 8192;
const WPTR_OFF = 8200;
const SHADOW_OFF = 12288;
const CSA_OFF = 16384;
const EOP_OFF = 20480;
const QUEUE_BO_BYTES = 24576;

/** What the library keeps of a queue it created. */
interface UserqState {
  readonly ip: number;
  readonly cpu: AmdgpuCpuMapping;
  readonly doorbellHandle: number;
  readonly doorbellOffset: number;
  /** The write pointer, in dwords. */
  wptr: number;
}

const QUEUES = new WeakMap<Process, Map<string, UserqState>>();
const DOORBELLS = new WeakMap<Process, Map<number, { handle: number; next: number }>>();

function queues(p: Process): Map<string, UserqState> {
  let m = QUEUES.get(p);
  if (m === undefined) {
    m = new Map();
    QUEUES.set(p, m);
  }
  return m;
}

/** The process's doorbell BO on `fd` and a free doorbell in it. */
async function doorbell(p: Process, fd: number): Promise<{ handle: number; offset: number }> {
  let m = DOORBELLS.get(p);
  if (m === undefined) {
    m = new Map();
    DOORBELLS.set(p, m);
  }
  let d = m.get(fd);
  if (d === undefined) {
    d = {
      handle: await amdgpuBoAlloc(p, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_DOORBELL }),
      next: 0,
    };
    m.set(fd, d);
  }
  return { handle: d.handle, offset: d.next++ };
}

/**
 * A user queue on `ipType`, set up as a userspace driver does: its ring, pointers and MQD areas
 * in one GTT BO mapped in the VM, a doorbell of the process's doorbell BO. Returns the queue id.
 */
export async function amdgpuCreateUserqueue(p: Process, fd: number, ipType: number): Promise<number> {
  await amdgpuDeviceInitialize(p, fd);
  const bo = await amdgpuBoAlloc(p, fd, { allocSize: QUEUE_BO_BYTES, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
  const { va } = await amdgpuSimBoVa(p, fd, bo);
  const db = await doorbell(p, fd);
  const mqd =
    ipType === AMDGPU_HW_IP_GFX
      ? {
          layout: drm_amdgpu_userq_mqd_gfx11,
          value: { shadow_va: va + BigInt(SHADOW_OFF), csa_va: va + BigInt(CSA_OFF) },
        }
      : ipType === AMDGPU_HW_IP_COMPUTE
        ? { layout: drm_amdgpu_userq_mqd_compute_gfx11, value: { eop_va: va + BigInt(EOP_OFF) } }
        : { layout: drm_amdgpu_userq_mqd_sdma_gfx11, value: { csa_va: va + BigInt(EOP_OFF) } };
  const id = await amdgpuCreateUserqueueRaw(p, fd, {
    ip_type: ipType,
    doorbell_handle: db.handle,
    doorbell_offset: db.offset,
    queue_va: va,
    queue_size: RING_BYTES,
    rptr_va: va + BigInt(RPTR_OFF),
    wptr_va: va + BigInt(WPTR_OFF),
    mqd: mqd.value,
    mqd_size: mqd.layout.size,
  });
  queues(p).set(`${fd}:${id}`, {
    ip: ipType,
    cpu: await amdgpuBoCpuMap(p, fd, bo),
    doorbellHandle: db.handle,
    doorbellOffset: db.offset,
    wptr: 0,
  });
  return id;
}

/** drmsim's `DRM_IOCTL_AMDGPU_SIM_DOORBELL`: doorbell `offset` of doorbell BO `handle` gets `value`. */
export async function amdgpuSimDoorbell(
  p: Process,
  fd: number,
  handle: number,
  offset: number,
  value: number | bigint,
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_SIM_DOORBELL, {
    doorbell_handle: handle,
    doorbell_offset: offset,
    value,
  } satisfies DrmAmdgpuSimDoorbell);
}

/**
 * Appends `dwords` to the ring of a queue `amdgpuCreateUserqueue` made, stores the new write
 * pointer at `wptr_va` and rings the doorbell with it. Returns the write pointer (what a
 * USERQ_SIGNAL after this makes its fence wait for). A queue the library did not create
 * (`EINVAL` from the kernel for its doorbell) is rung with doorbell 0 of handle 0.
 */
export async function amdgpuUserqSubmit(
  p: Process,
  fd: number,
  queueId: number,
  dwords: readonly number[],
): Promise<number> {
  const q = queues(p).get(`${fd}:${queueId}`);
  if (q === undefined) {
    await amdgpuSimDoorbell(p, fd, 0, 0, 0);
    return 0;
  }
  const b = new Uint8Array(4);
  for (const d of dwords) {
    new DataView(b.buffer).setUint32(0, d >>> 0, true);
    q.cpu.write(((q.wptr * 4) % RING_BYTES) >>> 0, b);
    q.wptr++;
  }
  const w = new Uint8Array(8);
  new DataView(w.buffer).setBigUint64(0, BigInt(q.wptr), true);
  q.cpu.write(WPTR_OFF, w);
  await amdgpuSimDoorbell(p, fd, q.doorbellHandle, q.doorbellOffset, q.wptr);
  return q.wptr;
}

/** The doorbell write with `workNs` of work: a drmsim RUN marker appended to the queue's ring. */
export function amdgpuUserqDoorbell(
  p: Process,
  fd: number,
  queueId: number,
  workNs: number,
): Promise<number> {
  const q = queues(p).get(`${fd}:${queueId}`);
  return amdgpuUserqSubmit(
    p,
    fd,
    queueId,
    simRunPacket(amdgpuPacketFormat((q?.ip ?? 0) as AmdgpuHwIp), workNs),
  );
}

/** `amdgpu_userq_signal`: a fence for the queue's work so far, into `syncobjs` and the BOs' reservation objects. */
export async function amdgpuUserqSignal(
  p: Process,
  fd: number,
  o: {
    queueId: number;
    syncobjs?: readonly number[];
    readBos?: readonly number[];
    writeBos?: readonly number[];
  },
): Promise<void> {
  const syncobjs = [...(o.syncobjs ?? [])];
  const reads = [...(o.readBos ?? [])];
  const writes = [...(o.writeBos ?? [])];
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ_SIGNAL, {
    queue_id: o.queueId,
    syncobj_handles: syncobjs,
    num_syncobj_handles: syncobjs.length,
    bo_read_handles: reads,
    bo_write_handles: writes,
    num_bo_read_handles: reads.length,
    num_bo_write_handles: writes.length,
  } satisfies DrmAmdgpuUserqSignal);
}

/** What `amdgpuUserqWait` asks about. */
export interface AmdgpuUserqWaitRequest {
  waitqId: number;
  syncobjs?: readonly number[];
  timelines?: readonly { handle: number; point: bigint }[];
  readBos?: readonly number[];
  writeBos?: readonly number[];
}

/**
 * `amdgpu_userq_wait`: asks how many fences there are, then for them; returns the user-queue
 * fences the queue must wait for as (`va`, `value`) — the kernel has waited for the others.
 */
export async function amdgpuUserqWait(
  p: Process,
  fd: number,
  o: AmdgpuUserqWaitRequest,
): Promise<{ va: bigint; value: bigint }[]> {
  const syncobjs = [...(o.syncobjs ?? [])];
  const tl = [...(o.timelines ?? [])];
  const reads = [...(o.readBos ?? [])];
  const writes = [...(o.writeBos ?? [])];
  const base: DrmAmdgpuUserqWait = {
    waitq_id: o.waitqId,
    syncobj_handles: syncobjs,
    num_syncobj_handles: syncobjs.length,
    syncobj_timeline_handles: tl.map((t) => t.handle),
    syncobj_timeline_points: tl.map((t) => t.point),
    num_syncobj_timeline_handles: tl.length,
    bo_read_handles: reads,
    bo_write_handles: writes,
    num_bo_read_handles: reads.length,
    num_bo_write_handles: writes.length,
    num_fences: 0,
  };
  const count = await p.ioctl<DrmAmdgpuUserqWait>(fd, DRM_IOCTL_AMDGPU_USERQ_WAIT, { ...base });
  const n = count.num_fences ?? 0;
  if (n === 0) return [];
  const out: Record<string, number | bigint>[] = Array.from({ length: n }, () => ({}));
  const r = await p.ioctl<DrmAmdgpuUserqWait>(fd, DRM_IOCTL_AMDGPU_USERQ_WAIT, {
    ...base,
    num_fences: n,
    out_fences: out,
  });
  return out.slice(0, r.num_fences ?? 0).map((f) => ({ va: BigInt(f.va!), value: BigInt(f.value!) }));
}
