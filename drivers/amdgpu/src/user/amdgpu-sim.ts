/**
 * drmsim's side channel for JavaScript tests: IBs whose bytes tell the simulated hardware how long
 * they run, whether they hang and what they write. Real userspace never writes these: it submits
 * its own PM4 and gets the hardware model's defaults.
 *
 * `amdgpuSimIbChunk` does what a userspace driver does to submit an IB — put the packets in a
 * GPU-visible buffer, map it in the VM, point an IB chunk at it — with drmsim marker packets
 * (`amdgpu-pm4.ts`) for the knobs: RUN for `duration_ns`, HANG for `hang`, a WRITE marker for
 * `fill`, and a real copy packet for `copy`, mapping the BOs they name in the VM if they are not yet. IBs live in small GTT pools, one set
 * per process and fd, and identical IBs are shared (they are read-only once written, as a
 * userspace driver may reuse a command buffer).
 */
import { KernelError, type Process } from "@drmsim/runtime";
import {
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_GEM_CREATE_CPU_GTT_USWC,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_HW_IP_DMA,
  AMDGPU_VA_OP_MAP,
  type DrmAmdgpuCsChunk,
  type DrmAmdgpuCsChunkIb,
  drm_amdgpu_cs_chunk_ib,
} from "../amdgpu-drm.js";
import {
  type AmdgpuPacketFormat,
  copyPacket,
  DMA_DATA_BYTE_COUNT_MASK,
  nopPacket,
  simHangPacket,
  simRunPacket,
  simWritePacket,
} from "../amdgpu-pm4.js";
import {
  AMDGPU_VM_PAGE_RWX,
  amdgpuBoAlloc,
  amdgpuBoQueryInfo,
  amdgpuBoQueryMappings,
  amdgpuBoVaOpRaw,
} from "./amdgpu-bo.js";
import { type AmdgpuUserDevice, amdgpuDeviceInitialize, amdgpuVaRangeAlloc } from "./amdgpu-device.js";
import { type AmdgpuCpuMapping, amdgpuBoCpuMap } from "./amdgpu-mmap.js";

/** drmsim `fill`: bytes the IB writes into a BO of the caller when the job completes without error. */
export interface AmdgpuSimFill {
  /** The BO (the library maps it in the VM if it is not yet). */
  bo_handle: number;
  /** Byte offset in the BO (default 0). */
  offset?: number;
  data: Uint8Array | readonly number[];
}

/** drmsim `copy`: bytes the IB copies between BOs of the caller (written as a real copy packet). */
export interface AmdgpuSimCopy {
  src_handle: number;
  src_offset?: number;
  dst_handle: number;
  dst_offset?: number;
  size: number;
}

/** The simulation knobs of an IB (none of them in `drm_amdgpu_cs_chunk_ib`). */
export interface AmdgpuSimKnobs {
  /** How long the GPU executes the IB (default: the hardware model's, 10 µs). */
  duration_ns?: number;
  /** The IB never completes (the scheduler's timeout resets the GPU). */
  hang?: boolean;
  /** What the IB writes. */
  fill?: AmdgpuSimFill;
  /** What the IB copies, after its fill: `DMA_DATA` on gfx and compute, `COPY` linear on SDMA. */
  copy?: AmdgpuSimCopy;
}

/** An IB for `amdgpuSimIbChunk`: the ring it goes to (real members of the chunk) and the knobs. */
export type AmdgpuSimIb = Pick<DrmAmdgpuCsChunkIb, "ip_type" | "ip_instance" | "ring" | "flags"> &
  AmdgpuSimKnobs;

const POOL_SIZE = 16 * 1024;
const IB_ALIGN = 256;

interface IbPool {
  handle: number;
  va: bigint;
  cpu: AmdgpuCpuMapping;
  used: number;
}

/** The library's per-device state for simulated IBs. */
interface SimState {
  pool: IbPool | null;
  /** IB bytes (hex) → its GPU address. */
  readonly cache: Map<string, bigint>;
  /** BO handle → where the library mapped it, and its size. */
  readonly mapped: Map<number, { va: bigint; size: bigint }>;
}

const STATE = new WeakMap<AmdgpuUserDevice, SimState>();

function state(dev: AmdgpuUserDevice): SimState {
  let s = STATE.get(dev);
  if (s === undefined) {
    s = { pool: null, cache: new Map(), mapped: new Map() };
    STATE.set(dev, s);
  }
  return s;
}

/**
 * The GPU address of BO `handle` in the caller's VM: where the library mapped it, mapping the
 * whole BO (read, write, execute) at a fresh address the first time (`amdgpu_bo_va_op` MAP, as
 * Mesa maps every BO it allocates).
 */
export async function amdgpuSimBoVa(
  p: Process,
  fd: number,
  handle: number,
): Promise<{ va: bigint; size: bigint }> {
  const dev = await amdgpuDeviceInitialize(p, fd);
  const s = state(dev);
  const have = s.mapped.get(handle);
  // A handle number is reused once closed: trust the cache only while the mapping is there.
  if (have !== undefined && (await amdgpuBoQueryMappings(p, fd, handle)).some((m) => m.addr === have.va))
    return have;
  const info = await amdgpuBoQueryInfo(p, fd, handle).catch((e: unknown) => {
    // A knob naming something that is not a BO is the caller's mistake, not a GEM_OP lookup.
    if ((e as { code?: string }).code === "ENOENT")
      throw new KernelError("EINVAL", `${handle} is not a BO of this file`);
    throw e;
  });
  const size = (info.allocSize + 4095n) & ~4095n;
  const va = amdgpuVaRangeAlloc(dev, size, 64 * 1024);
  await amdgpuBoVaOpRaw(p, fd, handle, 0, size, va, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
  const m = { va, size: info.allocSize };
  s.mapped.set(handle, m);
  return m;
}

/** Writes `dwords` into the IB pool (or finds them there); returns their GPU address. */
async function placeIb(p: Process, fd: number, dwords: readonly number[]): Promise<bigint> {
  const dev = await amdgpuDeviceInitialize(p, fd);
  const s = state(dev);
  const bytes = new Uint8Array(dwords.length * 4);
  const view = new DataView(bytes.buffer);
  dwords.forEach((d, i) => {
    view.setUint32(i * 4, d >>> 0, true);
  });
  const key = dwords.map((d) => (d >>> 0).toString(16)).join(",");
  const cached = s.cache.get(key);
  if (cached !== undefined) return cached;
  const need = Math.ceil(bytes.length / IB_ALIGN) * IB_ALIGN;
  if (s.pool === null || s.pool.used + need > POOL_SIZE) {
    const size = Math.max(POOL_SIZE, need);
    const handle = await amdgpuBoAlloc(p, fd, {
      allocSize: size,
      preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
      flags: AMDGPU_GEM_CREATE_CPU_GTT_USWC,
    });
    const { va } = await amdgpuSimBoVa(p, fd, handle);
    s.pool = { handle, va, cpu: await amdgpuBoCpuMap(p, fd, handle), used: 0 };
  }
  const pool = s.pool;
  pool.cpu.write(pool.used, bytes);
  const va = pool.va + BigInt(pool.used);
  pool.used += need;
  s.cache.set(key, va);
  return va;
}

/** The packets of an IB with these knobs, in the ring's format. */
async function simPackets(
  p: Process,
  fd: number,
  format: AmdgpuPacketFormat,
  k: AmdgpuSimKnobs,
): Promise<number[]> {
  const dw: number[] = [];
  if (k.duration_ns !== undefined) {
    if (!(k.duration_ns >= 0) || !Number.isFinite(k.duration_ns))
      throw new KernelError("EINVAL", `duration_ns must be a finite number >= 0, got ${k.duration_ns}`);
    dw.push(...simRunPacket(format, Math.round(k.duration_ns)));
  }
  if (k.hang === true) dw.push(...simHangPacket(format));
  if (k.fill !== undefined) {
    const f = k.fill;
    if (!Array.from(f.data).every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
      throw new KernelError("EINVAL", "fill.data must be bytes");
    const data = Uint8Array.from(f.data);
    const offset = f.offset ?? 0;
    const { va, size } = await amdgpuSimBoVa(p, fd, f.bo_handle);
    if (!Number.isSafeInteger(offset) || offset < 0 || BigInt(offset + data.length) > size)
      throw new KernelError(
        "EINVAL",
        `fill of ${data.length} bytes at ${offset} does not fit BO ${f.bo_handle} (${size} bytes)`,
      );
    dw.push(...simWritePacket(format, va + BigInt(offset), data));
  }
  if (k.copy !== undefined) {
    const c = k.copy;
    const src = await amdgpuSimBoVa(p, fd, c.src_handle);
    const dst = await amdgpuSimBoVa(p, fd, c.dst_handle);
    const so = c.src_offset ?? 0;
    const dof = c.dst_offset ?? 0;
    const fits = (o: number, size: bigint) =>
      Number.isSafeInteger(o) && o >= 0 && BigInt(o) + BigInt(c.size) <= size;
    if (!Number.isSafeInteger(c.size) || c.size <= 0 || c.size > DMA_DATA_BYTE_COUNT_MASK)
      throw new KernelError(
        "EINVAL",
        `copy size must be 1..${DMA_DATA_BYTE_COUNT_MASK} bytes, got ${c.size}`,
      );
    if (!fits(so, src.size) || !fits(dof, dst.size))
      throw new KernelError(
        "EINVAL",
        `copy of ${c.size} bytes from ${c.src_handle}@${so} to ${c.dst_handle}@${dof} does not fit the BOs`,
      );
    dw.push(...copyPacket(format, src.va + BigInt(so), dst.va + BigInt(dof), c.size));
  }
  if (dw.length === 0) dw.push(...nopPacket(format, []));
  return dw;
}

/**
 * An `AMDGPU_CHUNK_ID_IB` chunk whose IB carries drmsim's knobs: the packets are written to an
 * IB pool mapped in the caller's VM, and the chunk points at them (`va_start`, `ib_bytes`).
 */
export async function amdgpuSimIbChunk(p: Process, fd: number, ib: AmdgpuSimIb): Promise<DrmAmdgpuCsChunk> {
  const format: AmdgpuPacketFormat = ib.ip_type === AMDGPU_HW_IP_DMA ? "sdma" : "pm4";
  const dwords = await simPackets(p, fd, format, ib);
  const va = await placeIb(p, fd, dwords);
  const data: DrmAmdgpuCsChunkIb = {
    ip_type: ib.ip_type,
    ip_instance: ib.ip_instance ?? 0,
    ring: ib.ring ?? 0,
    flags: ib.flags ?? 0,
    va_start: va,
    ib_bytes: dwords.length * 4,
  };
  return { chunk_id: AMDGPU_CHUNK_ID_IB, length_dw: drm_amdgpu_cs_chunk_ib.size / 4, chunk_data: data };
}

/** The knobs a deferred IB chunk carries until `amdgpuCsSubmitRaw2` writes its packets. */
export const AMDGPU_SIM_IB = Symbol("drmsim.amdgpu.simIb");

/** A chunk built by `amdgpuCsChunkIb` with knobs: its IB is written when it is submitted. */
export function amdgpuSimIbOf(chunk: DrmAmdgpuCsChunk): AmdgpuSimIb | undefined {
  const d = chunk.chunk_data as { [AMDGPU_SIM_IB]?: AmdgpuSimIb } | undefined;
  return chunk.chunk_id === AMDGPU_CHUNK_ID_IB && typeof d === "object" && d !== null
    ? d[AMDGPU_SIM_IB]
    : undefined;
}
