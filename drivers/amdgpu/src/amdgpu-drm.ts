/**
 * The amdgpu uAPI (`include/uapi/drm/amdgpu_drm.h`), the subset drmsim models, with the kernel's
 * numbers. Argument structs are flattened into plain objects (the kernel's `in`/`out` unions
 * become fields), and CS chunks carry their data as objects instead of user pointers.
 *
 * drmsim extensions (the kernel has no such fields) are marked as such: an IB's simulated
 * execution time and hang injection, and the user-queue doorbell ioctl standing in for the MMIO
 * doorbell write of a real user queue.
 */

/** `DRM_AMDGPU_GEM_CREATE`. */
export const DRM_AMDGPU_GEM_CREATE = 0x00;
/** `DRM_AMDGPU_CTX`. */
export const DRM_AMDGPU_CTX = 0x02;
/** `DRM_AMDGPU_CS`. */
export const DRM_AMDGPU_CS = 0x04;
/** `DRM_AMDGPU_WAIT_CS`. */
export const DRM_AMDGPU_WAIT_CS = 0x09;
/** `DRM_AMDGPU_GEM_USERPTR`. */
export const DRM_AMDGPU_GEM_USERPTR = 0x11;
/** `DRM_AMDGPU_USERQ`. */
export const DRM_AMDGPU_USERQ = 0x16;
/** drmsim extension: the user-queue doorbell (a real queue is kicked by an MMIO write, not an ioctl). */
export const DRM_AMDGPU_USERQ_DOORBELL = 0x50;

/** `DRM_IOCTL_AMDGPU_GEM_CREATE`. */
export const DRM_IOCTL_AMDGPU_GEM_CREATE = "DRM_IOCTL_AMDGPU_GEM_CREATE";
/** `DRM_IOCTL_AMDGPU_CTX`. */
export const DRM_IOCTL_AMDGPU_CTX = "DRM_IOCTL_AMDGPU_CTX";
/** `DRM_IOCTL_AMDGPU_CS`. */
export const DRM_IOCTL_AMDGPU_CS = "DRM_IOCTL_AMDGPU_CS";
/** `DRM_IOCTL_AMDGPU_WAIT_CS`. */
export const DRM_IOCTL_AMDGPU_WAIT_CS = "DRM_IOCTL_AMDGPU_WAIT_CS";
/** `DRM_IOCTL_AMDGPU_GEM_USERPTR`. */
export const DRM_IOCTL_AMDGPU_GEM_USERPTR = "DRM_IOCTL_AMDGPU_GEM_USERPTR";
/** `DRM_IOCTL_AMDGPU_USERQ`. */
export const DRM_IOCTL_AMDGPU_USERQ = "DRM_IOCTL_AMDGPU_USERQ";
/** drmsim extension: `DRM_IOCTL_AMDGPU_USERQ_DOORBELL`. */
export const DRM_IOCTL_AMDGPU_USERQ_DOORBELL = "DRM_IOCTL_AMDGPU_USERQ_DOORBELL";

/** `AMDGPU_GEM_DOMAIN_CPU`: system pages the GPU cannot reach (swapped / unbound). */
export const AMDGPU_GEM_DOMAIN_CPU = 0x1;
/** `AMDGPU_GEM_DOMAIN_GTT`: system pages mapped through the GART. */
export const AMDGPU_GEM_DOMAIN_GTT = 0x2;
/** `AMDGPU_GEM_DOMAIN_VRAM`: device memory. */
export const AMDGPU_GEM_DOMAIN_VRAM = 0x4;
/** The domains GEM_CREATE accepts here (GDS/GWS/OA/DOORBELL are not modelled). */
export const AMDGPU_GEM_DOMAIN_MASK = AMDGPU_GEM_DOMAIN_CPU | AMDGPU_GEM_DOMAIN_GTT | AMDGPU_GEM_DOMAIN_VRAM;

/** `AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED`. */
export const AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED = 1 << 0;
/** `AMDGPU_GEM_CREATE_NO_CPU_ACCESS`. */
export const AMDGPU_GEM_CREATE_NO_CPU_ACCESS = 1 << 1;
/** `AMDGPU_GEM_CREATE_CPU_GTT_USWC`. */
export const AMDGPU_GEM_CREATE_CPU_GTT_USWC = 1 << 2;
/** `AMDGPU_GEM_CREATE_VRAM_CLEARED`. */
export const AMDGPU_GEM_CREATE_VRAM_CLEARED = 1 << 3;
/** Creation flags accepted (the rest are `EINVAL`). */
export const AMDGPU_GEM_CREATE_FLAGS_MASK =
  AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED |
  AMDGPU_GEM_CREATE_NO_CPU_ACCESS |
  AMDGPU_GEM_CREATE_CPU_GTT_USWC |
  AMDGPU_GEM_CREATE_VRAM_CLEARED;

/** `union drm_amdgpu_gem_create`: in `bo_size`, `alignment`, `domains`, `domain_flags`; out `handle`. */
export interface DrmAmdgpuGemCreate {
  bo_size: number;
  alignment?: number;
  domains: number;
  domain_flags?: number;
  handle?: number;
}

/** `AMDGPU_HW_IP_GFX`. */
export const AMDGPU_HW_IP_GFX = 0;
/** `AMDGPU_HW_IP_COMPUTE`. */
export const AMDGPU_HW_IP_COMPUTE = 1;
/** `AMDGPU_HW_IP_DMA` (SDMA). */
export const AMDGPU_HW_IP_DMA = 2;
/** An `AMDGPU_HW_IP_*` value modelled here. */
export type AmdgpuHwIp = typeof AMDGPU_HW_IP_GFX | typeof AMDGPU_HW_IP_COMPUTE | typeof AMDGPU_HW_IP_DMA;

/** `AMDGPU_CTX_OP_ALLOC_CTX`. */
export const AMDGPU_CTX_OP_ALLOC_CTX = 1;
/** `AMDGPU_CTX_OP_FREE_CTX`. */
export const AMDGPU_CTX_OP_FREE_CTX = 2;
/** `AMDGPU_CTX_OP_QUERY_STATE`. */
export const AMDGPU_CTX_OP_QUERY_STATE = 3;
/** `AMDGPU_CTX_OP_QUERY_STATE2`. */
export const AMDGPU_CTX_OP_QUERY_STATE2 = 4;

/** `AMDGPU_CTX_NO_RESET`. */
export const AMDGPU_CTX_NO_RESET = 0;
/** `AMDGPU_CTX_UNKNOWN_RESET`: what QUERY_STATE reports for any reset since the last query. */
export const AMDGPU_CTX_UNKNOWN_RESET = 3;

/** `AMDGPU_CTX_QUERY2_FLAGS_RESET`: a GPU reset happened since the context was created. */
export const AMDGPU_CTX_QUERY2_FLAGS_RESET = 1 << 0;
/** `AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST`: VRAM contents were lost since the context was created. */
export const AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST = 1 << 1;
/** `AMDGPU_CTX_QUERY2_FLAGS_GUILTY`: a job of this context caused a hang. */
export const AMDGPU_CTX_QUERY2_FLAGS_GUILTY = 1 << 2;

/** `AMDGPU_CTX_PRIORITY_UNSET`. */
export const AMDGPU_CTX_PRIORITY_UNSET = -2048;
/** `AMDGPU_CTX_PRIORITY_VERY_LOW`. */
export const AMDGPU_CTX_PRIORITY_VERY_LOW = -1023;
/** `AMDGPU_CTX_PRIORITY_LOW`. */
export const AMDGPU_CTX_PRIORITY_LOW = -512;
/** `AMDGPU_CTX_PRIORITY_NORMAL`. */
export const AMDGPU_CTX_PRIORITY_NORMAL = 0;
/** `AMDGPU_CTX_PRIORITY_HIGH`: needs `CAP_SYS_NICE` or DRM master. */
export const AMDGPU_CTX_PRIORITY_HIGH = 512;
/** `AMDGPU_CTX_PRIORITY_VERY_HIGH`: needs `CAP_SYS_NICE` or DRM master. */
export const AMDGPU_CTX_PRIORITY_VERY_HIGH = 1023;

/**
 * `union drm_amdgpu_ctx`: in `op`, `flags`, `ctx_id`, `priority`; out `ctx_id` (ALLOC),
 * `reset_status` (QUERY_STATE), `state_flags` (QUERY_STATE2: the `out.state.flags` bits).
 */
export interface DrmAmdgpuCtx {
  op: number;
  flags?: number;
  ctx_id?: number;
  priority?: number;
  reset_status?: number;
  state_flags?: number;
}

/** `AMDGPU_CHUNK_ID_IB`. */
export const AMDGPU_CHUNK_ID_IB = 0x01;
/** `AMDGPU_CHUNK_ID_FENCE` (user fence BO; not modelled: `EINVAL`). */
export const AMDGPU_CHUNK_ID_FENCE = 0x02;
/** `AMDGPU_CHUNK_ID_DEPENDENCIES`. */
export const AMDGPU_CHUNK_ID_DEPENDENCIES = 0x03;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_IN`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_IN = 0x04;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_OUT`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_OUT = 0x05;
/** `AMDGPU_CHUNK_ID_BO_HANDLES`. */
export const AMDGPU_CHUNK_ID_BO_HANDLES = 0x06;

/** `AMDGPU_CS_GANG_SIZE`: at most this many jobs (distinct rings) in one submission. */
export const AMDGPU_CS_GANG_SIZE = 4;
/** IBs one job may carry (`amdgpu_ring_max_ibs`: the ring frame must hold them all). */
export const AMDGPU_RING_MAX_IBS = 16;

/** `struct drm_amdgpu_cs_chunk_ib`. */
export interface DrmAmdgpuCsChunkIb {
  ip_type: number;
  ip_instance?: number;
  ring: number;
  flags?: number;
  va_start?: number;
  ib_bytes?: number;
  _pad?: number;
  /** drmsim extension: how long the GPU executes this IB, in virtual ns (default 10 µs). */
  duration_ns?: number;
  /** drmsim extension: the IB never completes (a GPU hang) until the TDR resets the GPU. */
  hang?: boolean;
  /**
   * drmsim extension: what the IB writes. When the job completes without error, `data` lands in
   * the BO at `offset` — the bytes a shader or a blit would have produced, so interop tests can
   * check that an importer reads what this GPU wrote. The BO must be in the submission's BO list.
   */
  fill?: DrmAmdgpuIbFill;
}

/** drmsim extension of `drm_amdgpu_cs_chunk_ib`: bytes the IB writes into a BO of the BO list. */
export interface DrmAmdgpuIbFill {
  bo_handle: number;
  /** Byte offset in the BO (default 0). */
  offset?: number;
  data: Uint8Array | readonly number[];
}

/** `struct drm_amdgpu_cs_chunk_dep`: wait for the submission `handle` of another context/ring. */
export interface DrmAmdgpuCsChunkDep {
  ip_type: number;
  ip_instance?: number;
  ring: number;
  ctx_id: number;
  handle: number;
}

/** `struct drm_amdgpu_cs_chunk_sem`: a syncobj handle. */
export interface DrmAmdgpuCsChunkSem {
  handle: number;
}

/** `struct drm_amdgpu_bo_list_entry`. */
export interface DrmAmdgpuBoListEntry {
  bo_handle: number;
  bo_priority?: number;
}

/** `struct drm_amdgpu_cs_chunk`: `chunk_id` and its data (an object for IB, arrays for the rest). */
export type DrmAmdgpuCsChunk =
  | { chunk_id: typeof AMDGPU_CHUNK_ID_IB; data: DrmAmdgpuCsChunkIb }
  | { chunk_id: typeof AMDGPU_CHUNK_ID_DEPENDENCIES; data: DrmAmdgpuCsChunkDep[] }
  | { chunk_id: typeof AMDGPU_CHUNK_ID_SYNCOBJ_IN; data: DrmAmdgpuCsChunkSem[] }
  | { chunk_id: typeof AMDGPU_CHUNK_ID_SYNCOBJ_OUT; data: DrmAmdgpuCsChunkSem[] }
  | { chunk_id: typeof AMDGPU_CHUNK_ID_BO_HANDLES; data: DrmAmdgpuBoListEntry[] }
  | { chunk_id: number; data: unknown };

/** `union drm_amdgpu_cs`: in `ctx_id`, `bo_list_handle`, `flags`, `chunks`; out `handle` (the sequence number). */
export interface DrmAmdgpuCs {
  ctx_id: number;
  bo_list_handle?: number;
  flags?: number;
  chunks: DrmAmdgpuCsChunk[];
  handle?: number;
}

/**
 * `union drm_amdgpu_wait_cs`: in `handle`, `timeout` (absolute, virtual ns; the kernel's is
 * absolute too), `ip_type`, `ip_instance`, `ring`, `ctx_id`; out `status` (1 while still busy).
 */
export interface DrmAmdgpuWaitCs {
  handle: number;
  timeout: number;
  ip_type: number;
  ip_instance?: number;
  ring: number;
  ctx_id: number;
  status?: number;
}

/** `AMDGPU_GEM_USERPTR_READONLY`. */
export const AMDGPU_GEM_USERPTR_READONLY = 1 << 0;
/** `AMDGPU_GEM_USERPTR_ANONONLY`. */
export const AMDGPU_GEM_USERPTR_ANONONLY = 1 << 1;
/** `AMDGPU_GEM_USERPTR_VALIDATE`. */
export const AMDGPU_GEM_USERPTR_VALIDATE = 1 << 2;
/** `AMDGPU_GEM_USERPTR_REGISTER`: register the MMU notifier (mandatory for writable ranges). */
export const AMDGPU_GEM_USERPTR_REGISTER = 1 << 3;

/** `struct drm_amdgpu_gem_userptr`: in `addr`, `size`, `flags`; out `handle`. */
export interface DrmAmdgpuGemUserptr {
  addr: number;
  size: number;
  flags: number;
  handle?: number;
}

/** `AMDGPU_USERQ_OP_CREATE`. */
export const AMDGPU_USERQ_OP_CREATE = 1;
/** `AMDGPU_USERQ_OP_FREE`. */
export const AMDGPU_USERQ_OP_FREE = 2;

/**
 * `union drm_amdgpu_userq`: in `op`, `ip_type`, `queue_id` (FREE), `bo_handles` (the BOs the
 * queue uses: ring, write pointer, and the data it works on); out `queue_id`. The kernel takes
 * the ring/wptr/rptr addresses in the VM; drmsim takes the BO handles, which is what the
 * eviction fence is attached to.
 */
export interface DrmAmdgpuUserq {
  op: number;
  ip_type?: number;
  queue_id?: number;
  flags?: number;
  bo_handles?: number[];
}

/** drmsim extension: queue `work_ns` of GPU work on user queue `queue_id` (a doorbell write). */
export interface DrmAmdgpuUserqDoorbell {
  queue_id: number;
  work_ns: number;
}
