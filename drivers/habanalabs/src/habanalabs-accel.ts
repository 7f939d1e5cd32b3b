/**
 * The habanalabs uAPI (`include/uapi/drm/habanalabs_accel.h`): the argument layouts of every
 * habanalabs ioctl as the header declares them (member names, order, sizes, the anonymous unions),
 * the constants drmsim uses, and the request numbers — `DRM_IOWR(HL_COMMAND_START + HL_IOCTL_*,
 * struct)`, as in the header.
 *
 * Anonymous unions are `anonUnion`s: their members are members of the struct, as in C
 * (`chunk.cb_handle` or `chunk.signal_seq_arr`). Unions of `in`/`out` structs are the header's
 * `union hl_*_args`: a JavaScript caller passes `{ in: { ... } }` and reads `out`.
 *
 * The structs carry only what the C structs carry: how long a job runs and whether it hangs are
 * the simulation's, set through a side channel real userspace never sees (`hl-hw-model.ts`).
 */

import { DRM_COMMAND_BASE, DRM_IOWR } from "@drmsim/drm";
import {
  __s32,
  __s64,
  __u8,
  __u16,
  __u32,
  __u64,
  anonUnion,
  chars,
  fixedArray,
  mbz,
  opaquePtr,
  type UapiArgsOf,
  uapiStruct,
  uapiUnion,
  userPtr,
} from "@drmsim/runtime";

// --- ioctl numbers ------------------------------------------------------------------------------

/** `HL_COMMAND_START`: the first habanalabs ioctl number (`DRM_COMMAND_BASE`). */
export const HL_COMMAND_START = DRM_COMMAND_BASE;
/** `HL_COMMAND_END`: one past the last. */
export const HL_COMMAND_END = 0x46;
/** `HL_IOCTL_INFO`. */
export const HL_IOCTL_INFO = 0x00;
/** `HL_IOCTL_CB`. */
export const HL_IOCTL_CB = 0x01;
/** `HL_IOCTL_CS`. */
export const HL_IOCTL_CS = 0x02;
/** `HL_IOCTL_WAIT_CS`. */
export const HL_IOCTL_WAIT_CS = 0x03;
/** `HL_IOCTL_MEMORY`. */
export const HL_IOCTL_MEMORY = 0x04;
/** `HL_IOCTL_DEBUG` (declared; drmsim does not model the debug/profiling ioctl). */
export const HL_IOCTL_DEBUG = 0x05;

// --- HL_INFO ------------------------------------------------------------------------------------

/** `HL_INFO_HW_IP_INFO`: DRAM size, base and page size (`struct hl_info_hw_ip_info`). */
export const HL_INFO_HW_IP_INFO = 0;
/** `HL_INFO_DRAM_USAGE`: free device memory and this context's usage (`struct hl_info_dram_usage`). */
export const HL_INFO_DRAM_USAGE = 2;
/** `HL_INFO_DEVICE_STATUS`: operational / in reset (`struct hl_info_device_status`). */
export const HL_INFO_DEVICE_STATUS = 4;
/** `HL_INFO_RESET_COUNT`: hard and soft reset counters (`struct hl_info_reset_count`). */
export const HL_INFO_RESET_COUNT = 9;
/** `HL_INFO_CS_COUNTERS`: why command submissions were dropped (`struct hl_info_cs_counters`). */
export const HL_INFO_CS_COUNTERS = 11;
/** `HL_INFO_CS_TIMEOUT_EVENT`: the last CS that timed out (`struct hl_info_cs_timeout_event`). */
export const HL_INFO_CS_TIMEOUT_EVENT = 24;

/** `HL_DEVICE_STATUS_OPERATIONAL`. */
export const HL_DEVICE_STATUS_OPERATIONAL = 0;
/** `HL_DEVICE_STATUS_IN_RESET`. */
export const HL_DEVICE_STATUS_IN_RESET = 1;

/** `HL_INFO_VERSION_MAX_LEN`. */
export const HL_INFO_VERSION_MAX_LEN = 128;
/** `HL_INFO_CARD_NAME_MAX_LEN`. */
export const HL_INFO_CARD_NAME_MAX_LEN = 16;

/** `struct hl_info_hw_ip_info` (304 bytes): what `HL_INFO_HW_IP_INFO` copies out. */
export const hl_info_hw_ip_info = uapiStruct(
  "hl_info_hw_ip_info",
  {
    sram_base_address: __u64,
    dram_base_address: __u64,
    dram_size: __u64,
    sram_size: __u32,
    num_of_events: __u32,
    device_id: __u32,
    module_id: __u32,
    decoder_enabled_mask: __u32,
    first_available_interrupt_id: __u16,
    server_type: __u16,
    cpld_version: __u32,
    psoc_pci_pll_nr: __u32,
    psoc_pci_pll_nf: __u32,
    psoc_pci_pll_od: __u32,
    psoc_pci_pll_div_factor: __u32,
    tpc_enabled_mask: __u8,
    dram_enabled: __u8,
    security_enabled: __u8,
    mme_master_slave_mode: __u8,
    cpucp_version: chars(HL_INFO_VERSION_MAX_LEN),
    card_name: chars(HL_INFO_CARD_NAME_MAX_LEN),
    tpc_enabled_mask_ext: __u64,
    dram_page_size: __u64,
    edma_enabled_mask: __u32,
    number_of_user_interrupts: __u16,
    reserved1: __u8,
    reserved2: __u8,
    reserved3: __u64,
    device_mem_alloc_default_page_size: __u64,
    reserved4: __u64,
    reserved5: __u64,
    reserved6: __u32,
    reserved7: __u8,
    revision_id: __u8,
    tpc_interrupt_id: __u16,
    rotator_enabled_mask: __u32,
    reserved9: __u32,
    engine_core_interrupt_reg_addr: __u64,
    reserved_dram_size: __u64,
  },
  { size: 304 },
);

/** `struct hl_info_dram_usage`. */
export const hl_info_dram_usage = uapiStruct(
  "hl_info_dram_usage",
  { dram_free_mem: __u64, ctx_dram_mem: __u64 },
  { size: 16 },
);

/** `struct hl_info_device_status`: `status` is an `HL_DEVICE_STATUS_*`. */
export const hl_info_device_status = uapiStruct(
  "hl_info_device_status",
  { status: __u32, pad: __u32 },
  { size: 8 },
);

/** `struct hl_info_reset_count`. */
export const hl_info_reset_count = uapiStruct(
  "hl_info_reset_count",
  { hard_reset_cnt: __u32, soft_reset_cnt: __u32 },
  { size: 8 },
);

/** `struct hl_info_cs_counters`: device totals and this context's counts of dropped CSs. */
export const hl_info_cs_counters = uapiStruct(
  "hl_info_cs_counters",
  {
    total_out_of_mem_drop_cnt: __u64,
    ctx_out_of_mem_drop_cnt: __u64,
    total_parsing_drop_cnt: __u64,
    ctx_parsing_drop_cnt: __u64,
    total_queue_full_drop_cnt: __u64,
    ctx_queue_full_drop_cnt: __u64,
    total_device_in_reset_drop_cnt: __u64,
    ctx_device_in_reset_drop_cnt: __u64,
    total_max_cs_in_flight_drop_cnt: __u64,
    ctx_max_cs_in_flight_drop_cnt: __u64,
    total_validation_drop_cnt: __u64,
    ctx_validation_drop_cnt: __u64,
  },
  { size: 96 },
);

/** `struct hl_info_cs_timeout_event`: when the last CS timed out, and its sequence number. */
export const hl_info_cs_timeout_event = uapiStruct(
  "hl_info_cs_timeout_event",
  { timestamp: __s64, seq: __u64 },
  { size: 16 },
);

/**
 * `struct hl_info_args`: `op` selects the query; the answer (the struct of that op) is copied to
 * `return_pointer`, at most `return_size` bytes; `pad` must be 0. The anonymous union holds the
 * inputs a few ops take (none of the ops drmsim models reads it). A JavaScript caller passes the
 * object to fill in as `return_pointer` and `return_size: hl_info_….size`.
 */
export const hl_info_args = uapiStruct(
  "hl_info_args",
  {
    return_pointer: opaquePtr(__u8, "return_size"),
    return_size: __u32,
    op: __u32,
    u: anonUnion(
      { dcore_id: __u32 },
      { ctx_id: __u32 },
      { period_ms: __u32 },
      { pll_index: __u32 },
      { eventfd: __u32 },
      { user_buffer_actual_size: __u32 },
      { sec_attest_nonce: __u32 },
      { array_size: __u32 },
      { fw_sub_opcode: __u32 },
    ),
    pad: mbz(__u32),
  },
  { size: 24 },
);
/** `struct hl_info_args` as a caller passes it. */
export type HlInfoArgs = UapiArgsOf<typeof hl_info_args>;

// --- HL_CB --------------------------------------------------------------------------------------

/** `HL_CB_OP_CREATE`. */
export const HL_CB_OP_CREATE = 0;
/** `HL_CB_OP_DESTROY`. */
export const HL_CB_OP_DESTROY = 1;
/** `HL_CB_OP_INFO`: the CB's usage count (jobs that still use it). */
export const HL_CB_OP_INFO = 2;
/** `HL_MAX_CB_SIZE`: 2 MiB minus 32 bytes. */
export const HL_MAX_CB_SIZE = 0x200000 - 32;
/** `HL_CB_FLAGS_MAP` (not modelled: `EINVAL`). */
export const HL_CB_FLAGS_MAP = 0x1;
/** `HL_CB_FLAGS_GET_DEVICE_VA` (not modelled: `EINVAL`). */
export const HL_CB_FLAGS_GET_DEVICE_VA = 0x2;

/** `struct hl_cb_in`. */
export const hl_cb_in = uapiStruct(
  "hl_cb_in",
  { cb_handle: __u64, op: __u32, cb_size: __u32, ctx_id: __u32, flags: __u32 },
  { size: 24 },
);
/** `struct hl_cb_out`: the new handle (CREATE), or the CB's usage count (INFO), or its device VA. */
export const hl_cb_out = uapiStruct(
  "hl_cb_out",
  { u: anonUnion({ cb_handle: __u64 }, { usage_cnt: __u32, pad: __u32 }, { device_va: __u64 }) },
  { size: 8 },
);
/** `union hl_cb_args`: in `op`, `cb_size` (CREATE), `cb_handle` (DESTROY, INFO); out `cb_handle` or `usage_cnt`. */
export const hl_cb_args = uapiUnion("hl_cb_args", { in: hl_cb_in, out: hl_cb_out }, { size: 24, out: "out" });
/** `union hl_cb_args` as a caller passes it. */
export type HlCbArgs = UapiArgsOf<typeof hl_cb_args>;

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
 * completed: `ULLONG_MAX`, which the header says is never a valid sequence. `HL_WAIT_CS` refuses it.
 */
export const HL_CS_SEQ_NONE = 0xffff_ffff_ffff_ffffn;

/** `HL_CS_STATUS_SUCCESS`. */
export const HL_CS_STATUS_SUCCESS = 0;
/** `HL_MAX_JOBS_PER_CS`. */
export const HL_MAX_JOBS_PER_CS = 512;
/**
 * `struct hl_cs_chunk` (64 bytes, fixed by the header): one job. For an external queue `cb_handle`
 * is a command buffer handle from `HL_CB` and `cb_size` the bytes of it that hold packets; for an
 * internal queue `cb_handle` is the device virtual address of a command buffer in device memory.
 * A wait CS's chunk uses the same bytes as `signal_seq_arr` (user pointer to the signal CSs'
 * sequence numbers) and `num_signal_seq_arr`. `cs_chunk_flags`, `collective_engine_id` and `pad`
 * must be 0. How long the job runs is the hardware model's (`hl-hw-model.ts`), not the chunk's.
 */
export const hl_cs_chunk = uapiStruct(
  "hl_cs_chunk",
  {
    u0: anonUnion(
      { cb_handle: __u64 },
      { signal_seq_arr: userPtr(__u64, "num_signal_seq_arr") },
      { encaps_signal_seq: __u64 },
    ),
    queue_index: __u32,
    u1: anonUnion({ cb_size: __u32 }, { num_signal_seq_arr: __u32 }, { encaps_signal_offset: __u32 }),
    cs_chunk_flags: __u32,
    collective_engine_id: __u32,
    pad: fixedArray(__u32, 10),
  },
  { size: 64 },
);
/** `struct hl_cs_chunk` as a caller passes it. */
export type HlCsChunk = UapiArgsOf<typeof hl_cs_chunk>;

/**
 * `struct hl_cs_in`. The first anonymous union is the job arrays (`chunks_restore`,
 * `chunks_execute`, counted by `num_chunks_*`) or, for engine commands, the engine arrays; the
 * second is `seq` (staged submission) or the encapsulated-signals handle. `timeout` is in seconds,
 * with `HL_CS_FLAGS_CUSTOM_TIMEOUT`.
 */
export const hl_cs_in = uapiStruct(
  "hl_cs_in",
  {
    u0: anonUnion(
      {
        chunks_restore: userPtr(hl_cs_chunk, "num_chunks_restore"),
        chunks_execute: userPtr(hl_cs_chunk, "num_chunks_execute"),
      },
      { engine_cores: userPtr(__u32, "num_engine_cores"), num_engine_cores: __u32, core_command: __u32 },
      { engines: userPtr(__u32, "num_engines"), num_engines: __u32, engine_command: __u32 },
    ),
    u1: anonUnion(
      { seq: __u64 },
      { encaps_sig_handle_id: __u32 },
      { encaps_signals_count: __u32, encaps_signals_q_idx: __u32 },
    ),
    num_chunks_restore: __u32,
    num_chunks_execute: __u32,
    timeout: __u32,
    cs_flags: __u32,
    ctx_id: __u32,
    pad: fixedArray(__u8, 4),
  },
  { size: 48 },
);
/**
 * `struct hl_cs_out`: `seq` (or, for a signals reservation, `handle_id`/`count`), `status`, and
 * for a signal CS the SOB it increments (`sob_base_addr_offset`) and the signals that SOB counted
 * before this one (`sob_count_before_submission`).
 */
export const hl_cs_out = uapiStruct(
  "hl_cs_out",
  {
    u: anonUnion({ seq: __u64 }, { handle_id: __u32, count: __u32 }),
    status: __u32,
    sob_base_addr_offset: __u32,
    sob_count_before_submission: __u16,
    pad: fixedArray(__u16, 3),
  },
  { size: 24 },
);
/** `union hl_cs_args`. */
export const hl_cs_args = uapiUnion("hl_cs_args", { in: hl_cs_in, out: hl_cs_out }, { size: 48, out: "out" });
/** `union hl_cs_args` as a caller passes it. */
export type HlCsArgs = UapiArgsOf<typeof hl_cs_args>;

// --- HL_WAIT_CS ---------------------------------------------------------------------------------

/** `HL_WAIT_CS_FLAGS_INTERRUPT`. */
export const HL_WAIT_CS_FLAGS_INTERRUPT = 0x2;
/** `HL_WAIT_CS_FLAGS_MULTI_CS`. */
export const HL_WAIT_CS_FLAGS_MULTI_CS = 0x4;

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
 * `struct hl_wait_cs_in`: `seq` and `timeout_us` for a CS wait; the same bytes are `addr` /
 * `cq_counters_handle` and `target` for an interrupt wait, and the union at 24 is `seq_arr_len`
 * (multi-CS) or `interrupt_timeout_us`. Its nested anonymous union (`addr` / `cq_counters_handle`)
 * is written as two variants: the members sit at the same offsets either way.
 */
export const hl_wait_cs_in = uapiStruct(
  "hl_wait_cs_in",
  {
    u0: anonUnion(
      { seq: __u64, timeout_us: __u64 },
      { addr: __u64, target: __u64 },
      { cq_counters_handle: __u64 },
    ),
    ctx_id: __u32,
    flags: __u32,
    u1: anonUnion({ seq_arr_len: __u8, pad: fixedArray(__u8, 7) }, { interrupt_timeout_us: __u64 }),
    cq_counters_offset: __u64,
    timestamp_handle: __u64,
    timestamp_offset: __u64,
  },
  { size: 56 },
);
/** `struct hl_wait_cs_out`. */
export const hl_wait_cs_out = uapiStruct(
  "hl_wait_cs_out",
  { status: __u32, flags: __u32, timestamp_nsec: __s64, cs_completion_map: __u32, pad: __u32 },
  { size: 24 },
);
/**
 * `union hl_wait_cs_args`. In: `seq`, `timeout_us` (0: just look), `flags` (0: interrupt and
 * multi-CS waits are not modelled), `ctx_id` (0). Out: `status`, `flags`, `timestamp_nsec`.
 *
 * On failure the kernel still copies `status` out (TIMEDOUT for `ETIMEDOUT`, ABORTED for `EIO`);
 * the handler sets it, for an ioctl core that copies the argument back whatever the handler
 * returned, as `drm_ioctl` does.
 */
export const hl_wait_cs_args = uapiUnion(
  "hl_wait_cs_args",
  { in: hl_wait_cs_in, out: hl_wait_cs_out },
  { size: 56, out: "out" },
);
/** `union hl_wait_cs_args` as a caller passes it. */
export type HlWaitCsArgs = UapiArgsOf<typeof hl_wait_cs_args>;

// --- HL_MEMORY ----------------------------------------------------------------------------------

/** `HL_MEM_OP_ALLOC`. */
export const HL_MEM_OP_ALLOC = 0;
/** `HL_MEM_OP_FREE`. */
export const HL_MEM_OP_FREE = 1;
/** `HL_MEM_OP_MAP`. */
export const HL_MEM_OP_MAP = 2;
/** `HL_MEM_OP_UNMAP`. */
export const HL_MEM_OP_UNMAP = 3;
/** `HL_MEM_OP_MAP_BLOCK` (not modelled: `EINVAL` as an unknown op). */
export const HL_MEM_OP_MAP_BLOCK = 4;
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
 * `struct hl_mem_in`: an anonymous union of one struct per op — `alloc` (`mem_size`,
 * `page_size`), `free` (`handle`), `map_device` (`hint_addr`, `handle`), `map_host`, `map_block`,
 * `unmap` (`device_virt_addr`), `export_dmabuf_fd` (`addr`, `mem_size`, `offset`) — then `op`,
 * `flags` (for EXPORT_DMABUF_FD: the dma-buf's file flags), `ctx_id`, `num_of_elements`.
 */
export const hl_mem_in = uapiStruct(
  "hl_mem_in",
  {
    u: anonUnion(
      { alloc: uapiStruct("hl_mem_in.alloc", { mem_size: __u64, page_size: __u64 }, { size: 16 }) },
      { free: uapiStruct("hl_mem_in.free", { handle: __u64 }, { size: 8 }) },
      { map_device: uapiStruct("hl_mem_in.map_device", { hint_addr: __u64, handle: __u64 }, { size: 16 }) },
      {
        map_host: uapiStruct(
          "hl_mem_in.map_host",
          { host_virt_addr: __u64, hint_addr: __u64, mem_size: __u64 },
          { size: 24 },
        ),
      },
      { map_block: uapiStruct("hl_mem_in.map_block", { block_addr: __u64 }, { size: 8 }) },
      { unmap: uapiStruct("hl_mem_in.unmap", { device_virt_addr: __u64 }, { size: 8 }) },
      {
        export_dmabuf_fd: uapiStruct(
          "hl_mem_in.export_dmabuf_fd",
          { addr: __u64, mem_size: __u64, offset: __u64 },
          { size: 24 },
        ),
      },
    ),
    op: __u32,
    flags: __u32,
    ctx_id: __u32,
    num_of_elements: __u32,
  },
  { size: 40 },
);
/** `struct hl_mem_out`: `device_virt_addr` (MAP), `handle` (ALLOC), `block_handle` (MAP_BLOCK) or `fd` (EXPORT). */
export const hl_mem_out = uapiStruct(
  "hl_mem_out",
  {
    u: anonUnion(
      { device_virt_addr: __u64 },
      { handle: __u64 },
      { block_handle: __u64, block_size: __u32, pad: __u32 },
      { fd: __s32 },
    ),
  },
  { size: 16 },
);
/** `union hl_mem_args`. */
export const hl_mem_args = uapiUnion(
  "hl_mem_args",
  { in: hl_mem_in, out: hl_mem_out },
  { size: 40, out: "out" },
);
/** `union hl_mem_args` as a caller passes it. */
export type HlMemArgs = UapiArgsOf<typeof hl_mem_args>;

/** `DMA_BUF_CHUNK_MAX_SIZE`: scatter-list entries hold an unsigned int, so no segment exceeds 512 MiB. */
export const DMA_BUF_CHUNK_MAX_SIZE = 512 * 1024 * 1024;

// --- HL_DEBUG -----------------------------------------------------------------------------------

/** `HL_DEBUG_OP_ETR`: CoreSight ETR configuration. */
export const HL_DEBUG_OP_ETR = 0;
/** `HL_DEBUG_OP_ETF`. */
export const HL_DEBUG_OP_ETF = 1;
/** `HL_DEBUG_OP_STM`. */
export const HL_DEBUG_OP_STM = 2;
/** `HL_DEBUG_OP_FUNNEL`. */
export const HL_DEBUG_OP_FUNNEL = 3;
/** `HL_DEBUG_OP_BMON`. */
export const HL_DEBUG_OP_BMON = 4;
/** `HL_DEBUG_OP_SPMU`. */
export const HL_DEBUG_OP_SPMU = 5;
/** `HL_DEBUG_OP_TIMESTAMP`. */
export const HL_DEBUG_OP_TIMESTAMP = 6;
/** `HL_DEBUG_OP_SET_MODE`: `enable` 1 puts the device in debug mode (profiling), 0 takes it out. */
export const HL_DEBUG_OP_SET_MODE = 7;

/**
 * `struct hl_debug_args`: the CoreSight debug/profiling ioctl. `SET_MODE` enters and leaves debug
 * mode; the configuration ops are refused outside it (`hl-debug.ts`).
 */
export const hl_debug_args = uapiStruct(
  "hl_debug_args",
  {
    input_ptr: opaquePtr(__u8, "input_size"),
    output_ptr: opaquePtr(__u8, "output_size"),
    input_size: __u32,
    output_size: __u32,
    op: __u32,
    reg_idx: __u32,
    enable: __u32,
    ctx_id: __u32,
  },
  { size: 40 },
);
/** `struct hl_debug_args` as a caller passes it. */
export type HlDebugArgs = UapiArgsOf<typeof hl_debug_args>;

// --- request numbers ----------------------------------------------------------------------------

/** `DRM_IOCTL_HL_INFO`. */
export const DRM_IOCTL_HL_INFO = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_INFO, hl_info_args);
/** `DRM_IOCTL_HL_CB`. */
export const DRM_IOCTL_HL_CB = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_CB, hl_cb_args);
/** `DRM_IOCTL_HL_CS`. */
export const DRM_IOCTL_HL_CS = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_CS, hl_cs_args);
/** `DRM_IOCTL_HL_WAIT_CS`. */
export const DRM_IOCTL_HL_WAIT_CS = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_WAIT_CS, hl_wait_cs_args);
/** `DRM_IOCTL_HL_MEMORY`. */
export const DRM_IOCTL_HL_MEMORY = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_MEMORY, hl_mem_args);
/** `DRM_IOCTL_HL_DEBUG`. */
export const DRM_IOCTL_HL_DEBUG = DRM_IOWR(HL_COMMAND_START + HL_IOCTL_DEBUG, hl_debug_args);
