/**
 * libdrm_amdgpu's context and command-submission functions (`amdgpu_cs.c`): contexts, the chunk
 * array `amdgpu_cs_submit_raw2` passes to `DRM_IOCTL_AMDGPU_CS`, and fence waits.
 */
import { type Process, U64_MAX } from "@drmsim/runtime";
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_OP_QUERY_STATE2,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  type DrmAmdgpuCs,
  type DrmAmdgpuCsChunk,
  type DrmAmdgpuCsChunkDep,
  type DrmAmdgpuCsChunkIb,
  type DrmAmdgpuCtx,
  type DrmAmdgpuWaitCs,
  drm_amdgpu_bo_list_entry,
  drm_amdgpu_bo_list_in,
  drm_amdgpu_cs_chunk_dep,
  drm_amdgpu_cs_chunk_ib,
  drm_amdgpu_cs_chunk_sem,
} from "../amdgpu-drm.js";

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

/** A chunk of `chunk_id` whose data is `data`, `bytes` long (`length_dw` in dwords, as libdrm fills it). */
function chunk(chunk_id: number, data: unknown, bytes: number): DrmAmdgpuCsChunk {
  return { chunk_id, length_dw: bytes / 4, chunk_data: data };
}

/** An `AMDGPU_CHUNK_ID_IB` chunk: one `struct drm_amdgpu_cs_chunk_ib` (with drmsim's extensions). */
export function amdgpuCsChunkIb(ib: DrmAmdgpuCsChunkIb): DrmAmdgpuCsChunk {
  return chunk(AMDGPU_CHUNK_ID_IB, ib, drm_amdgpu_cs_chunk_ib.size);
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

/** An `AMDGPU_CHUNK_ID_DEPENDENCIES` chunk: wait for other submissions (`amdgpu_cs_submit_raw2` dependencies). */
export function amdgpuCsChunkDeps(deps: readonly DrmAmdgpuCsChunkDep[]): DrmAmdgpuCsChunk {
  return chunk(AMDGPU_CHUNK_ID_DEPENDENCIES, deps, deps.length * drm_amdgpu_cs_chunk_dep.size);
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

/** `amdgpu_cs_submit_raw2`: `DRM_IOCTL_AMDGPU_CS` with `chunks`; returns the sequence number. */
export async function amdgpuCsSubmitRaw2(
  p: Process,
  fd: number,
  ctxId: number,
  chunks: readonly DrmAmdgpuCsChunk[],
): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuCs>(fd, DRM_IOCTL_AMDGPU_CS, {
    in: { ctx_id: ctxId, num_chunks: chunks.length, chunks: [...chunks] },
  });
  return Number(r.out?.handle ?? 0);
}

/** Which submission `amdgpuCsQueryFenceStatus` waits for (`struct amdgpu_cs_fence`). */
export interface AmdgpuCsFence {
  ctxId: number;
  ipType: number;
  ipInstance?: number;
  ring: number;
  /** The sequence number `amdgpuCsSubmitRaw2` returned. */
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
