/**
 * Anonymous unions in uAPI structs (`union { __u64 cb_handle; __u64 signal_seq_arr; };` inside
 * `struct hl_cs_chunk`): the members belong to the enclosing struct and share the union's bytes.
 */
import { describe, expect, it } from "vitest";
import {
  __u8,
  __u16,
  __u32,
  __u64,
  anonUnion,
  fixedArray,
  KernelError,
  Simulator,
  type UserMemory,
  uapiCopyFromJs,
  uapiCopyToJs,
  uapiDecode,
  uapiEncode,
  uapiStruct,
  uapiUnion,
  userPtr,
} from "../src/index.js";

const ctxOf = (sim: Simulator, mem?: UserMemory) => ({ sim, what: "TEST", mem });

/** `struct hl_cs_chunk`'s shape: two anonymous unions, one of them with a pointer and its count. */
const chunk = uapiStruct(
  "chunk",
  {
    u0: anonUnion({ cb_handle: __u64 }, { signal_seq_arr: userPtr(__u64, "num_signal_seq_arr") }),
    queue_index: __u32,
    u1: anonUnion({ cb_size: __u32 }, { num_signal_seq_arr: __u32 }),
    pad: fixedArray(__u32, 2),
  },
  { size: 24 },
);

/** `struct hl_cb_out`'s shape: a 64-bit member or an anonymous struct of two 32-bit ones. */
const cbArgs = uapiUnion(
  "cb_args",
  {
    in: uapiStruct("cb_in", { cb_handle: __u64, op: __u32, cb_size: __u32 }, { size: 16 }),
    out: uapiStruct(
      "cb_out",
      { u: anonUnion({ cb_handle: __u64 }, { usage_cnt: __u32, pad: __u32 }, { device_va: __u64 }) },
      { size: 8 },
    ),
  },
  { size: 16, out: "out" },
);

class OneRegion implements UserMemory {
  constructor(
    readonly addr: bigint,
    readonly bytes: Uint8Array,
  ) {}
  read(addr: bigint, length: number): Uint8Array {
    const off = Number(addr - this.addr);
    if (addr < this.addr || off + length > this.bytes.length)
      throw new KernelError("EFAULT", `nothing mapped at 0x${addr.toString(16)}`);
    return this.bytes.slice(off, off + length);
  }
  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, Number(addr - this.addr));
  }
}

describe("anonymous unions", () => {
  it("lay their members out at the union's offset, aligned to its largest variant", () => {
    expect(chunk.offsets).toEqual({
      cb_handle: 0,
      signal_seq_arr: 0,
      queue_index: 8,
      cb_size: 12,
      num_signal_seq_arr: 12,
      pad: 16,
    });
    const s = uapiStruct(
      "s",
      { a: __u8, u: anonUnion({ b: __u16 }, { c: __u64, d: __u8 }), e: __u32 },
      { size: 32 },
    );
    expect(s.offsets).toEqual({ a: 0, b: 8, c: 8, d: 16, e: 24 });
    expect(() => uapiStruct("t", { u: anonUnion({ a: __u32 }, { a: __u64 }) }, { size: 8 })).toThrow(
      /declared twice/,
    );
    expect(() => uapiStruct("t", { u: anonUnion({ a: __u32 }, { b: __u32 }) }, { size: 8 })).toThrow(
      /layout gives 4 bytes/,
    );
  });

  it("a JavaScript caller gives one variant's members; two variants at once are EINVAL", () => {
    const sim = new Simulator();
    const v = uapiCopyFromJs(
      chunk,
      { queue_index: 2, signal_seq_arr: [7n], num_signal_seq_arr: 1 },
      ctxOf(sim),
    );
    expect(v.cb_handle).toBe(0n);
    expect(v.signal_seq_arr.read()).toEqual([7n]);
    const w = uapiCopyFromJs(chunk, { cb_handle: 5, cb_size: 64 }, ctxOf(sim));
    expect([w.cb_handle, w.cb_size, w.signal_seq_arr.isNull]).toEqual([5n, 64, true]);
    expect(() => uapiCopyFromJs(chunk, { cb_handle: 5, signal_seq_arr: [1] }, ctxOf(sim))).toThrow(
      expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/share one union/) }),
    );
  });

  it("a binary block gives every member of the union a value from the same bytes", () => {
    const sim = new Simulator();
    const mem = new OneRegion(0x4000n, new Uint8Array(new BigUint64Array([11n, 22n]).buffer));
    const block = new Uint8Array(24);
    const dv = new DataView(block.buffer);
    dv.setBigUint64(0, 0x4000n, true);
    dv.setUint32(8, 3, true);
    dv.setUint32(12, 2, true);
    const v = uapiDecode(chunk, block, ctxOf(sim, mem));
    expect(v.cb_handle).toBe(0x4000n);
    expect(v.cb_size).toBe(2);
    expect(v.signal_seq_arr.read()).toEqual([11n, 22n]);
    expect([...uapiEncode(chunk, v)]).toEqual([...block]);
  });

  it("the encoder writes back the variant the handler changed, over the bytes passed in", () => {
    const sim = new Simulator();
    const block = new Uint8Array(16);
    const dv = new DataView(block.buffer);
    dv.setBigUint64(0, 0xffff_ffff_ffff_ffffn, true);
    dv.setUint32(8, 2, true);
    const v = uapiDecode(cbArgs, block, ctxOf(sim));
    expect(v.out.usage_cnt).toBe(0xffff_ffff);
    v.out.usage_cnt = 3;
    const back = new DataView(uapiEncode(cbArgs, v).buffer);
    // usage_cnt replaced the low half; the high half (its pad) is what was passed in.
    expect(back.getUint32(0, true)).toBe(3);
    expect(back.getUint32(4, true)).toBe(0xffff_ffff);
    expect(back.getUint32(8, true)).toBe(2);
    const w = uapiDecode(cbArgs, block, ctxOf(sim));
    w.out.device_va = 0x1234n;
    expect(new DataView(uapiEncode(cbArgs, w).buffer).getBigUint64(0, true)).toBe(0x1234n);
  });

  it("a JavaScript caller reads every member back by its name", async () => {
    const sim = new Simulator();
    const arg: { in: object; out?: { usage_cnt?: number; cb_handle?: number } } = {
      in: { op: 2, cb_handle: 1 },
    };
    const v = uapiCopyFromJs(cbArgs, arg, ctxOf(sim));
    v.out.usage_cnt = 4;
    uapiCopyToJs(cbArgs, v, arg);
    expect(arg.out).toMatchObject({ usage_cnt: 4, cb_handle: 0 });
  });
});
