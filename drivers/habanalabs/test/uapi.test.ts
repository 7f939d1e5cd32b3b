/**
 * The habanalabs uAPI against `include/uapi/drm/habanalabs_accel.h`: every layout's size is the
 * header's `sizeof`, members sit at the header's offsets, the request numbers are the header's,
 * and a real program's argument blocks decode and encode through the anonymous unions.
 */
import {
  Simulator,
  U64_MAX,
  type UapiStruct,
  type UserMemory,
  uapiDecode,
  uapiEncode,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_DEBUG,
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CS_FLAGS_WAIT,
  hl_cb_args,
  hl_cb_in,
  hl_cb_out,
  hl_cs_args,
  hl_cs_chunk,
  hl_cs_in,
  hl_cs_out,
  hl_debug_args,
  hl_info_args,
  hl_info_cs_counters,
  hl_info_cs_timeout_event,
  hl_info_device_status,
  hl_info_dram_usage,
  hl_info_hw_ip_info,
  hl_info_reset_count,
  hl_mem_args,
  hl_mem_in,
  hl_mem_out,
  hl_wait_cs_args,
  hl_wait_cs_in,
  hl_wait_cs_out,
} from "../src/index.js";

describe("habanalabs uAPI layouts", () => {
  it("every struct and union has the header's sizeof", () => {
    const sizes: [UapiStruct, number][] = [
      [hl_info_hw_ip_info, 304],
      [hl_info_dram_usage, 16],
      [hl_info_device_status, 8],
      [hl_info_reset_count, 8],
      [hl_info_cs_counters, 96],
      [hl_info_cs_timeout_event, 16],
      [hl_info_args, 24],
      [hl_cb_in, 24],
      [hl_cb_out, 8],
      [hl_cb_args, 24],
      [hl_cs_chunk, 64],
      [hl_cs_in, 48],
      [hl_cs_out, 24],
      [hl_cs_args, 48],
      [hl_wait_cs_in, 56],
      [hl_wait_cs_out, 24],
      [hl_wait_cs_args, 56],
      [hl_mem_in, 40],
      [hl_mem_out, 16],
      [hl_mem_args, 40],
      [hl_debug_args, 40],
    ];
    for (const [s, size] of sizes) expect(s.size, s.name).toBe(size);
  });

  it("members sit at the header's offsets, union members sharing theirs", () => {
    expect(hl_info_hw_ip_info.offsets).toMatchObject({
      dram_size: 16,
      first_available_interrupt_id: 44,
      tpc_enabled_mask: 68,
      cpucp_version: 72,
      card_name: 200,
      dram_page_size: 224,
      number_of_user_interrupts: 236,
      device_mem_alloc_default_page_size: 248,
      revision_id: 277,
      tpc_interrupt_id: 278,
      reserved_dram_size: 296,
    });
    expect(hl_info_args.offsets).toMatchObject({
      return_size: 8,
      op: 12,
      dcore_id: 16,
      fw_sub_opcode: 16,
      pad: 20,
    });
    expect(hl_cb_out.offsets).toMatchObject({ cb_handle: 0, usage_cnt: 0, pad: 4, device_va: 0 });
    expect(hl_cs_chunk.offsets).toMatchObject({
      cb_handle: 0,
      signal_seq_arr: 0,
      encaps_signal_seq: 0,
      queue_index: 8,
      cb_size: 12,
      num_signal_seq_arr: 12,
      cs_chunk_flags: 16,
      collective_engine_id: 20,
      pad: 24,
    });
    expect(hl_cs_in.offsets).toMatchObject({
      chunks_restore: 0,
      chunks_execute: 8,
      engine_cores: 0,
      num_engine_cores: 8,
      core_command: 12,
      seq: 16,
      encaps_signals_q_idx: 20,
      num_chunks_restore: 24,
      num_chunks_execute: 28,
      timeout: 32,
      cs_flags: 36,
      ctx_id: 40,
      pad: 44,
    });
    expect(hl_cs_out.offsets).toMatchObject({
      seq: 0,
      count: 4,
      status: 8,
      sob_base_addr_offset: 12,
      sob_count_before_submission: 16,
      pad: 18,
    });
    expect(hl_wait_cs_in.offsets).toMatchObject({
      seq: 0,
      timeout_us: 8,
      addr: 0,
      cq_counters_handle: 0,
      target: 8,
      ctx_id: 16,
      flags: 20,
      seq_arr_len: 24,
      interrupt_timeout_us: 24,
      cq_counters_offset: 32,
      timestamp_offset: 48,
    });
    expect(hl_wait_cs_out.offsets).toMatchObject({ timestamp_nsec: 8, cs_completion_map: 16 });
    expect(hl_mem_in.offsets).toMatchObject({
      alloc: 0,
      export_dmabuf_fd: 0,
      op: 24,
      flags: 28,
      ctx_id: 32,
      num_of_elements: 36,
    });
    expect(hl_mem_out.offsets).toMatchObject({ handle: 0, fd: 0, block_size: 8 });
  });

  it("request numbers are the header's: DRM_IOWR('d', 0x40 + HL_IOCTL_*, struct)", () => {
    expect(
      [
        DRM_IOCTL_HL_INFO,
        DRM_IOCTL_HL_CB,
        DRM_IOCTL_HL_CS,
        DRM_IOCTL_HL_WAIT_CS,
        DRM_IOCTL_HL_MEMORY,
        DRM_IOCTL_HL_DEBUG,
      ].map((c) => `0x${c.toString(16)}`),
    ).toEqual(["0xc0186440", "0xc0186441", "0xc0306442", "0xc0386443", "0xc0286444", "0xc0286445"]);
  });
});

/** One region of a real program's memory. */
class Region implements UserMemory {
  constructor(
    readonly addr: bigint,
    readonly bytes: Uint8Array,
  ) {}
  read(addr: bigint, length: number): Uint8Array {
    const off = Number(addr - this.addr);
    return this.bytes.slice(off, off + length);
  }
  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, Number(addr - this.addr));
  }
}

describe("habanalabs argument blocks of a real program", () => {
  it("a wait CS: chunks_execute points to a chunk whose first 8 bytes are the signal_seq_arr pointer", () => {
    const sim = new Simulator();
    // At 0x1000: one hl_cs_chunk (64 bytes), then at 0x1040 the __u64 array of signal sequences.
    const mem = new Region(0x1000n, new Uint8Array(64 + 8));
    const chunk = new DataView(mem.bytes.buffer);
    chunk.setBigUint64(0, 0x1040n, true); // signal_seq_arr
    chunk.setUint32(8, 1, true); // queue_index
    chunk.setUint32(12, 1, true); // num_signal_seq_arr
    chunk.setBigUint64(64, 7n, true);
    const block = new Uint8Array(48);
    const dv = new DataView(block.buffer);
    dv.setBigUint64(8, 0x1000n, true); // chunks_execute
    dv.setUint32(28, 1, true); // num_chunks_execute
    dv.setUint32(36, HL_CS_FLAGS_WAIT, true); // cs_flags
    const v = uapiDecode(hl_cs_args, block, { sim, what: "DRM_IOCTL_HL_CS", mem });
    expect(v.in.cs_flags).toBe(HL_CS_FLAGS_WAIT);
    const [c] = v.in.chunks_execute.read(v.in.num_chunks_execute);
    expect(c!.queue_index).toBe(1);
    // The same bytes as both members of each union.
    expect([c!.cb_handle, c!.cb_size]).toEqual([0x1040n, 1]);
    expect(c!.signal_seq_arr.read(c!.num_signal_seq_arr)).toEqual([7n]);
    // Nothing but the header's members: the simulation's knobs are not in the struct.
    expect(Object.keys(c!).sort()).toEqual(Object.keys(hl_cs_chunk.offsets).sort());
    // The answer: out.seq over the bytes passed in.
    v.out.seq = U64_MAX;
    v.out.status = 0;
    const back = new DataView(uapiEncode(hl_cs_args, v).buffer);
    expect(back.getBigUint64(0, true)).toBe(U64_MAX);
    expect(back.getUint32(8, true)).toBe(0);
    expect(back.getUint32(36, true)).toBe(HL_CS_FLAGS_WAIT);
  });

  it("HL_MEMORY: the op's input struct and the out member the handler set share the union's bytes", () => {
    const sim = new Simulator();
    const block = new Uint8Array(40);
    const dv = new DataView(block.buffer);
    dv.setBigUint64(0, 0x2000_0000n, true); // alloc.mem_size
    dv.setUint32(24, 0, true); // op = ALLOC
    const v = uapiDecode(hl_mem_args, block, { sim, what: "DRM_IOCTL_HL_MEMORY" });
    expect(v.in.alloc.mem_size).toBe(0x2000_0000n);
    expect(v.in.export_dmabuf_fd.addr).toBe(0x2000_0000n);
    v.out.fd = 5;
    expect(new DataView(uapiEncode(hl_mem_args, v).buffer).getInt32(0, true)).toBe(5);
  });
});
