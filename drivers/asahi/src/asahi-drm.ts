/**
 * The Asahi uAPI (`include/uapi/drm/asahi_drm.h`, upstream since the driver's UAPI landed), as
 * drmsim argument objects. Where the C structs carry user pointers (`syncs`, `cmdbuf`, the bind
 * array) drmsim passes arrays; the counts that go with them are still checked against the arrays,
 * as the kernel checks sizes against what it copies.
 *
 * drmsim extensions (the kernel has none of these; each is marked where it is declared):
 * per-command simulated durations and fault injection, and a `bos` list on SUBMIT naming the
 * buffers the job reads or writes, for implicit sync. Upstream Asahi is explicit-sync only
 * (VM_BIND + syncobjs); the extension exists so implicit-sync interop can be tested.
 */

/** `DRM_ASAHI_VM_CREATE`: driver ioctl 0x2 (`DRM_COMMAND_BASE + 0x2`). */
export const DRM_ASAHI_VM_CREATE = 0x2;
/** `DRM_ASAHI_VM_DESTROY`. */
export const DRM_ASAHI_VM_DESTROY = 0x3;
/** `DRM_ASAHI_VM_BIND`. */
export const DRM_ASAHI_VM_BIND = 0x4;
/** `DRM_ASAHI_GEM_CREATE`. */
export const DRM_ASAHI_GEM_CREATE = 0x5;
/** `DRM_ASAHI_QUEUE_CREATE`. */
export const DRM_ASAHI_QUEUE_CREATE = 0x8;
/** `DRM_ASAHI_QUEUE_DESTROY`. */
export const DRM_ASAHI_QUEUE_DESTROY = 0x9;
/** `DRM_ASAHI_SUBMIT`. */
export const DRM_ASAHI_SUBMIT = 0xa;

/** `DRM_IOCTL_ASAHI_VM_CREATE`. */
export const DRM_IOCTL_ASAHI_VM_CREATE = "DRM_IOCTL_ASAHI_VM_CREATE";
/** `DRM_IOCTL_ASAHI_VM_DESTROY`. */
export const DRM_IOCTL_ASAHI_VM_DESTROY = "DRM_IOCTL_ASAHI_VM_DESTROY";
/** `DRM_IOCTL_ASAHI_VM_BIND`. */
export const DRM_IOCTL_ASAHI_VM_BIND = "DRM_IOCTL_ASAHI_VM_BIND";
/** `DRM_IOCTL_ASAHI_GEM_CREATE`. */
export const DRM_IOCTL_ASAHI_GEM_CREATE = "DRM_IOCTL_ASAHI_GEM_CREATE";
/** `DRM_IOCTL_ASAHI_QUEUE_CREATE`. */
export const DRM_IOCTL_ASAHI_QUEUE_CREATE = "DRM_IOCTL_ASAHI_QUEUE_CREATE";
/** `DRM_IOCTL_ASAHI_QUEUE_DESTROY`. */
export const DRM_IOCTL_ASAHI_QUEUE_DESTROY = "DRM_IOCTL_ASAHI_QUEUE_DESTROY";
/** `DRM_IOCTL_ASAHI_SUBMIT`. */
export const DRM_IOCTL_ASAHI_SUBMIT = "DRM_IOCTL_ASAHI_SUBMIT";

/** Page size of the GPU MMU (16 KiB on AGX). Bind offsets, ranges and addresses are aligned to it. */
export const ASAHI_PAGE_SIZE = 16384;
/** `drm_asahi_params_global.vm_start`: the first user VA. */
export const ASAHI_VM_START = 0x4000;
/** `drm_asahi_params_global.vm_end`: the end of the user VA window (exclusive here). */
export const ASAHI_VM_END = 2 ** 40;
/** `drm_asahi_params_global.vm_kernel_min_size`: the kernel range a VM must reserve. */
export const ASAHI_VM_KERNEL_MIN_SIZE = 0x2000_0000;
/**
 * `drm_asahi_params_global.max_commands_per_submission` ("mirrors firmware limits"). Larger than
 * a firmware queue's slots on purpose, so that "the job alone exceeds a queue" is a separate check.
 */
export const ASAHI_MAX_COMMANDS_PER_SUBMISSION = 1024;

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
/** `DRM_ASAHI_BIND_SINGLE_PAGE` (sparse scratch pages): not modelled by drmsim, rejected with EINVAL. */
export const DRM_ASAHI_BIND_SINGLE_PAGE = 1 << 3;

/** `enum drm_asahi_cmd_type`: `DRM_ASAHI_CMD_RENDER` — vertex then fragment work. */
export const DRM_ASAHI_CMD_RENDER = 0;
/** `DRM_ASAHI_CMD_COMPUTE`. */
export const DRM_ASAHI_CMD_COMPUTE = 1;

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

/** drmsim extension: `DrmAsahiBo.flags` bit — the job writes the buffer (else it reads it). */
export const ASAHI_BO_WRITE = 1 << 0;

/** `struct drm_asahi_vm_create`. */
export interface DrmAsahiVmCreate {
  kernel_start: number;
  kernel_end: number;
  vm_id?: number;
  pad?: number;
}

/** `struct drm_asahi_vm_destroy`. */
export interface DrmAsahiVmDestroy {
  vm_id: number;
  pad?: number;
}

/** `struct drm_asahi_gem_bind_op`. */
export interface DrmAsahiGemBindOp {
  flags: number;
  handle?: number;
  offset?: number;
  range: number;
  addr: number;
}

/** `struct drm_asahi_vm_bind`; `binds` stands for `userptr`, and must hold `num_binds` entries. */
export interface DrmAsahiVmBind {
  vm_id: number;
  num_binds: number;
  stride?: number;
  pad?: number;
  binds: DrmAsahiGemBindOp[];
}

/** `struct drm_asahi_gem_create`. */
export interface DrmAsahiGemCreate {
  size: number;
  flags?: number;
  vm_id?: number;
  handle?: number;
  pad?: number;
}

/** `struct drm_asahi_queue_create`. */
export interface DrmAsahiQueueCreate {
  flags?: number;
  vm_id: number;
  priority?: number;
  queue_id?: number;
  usc_exec_base?: number;
}

/** `struct drm_asahi_queue_destroy`. */
export interface DrmAsahiQueueDestroy {
  queue_id: number;
  pad?: number;
}

/** `struct drm_asahi_sync`. */
export interface DrmAsahiSync {
  sync_type: number;
  handle: number;
  timeline_value?: number;
}

/**
 * `struct drm_asahi_cmd_header` with its payload. `vdm_barrier`/`cdm_barrier`: 0 waits on all
 * work of that subqueue from earlier submits, N on the N-th render (VDM) / compute (CDM)
 * command of this submit (which must come before this one), `DRM_ASAHI_BARRIER_NONE` on nothing.
 */
export interface DrmAsahiCommand {
  cmd_type: number;
  vdm_barrier: number;
  cdm_barrier: number;
  /** drmsim extension: simulated vertex time of a render command, ns (default 50 µs). */
  vertex_ns?: number;
  /** drmsim extension: simulated fragment time of a render command, ns (default 200 µs). */
  fragment_ns?: number;
  /** drmsim extension: simulated time of a compute command, ns (default 100 µs). */
  compute_ns?: number;
  /** drmsim extension, fault injection: the command's last stage never completes (a GPU hang). */
  hang?: boolean;
  /** drmsim extension, fault injection: the command's last stage completes with this negative errno. */
  error?: number;
}

/** drmsim extension: a buffer a submit reads or writes (implicit sync through its dma_resv). */
export interface DrmAsahiBo {
  handle: number;
  flags?: number;
}

/**
 * `struct drm_asahi_submit`. `syncs` holds `in_sync_count` in-syncs then `out_sync_count`
 * out-syncs; `commands` stands for `cmdbuf`/`cmdbuf_size`.
 */
export interface DrmAsahiSubmit {
  queue_id: number;
  flags?: number;
  pad?: number;
  syncs?: DrmAsahiSync[];
  in_sync_count?: number;
  out_sync_count?: number;
  commands: DrmAsahiCommand[];
  /** drmsim extension: buffers for implicit sync. */
  bos?: DrmAsahiBo[];
}
