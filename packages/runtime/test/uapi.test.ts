import { describe, expect, it } from "vitest";
import {
  __s32,
  __s64,
  __u8,
  __u16,
  __u32,
  __u64,
  chars,
  ext,
  flagsMask,
  IocDir,
  ioc,
  iocDir,
  iocNr,
  iocSize,
  iocType,
  iow,
  iowr,
  KernelError,
  mbz,
  S64_MAX,
  Simulator,
  U64_MAX,
  type UapiValue,
  type UserMemory,
  type UserPtr,
  uapiCheckEntry,
  uapiCopyFromJs,
  uapiCopyToJs,
  uapiDecode,
  uapiEncode,
  uapiScalarFromJs,
  uapiStrndupUser,
  uapiStruct,
  uapiUnion,
  union,
  userPtr,
} from "../src/index.js";

const ctxOf = (sim: Simulator, mem?: UserMemory) => ({ sim, what: "TEST", mem });

/** A flat address space for decoding binary argument blocks: `map(addr, bytes)` places data. */
class FlatMemory implements UserMemory {
  private readonly regions: { addr: bigint; bytes: Uint8Array }[] = [];
  map(addr: bigint, bytes: Uint8Array): bigint {
    this.regions.push({ addr, bytes });
    return addr;
  }
  private find(addr: bigint, length: number): { r: Uint8Array; off: number } {
    for (const { addr: a, bytes } of this.regions)
      if (addr >= a && addr + BigInt(length) <= a + BigInt(bytes.length))
        return { r: bytes, off: Number(addr - a) };
    throw new KernelError("EFAULT", `nothing mapped at 0x${addr.toString(16)}+${length}`);
  }
  read(addr: bigint, length: number): Uint8Array {
    const { r, off } = this.find(addr, length);
    return r.slice(off, off + length);
  }
  write(addr: bigint, data: Uint8Array): void {
    const { r, off } = this.find(addr, data.length);
    r.set(data, off);
  }
}

describe("uAPI layouts (C layout rules of the 64-bit ABIs)", () => {
  it("places members at their natural alignment and pads the struct to its largest member", () => {
    const s = uapiStruct("t", { a: __u32, b: __u64, c: __u8, d: __u16, e: __s32, f: __u8 }, { size: 32 });
    expect(s.offsets).toEqual({ a: 0, b: 8, c: 16, d: 18, e: 20, f: 24 });
    expect(s.size).toBe(32);
    expect(() => uapiStruct("bad", { a: __u32, b: __u64 }, { size: 12 })).toThrow(
      /layout gives 16 bytes, the header 12/,
    );
    const u = uapiUnion(
      "u",
      {
        in: uapiStruct("i", { x: __u64, y: __u64, z: __u32 }, { size: 24 }),
        out: uapiStruct("o", { h: __u64 }, { size: 8 }),
      },
      { size: 24, out: "out" },
    );
    expect(u.offsets).toEqual({ in: 0, out: 0 });
    const inStruct = uapiStruct(
      "s",
      {
        pre: __u32,
        u: union({
          a: uapiStruct("a", { v: __u32 }, { size: 4 }),
          b: uapiStruct("b", { w: __u64 }, { size: 8 }),
        }),
      },
      { size: 16 },
    );
    expect(inStruct.offsets).toEqual({ pre: 0, u: 8 });
  });

  it("request numbers encode direction, type, number and size (_IOC)", () => {
    const cmd = iowr("d", 0xca, 48);
    expect(cmd).toBe(0xc03064ca); // DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT
    expect([iocDir(cmd), iocType(cmd), iocNr(cmd), iocSize(cmd)]).toEqual([
      IocDir.READ_WRITE,
      0x64,
      0xca,
      48,
    ]);
    expect(iow("b", 0, 8)).toBe(0x40086200); // DMA_BUF_IOCTL_SYNC
    expect(ioc(IocDir.NONE, "d", 0x1e, 0)).toBe(0x641e); // DRM_IOCTL_SET_MASTER
  });
});

describe("copy_from_user / copy_to_user of a simulated process's argument", () => {
  const pt = uapiStruct(
    "pt",
    {
      handles: userPtr(__u32, "count"),
      points: userPtr(__u64, "count"),
      timeout: __s64,
      count: __u32,
      flags: flagsMask(__u32, 0x3),
      first: __u32,
      pad: mbz(__u32),
    },
    { size: 40 },
  );

  it("gives the handler numbers for 32-bit members and exact bigints for 64-bit ones, up to 2^64-1", () => {
    const sim = new Simulator();
    const arg = { handles: [1, 2], points: [2n ** 63n, U64_MAX], count: 2, timeout: S64_MAX };
    const v = uapiCopyFromJs(pt, arg, ctxOf(sim));
    expect(v.count).toBe(2);
    expect(v.timeout).toBe(S64_MAX);
    expect(v.handles.read()).toEqual([1, 2]);
    expect(v.points.read()).toEqual([2n ** 63n, U64_MAX]);
    // Written back: 32-bit as numbers; 64-bit as numbers while safe, bigints above.
    v.first = 7;
    v.points.write([5n, 2n ** 64n - 1n]);
    uapiCopyToJs(pt, v, arg);
    expect(arg).toMatchObject({ first: 7, count: 2, pad: 0, flags: 0, timeout: S64_MAX });
    expect(arg.points).toEqual([5, U64_MAX]);
  });

  it("refuses what no C program could store (EINVAL), faults on missing or short user memory (EFAULT)", () => {
    const sim = new Simulator();
    const code = (f: () => unknown) => {
      try {
        f();
        return "ok";
      } catch (e) {
        return (e as KernelError).code;
      }
    };
    const from = (a: unknown) => uapiCopyFromJs(pt, a, ctxOf(sim));
    for (const bad of [
      { count: -1 },
      { count: 2 ** 32 },
      { count: 1.5 },
      { count: "2" },
      { timeout: 2 ** 63 },
      { nope: 1 },
    ])
      expect(
        code(() => from(bad)),
        JSON.stringify(bad, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
      ).toBe("EINVAL");
    expect(code(() => from({ timeout: -(2n ** 63n) - 1n }))).toBe("EINVAL");
    expect(code(() => from({ count: 2, handles: [1] }).handles.read())).toBe("EFAULT");
    expect(code(() => from({ count: 1, handles: null }).handles.read())).toBe("EFAULT");
    expect(code(() => from({ count: 1, handles: 0x1000 }).handles.read())).toBe("EFAULT");
    // Reading nothing through NULL does not fault, as copying zero bytes does not.
    expect(from({ count: 0 }).handles.read()).toEqual([]);
    expect(code(() => from({ count: 1, handles: [1, "x"] }).handles.read())).toBe("ok");
    expect(code(() => from({ count: 2, handles: [1, "x"] }).handles.read())).toBe("EINVAL");
    expect(() => from({ count: 3, handles: [1, 2, -1] }).handles.read()).toThrow(
      "EINVAL: TEST.handles[2] must be a __u32 (0..4294967295), got -1",
    );
    // Entry checks: mbz and flag masks.
    expect(code(() => uapiCheckEntry(pt, from({ pad: 1 }), "TEST"))).toBe("EINVAL");
    expect(code(() => uapiCheckEntry(pt, from({ flags: 4 }), "TEST"))).toBe("EINVAL");
    expect(code(() => uapiCheckEntry(pt, from({ flags: 3 }), "TEST"))).toBe("ok");
  });

  it("a struct's copy of each scalar kind agrees with the scalar conversion at every edge, refusals and messages included", () => {
    // The struct copy is compiled per declaration (its own range tests per kind); the scalar
    // conversion is the rule. Every kind, every edge, both the value and the refusal must agree.
    const sim = new Simulator();
    const kinds = { u8: __u8, u16: __u16, u32: __u32, s32: __s32, u64: __u64, s64: __s64 } as const;
    const edges: unknown[] = [
      undefined,
      null,
      0,
      -0,
      1,
      -1,
      0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      "1",
      1n,
      -1n,
    ];
    for (const b of [8, 16, 31, 32, 53, 63, 64])
      edges.push(
        2 ** b - 1,
        2 ** b,
        -(2 ** b),
        2n ** BigInt(b) - 1n,
        2n ** BigInt(b),
        -(2n ** BigInt(b)),
        -(2n ** BigInt(b)) - 1n,
      );
    const outcome = (f: () => unknown) => {
      try {
        return { value: f() };
      } catch (e) {
        return { error: `${(e as KernelError).code}: ${(e as Error).message}` };
      }
    };
    for (const [kind, field] of Object.entries(kinds)) {
      const s = uapiStruct(`one_${kind}`, { x: field }, { size: field.size });
      for (const v of edges) {
        const viaStruct = outcome(() => uapiCopyFromJs(s, { x: v }, ctxOf(sim)).x);
        const viaScalar = outcome(() => uapiScalarFromJs(field.kind, v, "TEST", "x"));
        expect(viaStruct, `${kind} ${typeof v} ${String(v)}`).toEqual(viaScalar);
        if ("value" in viaStruct && typeof viaStruct.value === "number")
          expect(Object.is(viaStruct.value, -0), `${kind}: -0 is stored as 0`).toBe(false);
      }
    }
  });

  it("user memory: typed arrays are raw little-endian bytes, strings are char * with their NUL, an object is one struct", () => {
    const sim = new Simulator();
    const s = uapiStruct("s", { p: userPtr(__u32, "n"), n: __u32, name: userPtr(__u8) }, { size: 24 });
    const v = uapiCopyFromJs(s, { p: new Uint32Array([7, 8, 9]), n: 3, name: "abc" }, ctxOf(sim));
    expect(v.p.read()).toEqual([7, 8, 9]);
    expect(uapiStrndupUser(v.name, 32, "name")).toBe("abc");
    expect(() => uapiStrndupUser(v.name, 3, "name")).toThrow(/longer than 2 bytes/);
    v.p.write([0xffffffff], 1);
    const inner = uapiStruct("inner", { x: __u32, y: __u32 }, { size: 8 });
    const one = uapiStruct("one", { q: userPtr(inner) }, { size: 8 });
    const o = uapiCopyFromJs(one, { q: { x: 1, y: 2 } }, ctxOf(sim));
    expect(o.q.read(1)).toEqual([{ x: 1, y: 2 }]);
    // The same memory read as another type (a kernel casting a u64_to_user_ptr()).
    const dwords = uapiCopyFromJs(
      uapiStruct("d", { raw: userPtr(__u32) }, { size: 8 }),
      { raw: new Uint32Array([1, 2]) },
      ctxOf(sim),
    );
    expect(dwords.raw.as<UapiValue<typeof inner>>(inner).read(1)).toEqual([{ x: 1, y: 2 }]);
  });

  it("a union copies back its out member only; drmsim extension members are JavaScript-only and parsed", () => {
    const sim = new Simulator();
    const u = uapiUnion(
      "cs",
      {
        in: uapiStruct(
          "cs_in",
          { ctx_id: __u32, n: __u32, knob: ext((v) => (v === undefined ? 5 : Number(v))) },
          { size: 8 },
        ),
        out: uapiStruct("cs_out", { handle: __u64 }, { size: 8 }),
      },
      { size: 8, out: "out" },
    );
    const arg = { in: { ctx_id: 3, knob: 9 } };
    const v = uapiCopyFromJs(u, arg, ctxOf(sim));
    expect(v.in).toEqual({ ctx_id: 3, n: 0, knob: 9 });
    expect(uapiCopyFromJs(u, {}, ctxOf(sim)).in.knob).toBe(5);
    v.out.handle = 2n ** 60n;
    uapiCopyToJs(u, v, arg);
    expect(arg).toEqual({ in: { ctx_id: 3, knob: 9 }, out: { handle: 2n ** 60n } });
  });
});

describe("binary argument blocks (what a real program passes)", () => {
  const chunk = uapiStruct(
    "chunk",
    { id: __u32, length_dw: __u32, data: userPtr(__u32, "length_dw") },
    { size: 16 },
  );
  const cs = uapiUnion(
    "cs",
    {
      in: uapiStruct(
        "cs_in",
        { ctx_id: __u32, num_chunks: __u32, chunks: userPtr(userPtr(chunk), "num_chunks") },
        { size: 16 },
      ),
      out: uapiStruct("cs_out", { handle: __u64 }, { size: 8 }),
    },
    { size: 16, out: "out" },
  );

  it("decodes pointers to arrays of pointers through the program's memory and encodes the out member back", () => {
    const sim = new Simulator();
    const mem = new FlatMemory();
    const le = (...xs: (number | bigint)[]) => {
      const b = new Uint8Array(xs.length * 8);
      const dv = new DataView(b.buffer);
      for (const [i, x] of xs.entries()) dv.setBigUint64(i * 8, BigInt(x), true);
      return b;
    };
    const payload = mem.map(0x3000n, new Uint8Array(new Uint32Array([0xaa, 0xbb]).buffer));
    const c0 = new Uint8Array(16);
    new DataView(c0.buffer).setUint32(0, 1, true);
    new DataView(c0.buffer).setUint32(4, 2, true);
    new DataView(c0.buffer).setBigUint64(8, payload, true);
    const chunkAddr = mem.map(0x2000n, c0);
    const arr = mem.map(0x1000n, le(chunkAddr));
    const block = new Uint8Array(16);
    const dv = new DataView(block.buffer);
    dv.setUint32(0, 7, true);
    dv.setUint32(4, 1, true);
    dv.setBigUint64(8, arr, true);
    const v = uapiDecode(cs, block, ctxOf(sim, mem));
    expect(v.in.ctx_id).toBe(7);
    const [p] = v.in.chunks.read();
    const [c] = p!.read(1);
    expect(c!.id).toBe(1);
    expect(c!.data.read()).toEqual([0xaa, 0xbb]);
    v.out.handle = U64_MAX;
    // The out member written over what was passed in: the handle, then the rest of `in` as it was.
    const back = uapiEncode(cs, v);
    expect(new DataView(back.buffer).getBigUint64(0, true)).toBe(U64_MAX);
    expect([...back.subarray(8)]).toEqual([...block.subarray(8)]);
    // A pointer into nothing faults.
    const bad = uapiDecode(
      chunk,
      new Uint8Array(new BigUint64Array([0x100000002n, 0x9999n]).buffer),
      ctxOf(sim, mem),
    );
    expect(() => bad.data.read()).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });

  it("writes handler outputs through user pointers and round-trips chars and fixed members", () => {
    const sim = new Simulator();
    const mem = new FlatMemory();
    const outArr = mem.map(0x5000n, new Uint8Array(16));
    const s = uapiStruct(
      "q",
      { name: chars(8), pts: userPtr(__u64, "n"), n: __u32, pad: __u32 },
      { size: 24 },
    );
    const block = new Uint8Array(24);
    new TextEncoder().encodeInto("abc", block);
    new DataView(block.buffer).setBigUint64(8, outArr, true);
    new DataView(block.buffer).setUint32(16, 2, true);
    const v = uapiDecode(s, block, ctxOf(sim, mem));
    expect(v.name).toBe("abc");
    v.pts.write([1n, U64_MAX]);
    expect(new BigUint64Array(mem.read(outArr, 16).buffer)).toEqual(new BigUint64Array([1n, U64_MAX]));
    v.name = "defgh";
    const back = uapiEncode(s, v);
    expect(new TextDecoder().decode(back.subarray(0, 5))).toBe("defgh");
    expect(new DataView(back.buffer).getBigUint64(8, true)).toBe(outArr);
  });
});

it("UserPtr: the declared count sizes a default read", () => {
  const sim = new Simulator();
  const s = uapiStruct("c", { p: userPtr(__u32, "n"), n: __u32 }, { size: 16 });
  const v = uapiCopyFromJs(s, { p: [4, 5, 6], n: 2 }, ctxOf(sim));
  const p: UserPtr<number> = v.p;
  expect(p.count).toBe(2);
  expect(p.read()).toEqual([4, 5]);
  expect(p.read(1, 2)).toEqual([6]);
});

describe("UserPtr.readBytes: raw bytes a kernel parses itself (command streams, ops at a stride)", () => {
  const op = uapiStruct("op", { a: __u32, b: __u16, c: __u16 }, { size: 8 });
  const arg = uapiStruct(
    "arg",
    { buf: userPtr(__u8, "size"), ops: userPtr(op), size: __u32, pad: __u32 },
    { size: 24 },
  );

  it("reads a simulated process's typed array as is, lays an array of structs out as their C bytes, and faults past the end", () => {
    const sim = new Simulator();
    const bytes = Uint8Array.from([1, 2, 3, 4, 5]);
    const v = uapiCopyFromJs(
      arg,
      { buf: bytes, ops: [{ a: 0x01020304, b: 5, c: 6 }, { a: 7 }], size: 5 },
      ctxOf(sim),
    );
    expect([...v.buf.readBytes(5)]).toEqual([1, 2, 3, 4, 5]);
    expect(v.buf.read()).toEqual([1, 2, 3, 4, 5]);
    expect([...v.ops.readBytes(12)]).toEqual([4, 3, 2, 1, 5, 0, 6, 0, 7, 0, 0, 0]);
    expect(v.ops.readBytes(0)).toHaveLength(0);
    expect(() => v.buf.readBytes(6)).toThrow(expect.objectContaining({ code: "EFAULT" }));
    expect(() => v.ops.readBytes(17)).toThrow(expect.objectContaining({ code: "EFAULT" }));
    // An element no C program could store is EINVAL as it is laid out.
    const bad = uapiCopyFromJs(arg, { ops: [{ a: -1 }] }, ctxOf(sim));
    expect(() => bad.ops.readBytes(8)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    const none = uapiCopyFromJs(arg, {}, ctxOf(sim));
    expect(() => none.buf.readBytes(1)).toThrow(/NULL/);
  });

  it("reads a real program's memory through the bridge, and scalar arrays decode from one view", () => {
    const sim = new Simulator();
    const mem = new FlatMemory();
    const at = mem.map(0x4000n, Uint8Array.from([9, 8, 7, 6, 0xff, 0xff, 0, 0]));
    const block = new Uint8Array(24);
    new DataView(block.buffer).setBigUint64(0, at, true);
    new DataView(block.buffer).setUint32(16, 8, true);
    const v = uapiDecode(arg, block, ctxOf(sim, mem));
    expect([...v.buf.readBytes(8)]).toEqual([9, 8, 7, 6, 0xff, 0xff, 0, 0]);
    expect(v.buf.as<number>(__u16).read(4)).toEqual([0x0809, 0x0607, 0xffff, 0]);
    expect(v.buf.as<number>(__u32).read(1, 1)).toEqual([0xffff]);
    expect(() => v.buf.readBytes(9)).toThrow(expect.objectContaining({ code: "EFAULT" }));
  });
});
