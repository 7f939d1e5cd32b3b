/**
 * Command-stream packets the simulated hardware understands, as userspace writes them into IBs
 * and user-queue rings: the CP's PM4 type-3 packets (gfx and compute rings, `soc15d.h`/`nvd.h`)
 * and the SDMA engine's packets (`sdma_v6_0` style headers).
 *
 * Of the real packets the hardware model acts on NOP (skipped, whatever its payload), the memory
 * forms of WRITE_DATA and DMA_DATA (PM4) and WRITE, COPY linear, CONST_FILL and FENCE (SDMA),
 * which store, fill or copy at GPU virtual addresses. Other type-3 packets are parsed over by
 * their count and cost nothing; what the engines refuse is in `amdgpu-hw-model.ts`.
 *
 * The simulation's knobs travel in NOPs — the one packet whose payload real hardware ignores — as
 * a drmsim *marker*: the payload starts with `AMDGPU_SIM_MAGIC`, then a command: run for some
 * nanoseconds, hang, or write some bytes at a GPU address. Real userspace never writes the magic,
 * so its IBs get the model's defaults; `@drmsim/amdgpu/user` writes markers for JavaScript tests.
 * This is the side channel `DIFFERENCES.md` documents: nothing in any ioctl struct.
 */

/** `PACKET_TYPE3`: the CP packet type of every PM4 command. */
export const PM4_TYPE3 = 3;
/** `PACKET3_NOP`. */
export const PACKET3_NOP = 0x10;
/** `PACKET3_WRITE_DATA`. */
export const PACKET3_WRITE_DATA = 0x37;
/** `PACKET3_DMA_DATA`: the CP's DMA engine copies or fills memory. */
export const PACKET3_DMA_DATA = 0x50;
/** `DMA_DATA` control: `DST_SEL` field (0 or 3: memory by address; 1: GDS). */
export const DMA_DATA_DST_SEL_SHIFT = 20;
/** `DMA_DATA` control: `SRC_SEL` field (0 or 3: memory by address; 1: GDS; 2: the data dword). */
export const DMA_DATA_SRC_SEL_SHIFT = 29;
/** `DMA_DATA` `SRC_SEL` value: the source is the packet's data dword (a fill). */
export const DMA_DATA_SRC_SEL_DATA = 2;
/** `DMA_DATA` command dword: `BYTE_COUNT` bits. */
export const DMA_DATA_BYTE_COUNT_MASK = 0x03ff_ffff;
/** `WRITE_DATA_DST_SEL(5)`: the destination is memory (as opposed to a register). */
export const WRITE_DATA_DST_SEL_MEM = 5;
/** The one-dword NOP the gfx ring pads IBs with (`PACKET3(PACKET3_NOP, 0x3FFF)`). */
export const PM4_NOP_PAD = 0xffff1000;

/** `SDMA_OP_NOP`. */
export const SDMA_OP_NOP = 0;
/** `SDMA_OP_COPY` (sub-op 0: linear). */
export const SDMA_OP_COPY = 1;
/** `SDMA_OP_WRITE` (sub-op 0: linear). */
export const SDMA_OP_WRITE = 2;
/** `SDMA_OP_FENCE`: a dword stored at an address. */
export const SDMA_OP_FENCE = 5;
/** `SDMA_OP_TRAP`: an interrupt to the driver. */
export const SDMA_OP_TRAP = 6;
/** `SDMA_OP_CONST_FILL`: a dword repeated over a byte range. */
export const SDMA_OP_CONST_FILL = 11;

/** The first payload dword of a drmsim marker NOP: "DSIM" in little-endian bytes. */
export const AMDGPU_SIM_MAGIC = 0x4d495344;
/** Marker command: the IB runs for the u64 nanoseconds that follow (lo, hi); several add up. */
export const AMDGPU_SIM_CMD_RUN = 1;
/** Marker command: the IB never completes (the scheduler's timeout resets the GPU). */
export const AMDGPU_SIM_CMD_HANG = 2;
/** Marker command: when the job completes without error, the bytes that follow land at a GPU address (va lo, va hi, byte count, data). */
export const AMDGPU_SIM_CMD_WRITE = 3;

/** `PACKET3(op, n)`: a type-3 header for `count` payload dwords. */
export function pm4Header(op: number, count: number): number {
  return ((PM4_TYPE3 << 30) | (((count - 1) & 0x3fff) << 16) | ((op & 0xff) << 8)) >>> 0;
}

/** An SDMA packet header with `extra` payload dwords carried in the count field (NOP). */
export function sdmaHeader(op: number, subOp: number, extra = 0): number {
  return ((op & 0xff) | ((subOp & 0xff) << 8) | ((extra & 0x3fff) << 16)) >>> 0;
}

/** Which packet format a ring reads: the CP's PM4 (gfx, compute) or the SDMA engine's. */
export type AmdgpuPacketFormat = "pm4" | "sdma";

/** The bytes of `data` as little-endian dwords, zero-padded to a dword boundary. */
export function bytesToDwords(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 4) {
    let d = 0;
    for (let k = 0; k < 4; k++) d |= (data[i + k] ?? 0) << (8 * k);
    out.push(d >>> 0);
  }
  return out;
}

/** A NOP carrying `payload` in the ring's format. */
export function nopPacket(format: AmdgpuPacketFormat, payload: readonly number[]): number[] {
  if (format === "sdma") return [sdmaHeader(SDMA_OP_NOP, 0, payload.length), ...payload];
  if (payload.length === 0) return [PM4_NOP_PAD];
  return [pm4Header(PACKET3_NOP, payload.length), ...payload];
}

/** A drmsim marker: the IB runs for `ns` nanoseconds. */
export function simRunPacket(format: AmdgpuPacketFormat, ns: number | bigint): number[] {
  const v = BigInt(ns);
  return nopPacket(format, [
    AMDGPU_SIM_MAGIC,
    AMDGPU_SIM_CMD_RUN,
    Number(v & 0xffff_ffffn),
    Number((v >> 32n) & 0xffff_ffffn),
  ]);
}

/** A drmsim marker: the IB hangs. */
export function simHangPacket(format: AmdgpuPacketFormat): number[] {
  return nopPacket(format, [AMDGPU_SIM_MAGIC, AMDGPU_SIM_CMD_HANG]);
}

/** Bytes of data one WRITE marker carries: its NOP's count field holds at most 0x4000 payload dwords. */
export const AMDGPU_SIM_WRITE_CHUNK = 0x3f00 * 4;

/**
 * drmsim markers: `data` lands at GPU address `va` when the job completes without error. Data
 * longer than `AMDGPU_SIM_WRITE_CHUNK` takes several markers (a packet's count field is 14 bits).
 */
export function simWritePacket(format: AmdgpuPacketFormat, va: number | bigint, data: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at === 0 || at < data.length; at += AMDGPU_SIM_WRITE_CHUNK) {
    const part = data.subarray(at, at + AMDGPU_SIM_WRITE_CHUNK);
    const a = BigInt(va) + BigInt(at);
    out.push(
      ...nopPacket(format, [
        AMDGPU_SIM_MAGIC,
        AMDGPU_SIM_CMD_WRITE,
        Number(a & 0xffff_ffffn),
        Number((a >> 32n) & 0xffff_ffffn),
        part.length,
        ...bytesToDwords(part),
      ]),
    );
  }
  return out;
}

/** The real store packet: WRITE_DATA (PM4) or WRITE linear (SDMA) of `dwords` at `va`. */
export function writeDataPacket(
  format: AmdgpuPacketFormat,
  va: number | bigint,
  dwords: readonly number[],
): number[] {
  const a = BigInt(va);
  const lo = Number(a & 0xffff_ffffn);
  const hi = Number((a >> 32n) & 0xffff_ffffn);
  if (format === "sdma") return [sdmaHeader(SDMA_OP_WRITE, 0), lo, hi, dwords.length - 1, ...dwords];
  return [pm4Header(PACKET3_WRITE_DATA, 3 + dwords.length), WRITE_DATA_DST_SEL_MEM << 8, lo, hi, ...dwords];
}

/** PM4 `DMA_DATA` copying `bytes` from `src` to `dst` (both memory by address). */
export function pm4DmaDataCopyPacket(src: number | bigint, dst: number | bigint, bytes: number): number[] {
  const s = BigInt(src);
  const d = BigInt(dst);
  return [
    pm4Header(PACKET3_DMA_DATA, 6),
    0,
    Number(s & 0xffff_ffffn),
    Number((s >> 32n) & 0xffff_ffffn),
    Number(d & 0xffff_ffffn),
    Number((d >> 32n) & 0xffff_ffffn),
    bytes & DMA_DATA_BYTE_COUNT_MASK,
  ];
}

/** SDMA `COPY` linear of `bytes` from `src` to `dst`. */
export function sdmaCopyLinearPacket(src: number | bigint, dst: number | bigint, bytes: number): number[] {
  const s = BigInt(src);
  const d = BigInt(dst);
  return [
    sdmaHeader(SDMA_OP_COPY, 0),
    (bytes - 1) >>> 0,
    0,
    Number(s & 0xffff_ffffn),
    Number((s >> 32n) & 0xffff_ffffn),
    Number(d & 0xffff_ffffn),
    Number((d >> 32n) & 0xffff_ffffn),
  ];
}

/** A copy in the ring's format: `DMA_DATA` (PM4) or `COPY` linear (SDMA). */
export function copyPacket(
  format: AmdgpuPacketFormat,
  src: number | bigint,
  dst: number | bigint,
  bytes: number,
): number[] {
  return format === "sdma" ? sdmaCopyLinearPacket(src, dst, bytes) : pm4DmaDataCopyPacket(src, dst, bytes);
}
