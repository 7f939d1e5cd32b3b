/**
 * The habanalabs uAPI (`include/uapi/drm/habanalabs_accel.h`), reduced to what drmsim models:
 * command buffers, command submission, wait-for-CS, device memory and the dma-buf export.
 *
 * Argument structs are plain objects. A kernel "user pointer to an array" (`chunks_execute`) is
 * the array itself, and its count field must match its length. Union members that share storage
 * in C (`hl_cs_in` / `hl_cs_out`) are separate fields here; the ioctl fills in the `out` ones.
 */

/** `HL_IOCTL_INFO`: driver ioctl 0x01 (`DRM_COMMAND_BASE + 0x01`). */
export const HL_IOCTL_INFO = 0x01;
/** `HL_IOCTL_CB`. */
export const HL_IOCTL_CB = 0x02;
/** `HL_IOCTL_CS`. */
export const HL_IOCTL_CS = 0x03;
/** `HL_IOCTL_WAIT_CS`. */
export const HL_IOCTL_WAIT_CS = 0x04;
/** `HL_IOCTL_MEMORY`. */
export const HL_IOCTL_MEMORY = 0x05;

/** `DRM_IOCTL_HL_INFO`. */
export const DRM_IOCTL_HL_INFO = "DRM_IOCTL_HL_INFO";
/** `DRM_IOCTL_HL_CB`. */
export const DRM_IOCTL_HL_CB = "DRM_IOCTL_HL_CB";
/** `DRM_IOCTL_HL_CS`. */
export const DRM_IOCTL_HL_CS = "DRM_IOCTL_HL_CS";
/** `DRM_IOCTL_HL_WAIT_CS`. */
export const DRM_IOCTL_HL_WAIT_CS = "DRM_IOCTL_HL_WAIT_CS";
/** `DRM_IOCTL_HL_MEMORY`. */
export const DRM_IOCTL_HL_MEMORY = "DRM_IOCTL_HL_MEMORY";

// --- HL_INFO ------------------------------------------------------------------------------------

/** `HL_INFO_HW_IP_INFO`: DRAM size, base and page size. */
export const HL_INFO_HW_IP_INFO = 0;
/** `HL_INFO_DRAM_USAGE`: free device memory and this context's usage. */
export const HL_INFO_DRAM_USAGE = 2;
/** `HL_INFO_DEVICE_STATUS`: operational / in reset. */
export const HL_INFO_DEVICE_STATUS = 4;
/** `HL_INFO_RESET_COUNT`: hard and soft reset counters. */
export const HL_INFO_RESET_COUNT = 9;
/** `HL_INFO_CS_COUNTERS`: why command submissions were dropped. */
export const HL_INFO_CS_COUNTERS = 11;

/** `HL_DEVICE_STATUS_OPERATIONAL`. */
export const HL_DEVICE_STATUS_OPERATIONAL = 0;
/** `HL_DEVICE_STATUS_IN_RESET`. */
export const HL_DEVICE_STATUS_IN_RESET = 1;

/**
 * `struct hl_info_args`. `op` selects the query; `pad` must be 0. The kernel copies the answer to
 * `return_pointer`; here it comes back in `info` (the struct of that op, as an object).
 */
export interface HlInfoArgs {
  op: number;
  pad?: number;
  info?: Record<string, number>;
}

// --- HL_CB --------------------------------------------------------------------------------------

/** `HL_CB_OP_CREATE`. */
export const HL_CB_OP_CREATE = 0;
/** `HL_CB_OP_DESTROY`. */
export const HL_CB_OP_DESTROY = 1;
/** `HL_CB_OP_INFO`: the CB's usage count (jobs that still use it). */
export const HL_CB_OP_INFO = 2;
/** `HL_MAX_CB_SIZE`: 2 MiB minus 32 bytes. */
export const HL_MAX_CB_SIZE = 0x200000 - 32;

/** `union hl_cb_args`: in `op`, `cb_size` (CREATE), `cb_handle` (DESTROY, INFO), `flags` (0); out `cb_handle` or `usage_cnt`. */
export interface HlCbArgs {
  op: number;
  cb_handle?: number;
  cb_size?: number;
  ctx_id?: number;
  flags?: number;
  usage_cnt?: number;
}

// --- HL_CS --------------------------------------------------------------------------------------

/** `HL_CS_FLAGS_FORCE_RESTORE`. */
export const HL_CS_FLAGS_FORCE_RESTORE = 0x1;
/** `HL_CS_FLAGS_SIGNAL`. */
export const HL_CS_FLAGS_SIGNAL = 0x2;
/** `HL_CS_FLAGS_WAIT`. */
export const HL_CS_FLAGS_WAIT = 0x4;
/** `HL_CS_FLAGS_COLLECTIVE_WAIT`. */
export const HL_CS_FLAGS_COLLECTIVE_WAIT = 0x8;
/** `HL_CS_FLAGS_TIMESTAMP`: record the completion time (drmsim always does; accepted). */
export const HL_CS_FLAGS_TIMESTAMP = 0x20;
/** `HL_CS_FLAGS_STAGED_SUBMISSION`. */
export const HL_CS_FLAGS_STAGED_SUBMISSION = 0x40;
/** `HL_CS_FLAGS_STAGED_SUBMISSION_FIRST`. */
export const HL_CS_FLAGS_STAGED_SUBMISSION_FIRST = 0x80;
/** `HL_CS_FLAGS_STAGED_SUBMISSION_LAST`. */
export const HL_CS_FLAGS_STAGED_SUBMISSION_LAST = 0x100;
/** `HL_CS_FLAGS_CUSTOM_TIMEOUT`: `timeout` (seconds) replaces the device's CS timeout. */
export const HL_CS_FLAGS_CUSTOM_TIMEOUT = 0x200;
/** `HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT`: a timeout marks the CS but does not reset the device. */
export const HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT = 0x400;
/** `HL_CS_FLAGS_ENCAP_SIGNALS`. */
export const HL_CS_FLAGS_ENCAP_SIGNALS = 0x800;
/** `HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`. */
export const HL_CS_FLAGS_RESERVE_SIGNALS_ONLY = 0x1000;
/** `HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY`. */
export const HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY = 0x2000;
/** `HL_CS_FLAGS_ENGINE_CORE_COMMAND`. */
export const HL_CS_FLAGS_ENGINE_CORE_COMMAND = 0x4000;
/** `HL_CS_FLAGS_FLUSH_PCI_HBW_WRITES`. */
export const HL_CS_FLAGS_FLUSH_PCI_HBW_WRITES = 0x8000;
/** `HL_CS_FLAGS_ENGINES_COMMAND`. */
export const HL_CS_FLAGS_ENGINES_COMMAND = 0x10000;

/** Every flag the kernel knows; anything else is `EINVAL`. */
export const HL_CS_FLAGS_ALL = 0x1ffff & ~0x10;
/** The flags drmsim implements; the kernel's other known flags are `EOPNOTSUPP` here. */
export const HL_CS_FLAGS_SUPPORTED =
  HL_CS_FLAGS_SIGNAL |
  HL_CS_FLAGS_WAIT |
  HL_CS_FLAGS_TIMESTAMP |
  HL_CS_FLAGS_CUSTOM_TIMEOUT |
  HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT;
/** `HL_CS_FLAGS_TYPE_MASK`: the flags that choose a CS type; at most one may be set. */
export const HL_CS_FLAGS_TYPE_MASK =
  HL_CS_FLAGS_SIGNAL |
  HL_CS_FLAGS_WAIT |
  HL_CS_FLAGS_COLLECTIVE_WAIT |
  HL_CS_FLAGS_RESERVE_SIGNALS_ONLY |
  HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY |
  HL_CS_FLAGS_ENGINE_CORE_COMMAND |
  HL_CS_FLAGS_ENGINES_COMMAND |
  HL_CS_FLAGS_FLUSH_PCI_HBW_WRITES;
/**
 * The `seq` a CS ioctl answers when it created no CS — a wait CS on a signal CS that already
 * completed (`ULLONG_MAX`, as near as a JavaScript number holds it). `HL_WAIT_CS` refuses it.
 */
export const HL_CS_SEQ_NONE = 2 ** 64 - 1;

/** `HL_CS_STATUS_SUCCESS`. */
export const HL_CS_STATUS_SUCCESS = 0;
/** `HL_MAX_JOBS_PER_CS`. */
export const HL_MAX_JOBS_PER_CS = 512;

/**
 * `struct hl_cs_chunk`: one job. For an external queue `cb_handle` is a command buffer handle
 * from `HL_CB` and `cb_size` the bytes of it that hold packets; for an internal queue
 * `cb_handle` is the device virtual address of a command buffer in device memory.
 * `cs_chunk_flags` and `pad` must be 0.
 *
 * drmsim extension: `exec_ns` — how long the job keeps its engine busy, in virtual ns (the
 * kernel's jobs run for as long as their packets take; drmsim has no packets). Default
 * `HL_DEFAULT_JOB_NS`.
 */
export interface HlCsChunk {
  cb_handle?: number;
  queue_index: number;
  cb_size?: number;
  /** Wait CS: the signal CS sequence numbers to wait for (`signal_seq_arr`; exactly one). */
  signal_seq_arr?: number[];
  /** Wait CS: how many `signal_seq_arr` holds (`num_signal_seq_arr`; must be 1). */
  num_signal_seq_arr?: number;
  cs_chunk_flags?: number;
  collective_engine_id?: number;
  pad?: number;
  exec_ns?: number;
}

/** How long a job runs when its chunk gives no `exec_ns`: 10 µs. */
export const HL_DEFAULT_JOB_NS = 10_000;

/**
 * `union hl_cs_args`. In: `chunks_execute` (and its count `num_chunks_execute`),
 * `num_chunks_restore` (must be 0: the restore phase is not modelled), `timeout` (seconds, with
 * `HL_CS_FLAGS_CUSTOM_TIMEOUT`), `cs_flags`, `ctx_id`/`pad` (0). Out: `seq`, `status`, and for a
 * signal CS the SOB it increments (`sob_base_addr_offset`) and the signals that SOB counted before
 * this one (`sob_count_before_submission`).
 */
export interface HlCsArgs {
  chunks_execute: HlCsChunk[];
  num_chunks_execute: number;
  num_chunks_restore?: number;
  chunks_restore?: unknown;
  timeout?: number;
  cs_flags?: number;
  ctx_id?: number;
  pad?: number;
  seq?: number;
  status?: number;
  sob_base_addr_offset?: number;
  sob_count_before_submission?: number;
}

// --- HL_WAIT_CS ---------------------------------------------------------------------------------

/** `HL_WAIT_CS_STATUS_COMPLETED`: the CS finished without error. */
export const HL_WAIT_CS_STATUS_COMPLETED = 0;
/** `HL_WAIT_CS_STATUS_BUSY`: still executing when the wait's own timeout expired (or 0 was given). */
export const HL_WAIT_CS_STATUS_BUSY = 1;
/** `HL_WAIT_CS_STATUS_TIMEDOUT`: the CS caused a timeout on the device (the ioctl fails with `ETIMEDOUT`). */
export const HL_WAIT_CS_STATUS_TIMEDOUT = 2;
/** `HL_WAIT_CS_STATUS_ABORTED`: the CS was aborted by a reset (the ioctl fails with `EIO`). */
export const HL_WAIT_CS_STATUS_ABORTED = 3;
/** `HL_WAIT_CS_STATUS_FLAG_GONE`: the CS completed so long ago its fence left the ring. */
export const HL_WAIT_CS_STATUS_FLAG_GONE = 0x1;
/** `HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD`: `timestamp_nsec` holds the completion time. */
export const HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD = 0x2;

/**
 * `union hl_wait_cs_args`. In: `seq`, `timeout_us` (0: just look), `flags` (0: interrupt and
 * multi-CS waits are not modelled), `ctx_id` (0). Out: `status`, `flags`, `timestamp_nsec`.
 *
 * On failure the kernel still copies `status` out (TIMEDOUT for `ETIMEDOUT`, ABORTED for `EIO`);
 * a failed drmsim ioctl copies nothing back, so userspace reads the same answer from the
 * error's `code`.
 */
export interface HlWaitCsArgs {
  seq: number;
  timeout_us: number;
  flags?: number;
  ctx_id?: number;
  status?: number;
  timestamp_nsec?: number;
}

// --- HL_MEMORY ----------------------------------------------------------------------------------

/** `HL_MEM_OP_ALLOC`. */
export const HL_MEM_OP_ALLOC = 0;
/** `HL_MEM_OP_FREE`. */
export const HL_MEM_OP_FREE = 1;
/** `HL_MEM_OP_MAP`. */
export const HL_MEM_OP_MAP = 2;
/** `HL_MEM_OP_UNMAP`. */
export const HL_MEM_OP_UNMAP = 3;
/** `HL_MEM_OP_EXPORT_DMABUF_FD`. */
export const HL_MEM_OP_EXPORT_DMABUF_FD = 5;

/** `HL_MEM_CONTIGUOUS`: physically contiguous device memory. */
export const HL_MEM_CONTIGUOUS = 0x1;
/** `HL_MEM_SHARED`. */
export const HL_MEM_SHARED = 0x2;
/** `HL_MEM_USERPTR`: map host memory (not modelled: `EOPNOTSUPP`). */
export const HL_MEM_USERPTR = 0x4;
/** `HL_MEM_FORCE_HINT`: map at `hint_addr` or fail. */
export const HL_MEM_FORCE_HINT = 0x8;
/** `HL_MEM_PREFETCH`. */
export const HL_MEM_PREFETCH = 0x40;

/**
 * `union hl_mem_args`, by op:
 * - ALLOC: `mem_size`, `page_size` (0 or the device's DRAM page size), `flags` ⊆ CONTIGUOUS|SHARED → `handle`;
 * - FREE: `handle`;
 * - MAP: `handle`, `hint_addr`, `flags` ⊆ FORCE_HINT|PREFETCH → `device_virt_addr`;
 * - UNMAP: `device_virt_addr`;
 * - EXPORT_DMABUF_FD: either `handle` (the whole allocation; the uAPI of the first exporter) or
 *   `addr` (a device VA returned by MAP) with `mem_size` and `offset` (7.1's uAPI); `flags` are
 *   the file flags (`O_RDWR`, `O_CLOEXEC`) → `fd`.
 * `ctx_id` and `num_of_elements` must be 0.
 */
export interface HlMemArgs {
  op: number;
  flags?: number;
  ctx_id?: number;
  num_of_elements?: number;
  mem_size?: number;
  page_size?: number;
  handle?: number;
  hint_addr?: number;
  device_virt_addr?: number;
  addr?: number;
  offset?: number;
  fd?: number;
}

/** `DMA_BUF_CHUNK_MAX_SIZE`: scatter-list entries hold an unsigned int, so no segment exceeds 512 MiB. */
export const DMA_BUF_CHUNK_MAX_SIZE = 512 * 1024 * 1024;
