/**
 * The amdgpu uAPI (`include/uapi/drm/amdgpu_drm.h`): every ioctl of the header with its number,
 * direction and argument layout, the structs those ioctls and the CS chunks carry, and the
 * constants userspace passes. The INFO query structs and constants are in `amdgpu-drm-info.ts`.
 *
 * Nothing here is a drmsim extension except the one ioctl numbered past the header's range,
 * `DRM_IOCTL_AMDGPU_SIM_DOORBELL`, which stands in for a user queue's MMIO doorbell write (see
 * `DIFFERENCES.md`). The simulation's knobs (how long an IB runs, whether it hangs, what it
 * writes) are not in any struct: the hardware model reads them from the IB's bytes
 * (`amdgpu-hw-model.ts`).
 */
import { DRM_COMMAND_BASE, DRM_IOW, DRM_IOWR } from "@drmsim/drm";
import {
  __s32,
  __u8,
  __u16,
  __u32,
  __u64,
  anonUnion,
  fixedArray,
  opaquePtr,
  type UapiArgsOf,
  uapiStruct,
  uapiUnion,
  userPtr,
} from "@drmsim/runtime";

// --- ioctl numbers ---------------------------------------------------------------------------

/** `DRM_AMDGPU_GEM_CREATE`. */
export const DRM_AMDGPU_GEM_CREATE = 0x00;
/** `DRM_AMDGPU_GEM_MMAP`. */
export const DRM_AMDGPU_GEM_MMAP = 0x01;
/** `DRM_AMDGPU_CTX`. */
export const DRM_AMDGPU_CTX = 0x02;
/** `DRM_AMDGPU_BO_LIST`. */
export const DRM_AMDGPU_BO_LIST = 0x03;
/** `DRM_AMDGPU_CS`. */
export const DRM_AMDGPU_CS = 0x04;
/** `DRM_AMDGPU_INFO`. */
export const DRM_AMDGPU_INFO = 0x05;
/** `DRM_AMDGPU_GEM_METADATA`. */
export const DRM_AMDGPU_GEM_METADATA = 0x06;
/** `DRM_AMDGPU_GEM_WAIT_IDLE`. */
export const DRM_AMDGPU_GEM_WAIT_IDLE = 0x07;
/** `DRM_AMDGPU_GEM_VA`. */
export const DRM_AMDGPU_GEM_VA = 0x08;
/** `DRM_AMDGPU_WAIT_CS`. */
export const DRM_AMDGPU_WAIT_CS = 0x09;
/** `DRM_AMDGPU_GEM_OP` (0x0a–0x0f are unused). */
export const DRM_AMDGPU_GEM_OP = 0x10;
/** `DRM_AMDGPU_GEM_USERPTR`. */
export const DRM_AMDGPU_GEM_USERPTR = 0x11;
/** `DRM_AMDGPU_WAIT_FENCES`. */
export const DRM_AMDGPU_WAIT_FENCES = 0x12;
/** `DRM_AMDGPU_VM`. */
export const DRM_AMDGPU_VM = 0x13;
/** `DRM_AMDGPU_FENCE_TO_HANDLE`. */
export const DRM_AMDGPU_FENCE_TO_HANDLE = 0x14;
/** `DRM_AMDGPU_SCHED`. */
export const DRM_AMDGPU_SCHED = 0x15;
/** `DRM_AMDGPU_USERQ`. */
export const DRM_AMDGPU_USERQ = 0x16;
/** `DRM_AMDGPU_USERQ_SIGNAL`. */
export const DRM_AMDGPU_USERQ_SIGNAL = 0x17;
/** `DRM_AMDGPU_USERQ_WAIT`. */
export const DRM_AMDGPU_USERQ_WAIT = 0x18;
/** `DRM_AMDGPU_GEM_LIST_HANDLES`. */
export const DRM_AMDGPU_GEM_LIST_HANDLES = 0x19;
/**
 * drmsim extension, numbered past the header's ioctls: the doorbell write of a user queue (a real
 * queue is kicked by a store to its doorbell page, which a simulated process cannot make).
 */
export const DRM_AMDGPU_SIM_DOORBELL = 0x50;

// --- GEM -------------------------------------------------------------------------------------

/** `AMDGPU_GEM_DOMAIN_CPU`: system pages the GPU cannot reach (swapped / unbound). */
export const AMDGPU_GEM_DOMAIN_CPU = 0x1;
/** `AMDGPU_GEM_DOMAIN_GTT`: system pages mapped through the GART. */
export const AMDGPU_GEM_DOMAIN_GTT = 0x2;
/** `AMDGPU_GEM_DOMAIN_VRAM`: device memory. */
export const AMDGPU_GEM_DOMAIN_VRAM = 0x4;
/** `AMDGPU_GEM_DOMAIN_GDS`: global data share (not modelled: GEM_CREATE refuses it). */
export const AMDGPU_GEM_DOMAIN_GDS = 0x8;
/** `AMDGPU_GEM_DOMAIN_GWS`: global wave sync (not modelled). */
export const AMDGPU_GEM_DOMAIN_GWS = 0x10;
/** `AMDGPU_GEM_DOMAIN_OA`: ordered append (not modelled). */
export const AMDGPU_GEM_DOMAIN_OA = 0x20;
/** `AMDGPU_GEM_DOMAIN_DOORBELL`: a page of the doorbell BAR, for user queues. */
export const AMDGPU_GEM_DOMAIN_DOORBELL = 0x40;
/** `AMDGPU_GEM_DOMAIN_MMIO_REMAP`: the remapped MMIO page (not modelled). */
export const AMDGPU_GEM_DOMAIN_MMIO_REMAP = 0x80;
/** `AMDGPU_GEM_DOMAIN_MASK`. */
export const AMDGPU_GEM_DOMAIN_MASK = 0xff;

/** `AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED`. */
export const AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED = 1 << 0;
/** `AMDGPU_GEM_CREATE_NO_CPU_ACCESS`: GEM_MMAP is `EPERM`. */
export const AMDGPU_GEM_CREATE_NO_CPU_ACCESS = 1 << 1;
/** `AMDGPU_GEM_CREATE_CPU_GTT_USWC`. */
export const AMDGPU_GEM_CREATE_CPU_GTT_USWC = 1 << 2;
/** `AMDGPU_GEM_CREATE_VRAM_CLEARED`. */
export const AMDGPU_GEM_CREATE_VRAM_CLEARED = 1 << 3;
/** `AMDGPU_GEM_CREATE_VRAM_CONTIGUOUS`. */
export const AMDGPU_GEM_CREATE_VRAM_CONTIGUOUS = 1 << 5;
/** `AMDGPU_GEM_CREATE_VM_ALWAYS_VALID`: the BO lives in the VM's reservation object (per-VM BO). */
export const AMDGPU_GEM_CREATE_VM_ALWAYS_VALID = 1 << 6;
/** `AMDGPU_GEM_CREATE_EXPLICIT_SYNC`: CS does not sync implicitly to this BO's fences. */
export const AMDGPU_GEM_CREATE_EXPLICIT_SYNC = 1 << 7;
/** `AMDGPU_GEM_CREATE_CP_MQD_GFX9` ("should never be used by user space"). */
export const AMDGPU_GEM_CREATE_CP_MQD_GFX9 = 1 << 8;
/** `AMDGPU_GEM_CREATE_VRAM_WIPE_ON_RELEASE`. */
export const AMDGPU_GEM_CREATE_VRAM_WIPE_ON_RELEASE = 1 << 9;
/** `AMDGPU_GEM_CREATE_ENCRYPTED` (TMZ; this device has none: `EINVAL`). */
export const AMDGPU_GEM_CREATE_ENCRYPTED = 1 << 10;
/** `AMDGPU_GEM_CREATE_PREEMPTIBLE`. */
export const AMDGPU_GEM_CREATE_PREEMPTIBLE = 1 << 11;
/** `AMDGPU_GEM_CREATE_DISCARDABLE`. */
export const AMDGPU_GEM_CREATE_DISCARDABLE = 1 << 12;
/** `AMDGPU_GEM_CREATE_COHERENT`. */
export const AMDGPU_GEM_CREATE_COHERENT = 1 << 13;
/** `AMDGPU_GEM_CREATE_UNCACHED`. */
export const AMDGPU_GEM_CREATE_UNCACHED = 1 << 14;
/** `AMDGPU_GEM_CREATE_EXT_COHERENT`. */
export const AMDGPU_GEM_CREATE_EXT_COHERENT = 1 << 15;
/** `AMDGPU_GEM_CREATE_GFX12_DCC`. */
export const AMDGPU_GEM_CREATE_GFX12_DCC = 1 << 16;
/** The creation flags `amdgpu_gem_create_ioctl` accepts from userspace (the rest are `EINVAL`). */
export const AMDGPU_GEM_CREATE_FLAGS_MASK =
  AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED |
  AMDGPU_GEM_CREATE_NO_CPU_ACCESS |
  AMDGPU_GEM_CREATE_CPU_GTT_USWC |
  AMDGPU_GEM_CREATE_VRAM_CLEARED |
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID |
  AMDGPU_GEM_CREATE_EXPLICIT_SYNC |
  AMDGPU_GEM_CREATE_ENCRYPTED |
  AMDGPU_GEM_CREATE_GFX12_DCC |
  AMDGPU_GEM_CREATE_DISCARDABLE;

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

/** `union drm_amdgpu_gem_mmap`: in `handle`; out `addr_ptr`, the fake offset to `mmap()` the BO at. */
export const drm_amdgpu_gem_mmap = uapiUnion(
  "drm_amdgpu_gem_mmap",
  {
    in: uapiStruct("drm_amdgpu_gem_mmap_in", { handle: __u32, _pad: __u32 }, { size: 8 }),
    out: uapiStruct("drm_amdgpu_gem_mmap_out", { addr_ptr: __u64 }, { size: 8 }),
  },
  { size: 8, out: "out" },
);
/** `union drm_amdgpu_gem_mmap` as a caller passes it. */
export type DrmAmdgpuGemMmap = UapiArgsOf<typeof drm_amdgpu_gem_mmap>;

/**
 * `union drm_amdgpu_gem_wait_idle`: in `handle`, `flags` (none defined), absolute `timeout`;
 * out `status` (1: still busy) and `domain`.
 */
export const drm_amdgpu_gem_wait_idle = uapiUnion(
  "drm_amdgpu_gem_wait_idle",
  {
    in: uapiStruct(
      "drm_amdgpu_gem_wait_idle_in",
      { handle: __u32, flags: __u32, timeout: __u64 },
      { size: 16 },
    ),
    out: uapiStruct("drm_amdgpu_gem_wait_idle_out", { status: __u32, domain: __u32 }, { size: 8 }),
  },
  { size: 16, out: "out" },
);
/** `union drm_amdgpu_gem_wait_idle` as a caller passes it. */
export type DrmAmdgpuGemWaitIdle = UapiArgsOf<typeof drm_amdgpu_gem_wait_idle>;

/** `AMDGPU_GEM_METADATA_OP_SET_METADATA`. */
export const AMDGPU_GEM_METADATA_OP_SET_METADATA = 1;
/** `AMDGPU_GEM_METADATA_OP_GET_METADATA`. */
export const AMDGPU_GEM_METADATA_OP_GET_METADATA = 2;

/** The `data` member of `struct drm_amdgpu_gem_metadata`: tiling, flags and up to 256 bytes of metadata. */
export const drm_amdgpu_gem_metadata_data = uapiStruct(
  "drm_amdgpu_gem_metadata.data",
  { flags: __u64, tiling_info: __u64, data_size_bytes: __u32, data: fixedArray(__u32, 64) },
  { size: 280 },
);
/** `struct drm_amdgpu_gem_metadata`: what a BO's importer needs to read it (tiling, DCC, …). */
export const drm_amdgpu_gem_metadata = uapiStruct(
  "drm_amdgpu_gem_metadata",
  { handle: __u32, op: __u32, data: drm_amdgpu_gem_metadata_data },
  { size: 288 },
);
/** `struct drm_amdgpu_gem_metadata` as a caller passes it. */
export type DrmAmdgpuGemMetadata = UapiArgsOf<typeof drm_amdgpu_gem_metadata>;

/** `AMDGPU_GEM_OP_GET_GEM_CREATE_INFO`: `value` points to a `drm_amdgpu_gem_create_in` to fill. */
export const AMDGPU_GEM_OP_GET_GEM_CREATE_INFO = 0;
/** `AMDGPU_GEM_OP_SET_PLACEMENT`: `value` is the new preferred domains. */
export const AMDGPU_GEM_OP_SET_PLACEMENT = 1;
/** `AMDGPU_GEM_OP_GET_MAPPING_INFO`: `value` points to `num_entries` `drm_amdgpu_gem_vm_entry`. */
export const AMDGPU_GEM_OP_GET_MAPPING_INFO = 2;

/** `struct drm_amdgpu_gem_vm_entry`: one mapping of a BO in the caller's VM. */
export const drm_amdgpu_gem_vm_entry = uapiStruct(
  "drm_amdgpu_gem_vm_entry",
  { addr: __u64, size: __u64, offset: __u64, flags: __u64 },
  { size: 32 },
);

/**
 * `struct drm_amdgpu_gem_op`: `op` on BO `handle`; `value` and `num_entries` by op. `value` is a
 * number for SET_PLACEMENT and a user pointer for the GET ops: a JavaScript caller passes the
 * pointer as `value_ptr` (drmsim's name for the same bytes, an anonymous union of the two).
 */
export const drm_amdgpu_gem_op = uapiStruct(
  "drm_amdgpu_gem_op",
  {
    handle: __u32,
    op: __u32,
    value: anonUnion({ value: __u64 }, { value_ptr: opaquePtr(__u8) }),
    num_entries: __u32,
    padding: __u32,
  },
  { size: 24 },
);
/** `struct drm_amdgpu_gem_op` as a caller passes it. */
export type DrmAmdgpuGemOp = UapiArgsOf<typeof drm_amdgpu_gem_op>;

/** `AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT`. */
export const AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT = 1 << 0;

/** `struct drm_amdgpu_gem_list_handles_entry`. */
export const drm_amdgpu_gem_list_handles_entry = uapiStruct(
  "drm_amdgpu_gem_list_handles_entry",
  {
    gem_handle: __u32,
    flags: __u32,
    size: __u64,
    preferred_domains: __u64,
    alloc_flags: __u64,
    alignment: __u64,
  },
  { size: 40 },
);

/** `struct drm_amdgpu_gem_list_handles`: the file's BOs into `num_entries` entries (in/out). */
export const drm_amdgpu_gem_list_handles = uapiStruct(
  "drm_amdgpu_gem_list_handles",
  { entries: userPtr(drm_amdgpu_gem_list_handles_entry, "num_entries"), num_entries: __u32, padding: __u32 },
  { size: 16 },
);
/** `struct drm_amdgpu_gem_list_handles` as a caller passes it. */
export type DrmAmdgpuGemListHandles = UapiArgsOf<typeof drm_amdgpu_gem_list_handles>;

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

// --- GEM_VA ----------------------------------------------------------------------------------

/** `AMDGPU_VA_OP_MAP`. */
export const AMDGPU_VA_OP_MAP = 1;
/** `AMDGPU_VA_OP_UNMAP`: the mapping that starts at `va_address`. */
export const AMDGPU_VA_OP_UNMAP = 2;
/** `AMDGPU_VA_OP_CLEAR`: every mapping in `[va_address, va_address + map_size)`, of any BO. */
export const AMDGPU_VA_OP_CLEAR = 3;
/** `AMDGPU_VA_OP_REPLACE`: CLEAR the range, then MAP. */
export const AMDGPU_VA_OP_REPLACE = 4;

/** `AMDGPU_VM_DELAY_UPDATE`: leave the page tables to the next CS. */
export const AMDGPU_VM_DELAY_UPDATE = 1 << 0;
/** `AMDGPU_VM_PAGE_READABLE`. */
export const AMDGPU_VM_PAGE_READABLE = 1 << 1;
/** `AMDGPU_VM_PAGE_WRITEABLE`. */
export const AMDGPU_VM_PAGE_WRITEABLE = 1 << 2;
/** `AMDGPU_VM_PAGE_EXECUTABLE`. */
export const AMDGPU_VM_PAGE_EXECUTABLE = 1 << 3;
/** `AMDGPU_VM_PAGE_PRT`: a partially resident texture range, backed by no BO. */
export const AMDGPU_VM_PAGE_PRT = 1 << 4;
/** `AMDGPU_VM_MTYPE_MASK`. */
export const AMDGPU_VM_MTYPE_MASK = 0xf << 5;
/** `AMDGPU_VM_MTYPE_DEFAULT`. */
export const AMDGPU_VM_MTYPE_DEFAULT = 0 << 5;
/** `AMDGPU_VM_MTYPE_NC`. */
export const AMDGPU_VM_MTYPE_NC = 1 << 5;
/** `AMDGPU_VM_MTYPE_WC`. */
export const AMDGPU_VM_MTYPE_WC = 2 << 5;
/** `AMDGPU_VM_MTYPE_CC`. */
export const AMDGPU_VM_MTYPE_CC = 3 << 5;
/** `AMDGPU_VM_MTYPE_UC`. */
export const AMDGPU_VM_MTYPE_UC = 4 << 5;
/** `AMDGPU_VM_MTYPE_RW`. */
export const AMDGPU_VM_MTYPE_RW = 5 << 5;
/** `AMDGPU_VM_PAGE_NOALLOC`. */
export const AMDGPU_VM_PAGE_NOALLOC = 1 << 9;

/**
 * `struct drm_amdgpu_gem_va`: map, unmap, clear or replace `map_size` bytes at `va_address` of
 * the caller's GPU VM, backed by BO `handle` from `offset_in_bo`. The page-table update's fence
 * can go to `vm_timeline_syncobj_out` (at `vm_timeline_point`); the syncobjs in
 * `input_fence_syncobj_handles` are waited for first. 40-byte callers (before the timeline
 * members) are zero-extended by `drm_ioctl`.
 */
export const drm_amdgpu_gem_va = uapiStruct(
  "drm_amdgpu_gem_va",
  {
    handle: __u32,
    _pad: __u32,
    operation: __u32,
    flags: __u32,
    va_address: __u64,
    offset_in_bo: __u64,
    map_size: __u64,
    vm_timeline_point: __u64,
    vm_timeline_syncobj_out: __u32,
    num_syncobj_handles: __u32,
    input_fence_syncobj_handles: userPtr(__u32, "num_syncobj_handles"),
  },
  { size: 64 },
);
/** `struct drm_amdgpu_gem_va` as a caller passes it. */
export type DrmAmdgpuGemVa = UapiArgsOf<typeof drm_amdgpu_gem_va>;

// --- contexts --------------------------------------------------------------------------------

/** `AMDGPU_CTX_OP_ALLOC_CTX`. */
export const AMDGPU_CTX_OP_ALLOC_CTX = 1;
/** `AMDGPU_CTX_OP_FREE_CTX`. */
export const AMDGPU_CTX_OP_FREE_CTX = 2;
/** `AMDGPU_CTX_OP_QUERY_STATE`. */
export const AMDGPU_CTX_OP_QUERY_STATE = 3;
/** `AMDGPU_CTX_OP_QUERY_STATE2`. */
export const AMDGPU_CTX_OP_QUERY_STATE2 = 4;
/** `AMDGPU_CTX_OP_GET_STABLE_PSTATE`. */
export const AMDGPU_CTX_OP_GET_STABLE_PSTATE = 5;
/** `AMDGPU_CTX_OP_SET_STABLE_PSTATE`. */
export const AMDGPU_CTX_OP_SET_STABLE_PSTATE = 6;

/** `AMDGPU_CTX_NO_RESET`. */
export const AMDGPU_CTX_NO_RESET = 0;
/** `AMDGPU_CTX_GUILTY_RESET`. */
export const AMDGPU_CTX_GUILTY_RESET = 1;
/** `AMDGPU_CTX_INNOCENT_RESET`. */
export const AMDGPU_CTX_INNOCENT_RESET = 2;
/** `AMDGPU_CTX_UNKNOWN_RESET`: what QUERY_STATE reports for any reset since the last query. */
export const AMDGPU_CTX_UNKNOWN_RESET = 3;

/** `AMDGPU_CTX_QUERY2_FLAGS_RESET`: a GPU reset happened since the context was created. */
export const AMDGPU_CTX_QUERY2_FLAGS_RESET = 1 << 0;
/** `AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST`: VRAM contents were lost since the context was created. */
export const AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST = 1 << 1;
/** `AMDGPU_CTX_QUERY2_FLAGS_GUILTY`: a job of this context caused a hang. */
export const AMDGPU_CTX_QUERY2_FLAGS_GUILTY = 1 << 2;
/** `AMDGPU_CTX_QUERY2_FLAGS_RAS_CE`. */
export const AMDGPU_CTX_QUERY2_FLAGS_RAS_CE = 1 << 3;
/** `AMDGPU_CTX_QUERY2_FLAGS_RAS_UE`. */
export const AMDGPU_CTX_QUERY2_FLAGS_RAS_UE = 1 << 4;
/** `AMDGPU_CTX_QUERY2_FLAGS_RESET_IN_PROGRESS`. */
export const AMDGPU_CTX_QUERY2_FLAGS_RESET_IN_PROGRESS = 1 << 5;

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

/** `AMDGPU_CTX_STABLE_PSTATE_FLAGS_MASK`. */
export const AMDGPU_CTX_STABLE_PSTATE_FLAGS_MASK = 0xf;
/** `AMDGPU_CTX_STABLE_PSTATE_NONE`. */
export const AMDGPU_CTX_STABLE_PSTATE_NONE = 0;
/** `AMDGPU_CTX_STABLE_PSTATE_STANDARD`. */
export const AMDGPU_CTX_STABLE_PSTATE_STANDARD = 1;
/** `AMDGPU_CTX_STABLE_PSTATE_MIN_SCLK`. */
export const AMDGPU_CTX_STABLE_PSTATE_MIN_SCLK = 2;
/** `AMDGPU_CTX_STABLE_PSTATE_MIN_MCLK`. */
export const AMDGPU_CTX_STABLE_PSTATE_MIN_MCLK = 3;
/** `AMDGPU_CTX_STABLE_PSTATE_PEAK`. */
export const AMDGPU_CTX_STABLE_PSTATE_PEAK = 4;

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
 * `state.reset_status` (QUERY_STATE), `state.flags` (QUERY_STATE2), `pstate.flags`.
 */
export const drm_amdgpu_ctx = uapiUnion(
  "drm_amdgpu_ctx",
  { in: drm_amdgpu_ctx_in, out: drm_amdgpu_ctx_out },
  { size: 16, out: "out" },
);
/** `union drm_amdgpu_ctx` as a caller passes it. */
export type DrmAmdgpuCtx = UapiArgsOf<typeof drm_amdgpu_ctx>;

/** `AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE`: every context of the file behind `fd`. */
export const AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE = 1;
/** `AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE`: context `ctx_id` of the file behind `fd`. */
export const AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE = 2;

/** `union drm_amdgpu_sched`: a DRM master overrides the priority of another file's contexts. */
export const drm_amdgpu_sched = uapiUnion(
  "drm_amdgpu_sched",
  {
    in: uapiStruct(
      "drm_amdgpu_sched_in",
      { op: __u32, fd: __u32, priority: __s32, ctx_id: __u32 },
      { size: 16 },
    ),
  },
  { size: 16 },
);
/** `union drm_amdgpu_sched` as a caller passes it. */
export type DrmAmdgpuSched = UapiArgsOf<typeof drm_amdgpu_sched>;

// --- VM --------------------------------------------------------------------------------------

/** `AMDGPU_VM_OP_RESERVE_VMID`: the VM's jobs use one VMID kept for it alone. */
export const AMDGPU_VM_OP_RESERVE_VMID = 1;
/** `AMDGPU_VM_OP_UNRESERVE_VMID`. */
export const AMDGPU_VM_OP_UNRESERVE_VMID = 2;

/** `union drm_amdgpu_vm`: in `op`, `flags` (none defined); out `flags`. */
export const drm_amdgpu_vm = uapiUnion(
  "drm_amdgpu_vm",
  {
    in: uapiStruct("drm_amdgpu_vm_in", { op: __u32, flags: __u32 }, { size: 8 }),
    out: uapiStruct("drm_amdgpu_vm_out", { flags: __u64 }, { size: 8 }),
  },
  { size: 8, out: "out" },
);
/** `union drm_amdgpu_vm` as a caller passes it. */
export type DrmAmdgpuVmArgs = UapiArgsOf<typeof drm_amdgpu_vm>;

// --- BO lists --------------------------------------------------------------------------------

/** `AMDGPU_BO_LIST_OP_CREATE`. */
export const AMDGPU_BO_LIST_OP_CREATE = 0;
/** `AMDGPU_BO_LIST_OP_DESTROY`. */
export const AMDGPU_BO_LIST_OP_DESTROY = 1;
/** `AMDGPU_BO_LIST_OP_UPDATE`. */
export const AMDGPU_BO_LIST_OP_UPDATE = 2;

/** `struct drm_amdgpu_bo_list_entry`. */
export const drm_amdgpu_bo_list_entry = uapiStruct(
  "drm_amdgpu_bo_list_entry",
  { bo_handle: __u32, bo_priority: __u32 },
  { size: 8 },
);
/** `struct drm_amdgpu_bo_list_entry` as a caller passes it. */
export type DrmAmdgpuBoListEntry = UapiArgsOf<typeof drm_amdgpu_bo_list_entry>;

/**
 * `struct drm_amdgpu_bo_list_in`: `bo_number` entries of `bo_info_size` bytes at `bo_info_ptr`
 * (the BO_LIST ioctl's in, and what a BO_HANDLES chunk carries).
 */
export const drm_amdgpu_bo_list_in = uapiStruct(
  "drm_amdgpu_bo_list_in",
  {
    operation: __u32,
    list_handle: __u32,
    bo_number: __u32,
    bo_info_size: __u32,
    bo_info_ptr: opaquePtr(__u32),
  },
  { size: 24 },
);
/** `struct drm_amdgpu_bo_list_in` as a caller passes it. */
export type DrmAmdgpuBoListIn = UapiArgsOf<typeof drm_amdgpu_bo_list_in>;

/** `union drm_amdgpu_bo_list`: out `list_handle`. */
export const drm_amdgpu_bo_list = uapiUnion(
  "drm_amdgpu_bo_list",
  {
    in: drm_amdgpu_bo_list_in,
    out: uapiStruct("drm_amdgpu_bo_list_out", { list_handle: __u32, _pad: __u32 }, { size: 8 }),
  },
  { size: 24, out: "out" },
);
/** `union drm_amdgpu_bo_list` as a caller passes it. */
export type DrmAmdgpuBoList = UapiArgsOf<typeof drm_amdgpu_bo_list>;

// --- command submission ----------------------------------------------------------------------

/** `AMDGPU_HW_IP_GFX`. */
export const AMDGPU_HW_IP_GFX = 0;
/** `AMDGPU_HW_IP_COMPUTE`. */
export const AMDGPU_HW_IP_COMPUTE = 1;
/** `AMDGPU_HW_IP_DMA` (SDMA). */
export const AMDGPU_HW_IP_DMA = 2;
/** `AMDGPU_HW_IP_UVD`. */
export const AMDGPU_HW_IP_UVD = 3;
/** `AMDGPU_HW_IP_VCE`. */
export const AMDGPU_HW_IP_VCE = 4;
/** `AMDGPU_HW_IP_UVD_ENC`. */
export const AMDGPU_HW_IP_UVD_ENC = 5;
/** `AMDGPU_HW_IP_VCN_DEC`. */
export const AMDGPU_HW_IP_VCN_DEC = 6;
/** `AMDGPU_HW_IP_VCN_ENC`. */
export const AMDGPU_HW_IP_VCN_ENC = 7;
/** `AMDGPU_HW_IP_VCN_JPEG`. */
export const AMDGPU_HW_IP_VCN_JPEG = 8;
/** `AMDGPU_HW_IP_VPE`. */
export const AMDGPU_HW_IP_VPE = 9;
/** `AMDGPU_HW_IP_NUM`. */
export const AMDGPU_HW_IP_NUM = 10;
/** `AMDGPU_HW_IP_INSTANCE_MAX_COUNT`. */
export const AMDGPU_HW_IP_INSTANCE_MAX_COUNT = 1;
/** An `AMDGPU_HW_IP_*` this device has rings for (the multimedia IPs are not modelled). */
export type AmdgpuHwIp = typeof AMDGPU_HW_IP_GFX | typeof AMDGPU_HW_IP_COMPUTE | typeof AMDGPU_HW_IP_DMA;

/** `AMDGPU_CHUNK_ID_IB`. */
export const AMDGPU_CHUNK_ID_IB = 0x01;
/** `AMDGPU_CHUNK_ID_FENCE`: a user fence (a page-sized BO and an offset). */
export const AMDGPU_CHUNK_ID_FENCE = 0x02;
/** `AMDGPU_CHUNK_ID_DEPENDENCIES`. */
export const AMDGPU_CHUNK_ID_DEPENDENCIES = 0x03;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_IN`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_IN = 0x04;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_OUT`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_OUT = 0x05;
/** `AMDGPU_CHUNK_ID_BO_HANDLES`. */
export const AMDGPU_CHUNK_ID_BO_HANDLES = 0x06;
/** `AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES`: wait for other submissions to be *scheduled*. */
export const AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES = 0x07;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT = 0x08;
/** `AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL`. */
export const AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL = 0x09;
/** `AMDGPU_CHUNK_ID_CP_GFX_SHADOW`. */
export const AMDGPU_CHUNK_ID_CP_GFX_SHADOW = 0x0a;

/** `AMDGPU_IB_FLAG_CE`. */
export const AMDGPU_IB_FLAG_CE = 1 << 0;
/** `AMDGPU_IB_FLAG_PREAMBLE`. */
export const AMDGPU_IB_FLAG_PREAMBLE = 1 << 1;
/** `AMDGPU_IB_FLAG_PREEMPT`: at most one per CE and one per DE in a gfx submission. */
export const AMDGPU_IB_FLAG_PREEMPT = 1 << 2;
/** `AMDGPU_IB_FLAG_TC_WB_NOT_INVALIDATE`. */
export const AMDGPU_IB_FLAG_TC_WB_NOT_INVALIDATE = 1 << 3;
/** `AMDGPU_IB_FLAG_RESET_GDS_MAX_WAVE_ID`. */
export const AMDGPU_IB_FLAG_RESET_GDS_MAX_WAVE_ID = 1 << 4;
/** `AMDGPU_IB_FLAGS_SECURE`. */
export const AMDGPU_IB_FLAGS_SECURE = 1 << 5;
/** `AMDGPU_IB_FLAG_EMIT_MEM_SYNC`. */
export const AMDGPU_IB_FLAG_EMIT_MEM_SYNC = 1 << 6;

/** `AMDGPU_CS_GANG_SIZE`: at most this many jobs (distinct rings) in one submission. */
export const AMDGPU_CS_GANG_SIZE = 4;

/**
 * `struct drm_amdgpu_cs_chunk_ib`: one IB — `ib_bytes` of commands at `va_start` in the caller's
 * GPU VM — for ring `ring` of IP `ip_type`.
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

/** `struct drm_amdgpu_cs_chunk_sem`: a binary syncobj handle (SYNCOBJ_IN / SYNCOBJ_OUT chunks). */
export const drm_amdgpu_cs_chunk_sem = uapiStruct("drm_amdgpu_cs_chunk_sem", { handle: __u32 }, { size: 4 });
/** `struct drm_amdgpu_cs_chunk_sem` as a caller passes it. */
export type DrmAmdgpuCsChunkSem = UapiArgsOf<typeof drm_amdgpu_cs_chunk_sem>;

/** `struct drm_amdgpu_cs_chunk_syncobj`: a syncobj `handle` at timeline `point` (`flags` for waits). */
export const drm_amdgpu_cs_chunk_syncobj = uapiStruct(
  "drm_amdgpu_cs_chunk_syncobj",
  { handle: __u32, flags: __u32, point: __u64 },
  { size: 16 },
);
/** `struct drm_amdgpu_cs_chunk_syncobj` as a caller passes it. */
export type DrmAmdgpuCsChunkSyncobj = UapiArgsOf<typeof drm_amdgpu_cs_chunk_syncobj>;

/** `struct drm_amdgpu_cs_chunk_fence`: a user fence, the BO `handle` and the byte `offset` of the 64-bit value. */
export const drm_amdgpu_cs_chunk_fence = uapiStruct(
  "drm_amdgpu_cs_chunk_fence",
  { handle: __u32, offset: __u32 },
  { size: 8 },
);
/** `struct drm_amdgpu_cs_chunk_fence` as a caller passes it. */
export type DrmAmdgpuCsChunkFence = UapiArgsOf<typeof drm_amdgpu_cs_chunk_fence>;

/** `AMDGPU_CS_CHUNK_CP_GFX_SHADOW_FLAGS_INIT_SHADOW`. */
export const AMDGPU_CS_CHUNK_CP_GFX_SHADOW_FLAGS_INIT_SHADOW = 1;

/** `struct drm_amdgpu_cs_chunk_cp_gfx_shadow`: the gfx shadow, CSA and GDS areas of the submission. */
export const drm_amdgpu_cs_chunk_cp_gfx_shadow = uapiStruct(
  "drm_amdgpu_cs_chunk_cp_gfx_shadow",
  { shadow_va: __u64, csa_va: __u64, gds_va: __u64, flags: __u64 },
  { size: 32 },
);

/** `struct drm_amdgpu_cs_chunk_data`: the legacy union of an IB and a fence chunk (no ioctl uses it). */
export const drm_amdgpu_cs_chunk_data = uapiUnion(
  "drm_amdgpu_cs_chunk_data",
  { ib_data: drm_amdgpu_cs_chunk_ib, fence_data: drm_amdgpu_cs_chunk_fence },
  { size: 32 },
);

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

/**
 * `union drm_amdgpu_wait_cs`: in the submission (`handle` 0: nothing to wait for; `~0ull`: the
 * newest) and an absolute `timeout`; out `status` (0 done, 1 busy).
 */
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

/** `struct drm_amdgpu_fence`: a submission named by its context, ring and sequence number. */
export const drm_amdgpu_fence = uapiStruct(
  "drm_amdgpu_fence",
  { ctx_id: __u32, ip_type: __u32, ip_instance: __u32, ring: __u32, seq_no: __u64 },
  { size: 24 },
);
/** `struct drm_amdgpu_fence` as a caller passes it. */
export type DrmAmdgpuFence = UapiArgsOf<typeof drm_amdgpu_fence>;

/**
 * `union drm_amdgpu_wait_fences`: in `fence_count` `drm_amdgpu_fence`s at `fences`, `wait_all`,
 * an absolute `timeout_ns`; out `status` (1: signalled) and `first_signaled` (wait-any).
 */
export const drm_amdgpu_wait_fences = uapiUnion(
  "drm_amdgpu_wait_fences",
  {
    in: uapiStruct(
      "drm_amdgpu_wait_fences_in",
      {
        fences: userPtr(drm_amdgpu_fence, "fence_count"),
        fence_count: __u32,
        wait_all: __u32,
        timeout_ns: __u64,
      },
      { size: 24 },
    ),
    out: uapiStruct("drm_amdgpu_wait_fences_out", { status: __u32, first_signaled: __u32 }, { size: 8 }),
  },
  { size: 24, out: "out" },
);
/** `union drm_amdgpu_wait_fences` as a caller passes it. */
export type DrmAmdgpuWaitFences = UapiArgsOf<typeof drm_amdgpu_wait_fences>;

/** `AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ`. */
export const AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ = 0;
/** `AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD`. */
export const AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD = 1;
/** `AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD`. */
export const AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD = 2;

/** `union drm_amdgpu_fence_to_handle`: a submission's fence as a syncobj, syncobj fd or sync_file fd. */
export const drm_amdgpu_fence_to_handle = uapiUnion(
  "drm_amdgpu_fence_to_handle",
  {
    in: uapiStruct(
      "drm_amdgpu_fence_to_handle.in",
      { fence: drm_amdgpu_fence, what: __u32, pad: __u32 },
      { size: 32 },
    ),
    out: uapiStruct("drm_amdgpu_fence_to_handle.out", { handle: __u32 }, { size: 4 }),
  },
  { size: 32, out: "out" },
);
/** `union drm_amdgpu_fence_to_handle` as a caller passes it. */
export type DrmAmdgpuFenceToHandle = UapiArgsOf<typeof drm_amdgpu_fence_to_handle>;

// --- user queues -----------------------------------------------------------------------------

/** `AMDGPU_USERQ_OP_CREATE`. */
export const AMDGPU_USERQ_OP_CREATE = 1;
/** `AMDGPU_USERQ_OP_FREE`. */
export const AMDGPU_USERQ_OP_FREE = 2;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_MASK`. */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_MASK = 0x3;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_SHIFT`. */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_SHIFT = 0;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_NORMAL_LOW`. */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_NORMAL_LOW = 0;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_LOW`. */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_LOW = 1;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_NORMAL_HIGH`. */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_NORMAL_HIGH = 2;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_HIGH` ("admin only"). */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_PRIORITY_HIGH = 3;
/** `AMDGPU_USERQ_CREATE_FLAGS_QUEUE_SECURE` (TMZ; this device has none). */
export const AMDGPU_USERQ_CREATE_FLAGS_QUEUE_SECURE = 1 << 2;

/**
 * `union drm_amdgpu_userq`: in `op`, `queue_id` (FREE), `ip_type`, the doorbell BO and the
 * queue's index in it, `flags` (priority, secure), and the queue's memory as addresses in the
 * caller's VM: the ring (`queue_va`, `queue_size` bytes), the read and write pointers, and the
 * IP-specific MQD (`mqd`, `mqd_size`: a `drm_amdgpu_userq_mqd_*_gfx11`); out `queue_id`.
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
        flags: __u32,
        queue_va: __u64,
        queue_size: __u64,
        rptr_va: __u64,
        wptr_va: __u64,
        mqd: opaquePtr(__u64),
        mqd_size: __u64,
      },
      { size: 72 },
    ),
    out: uapiStruct("drm_amdgpu_userq_out", { queue_id: __u32, _pad: __u32 }, { size: 8 }),
  },
  { size: 72, out: "out" },
);
/** `union drm_amdgpu_userq` as a caller passes it. */
export type DrmAmdgpuUserq = UapiArgsOf<typeof drm_amdgpu_userq>;

/** `struct drm_amdgpu_userq_mqd_gfx11`: the gfx queue's shadow and CSA areas. */
export const drm_amdgpu_userq_mqd_gfx11 = uapiStruct(
  "drm_amdgpu_userq_mqd_gfx11",
  { shadow_va: __u64, csa_va: __u64 },
  { size: 16 },
);
/** `struct drm_amdgpu_userq_mqd_sdma_gfx11`: the SDMA queue's CSA. */
export const drm_amdgpu_userq_mqd_sdma_gfx11 = uapiStruct(
  "drm_amdgpu_userq_mqd_sdma_gfx11",
  { csa_va: __u64 },
  { size: 8 },
);
/** `struct drm_amdgpu_userq_mqd_compute_gfx11`: the compute queue's end-of-pipe buffer. */
export const drm_amdgpu_userq_mqd_compute_gfx11 = uapiStruct(
  "drm_amdgpu_userq_mqd_compute_gfx11",
  { eop_va: __u64 },
  { size: 8 },
);

/**
 * `struct drm_amdgpu_userq_signal`: a fence for the work queued so far on `queue_id`, installed
 * in the syncobjs and added to the BOs' reservation objects (READ or WRITE).
 */
export const drm_amdgpu_userq_signal = uapiStruct(
  "drm_amdgpu_userq_signal",
  {
    queue_id: __u32,
    pad: __u32,
    syncobj_handles: userPtr(__u32, "num_syncobj_handles"),
    num_syncobj_handles: __u64,
    bo_read_handles: userPtr(__u32, "num_bo_read_handles"),
    bo_write_handles: userPtr(__u32, "num_bo_write_handles"),
    num_bo_read_handles: __u32,
    num_bo_write_handles: __u32,
  },
  { size: 48 },
);
/** `struct drm_amdgpu_userq_signal` as a caller passes it. */
export type DrmAmdgpuUserqSignal = UapiArgsOf<typeof drm_amdgpu_userq_signal>;

/** `struct drm_amdgpu_userq_fence_info`: wait until the 64-bit value at `va` reaches `value`. */
export const drm_amdgpu_userq_fence_info = uapiStruct(
  "drm_amdgpu_userq_fence_info",
  { va: __u64, value: __u64 },
  { size: 16 },
);

/**
 * `struct drm_amdgpu_userq_wait`: the fences queue `waitq_id` must wait for — from syncobjs
 * (binary and timeline) and the BOs' reservation objects. With `num_fences` 0 the kernel counts
 * them; otherwise it waits for other drivers' fences itself and returns the user-queue fences as
 * `drm_amdgpu_userq_fence_info` in `out_fences` for the queue to wait on (`num_fences` in/out).
 */
export const drm_amdgpu_userq_wait = uapiStruct(
  "drm_amdgpu_userq_wait",
  {
    waitq_id: __u32,
    pad: __u32,
    syncobj_handles: userPtr(__u32, "num_syncobj_handles"),
    syncobj_timeline_handles: userPtr(__u32, "num_syncobj_timeline_handles"),
    syncobj_timeline_points: userPtr(__u64, "num_syncobj_timeline_handles"),
    bo_read_handles: userPtr(__u32, "num_bo_read_handles"),
    bo_write_handles: userPtr(__u32, "num_bo_write_handles"),
    num_syncobj_timeline_handles: __u16,
    num_fences: __u16,
    num_syncobj_handles: __u32,
    num_bo_read_handles: __u32,
    num_bo_write_handles: __u32,
    out_fences: userPtr(drm_amdgpu_userq_fence_info, "num_fences"),
  },
  { size: 72 },
);
/** `struct drm_amdgpu_userq_wait` as a caller passes it. */
export type DrmAmdgpuUserqWait = UapiArgsOf<typeof drm_amdgpu_userq_wait>;

/**
 * drmsim extension (`DRM_IOCTL_AMDGPU_SIM_DOORBELL`): the store of `value` to doorbell
 * `doorbell_offset` of doorbell BO `doorbell_handle` — what userspace does through its mapping of
 * the doorbell page to tell a user queue its new write pointer.
 */
export const drm_amdgpu_sim_doorbell = uapiStruct(
  "drm_amdgpu_sim_doorbell",
  { doorbell_handle: __u32, doorbell_offset: __u32, value: __u64 },
  { size: 16 },
);
/** `struct drm_amdgpu_sim_doorbell` as a caller passes it. */
export type DrmAmdgpuSimDoorbell = UapiArgsOf<typeof drm_amdgpu_sim_doorbell>;

// --- tiling (GEM_METADATA tiling_info) -------------------------------------------------------

/** `AMDGPU_TILING_SWIZZLE_MODE_SHIFT` (GFX9–GFX11). */
export const AMDGPU_TILING_SWIZZLE_MODE_SHIFT = 0;
/** `AMDGPU_TILING_SWIZZLE_MODE_MASK`. */
export const AMDGPU_TILING_SWIZZLE_MODE_MASK = 0x1f;
/** `AMDGPU_TILING_DCC_OFFSET_256B_SHIFT`. */
export const AMDGPU_TILING_DCC_OFFSET_256B_SHIFT = 5;
/** `AMDGPU_TILING_DCC_OFFSET_256B_MASK`. */
export const AMDGPU_TILING_DCC_OFFSET_256B_MASK = 0xffffff;
/** `AMDGPU_TILING_DCC_PITCH_MAX_SHIFT`. */
export const AMDGPU_TILING_DCC_PITCH_MAX_SHIFT = 29;
/** `AMDGPU_TILING_DCC_PITCH_MAX_MASK`. */
export const AMDGPU_TILING_DCC_PITCH_MAX_MASK = 0x3fff;
/** `AMDGPU_TILING_DCC_INDEPENDENT_64B_SHIFT`. */
export const AMDGPU_TILING_DCC_INDEPENDENT_64B_SHIFT = 43;
/** `AMDGPU_TILING_DCC_INDEPENDENT_128B_SHIFT`. */
export const AMDGPU_TILING_DCC_INDEPENDENT_128B_SHIFT = 44;
/** `AMDGPU_TILING_SCANOUT_SHIFT`. */
export const AMDGPU_TILING_SCANOUT_SHIFT = 63;
/** `AMDGPU_TILING_GFX12_SWIZZLE_MODE_MASK`. */
export const AMDGPU_TILING_GFX12_SWIZZLE_MODE_MASK = 0x7;

/** `AMDGPU_TILING_SET(field, v)`: `v` masked and shifted into a `tiling_info` word. */
export function amdgpuTilingSet(shift: number, mask: number, v: number | bigint): bigint {
  return (BigInt(v) & BigInt(mask)) << BigInt(shift);
}

/** `AMDGPU_TILING_GET(info, field)`. */
export function amdgpuTilingGet(info: bigint, shift: number, mask: number): number {
  return Number((info >> BigInt(shift)) & BigInt(mask));
}

// --- request codes ---------------------------------------------------------------------------

/** `DRM_IOCTL_AMDGPU_GEM_CREATE`. */
export const DRM_IOCTL_AMDGPU_GEM_CREATE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_CREATE,
  drm_amdgpu_gem_create,
);
/** `DRM_IOCTL_AMDGPU_GEM_MMAP`. */
export const DRM_IOCTL_AMDGPU_GEM_MMAP = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_MMAP,
  drm_amdgpu_gem_mmap,
);
/** `DRM_IOCTL_AMDGPU_CTX`. */
export const DRM_IOCTL_AMDGPU_CTX = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_CTX, drm_amdgpu_ctx);
/** `DRM_IOCTL_AMDGPU_BO_LIST`. */
export const DRM_IOCTL_AMDGPU_BO_LIST = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_BO_LIST, drm_amdgpu_bo_list);
/** `DRM_IOCTL_AMDGPU_CS`. */
export const DRM_IOCTL_AMDGPU_CS = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_CS, drm_amdgpu_cs);
/** `DRM_IOCTL_AMDGPU_GEM_METADATA`. */
export const DRM_IOCTL_AMDGPU_GEM_METADATA = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_METADATA,
  drm_amdgpu_gem_metadata,
);
/** `DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE`. */
export const DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_WAIT_IDLE,
  drm_amdgpu_gem_wait_idle,
);
/** `DRM_IOCTL_AMDGPU_GEM_VA` (`DRM_IOW`: nothing is copied back). */
export const DRM_IOCTL_AMDGPU_GEM_VA = DRM_IOW(DRM_COMMAND_BASE + DRM_AMDGPU_GEM_VA, drm_amdgpu_gem_va);
/** `DRM_IOCTL_AMDGPU_WAIT_CS`. */
export const DRM_IOCTL_AMDGPU_WAIT_CS = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_WAIT_CS, drm_amdgpu_wait_cs);
/** `DRM_IOCTL_AMDGPU_GEM_OP`. */
export const DRM_IOCTL_AMDGPU_GEM_OP = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_GEM_OP, drm_amdgpu_gem_op);
/** `DRM_IOCTL_AMDGPU_GEM_USERPTR`. */
export const DRM_IOCTL_AMDGPU_GEM_USERPTR = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_USERPTR,
  drm_amdgpu_gem_userptr,
);
/** `DRM_IOCTL_AMDGPU_WAIT_FENCES`. */
export const DRM_IOCTL_AMDGPU_WAIT_FENCES = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_WAIT_FENCES,
  drm_amdgpu_wait_fences,
);
/** `DRM_IOCTL_AMDGPU_VM`. */
export const DRM_IOCTL_AMDGPU_VM = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_VM, drm_amdgpu_vm);
/** `DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE`. */
export const DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_FENCE_TO_HANDLE,
  drm_amdgpu_fence_to_handle,
);
/** `DRM_IOCTL_AMDGPU_SCHED` (`DRM_IOW`). */
export const DRM_IOCTL_AMDGPU_SCHED = DRM_IOW(DRM_COMMAND_BASE + DRM_AMDGPU_SCHED, drm_amdgpu_sched);
/** `DRM_IOCTL_AMDGPU_USERQ`. */
export const DRM_IOCTL_AMDGPU_USERQ = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_USERQ, drm_amdgpu_userq);
/** `DRM_IOCTL_AMDGPU_USERQ_SIGNAL`. */
export const DRM_IOCTL_AMDGPU_USERQ_SIGNAL = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_USERQ_SIGNAL,
  drm_amdgpu_userq_signal,
);
/** `DRM_IOCTL_AMDGPU_USERQ_WAIT`. */
export const DRM_IOCTL_AMDGPU_USERQ_WAIT = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_USERQ_WAIT,
  drm_amdgpu_userq_wait,
);
/** `DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES`. */
export const DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_AMDGPU_GEM_LIST_HANDLES,
  drm_amdgpu_gem_list_handles,
);
/** drmsim extension: `DRM_IOCTL_AMDGPU_SIM_DOORBELL` (`DRM_IOW`). */
export const DRM_IOCTL_AMDGPU_SIM_DOORBELL = DRM_IOW(
  DRM_COMMAND_BASE + DRM_AMDGPU_SIM_DOORBELL,
  drm_amdgpu_sim_doorbell,
);
