/**
 * The amdgpu uAPI (`include/uapi/drm/amdgpu_drm.h`), the ioctls drmsim models, with the header's
 * numbers and argument layouts (the `in`/`out` unions, CS chunks behind a pointer to an array of
 * chunk pointers, chunk data counted in dwords).
 *
 * drmsim extensions the header has no room for, marked as such and visible to JavaScript callers
 * only: an IB's simulated execution time, hang injection and the bytes it writes or copies; the BOs a user
 * queue uses; and the user-queue doorbell ioctl standing in for the MMIO doorbell write of a real
 * user queue.
 */
import { DRM_COMMAND_BASE, DRM_IOWR } from "@drmsim/drm";
import {
  __s32,
  __u32,
  __u64,
  ext,
  KernelError,
  mbz,
  opaquePtr,
  type UapiArgsOf,
  uapiStruct,
  uapiUnion,
  userPtr,
} from "@drmsim/runtime";

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

/** `struct drm_amdgpu_gem_create_in`. */
export const drm_amdgpu_gem_create_in = uapiStruct(
  "drm_amdgpu_gem_create_in",
  { bo_size: __u64, alignment: __u64, domains: __u64, domain_flags: __u64 },
  { size: 32 },
);
/** `union drm_amdgpu_gem_create`: in `bo_size`, `alignment`, `domains`, `domain_flags`; out `handle`. */
export const drm_amdgpu_gem_create = uapiUnion(
  "drm_amdgpu_gem_create",
  {
    in: drm_amdgpu_gem_create_in,
    out: uapiStruct("drm_amdgpu_gem_create_out", { handle: __u32, _pad: __u32 }, { size: 8 }),
  },
  { size: 32, out: "out" },
);
/** `union drm_amdgpu_gem_create` as a caller passes it. */
export type DrmAmdgpuGemCreate = UapiArgsOf<typeof drm_amdgpu_gem_create>;

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

/** `struct drm_amdgpu_ctx_in`. */
export const drm_amdgpu_ctx_in = uapiStruct(
  "drm_amdgpu_ctx_in",
  { op: __u32, flags: __u32, ctx_id: __u32, priority: __s32 },
  { size: 16 },
);
/** `union drm_amdgpu_ctx_out`: `alloc.ctx_id` (ALLOC), `state` (QUERY_STATE, QUERY_STATE2), `pstate`. */
export const drm_amdgpu_ctx_out = uapiUnion(
  "drm_amdgpu_ctx_out",
  {
    alloc: uapiStruct("drm_amdgpu_ctx_out.alloc", { ctx_id: __u32, _pad: __u32 }, { size: 8 }),
    state: uapiStruct(
      "drm_amdgpu_ctx_out.state",
      { flags: __u64, hangs: __u32, reset_status: __u32 },
      { size: 16 },
    ),
    pstate: uapiStruct("drm_amdgpu_ctx_out.pstate", { flags: __u32, _pad: __u32 }, { size: 8 }),
  },
  { size: 16 },
);
/**
 * `union drm_amdgpu_ctx`: in `op`, `flags`, `ctx_id`, `priority`; out `alloc.ctx_id` (ALLOC),
 * `state.reset_status` (QUERY_STATE), `state.flags` (QUERY_STATE2).
 */
export const drm_amdgpu_ctx = uapiUnion(
  "drm_amdgpu_ctx",
  { in: drm_amdgpu_ctx_in, out: drm_amdgpu_ctx_out },
  { size: 16, out: "out" },
);
/** `union drm_amdgpu_ctx` as a caller passes it. */
export type DrmAmdgpuCtx = UapiArgsOf<typeof drm_amdgpu_ctx>;

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

/** Default execution time of an IB without `duration_ns`. */
export const AMDGPU_IB_DEFAULT_NS = 10_000;

/** drmsim extension of `drm_amdgpu_cs_chunk_ib`: bytes an IB writes into a BO of the BO list. */
export interface DrmAmdgpuIbFill {
  bo_handle: number;
  /** Byte offset in the BO (default 0). */
  offset?: number;
  data: Uint8Array | readonly number[];
}

function parseFill(v: unknown, field: string): DrmAmdgpuIbFill | undefined {
  if (v === undefined) return undefined;
  const bad = (why: string): never => {
    throw new KernelError("EINVAL", `${field}: ${why}`);
  };
  if (typeof v !== "object" || v === null) bad("must be an object");
  const r = v as Record<string, unknown>;
  const uint = (x: unknown, name: string) =>
    typeof x === "number" && Number.isSafeInteger(x) && x >= 0
      ? x
      : bad(`${name} must be a non-negative integer`);
  const d = r.data;
  if (
    !(d instanceof Uint8Array) &&
    !(Array.isArray(d) && d.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
  )
    bad("data must be a Uint8Array or an array of bytes");
  return {
    bo_handle: uint(r.bo_handle, "bo_handle"),
    offset: r.offset === undefined ? 0 : uint(r.offset, "offset"),
    data: Uint8Array.from(d as ArrayLike<number>),
  };
}

/**
 * drmsim extension of `drm_amdgpu_cs_chunk_ib`: a copy the IB makes between BOs of the BO list
 * (an SDMA or shader copy): `size` bytes from `src_handle` at `src_offset` to `dst_handle` at
 * `dst_offset`, read and written when the job completes.
 */
export interface DrmAmdgpuIbCopy {
  src_handle: number;
  src_offset?: number;
  dst_handle: number;
  dst_offset?: number;
  size: number;
}

function parseCopy(v: unknown, field: string): DrmAmdgpuIbCopy | undefined {
  if (v === undefined) return undefined;
  const bad = (why: string): never => {
    throw new KernelError("EINVAL", `${field}: ${why}`);
  };
  if (typeof v !== "object" || v === null) bad("must be an object");
  const r = v as Record<string, unknown>;
  const uint = (x: unknown, name: string) =>
    typeof x === "number" && Number.isSafeInteger(x) && x >= 0
      ? x
      : bad(`${name} must be a non-negative integer`);
  return {
    src_handle: uint(r.src_handle, "src_handle"),
    src_offset: r.src_offset === undefined ? 0 : uint(r.src_offset, "src_offset"),
    dst_handle: uint(r.dst_handle, "dst_handle"),
    dst_offset: r.dst_offset === undefined ? 0 : uint(r.dst_offset, "dst_offset"),
    size: uint(r.size, "size"),
  };
}

/**
 * `struct drm_amdgpu_cs_chunk_ib`: one IB for ring `ring` of IP `ip_type`. drmsim extensions for
 * JavaScript callers: `duration_ns` (how long the GPU executes it, default 10 µs), `hang` (it
 * never completes until the TDR resets the GPU), `fill` (what it writes: when the job completes
 * without error, `data` lands in the BO at `offset`, so interop tests can check that an importer
 * reads what this GPU wrote; the BO must be in the submission's BO list) and `copy` (bytes it
 * reads from one BO of the list and writes to another, at completion). Both reach an imported BO
 * through its mapping and a userptr BO through the process's pages (`amdgpu-ib-mem.ts`).
 */
export const drm_amdgpu_cs_chunk_ib = uapiStruct(
  "drm_amdgpu_cs_chunk_ib",
  {
    _pad: __u32,
    flags: __u32,
    va_start: __u64,
    ib_bytes: __u32,
    ip_type: __u32,
    ip_instance: __u32,
    ring: __u32,
    duration_ns: ext((v, field) => {
      if (v === undefined) return AMDGPU_IB_DEFAULT_NS;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
        throw new KernelError("EINVAL", `${field} must be a finite number >= 0, got ${String(v)}`);
      return v;
    }),
    hang: ext((v) => v === true),
    fill: ext(parseFill),
    copy: ext(parseCopy),
  },
  { size: 32 },
);
/** `struct drm_amdgpu_cs_chunk_ib` as a caller passes it. */
export type DrmAmdgpuCsChunkIb = UapiArgsOf<typeof drm_amdgpu_cs_chunk_ib>;

/** `struct drm_amdgpu_cs_chunk_dep`: wait for the submission `handle` of another context/ring. */
export const drm_amdgpu_cs_chunk_dep = uapiStruct(
  "drm_amdgpu_cs_chunk_dep",
  { ip_type: __u32, ip_instance: __u32, ring: __u32, ctx_id: __u32, handle: __u64 },
  { size: 24 },
);
/** `struct drm_amdgpu_cs_chunk_dep` as a caller passes it. */
export type DrmAmdgpuCsChunkDep = UapiArgsOf<typeof drm_amdgpu_cs_chunk_dep>;

/** `struct drm_amdgpu_cs_chunk_sem`: a syncobj handle (SYNCOBJ_IN / SYNCOBJ_OUT chunks). */
export const drm_amdgpu_cs_chunk_sem = uapiStruct("drm_amdgpu_cs_chunk_sem", { handle: __u32 }, { size: 4 });
/** `struct drm_amdgpu_cs_chunk_sem` as a caller passes it. */
export type DrmAmdgpuCsChunkSem = UapiArgsOf<typeof drm_amdgpu_cs_chunk_sem>;

/** `struct drm_amdgpu_cs_chunk_fence`: a user fence (BO handle and offset). */
export const drm_amdgpu_cs_chunk_fence = uapiStruct(
  "drm_amdgpu_cs_chunk_fence",
  { handle: __u32, offset: __u32 },
  { size: 8 },
);

/** `struct drm_amdgpu_bo_list_entry`. */
export const drm_amdgpu_bo_list_entry = uapiStruct(
  "drm_amdgpu_bo_list_entry",
  { bo_handle: __u32, bo_priority: __u32 },
  { size: 8 },
);
/** `struct drm_amdgpu_bo_list_entry` as a caller passes it. */
export type DrmAmdgpuBoListEntry = UapiArgsOf<typeof drm_amdgpu_bo_list_entry>;

/**
 * `struct drm_amdgpu_bo_list_in`: what a BO_HANDLES chunk carries — `bo_number` entries of
 * `bo_info_size` bytes at `bo_info_ptr`.
 */
export const drm_amdgpu_bo_list_in = uapiStruct(
  "drm_amdgpu_bo_list_in",
  {
    operation: __u32,
    list_handle: __u32,
    bo_number: __u32,
    bo_info_size: __u32,
    bo_info_ptr: userPtr(drm_amdgpu_bo_list_entry, "bo_number"),
  },
  { size: 24 },
);
/** `struct drm_amdgpu_bo_list_in` as a caller passes it. */
export type DrmAmdgpuBoListIn = UapiArgsOf<typeof drm_amdgpu_bo_list_in>;

/**
 * `struct drm_amdgpu_cs_chunk`: `length_dw` dwords of data at `chunk_data`, whose type `chunk_id`
 * decides (an IB, an array of dependencies or syncobjs, a BO list).
 */
export const drm_amdgpu_cs_chunk = uapiStruct(
  "drm_amdgpu_cs_chunk",
  { chunk_id: __u32, length_dw: __u32, chunk_data: opaquePtr(__u32, "length_dw") },
  { size: 16 },
);
/** `struct drm_amdgpu_cs_chunk` as a caller passes it. */
export type DrmAmdgpuCsChunk = UapiArgsOf<typeof drm_amdgpu_cs_chunk>;

/** `struct drm_amdgpu_cs_in`: `chunks` points to `num_chunks` pointers, each to a chunk. */
export const drm_amdgpu_cs_in = uapiStruct(
  "drm_amdgpu_cs_in",
  {
    ctx_id: __u32,
    bo_list_handle: __u32,
    num_chunks: __u32,
    flags: __u32,
    chunks: userPtr(userPtr(drm_amdgpu_cs_chunk), "num_chunks"),
  },
  { size: 24 },
);
/** `union drm_amdgpu_cs`: out `handle`, the submission's sequence number on its ring. */
export const drm_amdgpu_cs = uapiUnion(
  "drm_amdgpu_cs",
  { in: drm_amdgpu_cs_in, out: uapiStruct("drm_amdgpu_cs_out", { handle: __u64 }, { size: 8 }) },
  { size: 24, out: "out" },
);
/** `union drm_amdgpu_cs` as a caller passes it. */
export type DrmAmdgpuCs = UapiArgsOf<typeof drm_amdgpu_cs>;

/** `union drm_amdgpu_wait_cs`: in the submission and an absolute `timeout`; out `status` (0 done, 1 busy). */
export const drm_amdgpu_wait_cs = uapiUnion(
  "drm_amdgpu_wait_cs",
  {
    in: uapiStruct(
      "drm_amdgpu_wait_cs_in",
      { handle: __u64, timeout: __u64, ip_type: __u32, ip_instance: __u32, ring: __u32, ctx_id: __u32 },
      { size: 32 },
    ),
    out: uapiStruct("drm_amdgpu_wait_cs_out", { status: __u64 }, { size: 8 }),
  },
  { size: 32, out: "out" },
);
/** `union drm_amdgpu_wait_cs` as a caller passes it. */
export type DrmAmdgpuWaitCs = UapiArgsOf<typeof drm_amdgpu_wait_cs>;

/** `AMDGPU_GEM_USERPTR_READONLY`. */
export const AMDGPU_GEM_USERPTR_READONLY = 1 << 0;
/** `AMDGPU_GEM_USERPTR_ANONONLY`. */
export const AMDGPU_GEM_USERPTR_ANONONLY = 1 << 1;
/** `AMDGPU_GEM_USERPTR_VALIDATE`. */
export const AMDGPU_GEM_USERPTR_VALIDATE = 1 << 2;
/** `AMDGPU_GEM_USERPTR_REGISTER`: register the MMU notifier (mandatory for writable ranges). */
export const AMDGPU_GEM_USERPTR_REGISTER = 1 << 3;

/** `struct drm_amdgpu_gem_userptr`: a BO over `[addr, addr + size)` of the caller; out `handle`. */
export const drm_amdgpu_gem_userptr = uapiStruct(
  "drm_amdgpu_gem_userptr",
  { addr: __u64, size: __u64, flags: __u32, handle: __u32 },
  { size: 24 },
);
/** `struct drm_amdgpu_gem_userptr` as a caller passes it. */
export type DrmAmdgpuGemUserptr = UapiArgsOf<typeof drm_amdgpu_gem_userptr>;

/** `AMDGPU_USERQ_OP_CREATE`. */
export const AMDGPU_USERQ_OP_CREATE = 1;
/** `AMDGPU_USERQ_OP_FREE`. */
export const AMDGPU_USERQ_OP_FREE = 2;

/**
 * `union drm_amdgpu_userq`: in `op`, `ip_type`, `queue_id` (FREE); out `queue_id`. The kernel
 * takes the ring, read and write pointers and MQD as addresses in the VM; drmsim has no GPU VM
 * yet and ignores them. drmsim extension for JavaScript callers: `bo_handles`, the BOs the queue
 * uses (what its eviction fence is attached to), standing in for the VM's BOs.
 */
export const drm_amdgpu_userq = uapiUnion(
  "drm_amdgpu_userq",
  {
    in: uapiStruct(
      "drm_amdgpu_userq_in",
      {
        op: __u32,
        queue_id: __u32,
        ip_type: __u32,
        doorbell_handle: __u32,
        doorbell_offset: __u32,
        flags: mbz(__u32),
        queue_va: __u64,
        queue_size: __u64,
        rptr_va: __u64,
        wptr_va: __u64,
        mqd: __u64,
        mqd_size: __u64,
        bo_handles: ext((v, field) => {
          if (v === undefined) return [] as number[];
          if (!Array.isArray(v) || !v.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffff_ffff))
            throw new KernelError("EINVAL", `${field} must be an array of __u32 handles`);
          return v as number[];
        }),
      },
      { size: 72 },
    ),
    out: uapiStruct("drm_amdgpu_userq_out", { queue_id: __u32, _pad: __u32 }, { size: 8 }),
  },
  { size: 72, out: "out" },
);
/** `union drm_amdgpu_userq` as a caller passes it. */
export type DrmAmdgpuUserq = UapiArgsOf<typeof drm_amdgpu_userq>;

/**
 * drmsim extension, numbered past the header's ioctls: `struct drm_amdgpu_userq_doorbell` queues
 * `work_ns` of GPU work on user queue `queue_id` — what a doorbell write (MMIO) does to a real queue.
 */
export const drm_amdgpu_userq_doorbell = uapiStruct(
  "drm_amdgpu_userq_doorbell",
  { queue_id: __u32, pad: mbz(__u32), work_ns: __u64 },
  { size: 16 },
);
/** `struct drm_amdgpu_userq_doorbell` as a caller passes it. */
export type DrmAmdgpuUserqDoorbell = UapiArgsOf<typeof drm_amdgpu_userq_doorbell>;

/** `DRM_IOCTL_AMDGPU_GEM_CREATE`. */
export const DRM_IOCTL_AMDGPU_GEM_CREATE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_CREATE,
  drm_amdgpu_gem_create,
);
/** `DRM_IOCTL_AMDGPU_CTX`. */
export const DRM_IOCTL_AMDGPU_CTX = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_CTX, drm_amdgpu_ctx);
/** `DRM_IOCTL_AMDGPU_CS`. */
export const DRM_IOCTL_AMDGPU_CS = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_CS, drm_amdgpu_cs);
/** `DRM_IOCTL_AMDGPU_WAIT_CS`. */
export const DRM_IOCTL_AMDGPU_WAIT_CS = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_WAIT_CS, drm_amdgpu_wait_cs);
/** `DRM_IOCTL_AMDGPU_GEM_USERPTR`. */
export const DRM_IOCTL_AMDGPU_GEM_USERPTR = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_USERPTR,
  drm_amdgpu_gem_userptr,
);
/** `DRM_IOCTL_AMDGPU_USERQ`. */
export const DRM_IOCTL_AMDGPU_USERQ = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_USERQ, drm_amdgpu_userq);
/** drmsim extension: `DRM_IOCTL_AMDGPU_USERQ_DOORBELL`. */
export const DRM_IOCTL_AMDGPU_USERQ_DOORBELL = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_USERQ_DOORBELL,
  drm_amdgpu_userq_doorbell,
);
