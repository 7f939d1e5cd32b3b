/**
 * libdrm_amdgpu's context and command-submission functions (`amdgpu_cs.c`, `amdgpu_vm.c`):
 * contexts, the chunk array `amdgpu_cs_submit_raw2` passes to `DRM_IOCTL_AMDGPU_CS`, and the
 * fence waits and conversions.
 *
 * `amdgpuCsChunkIb` takes the real `drm_amdgpu_cs_chunk_ib` — an IB the caller wrote and mapped —
 * or, for JavaScript tests, drmsim's knobs (`duration_ns`, `hang`, `fill`): such a chunk's IB is
 * written when `amdgpuCsSubmitRaw2` submits it (see `amdgpu-sim.ts`); the ioctl only ever sees
 * the real struct.
 */
import { type Process, U64_MAX } from "@drmsim/runtime";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_FENCE,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL,
  AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_OP_QUERY_STATE2,
  AMDGPU_VM_OP_RESERVE_VMID,
  AMDGPU_VM_OP_UNRESERVE_VMID,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE,
  DRM_IOCTL_AMDGPU_VM,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  DRM_IOCTL_AMDGPU_WAIT_FENCES,
  type DrmAmdgpuCs,
  type DrmAmdgpuCsChunk,
  type DrmAmdgpuCsChunkDep,
  type DrmAmdgpuCsChunkIb,
  type DrmAmdgpuCsChunkSyncobj,
  type DrmAmdgpuCtx,
  type DrmAmdgpuFenceToHandle,
  type DrmAmdgpuWaitCs,
  type DrmAmdgpuWaitFences,
  drm_amdgpu_bo_list_entry,
  drm_amdgpu_bo_list_in,
  drm_amdgpu_cs_chunk_dep,
  drm_amdgpu_cs_chunk_fence,
  drm_amdgpu_cs_chunk_ib,
  drm_amdgpu_cs_chunk_sem,
  drm_amdgpu_cs_chunk_syncobj,
} from "../amdgpu-drm.js";
import { AMDGPU_SIM_IB, type AmdgpuSimKnobs, amdgpuSimIbChunk, amdgpuSimIbOf } from "./amdgpu-sim.js";

/** `AMDGPU_TIMEOUT_INFINITE`: a `WAIT_CS` timeout that never expires. */
export const AMDGPU_TIMEOUT_INFINITE = U64_MAX;

/** `amdgpu_cs_ctx_create2`: `AMDGPU_CTX_OP_ALLOC_CTX` at `priority`; returns the context id. */
export async function amdgpuCsCtxCreate2(p: Process, fd: number, priority = 0): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuCtx>(fd, DRM_IOCTL_AMDGPU_CTX, {
    in: { op: AMDGPU_CTX_OP_ALLOC_CTX, priority },
  });
  return r.out?.alloc?.ctx_id ?? 0;
}

/** `amdgpu_cs_ctx_free`: `AMDGPU_CTX_OP_FREE_CTX`. */
export async function amdgpuCsCtxFree(p: Process, fd: number, ctxId: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, {
    in: { op: AMDGPU_CTX_OP_FREE_CTX, ctx_id: ctxId },
  } satisfies DrmAmdgpuCtx);
}

/**
 * `amdgpu_cs_query_reset_state`: `AMDGPU_CTX_OP_QUERY_STATE`, the context's
 * `AMDGPU_CTX_*_RESET` status and the device's hang count.
 */
export async function amdgpuCsQueryResetState(
  p: Process,
  fd: number,
  ctxId: number,
): Promise<{ state: number; hangs: number }> {
  const r = await p.ioctl<DrmAmdgpuCtx>(fd, DRM_IOCTL_AMDGPU_CTX, {
    in: { op: AMDGPU_CTX_OP_QUERY_STATE, ctx_id: ctxId },
  });
  return { state: r.out?.state?.reset_status ?? 0, hangs: r.out?.state?.hangs ?? 0 };
}

/** `amdgpu_cs_query_reset_state2`: the context's `AMDGPU_CTX_QUERY2_FLAGS_*`. */
export async function amdgpuCsQueryResetState2(p: Process, fd: number, ctxId: number): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuCtx>(fd, DRM_IOCTL_AMDGPU_CTX, {
    in: { op: AMDGPU_CTX_OP_QUERY_STATE2, ctx_id: ctxId },
  });
  return Number(r.out?.state?.flags ?? 0);
}

/** `amdgpu_vm_reserve_vmid`: `AMDGPU_VM_OP_RESERVE_VMID`. */
export async function amdgpuVmReserveVmid(p: Process, fd: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_VM, { in: { op: AMDGPU_VM_OP_RESERVE_VMID } });
}

/** `amdgpu_vm_unreserve_vmid`: `AMDGPU_VM_OP_UNRESERVE_VMID`. */
export async function amdgpuVmUnreserveVmid(p: Process, fd: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_VM, { in: { op: AMDGPU_VM_OP_UNRESERVE_VMID } });
}

/** A chunk of `chunk_id` whose data is `data`, `bytes` long (`length_dw` in dwords, as libdrm fills it). */
function chunk(chunk_id: number, data: unknown, bytes: number): DrmAmdgpuCsChunk {
  return { chunk_id, length_dw: bytes / 4, chunk_data: data };
}

/** What `amdgpuCsChunkIb` takes: the real struct, or the ring and drmsim's knobs. */
export type AmdgpuCsChunkIbArgs = DrmAmdgpuCsChunkIb & AmdgpuSimKnobs;

/**
 * An `AMDGPU_CHUNK_ID_IB` chunk: one `struct drm_amdgpu_cs_chunk_ib`. With a `va_start` and no
 * knobs it is the caller's IB as given; otherwise (knobs, or no IB of its own) it is a drmsim
 * test IB that `amdgpuCsSubmitRaw2` writes and maps before the ioctl (`amdgpuSimIbChunk`).
 */
export function amdgpuCsChunkIb(ib: AmdgpuCsChunkIbArgs): DrmAmdgpuCsChunk {
  const { duration_ns, hang, fill, copy, ...real } = ib;
  const sim =
    duration_ns !== undefined ||
    hang !== undefined ||
    fill !== undefined ||
    copy !== undefined ||
    real.va_start === undefined;
  if (!sim) return chunk(AMDGPU_CHUNK_ID_IB, real, drm_amdgpu_cs_chunk_ib.size);
  const data: DrmAmdgpuCsChunkIb = { ...real };
  Object.defineProperty(data, AMDGPU_SIM_IB, {
    value: {
      ip_type: real.ip_type,
      ip_instance: real.ip_instance,
      ring: real.ring,
      flags: real.flags,
      ...(duration_ns !== undefined ? { duration_ns } : {}),
      ...(hang !== undefined ? { hang } : {}),
      ...(fill !== undefined ? { fill } : {}),
      ...(copy !== undefined ? { copy } : {}),
    },
  });
  return chunk(AMDGPU_CHUNK_ID_IB, data, drm_amdgpu_cs_chunk_ib.size);
}

/**
 * An `AMDGPU_CHUNK_ID_BO_HANDLES` chunk: a `struct drm_amdgpu_bo_list_in` pointing at one
 * `struct drm_amdgpu_bo_list_entry` per handle (what `amdgpu_cs_submit_raw2` builds from a BO list).
 */
export function amdgpuCsChunkBoList(handles: readonly number[]): DrmAmdgpuCsChunk {
  const list = {
    bo_number: handles.length,
    bo_info_size: drm_amdgpu_bo_list_entry.size,
    bo_info_ptr: handles.map((bo_handle) => ({ bo_handle })),
  };
  return chunk(AMDGPU_CHUNK_ID_BO_HANDLES, list, drm_amdgpu_bo_list_in.size);
}

/** An `AMDGPU_CHUNK_ID_DEPENDENCIES` chunk: wait for other submissions to finish. */
export function amdgpuCsChunkDeps(deps: readonly DrmAmdgpuCsChunkDep[]): DrmAmdgpuCsChunk {
  return chunk(AMDGPU_CHUNK_ID_DEPENDENCIES, deps, deps.length * drm_amdgpu_cs_chunk_dep.size);
}

/** An `AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES` chunk: wait for other submissions to be *scheduled*. */
export function amdgpuCsChunkScheduledDeps(deps: readonly DrmAmdgpuCsChunkDep[]): DrmAmdgpuCsChunk {
  return chunk(AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES, deps, deps.length * drm_amdgpu_cs_chunk_dep.size);
}

/** An `AMDGPU_CHUNK_ID_SYNCOBJ_IN` chunk: wait for each binary syncobj's fence. */
export function amdgpuCsChunkSyncobjIn(handles: readonly number[]): DrmAmdgpuCsChunk {
  const sems = handles.map((handle) => ({ handle }));
  return chunk(AMDGPU_CHUNK_ID_SYNCOBJ_IN, sems, sems.length * drm_amdgpu_cs_chunk_sem.size);
}

/** An `AMDGPU_CHUNK_ID_SYNCOBJ_OUT` chunk: each binary syncobj gets the submission's fence. */
export function amdgpuCsChunkSyncobjOut(handles: readonly number[]): DrmAmdgpuCsChunk {
  const sems = handles.map((handle) => ({ handle }));
  return chunk(AMDGPU_CHUNK_ID_SYNCOBJ_OUT, sems, sems.length * drm_amdgpu_cs_chunk_sem.size);
}

/** An `AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT` chunk: wait for each syncobj's `point`. */
export function amdgpuCsChunkSyncobjTimelineWait(
  points: readonly DrmAmdgpuCsChunkSyncobj[],
): DrmAmdgpuCsChunk {
  return chunk(
    AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT,
    points,
    points.length * drm_amdgpu_cs_chunk_syncobj.size,
  );
}

/** An `AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL` chunk: each syncobj gets the submission's fence at `point` (0: replaced). */
export function amdgpuCsChunkSyncobjTimelineSignal(
  points: readonly DrmAmdgpuCsChunkSyncobj[],
): DrmAmdgpuCsChunk {
  return chunk(
    AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL,
    points,
    points.length * drm_amdgpu_cs_chunk_syncobj.size,
  );
}

/** An `AMDGPU_CHUNK_ID_FENCE` chunk: the submission's sequence number lands at `offset` of the page-sized BO `handle`. */
export function amdgpuCsChunkFence(handle: number, offset: number): DrmAmdgpuCsChunk {
  return chunk(AMDGPU_CHUNK_ID_FENCE, { handle, offset }, drm_amdgpu_cs_chunk_fence.size);
}

/**
 * `amdgpu_cs_submit_raw2`: `DRM_IOCTL_AMDGPU_CS` with `chunks` (drmsim test IBs written first);
 * returns the sequence number.
 */
export async function amdgpuCsSubmitRaw2(
  p: Process,
  fd: number,
  ctxId: number,
  chunks: readonly DrmAmdgpuCsChunk[],
  boListHandle = 0,
): Promise<number> {
  const real: DrmAmdgpuCsChunk[] = [];
  for (const c of chunks) {
    const sim = amdgpuSimIbOf(c);
    // The chunk's own length stays the caller's (a test may pass a short one on purpose).
    real.push(sim === undefined ? c : { ...(await amdgpuSimIbChunk(p, fd, sim)), length_dw: c.length_dw });
  }
  const r = await p.ioctl<DrmAmdgpuCs>(fd, DRM_IOCTL_AMDGPU_CS, {
    in: { ctx_id: ctxId, bo_list_handle: boListHandle, num_chunks: real.length, chunks: real },
  });
  return Number(r.out?.handle ?? 0);
}

/** Which submission `amdgpuCsQueryFenceStatus` waits for (`struct amdgpu_cs_fence`). */
export interface AmdgpuCsFence {
  ctxId: number;
  ipType: number;
  ipInstance?: number;
  ring: number;
  /** The sequence number `amdgpuCsSubmitRaw2` returned (`~0n`: the newest). */
  fence: number | bigint;
}

/**
 * `amdgpu_cs_query_fence_status`: `DRM_IOCTL_AMDGPU_WAIT_CS` until the absolute virtual time
 * `timeoutNs` (default `AMDGPU_TIMEOUT_INFINITE`); true when the submission has completed.
 */
export async function amdgpuCsQueryFenceStatus(
  p: Process,
  fd: number,
  f: AmdgpuCsFence,
  timeoutNs: number | bigint = AMDGPU_TIMEOUT_INFINITE,
): Promise<boolean> {
  const r = await p.ioctl<DrmAmdgpuWaitCs>(fd, DRM_IOCTL_AMDGPU_WAIT_CS, {
    in: {
      handle: f.fence,
      timeout: timeoutNs,
      ip_type: f.ipType,
      ip_instance: f.ipInstance ?? 0,
      ring: f.ring,
      ctx_id: f.ctxId,
    },
  });
  return Number(r.out?.status ?? 0) === 0;
}

function fenceStruct(f: AmdgpuCsFence) {
  return {
    ctx_id: f.ctxId,
    ip_type: f.ipType,
    ip_instance: f.ipInstance ?? 0,
    ring: f.ring,
    seq_no: f.fence,
  };
}

/**
 * `amdgpu_cs_wait_fences`: `DRM_IOCTL_AMDGPU_WAIT_FENCES` for all (`waitAll`) or any of `fences`
 * until the absolute virtual time `timeoutNs`. Returns whether they signalled and, for wait-any,
 * the index of the first.
 */
export async function amdgpuCsWaitFences(
  p: Process,
  fd: number,
  fences: readonly AmdgpuCsFence[],
  waitAll: boolean,
  timeoutNs: number | bigint = AMDGPU_TIMEOUT_INFINITE,
): Promise<{ status: boolean; first: number }> {
  const r = await p.ioctl<DrmAmdgpuWaitFences>(fd, DRM_IOCTL_AMDGPU_WAIT_FENCES, {
    in: {
      fences: fences.map(fenceStruct),
      fence_count: fences.length,
      wait_all: waitAll ? 1 : 0,
      timeout_ns: timeoutNs,
    },
  });
  return { status: (r.out?.status ?? 0) !== 0, first: r.out?.first_signaled ?? 0 };
}

/**
 * `amdgpu_cs_fence_to_handle`: `DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE` — the submission's fence as a
 * syncobj handle, syncobj fd or sync_file fd (`what`: `AMDGPU_FENCE_TO_HANDLE_GET_*`).
 */
export async function amdgpuCsFenceToHandle(
  p: Process,
  fd: number,
  f: AmdgpuCsFence,
  what: number,
): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuFenceToHandle>(fd, DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, {
    in: { fence: fenceStruct(f), what },
  });
  return r.out?.handle ?? 0;
}
