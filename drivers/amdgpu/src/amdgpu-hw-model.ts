/**
 * The hardware model: what the simulated GPU does with the bytes of an IB (or of a user queue's
 * ring) — how long they take, whether they hang, and what they write to memory. It is a device
 * container token (`AMDGPU_HW_MODEL`), so a test or scenario swaps it at probe time without
 * touching the driver or the uAPI; the default, `AmdgpuPm4HwModel`, reads the packets of
 * `amdgpu-pm4.ts`.
 *
 * The driver calls it when a job reaches the hardware (`run_job`), with the IB's dwords as they
 * are in memory then — what the CP fetches — so CPU writes after the submission are seen, as on
 * real hardware. It runs in the scheduler's signalling section: it must not sleep or allocate
 * with reclaim.
 */
import { drmToken } from "@drmsim/drm";
import type { AmdgpuHwIp } from "./amdgpu-drm.js";
import {
  AMDGPU_SIM_CMD_HANG,
  AMDGPU_SIM_CMD_RUN,
  AMDGPU_SIM_CMD_WRITE,
  AMDGPU_SIM_MAGIC,
  type AmdgpuPacketFormat,
  DMA_DATA_BYTE_COUNT_MASK,
  DMA_DATA_DST_SEL_SHIFT,
  DMA_DATA_SRC_SEL_DATA,
  DMA_DATA_SRC_SEL_SHIFT,
  PACKET3_DMA_DATA,
  PACKET3_NOP,
  PACKET3_WRITE_DATA,
  SDMA_OP_CONST_FILL,
  SDMA_OP_COPY,
  SDMA_OP_FENCE,
  SDMA_OP_NOP,
  SDMA_OP_TRAP,
  SDMA_OP_WRITE,
  WRITE_DATA_DST_SEL_MEM,
} from "./amdgpu-pm4.js";

/** Default execution time of an IB whose bytes say nothing about it (10 µs). */
export const AMDGPU_IB_DEFAULT_NS = 10_000;

/** One IB (or ring segment) as the hardware fetched it. */
export interface AmdgpuHwIbInput {
  /** The IP of the ring executing it. */
  readonly ip: AmdgpuHwIp;
  /** The ring's name (`gfx_0.0.0`). */
  readonly ring: string;
  /** Its GPU virtual address. */
  readonly va: number;
  /** Its dwords (little-endian). */
  readonly dwords: Uint32Array;
  /** `drm_amdgpu_cs_chunk_ib.flags`. */
  readonly flags: number;
}

/**
 * What the hardware does to memory at GPU virtual addresses (resolved through the VM later): a
 * store of `data`, a copy of `size` bytes from `src`, or a fill of `size` bytes with the
 * little-endian dword `fill`.
 */
export type AmdgpuHwWrite =
  | { readonly va: number; readonly data: Uint8Array }
  | { readonly va: number; readonly src: number; readonly size: number }
  | { readonly va: number; readonly fill: number; readonly size: number };

/**
 * The interrupt an engine raises when it meets a packet it cannot execute, and stops on it:
 * the CP's illegal-opcode (`gfx_v11_0_bad_op_irq`) and privileged-register
 * (`gfx_v11_0_priv_reg_irq`) interrupts, the SDMA engine's illegal-instruction interrupt. The
 * driver answers each with `drm_sched_fault`: the job's timeout handler runs at once.
 */
export interface AmdgpuHwFault {
  readonly kind: "illegal-opcode" | "illegal-register" | "illegal-instruction";
  /** Dword index of the offending packet in the IB. */
  readonly dword: number;
  /** What is wrong with it, for the kernel log. */
  readonly reason: string;
}

/** What executing an IB amounts to. */
export interface AmdgpuHwIbResult {
  /** Nanoseconds of GPU time (with a fault: until the engine reaches the bad packet). */
  durationNs: number;
  /** It never completes (the TDR resets the GPU). */
  hang: boolean;
  /** Memory operations, in order; they land only when the whole job completes without error. */
  writes: AmdgpuHwWrite[];
  /** The engine stopped on a packet it cannot execute (nothing after it runs). */
  fault?: AmdgpuHwFault;
}

/** The hardware model the device container provides (`AMDGPU_HW_MODEL`). */
export interface AmdgpuHwModel {
  /** Executes one IB. Called in the signalling section: no sleeping, no reclaim. */
  executeIb(ib: AmdgpuHwIbInput): AmdgpuHwIbResult;
}

/** Container token: the hardware model (default `new AmdgpuPm4HwModel()`). */
export const AMDGPU_HW_MODEL = drmToken<AmdgpuHwModel>("AMDGPU_HW_MODEL");

/** Options of `AmdgpuPm4HwModel`. */
export interface AmdgpuPm4HwModelOptions {
  /** Time of an IB without a RUN marker (default `AMDGPU_IB_DEFAULT_NS`). */
  defaultIbNs?: number;
}

/** The packet format of an IP's rings. */
export function amdgpuPacketFormat(ip: AmdgpuHwIp): AmdgpuPacketFormat {
  return ip === 2 ? "sdma" : "pm4";
}

/** The GPU address of two dwords (lo, hi), with the VA hole folded away as the GMC does. */
function addr(lo: number, hi: number): number {
  return Number(((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) & 0x0000_ffff_ffff_ffffn);
}

function dwordsToBytes(dw: Uint32Array, from: number, count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) view.setUint32(i * 4, dw[from + i] ?? 0, true);
  return out;
}

/**
 * The default hardware model: walks the packets, takes the drmsim markers (`amdgpu-pm4.ts`) and
 * the real memory packets, and skips other type-3 packets by their count. It stops with a fault
 * where the engines do: a type-0 (register write: the CP's privileged-register check) or type-1
 * (reserved) PM4 packet, a packet too short for its own fields or running past the end of the
 * IB, and on SDMA rings any opcode outside the ones it decodes (NOP, COPY linear, WRITE linear,
 * FENCE, TRAP, CONST_FILL) — SDMA packets carry no length, so an engine cannot skip one it does
 * not know.
 */
export class AmdgpuPm4HwModel implements AmdgpuHwModel {
  readonly defaultIbNs: number;

  constructor(opts: AmdgpuPm4HwModelOptions = {}) {
    this.defaultIbNs = opts.defaultIbNs ?? AMDGPU_IB_DEFAULT_NS;
  }

  executeIb(ib: AmdgpuHwIbInput): AmdgpuHwIbResult {
    const r: AmdgpuHwIbResult = { durationNs: 0, hang: false, writes: [] };
    const timed = { v: false };
    const fault =
      amdgpuPacketFormat(ib.ip) === "sdma"
        ? this.walkSdma(ib.dwords, r, timed)
        : this.walkPm4(ib.dwords, r, timed);
    if (fault !== undefined) r.fault = fault;
    if (!timed.v) r.durationNs = this.defaultIbNs;
    return r;
  }

  private walkPm4(dw: Uint32Array, r: AmdgpuHwIbResult, timed: { v: boolean }): AmdgpuHwFault | undefined {
    let i = 0;
    while (i < dw.length) {
      const h = dw[i]!;
      const type = h >>> 30;
      if (type === 2) {
        i++;
        continue;
      }
      if (type === 0)
        return { kind: "illegal-register", dword: i, reason: "a type-0 packet writes registers directly" };
      if (type === 1) return { kind: "illegal-opcode", dword: i, reason: "type-1 packets are reserved" };
      const op = (h >>> 8) & 0xff;
      const count = (h >>> 16) & 0x3fff;
      // The one-dword pad NOP has the count field full.
      const body = op === PACKET3_NOP && count === 0x3fff ? 0 : count + 1;
      if (i + 1 + body > dw.length)
        return {
          kind: "illegal-opcode",
          dword: i,
          reason: `packet 0x${op.toString(16)} of ${body} payload dwords runs past the end of the IB (${dw.length} dwords)`,
        };
      const p = i + 1;
      if (op === PACKET3_NOP) {
        if (body >= 2 && dw[p] === AMDGPU_SIM_MAGIC) timed.v = this.marker(dw, p + 1, body - 1, r) || timed.v;
      } else if (op === PACKET3_WRITE_DATA) {
        if (body < 3) return { kind: "illegal-opcode", dword: i, reason: "WRITE_DATA without its address" };
        if (((dw[p]! >>> 8) & 0xf) === WRITE_DATA_DST_SEL_MEM)
          r.writes.push({ va: addr(dw[p + 1]!, dw[p + 2]!), data: dwordsToBytes(dw, p + 3, body - 3) });
      } else if (op === PACKET3_DMA_DATA) {
        if (body < 6)
          return { kind: "illegal-opcode", dword: i, reason: "DMA_DATA shorter than its 6 dwords" };
        const ctl = dw[p]!;
        const srcSel = (ctl >>> DMA_DATA_SRC_SEL_SHIFT) & 3;
        const dstSel = (ctl >>> DMA_DATA_DST_SEL_SHIFT) & 3;
        const size = dw[p + 5]! & DMA_DATA_BYTE_COUNT_MASK;
        const va = addr(dw[p + 3]!, dw[p + 4]!);
        // GDS on either side has no memory effect here.
        if (size > 0 && (dstSel === 0 || dstSel === 3)) {
          if (srcSel === DMA_DATA_SRC_SEL_DATA) r.writes.push({ va, fill: dw[p + 1]!, size });
          else if (srcSel === 0 || srcSel === 3)
            r.writes.push({ va, src: addr(dw[p + 1]!, dw[p + 2]!), size });
        }
      }
      i = p + body;
    }
    return undefined;
  }

  private walkSdma(dw: Uint32Array, r: AmdgpuHwIbResult, timed: { v: boolean }): AmdgpuHwFault | undefined {
    let i = 0;
    while (i < dw.length) {
      const h = dw[i]!;
      const op = h & 0xff;
      const sub = (h >>> 8) & 0xff;
      let body: number;
      if (op === SDMA_OP_NOP) body = (h >>> 16) & 0x3fff;
      else if (op === SDMA_OP_COPY && sub === 0) body = 6;
      else if (op === SDMA_OP_WRITE && sub === 0) body = i + 3 < dw.length ? 3 + dw[i + 3]! + 1 : 3;
      else if (op === SDMA_OP_FENCE) body = 3;
      else if (op === SDMA_OP_TRAP) body = 1;
      else if (op === SDMA_OP_CONST_FILL) body = 4;
      else
        return {
          kind: "illegal-instruction",
          dword: i,
          reason: `SDMA opcode ${op} sub-op ${sub} is not one the engine executes`,
        };
      if (i + 1 + body > dw.length)
        return {
          kind: "illegal-instruction",
          dword: i,
          reason: `SDMA packet ${op} of ${body} payload dwords runs past the end of the IB (${dw.length} dwords)`,
        };
      const p = i + 1;
      if (op === SDMA_OP_NOP) {
        if (body >= 2 && dw[p] === AMDGPU_SIM_MAGIC) timed.v = this.marker(dw, p + 1, body - 1, r) || timed.v;
      } else if (op === SDMA_OP_COPY) {
        r.writes.push({
          va: addr(dw[p + 4]!, dw[p + 5]!),
          src: addr(dw[p + 2]!, dw[p + 3]!),
          size: dw[p]! + 1,
        });
      } else if (op === SDMA_OP_WRITE) {
        r.writes.push({ va: addr(dw[p]!, dw[p + 1]!), data: dwordsToBytes(dw, p + 3, body - 3) });
      } else if (op === SDMA_OP_FENCE) {
        r.writes.push({ va: addr(dw[p]!, dw[p + 1]!), data: dwordsToBytes(dw, p + 2, 1) });
      } else if (op === SDMA_OP_CONST_FILL) {
        r.writes.push({ va: addr(dw[p]!, dw[p + 1]!), fill: dw[p + 2]!, size: dw[p + 3]! + 1 });
      }
      i = p + body;
    }
    return undefined;
  }

  /** A marker's command at `dw[at..at+n)`; true when it set the IB's time. */
  private marker(dw: Uint32Array, at: number, n: number, r: AmdgpuHwIbResult): boolean {
    switch (dw[at]) {
      case AMDGPU_SIM_CMD_RUN:
        if (n < 3) return false;
        r.durationNs += Number((BigInt(dw[at + 2]!) << 32n) | BigInt(dw[at + 1]!));
        return true;
      case AMDGPU_SIM_CMD_HANG:
        r.hang = true;
        return false;
      case AMDGPU_SIM_CMD_WRITE: {
        if (n < 4) return false;
        const bytes = dw[at + 3]!;
        if (Math.ceil(bytes / 4) > n - 4) return false;
        const data = dwordsToBytes(dw, at + 4, Math.ceil(bytes / 4)).subarray(0, bytes);
        r.writes.push({ va: addr(dw[at + 1]!, dw[at + 2]!), data });
        return false;
      }
      default:
        return false;
    }
  }
}
