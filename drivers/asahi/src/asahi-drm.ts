/**
 * The Asahi uAPI (`include/uapi/drm/asahi_drm.h`): the ioctl numbers, argument layouts and
 * constants of the header, declared with their C layouts (sizes checked against the header's).
 * Every ioctl of the header is registered (`asahi-drv.ts`); the README's table says where each
 * one is implemented. The structs carry only what the C structs carry: the simulation's knobs
 * (durations, injected faults) are a drmsim side channel (`asahi-hw-model.ts`).
 */

import { DRM_COMMAND_BASE, DRM_IOW, DRM_IOWR } from "@drmsim/drm";
import {
  __u8,
  __u16,
  __u32,
  __u64,
  fixedArray,
  flagsMask,
  mbz,
  type UapiArgsOf,
  uapiStruct,
  userPtr,
} from "@drmsim/runtime";

// --- enum drm_asahi_ioctl_id -------------------------------------------------------------------

/** `DRM_ASAHI_GET_PARAMS`. */
export const DRM_ASAHI_GET_PARAMS = 0x0;
/** `DRM_ASAHI_GET_TIME`. */
export const DRM_ASAHI_GET_TIME = 0x1;
/** `DRM_ASAHI_VM_CREATE`. */
export const DRM_ASAHI_VM_CREATE = 0x2;
/** `DRM_ASAHI_VM_DESTROY`. */
export const DRM_ASAHI_VM_DESTROY = 0x3;
/** `DRM_ASAHI_VM_BIND`. */
export const DRM_ASAHI_VM_BIND = 0x4;
/** `DRM_ASAHI_GEM_CREATE`. */
export const DRM_ASAHI_GEM_CREATE = 0x5;
/** `DRM_ASAHI_GEM_MMAP_OFFSET`. */
export const DRM_ASAHI_GEM_MMAP_OFFSET = 0x6;
/** `DRM_ASAHI_GEM_BIND_OBJECT`. */
export const DRM_ASAHI_GEM_BIND_OBJECT = 0x7;
/** `DRM_ASAHI_QUEUE_CREATE`. */
export const DRM_ASAHI_QUEUE_CREATE = 0x8;
/** `DRM_ASAHI_QUEUE_DESTROY`. */
export const DRM_ASAHI_QUEUE_DESTROY = 0x9;
/** `DRM_ASAHI_SUBMIT`. */
export const DRM_ASAHI_SUBMIT = 0xa;

// --- limits (drm_asahi_params_global values of the simulated GPU) ------------------------------

/** Page size of the GPU MMU (16 KiB on AGX). Bind offsets, ranges and addresses are aligned to it. */
export const ASAHI_PAGE_SIZE = 16384;
/** `drm_asahi_params_global.vm_start`: the first user VA (`IOVA_USER_BASE`, one page up). */
export const ASAHI_VM_START = 0x4000;
/**
 * `drm_asahi_params_global.vm_end`: the end of the user VA window, exclusive — the driver's
 * `IOVA_UNK_PAGE`, two pages below the top of the UAT's 39-bit input address space.
 */
export const ASAHI_VM_END = 2 ** 39 - 2 * ASAHI_PAGE_SIZE;
/** `drm_asahi_params_global.vm_kernel_min_size`: the kernel range a VM must reserve. */
export const ASAHI_VM_KERNEL_MIN_SIZE = 0x2000_0000;
/**
 * `drm_asahi_params_global.max_commands_per_submission` ("mirrors firmware limits"): the
 * driver's `MAX_COMMANDS_PER_SUBMISSION`, 64 hardware commands (attachment commands do not count).
 */
export const ASAHI_MAX_COMMANDS_PER_SUBMISSION = 64;
/** `drm_asahi_params_global.max_attachments`: the firmware's `MAX_ATTACHMENTS` per command. */
export const ASAHI_MAX_ATTACHMENTS = 16;
/** `DRM_ASAHI_MAX_CLUSTERS`: entries of `drm_asahi_params_global.core_masks`. */
export const DRM_ASAHI_MAX_CLUSTERS = 64;

// --- enums -------------------------------------------------------------------------------------

/** `DRM_ASAHI_FEATURE_SOFT_FAULTS` (a bit of `drm_asahi_params_global.features`). */
export const DRM_ASAHI_FEATURE_SOFT_FAULTS = 1 << 0;

/** `enum drm_asahi_gem_flags`: `DRM_ASAHI_GEM_WRITEBACK`. */
export const DRM_ASAHI_GEM_WRITEBACK = 1 << 0;
/** `DRM_ASAHI_GEM_VM_PRIVATE`: the BO belongs to one VM and cannot be exported. */
export const DRM_ASAHI_GEM_VM_PRIVATE = 1 << 1;

/** `enum drm_asahi_bind_flags`: `DRM_ASAHI_BIND_UNBIND`. */
export const DRM_ASAHI_BIND_UNBIND = 1 << 0;
/** `DRM_ASAHI_BIND_READ`. */
export const DRM_ASAHI_BIND_READ = 1 << 1;
/** `DRM_ASAHI_BIND_WRITE`. */
export const DRM_ASAHI_BIND_WRITE = 1 << 2;
/** `DRM_ASAHI_BIND_SINGLE_PAGE`: one page of the object repeated across the whole range (sparse). */
export const DRM_ASAHI_BIND_SINGLE_PAGE = 1 << 3;

/** `enum drm_asahi_bind_object_op`: `DRM_ASAHI_BIND_OBJECT_OP_BIND`. */
export const DRM_ASAHI_BIND_OBJECT_OP_BIND = 0;
/** `DRM_ASAHI_BIND_OBJECT_OP_UNBIND`. */
export const DRM_ASAHI_BIND_OBJECT_OP_UNBIND = 1;
/** `enum drm_asahi_bind_object_flags`: `DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS`. */
export const DRM_ASAHI_BIND_OBJECT_USAGE_TIMESTAMPS = 1 << 0;

/** `enum drm_asahi_cmd_type`: `DRM_ASAHI_CMD_RENDER` — vertex then fragment work. */
export const DRM_ASAHI_CMD_RENDER = 0;
/** `DRM_ASAHI_CMD_COMPUTE`. */
export const DRM_ASAHI_CMD_COMPUTE = 1;
/** `DRM_ASAHI_SET_VERTEX_ATTACHMENTS`: a software command (attachment hints for later vertex work). */
export const DRM_ASAHI_SET_VERTEX_ATTACHMENTS = 2;
/** `DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS`: a software command. */
export const DRM_ASAHI_SET_FRAGMENT_ATTACHMENTS = 3;
/** `DRM_ASAHI_SET_COMPUTE_ATTACHMENTS`: a software command. */
export const DRM_ASAHI_SET_COMPUTE_ATTACHMENTS = 4;

/** `enum drm_asahi_priority`. */
export const DrmAsahiPriority = {
  LOW: 0,
  MEDIUM: 1,
  /** Reserved for future extension upstream; drmsim requires CAP_SYS_ADMIN (a root process). */
  HIGH: 2,
  /** Likewise. */
  REALTIME: 3,
} as const;

/** `enum drm_asahi_sync_type`: `DRM_ASAHI_SYNC_SYNCOBJ` (binary). */
export const DRM_ASAHI_SYNC_SYNCOBJ = 0;
/** `DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ`. */
export const DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ = 1;

/** `DRM_ASAHI_BARRIER_NONE`: the command waits on nothing on that subqueue. */
export const DRM_ASAHI_BARRIER_NONE = 0xffff;

/** `enum drm_asahi_render_flags`: `DRM_ASAHI_RENDER_VERTEX_SCRATCH`. */
export const DRM_ASAHI_RENDER_VERTEX_SCRATCH = 1 << 0;
/** `DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES`. */
export const DRM_ASAHI_RENDER_PROCESS_EMPTY_TILES = 1 << 1;
/** `DRM_ASAHI_RENDER_NO_VERTEX_CLUSTERING`. */
export const DRM_ASAHI_RENDER_NO_VERTEX_CLUSTERING = 1 << 2;
/** `DRM_ASAHI_RENDER_DBIAS_IS_INT`. */
export const DRM_ASAHI_RENDER_DBIAS_IS_INT = 1 << 18;

// --- structs -----------------------------------------------------------------------------------

/** `struct drm_asahi_params_global`: what GET_PARAMS writes (`asahi-params.ts`). */
export const drm_asahi_params_global = uapiStruct(
  "drm_asahi_params_global",
  {
    features: __u64,
    gpu_generation: __u32,
    gpu_variant: __u32,
    gpu_revision: __u32,
    chip_id: __u32,
    num_dies: __u32,
    num_clusters_total: __u32,
    num_cores_per_cluster: __u32,
    max_frequency_khz: __u32,
    core_masks: fixedArray(__u64, DRM_ASAHI_MAX_CLUSTERS),
    vm_start: __u64,
    vm_end: __u64,
    vm_kernel_min_size: __u64,
    max_commands_per_submission: __u32,
    max_attachments: __u32,
    command_timestamp_frequency_hz: __u64,
  },
  { size: 592 },
);
/** `struct drm_asahi_params_global` as a caller passes it. */
export type DrmAsahiParamsGlobal = UapiArgsOf<typeof drm_asahi_params_global>;

/**
 * `struct drm_asahi_get_params`: the kernel writes `min(size, sizeof(struct
 * drm_asahi_params_global))` bytes at `pointer` — bytes, so an older userspace with a shorter
 * struct gets its prefix.
 */
export const drm_asahi_get_params = uapiStruct(
  "drm_asahi_get_params",
  { param_group: mbz(__u32), pad: mbz(__u32), pointer: userPtr(__u8), size: __u64 },
  { size: 24 },
);
/** `struct drm_asahi_get_params` as a caller passes it. */
export type DrmAsahiGetParams = UapiArgsOf<typeof drm_asahi_get_params>;

/** `struct drm_asahi_get_time`: out `gpu_timestamp`, in nanoseconds. */
export const drm_asahi_get_time = uapiStruct(
  "drm_asahi_get_time",
  { flags: mbz(__u64), gpu_timestamp: __u64 },
  { size: 16 },
);
/** `struct drm_asahi_get_time` as a caller passes it. */
export type DrmAsahiGetTime = UapiArgsOf<typeof drm_asahi_get_time>;

/** `struct drm_asahi_vm_create`: in the kernel-reserved VA range; out `vm_id`. */
export const drm_asahi_vm_create = uapiStruct(
  "drm_asahi_vm_create",
  { kernel_start: __u64, kernel_end: __u64, vm_id: __u32, pad: mbz(__u32) },
  { size: 24 },
);
/** `struct drm_asahi_vm_create` as a caller passes it. */
export type DrmAsahiVmCreate = UapiArgsOf<typeof drm_asahi_vm_create>;

/** `struct drm_asahi_vm_destroy`. */
export const drm_asahi_vm_destroy = uapiStruct(
  "drm_asahi_vm_destroy",
  { vm_id: __u32, pad: mbz(__u32) },
  { size: 8 },
);
/** `struct drm_asahi_vm_destroy` as a caller passes it. */
export type DrmAsahiVmDestroy = UapiArgsOf<typeof drm_asahi_vm_destroy>;

/** `struct drm_asahi_gem_create`: out `handle`. Unknown flags are `EINVAL` on entry. */
export const drm_asahi_gem_create = uapiStruct(
  "drm_asahi_gem_create",
  {
    size: __u64,
    flags: flagsMask(__u32, DRM_ASAHI_GEM_WRITEBACK | DRM_ASAHI_GEM_VM_PRIVATE),
    vm_id: __u32,
    handle: __u32,
    pad: mbz(__u32),
  },
  { size: 24 },
);
/** `struct drm_asahi_gem_create` as a caller passes it. */
export type DrmAsahiGemCreate = UapiArgsOf<typeof drm_asahi_gem_create>;

/** `struct drm_asahi_gem_mmap_offset`: out `offset`, the fake offset to `mmap()` the object at. */
export const drm_asahi_gem_mmap_offset = uapiStruct(
  "drm_asahi_gem_mmap_offset",
  { handle: __u32, flags: mbz(__u32), offset: __u64 },
  { size: 16 },
);
/** `struct drm_asahi_gem_mmap_offset` as a caller passes it. */
export type DrmAsahiGemMmapOffset = UapiArgsOf<typeof drm_asahi_gem_mmap_offset>;

/**
 * `struct drm_asahi_gem_bind_op`: one bind or unbind of a VM_BIND. The driver checks each op's
 * flags as it applies the op (`asahi-vm.ts`), after the ops before it took effect.
 */
export const drm_asahi_gem_bind_op = uapiStruct(
  "drm_asahi_gem_bind_op",
  {
    flags: __u32,
    handle: __u32,
    offset: __u64,
    range: __u64,
    addr: __u64,
  },
  { size: 32 },
);
/** `struct drm_asahi_gem_bind_op` as a caller passes it. */
export type DrmAsahiGemBindOp = UapiArgsOf<typeof drm_asahi_gem_bind_op>;

/**
 * `struct drm_asahi_vm_bind`: `num_binds` ops of `stride` bytes each at `userptr`, as bytes (the
 * stride lets the op struct grow: a shorter op is zero-extended, the tail of a longer one is
 * ignored). `agxEncodeBindOps` (`@drmsim/asahi/user`) lays ops out at a stride.
 */
export const drm_asahi_vm_bind = uapiStruct(
  "drm_asahi_vm_bind",
  {
    vm_id: __u32,
    num_binds: __u32,
    stride: __u32,
    pad: mbz(__u32),
    userptr: userPtr(__u8),
  },
  { size: 24 },
);
/** `struct drm_asahi_vm_bind` as a caller passes it. */
export type DrmAsahiVmBind = UapiArgsOf<typeof drm_asahi_vm_bind>;

/**
 * `struct drm_asahi_gem_bind_object`: BIND maps `[offset, offset + range)` of an object as a
 * special firmware object (a timestamp buffer) and returns its `object_handle`; UNBIND drops one.
 */
export const drm_asahi_gem_bind_object = uapiStruct(
  "drm_asahi_gem_bind_object",
  {
    op: __u32,
    flags: __u32,
    handle: __u32,
    vm_id: mbz(__u32),
    offset: __u64,
    range: __u64,
    object_handle: __u32,
    pad: mbz(__u32),
  },
  { size: 40 },
);
/** `struct drm_asahi_gem_bind_object` as a caller passes it. */
export type DrmAsahiGemBindObject = UapiArgsOf<typeof drm_asahi_gem_bind_object>;

/** `struct drm_asahi_queue_create`: out `queue_id`. */
export const drm_asahi_queue_create = uapiStruct(
  "drm_asahi_queue_create",
  { flags: mbz(__u32), vm_id: __u32, priority: __u32, queue_id: __u32, usc_exec_base: __u64 },
  { size: 24 },
);
/** `struct drm_asahi_queue_create` as a caller passes it. */
export type DrmAsahiQueueCreate = UapiArgsOf<typeof drm_asahi_queue_create>;

/** `struct drm_asahi_queue_destroy`. */
export const drm_asahi_queue_destroy = uapiStruct(
  "drm_asahi_queue_destroy",
  { queue_id: __u32, pad: mbz(__u32) },
  { size: 8 },
);
/** `struct drm_asahi_queue_destroy` as a caller passes it. */
export type DrmAsahiQueueDestroy = UapiArgsOf<typeof drm_asahi_queue_destroy>;

/** `struct drm_asahi_sync`: a binary syncobj (`timeline_value` 0) or a timeline point. */
export const drm_asahi_sync = uapiStruct(
  "drm_asahi_sync",
  { sync_type: __u32, handle: __u32, timeline_value: __u64 },
  { size: 16 },
);
/** `struct drm_asahi_sync` as a caller passes it. */
export type DrmAsahiSync = UapiArgsOf<typeof drm_asahi_sync>;

/**
 * `struct drm_asahi_cmd_header`: the header of each command in a `cmdbuf`; `size` counts the
 * payload bytes after it (not the header).
 */
export const drm_asahi_cmd_header = uapiStruct(
  "drm_asahi_cmd_header",
  { cmd_type: __u16, size: __u16, vdm_barrier: __u16, cdm_barrier: __u16 },
  { size: 8 },
);
/** `struct drm_asahi_cmd_header` as a caller passes it. */
export type DrmAsahiCmdHeader = UapiArgsOf<typeof drm_asahi_cmd_header>;

/** `struct drm_asahi_attachment`: the payload of the SET_*_ATTACHMENTS commands, `size / 24` of them. */
export const drm_asahi_attachment = uapiStruct(
  "drm_asahi_attachment",
  { pointer: __u64, size: __u64, pad: mbz(__u32), flags: mbz(__u32) },
  { size: 24 },
);
/** `struct drm_asahi_attachment` as a caller passes it. */
export type DrmAsahiAttachment = UapiArgsOf<typeof drm_asahi_attachment>;

/** `struct drm_asahi_zls_buffer`. */
export const drm_asahi_zls_buffer = uapiStruct(
  "drm_asahi_zls_buffer",
  { base: __u64, comp_base: __u64, stride: __u32, comp_stride: __u32 },
  { size: 24 },
);

/** `struct drm_asahi_timestamp`. */
export const drm_asahi_timestamp = uapiStruct(
  "drm_asahi_timestamp",
  { handle: __u32, offset: __u32 },
  { size: 8 },
);

/** `struct drm_asahi_timestamps`. */
export const drm_asahi_timestamps = uapiStruct(
  "drm_asahi_timestamps",
  { start: drm_asahi_timestamp, end: drm_asahi_timestamp },
  { size: 16 },
);

/** `struct drm_asahi_helper_program`. */
export const drm_asahi_helper_program = uapiStruct(
  "drm_asahi_helper_program",
  { binary: __u32, cfg: __u32, data: __u64 },
  { size: 16 },
);

/** `struct drm_asahi_bg_eot`. */
export const drm_asahi_bg_eot = uapiStruct("drm_asahi_bg_eot", { usc: __u32, rsrc_spec: __u32 }, { size: 8 });

/** `struct drm_asahi_cmd_render`: the payload of a `DRM_ASAHI_CMD_RENDER` command. */
export const drm_asahi_cmd_render = uapiStruct(
  "drm_asahi_cmd_render",
  {
    flags: __u32,
    isp_zls_pixels: __u32,
    vdm_ctrl_stream_base: __u64,
    vertex_helper: drm_asahi_helper_program,
    fragment_helper: drm_asahi_helper_program,
    isp_scissor_base: __u64,
    isp_dbias_base: __u64,
    isp_oclqry_base: __u64,
    depth: drm_asahi_zls_buffer,
    stencil: drm_asahi_zls_buffer,
    zls_ctrl: __u64,
    ppp_multisamplectl: __u64,
    sampler_heap: __u64,
    ppp_ctrl: __u32,
    width_px: __u16,
    height_px: __u16,
    layers: __u16,
    sampler_count: __u16,
    utile_width_px: __u8,
    utile_height_px: __u8,
    samples: __u8,
    sample_size_B: __u8,
    isp_merge_upper_x: __u32,
    isp_merge_upper_y: __u32,
    bg: drm_asahi_bg_eot,
    eot: drm_asahi_bg_eot,
    partial_bg: drm_asahi_bg_eot,
    partial_eot: drm_asahi_bg_eot,
    isp_bgobjdepth: __u32,
    isp_bgobjvals: __u32,
    ts_vtx: drm_asahi_timestamps,
    ts_frag: drm_asahi_timestamps,
  },
  { size: 240 },
);
/** `struct drm_asahi_cmd_render` as a caller passes it. */
export type DrmAsahiCmdRender = UapiArgsOf<typeof drm_asahi_cmd_render>;

/** `struct drm_asahi_cmd_compute`: the payload of a `DRM_ASAHI_CMD_COMPUTE` command. */
export const drm_asahi_cmd_compute = uapiStruct(
  "drm_asahi_cmd_compute",
  {
    flags: mbz(__u32),
    sampler_count: __u32,
    cdm_ctrl_stream_base: __u64,
    cdm_ctrl_stream_end: __u64,
    sampler_heap: __u64,
    helper: drm_asahi_helper_program,
    ts: drm_asahi_timestamps,
  },
  { size: 64 },
);
/** `struct drm_asahi_cmd_compute` as a caller passes it. */
export type DrmAsahiCmdCompute = UapiArgsOf<typeof drm_asahi_cmd_compute>;

// --- SUBMIT ------------------------------------------------------------------------------------

/**
 * `struct drm_asahi_submit`. `syncs` points to `in_sync_count` in-syncs followed by
 * `out_sync_count` out-syncs; `cmdbuf` to `cmdbuf_size` bytes of commands, each a
 * `struct drm_asahi_cmd_header` followed by `header.size` payload bytes (`asahi-cmdbuf.ts` parses
 * them). Nothing else: the simulation's knobs live in a side channel real userspace never sees
 * (`asahi-hw-model.ts`).
 */
export const drm_asahi_submit = uapiStruct(
  "drm_asahi_submit",
  {
    syncs: userPtr(drm_asahi_sync),
    cmdbuf: userPtr(__u8, "cmdbuf_size"),
    flags: mbz(__u32),
    queue_id: __u32,
    in_sync_count: __u32,
    out_sync_count: __u32,
    cmdbuf_size: __u32,
    pad: mbz(__u32),
  },
  { size: 40 },
);
/** `struct drm_asahi_submit` as a caller passes it. */
export type DrmAsahiSubmit = UapiArgsOf<typeof drm_asahi_submit>;

// --- ioctl numbers -----------------------------------------------------------------------------

/** `DRM_IOCTL_ASAHI_GET_PARAMS`. */
export const DRM_IOCTL_ASAHI_GET_PARAMS = DRM_IOW(
  DRM_COMMAND_BASE + DRM_ASAHI_GET_PARAMS,
  drm_asahi_get_params,
);
/** `DRM_IOCTL_ASAHI_GET_TIME`. */
export const DRM_IOCTL_ASAHI_GET_TIME = DRM_IOWR(DRM_COMMAND_BASE + DRM_ASAHI_GET_TIME, drm_asahi_get_time);
/** `DRM_IOCTL_ASAHI_VM_CREATE`. */
export const DRM_IOCTL_ASAHI_VM_CREATE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_ASAHI_VM_CREATE,
  drm_asahi_vm_create,
);
/** `DRM_IOCTL_ASAHI_VM_DESTROY`. */
export const DRM_IOCTL_ASAHI_VM_DESTROY = DRM_IOW(
  DRM_COMMAND_BASE + DRM_ASAHI_VM_DESTROY,
  drm_asahi_vm_destroy,
);
/** `DRM_IOCTL_ASAHI_VM_BIND`. */
export const DRM_IOCTL_ASAHI_VM_BIND = DRM_IOW(DRM_COMMAND_BASE + DRM_ASAHI_VM_BIND, drm_asahi_vm_bind);
/** `DRM_IOCTL_ASAHI_GEM_CREATE`. */
export const DRM_IOCTL_ASAHI_GEM_CREATE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_ASAHI_GEM_CREATE,
  drm_asahi_gem_create,
);
/** `DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET`. */
export const DRM_IOCTL_ASAHI_GEM_MMAP_OFFSET = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_ASAHI_GEM_MMAP_OFFSET,
  drm_asahi_gem_mmap_offset,
);
/** `DRM_IOCTL_ASAHI_GEM_BIND_OBJECT`. */
export const DRM_IOCTL_ASAHI_GEM_BIND_OBJECT = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_ASAHI_GEM_BIND_OBJECT,
  drm_asahi_gem_bind_object,
);
/** `DRM_IOCTL_ASAHI_QUEUE_CREATE`. */
export const DRM_IOCTL_ASAHI_QUEUE_CREATE = DRM_IOWR(
  DRM_COMMAND_BASE + DRM_ASAHI_QUEUE_CREATE,
  drm_asahi_queue_create,
);
/** `DRM_IOCTL_ASAHI_QUEUE_DESTROY`. */
export const DRM_IOCTL_ASAHI_QUEUE_DESTROY = DRM_IOW(
  DRM_COMMAND_BASE + DRM_ASAHI_QUEUE_DESTROY,
  drm_asahi_queue_destroy,
);
/** `DRM_IOCTL_ASAHI_SUBMIT`. */
export const DRM_IOCTL_ASAHI_SUBMIT = DRM_IOW(DRM_COMMAND_BASE + DRM_ASAHI_SUBMIT, drm_asahi_submit);
