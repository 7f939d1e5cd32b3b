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
  PACKET3_NOP,
  PACKET3_WRITE_DATA,
  SDMA_OP_NOP,
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

/** A store the hardware makes to a GPU virtual address (resolved through the VM later). */
export interface AmdgpuHwWrite {
  readonly va: number;
  readonly data: Uint8Array;
}

/** What executing an IB amounts to. */
export interface AmdgpuHwIbResult {
  /** Nanoseconds of GPU time. */
  durationNs: number;
  /** It never completes (the TDR resets the GPU). */
  hang: boolean;
  /** Stores, in order; they land only when the whole job completes without error. */
  writes: AmdgpuHwWrite[];
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
 * the real store packets, and skips everything else. A packet that runs past the end of the IB
 * ends the walk (the CP would fetch past it; what it finds there is not modelled).
 */
export class AmdgpuPm4HwModel implements AmdgpuHwModel {
  readonly defaultIbNs: number;

  constructor(opts: AmdgpuPm4HwModelOptions = {}) {
    this.defaultIbNs = opts.defaultIbNs ?? AMDGPU_IB_DEFAULT_NS;
  }

  executeIb(ib: AmdgpuHwIbInput): AmdgpuHwIbResult {
    const r: AmdgpuHwIbResult = { durationNs: 0, hang: false, writes: [] };
    let timed = false;
    const dw = ib.dwords;
    const sdma = amdgpuPacketFormat(ib.ip) === "sdma";
    let i = 0;
    while (i < dw.length) {
      const h = dw[i]!;
      let op: number;
      let body: number; // payload dwords after the header
      if (sdma) {
        op = h & 0xff;
        if (op === SDMA_OP_NOP) body = (h >>> 16) & 0x3fff;
        else if (op === SDMA_OP_WRITE && i + 3 < dw.length) body = 3 + (dw[i + 3]! + 1);
        else body = 0;
      } else {
        const type = h >>> 30;
        if (type === 2) {
          i++;
          continue;
        }
        op = (h >>> 8) & 0xff;
        const count = (h >>> 16) & 0x3fff;
        // The one-dword pad NOP has the count field full.
        body = type === 3 && op === PACKET3_NOP && count === 0x3fff ? 0 : count + 1;
      }
      if (i + 1 + body > dw.length) break;
      const p = i + 1;
      if ((sdma && op === SDMA_OP_NOP) || (!sdma && op === PACKET3_NOP)) {
        if (body >= 2 && dw[p] === AMDGPU_SIM_MAGIC) timed = this.marker(dw, p + 1, body - 1, r) || timed;
      } else if (!sdma && op === PACKET3_WRITE_DATA && body >= 3) {
        if (((dw[p]! >>> 8) & 0xf) === WRITE_DATA_DST_SEL_MEM)
          r.writes.push({ va: addr(dw[p + 1]!, dw[p + 2]!), data: dwordsToBytes(dw, p + 3, body - 3) });
      } else if (sdma && op === SDMA_OP_WRITE && ((h >>> 8) & 0xff) === 0 && body >= 3) {
        r.writes.push({ va: addr(dw[p]!, dw[p + 1]!), data: dwordsToBytes(dw, p + 3, body - 3) });
      }
      i = p + body;
    }
    if (!timed) r.durationNs = this.defaultIbNs;
    return r;
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
