/**
 * What a CS job does to device memory — the drmsim-only write description of `hl_cs_chunk`
 * (`fill` and `copy`, JavaScript callers only), in one place so it can move to a per-device
 * hardware model later.
 *
 * drmsim does not decode the packets of a command buffer, so a chunk says what its engine writes:
 * `fill` puts bytes at a device virtual address, `copy` moves `size` bytes from one device VA to
 * another (a DMA engine's LIN_DMA). Addresses go through the context's device MMU, as the engines'
 * do: each range must lie inside one mapping (`EINVAL` otherwise, checked before the CS gets a
 * sequence number), and reaches that allocation's HBM — the same bytes a peer importing an export
 * of it reaches through its scatter list. The writes land when the job's engine completes it
 * without error: a job that hangs, or that a reset aborts, writes nothing.
 */
import { backingStoreRegion } from "@drmsim/dma-buf";
import { isKernelError, KernelError, type MemRegion } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";

/** drmsim extension of `hl_cs_chunk`: bytes the job writes at device VA `addr`. */
export interface HlCsFill {
  addr: number | bigint;
  data: Uint8Array | readonly number[];
}

/** drmsim extension of `hl_cs_chunk`: `size` bytes the job copies from device VA `src_addr` to `dst_addr`. */
export interface HlCsCopy {
  src_addr: number | bigint;
  dst_addr: number | bigint;
  size: number;
}

/** One operation, resolved to the HBM it reaches. */
export type HlCsMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: MemRegion; readonly dst: MemRegion };

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new KernelError("EINVAL", `${field} must be an object`);
  return v as Record<string, unknown>;
}

function addr(v: unknown, field: string): number {
  const n = typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
    throw new KernelError("EINVAL", `${field} must be a device virtual address, got ${String(v)}`);
  return n;
}

/** Checks a chunk's `fill` member as it is copied in. */
export function hlParseFill(v: unknown, field: string): { addr: number; data: Uint8Array } | undefined {
  if (v === undefined) return undefined;
  const o = record(v, field);
  const d = o.data;
  if (
    !(d instanceof Uint8Array) &&
    !(Array.isArray(d) && d.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
  )
    throw new KernelError("EINVAL", `${field}.data must be a Uint8Array or an array of bytes`);
  return { addr: addr(o.addr, `${field}.addr`), data: Uint8Array.from(d as ArrayLike<number>) };
}

/** Checks a chunk's `copy` member as it is copied in. */
export function hlParseCopy(
  v: unknown,
  field: string,
): { src_addr: number; dst_addr: number; size: number } | undefined {
  if (v === undefined) return undefined;
  const o = record(v, field);
  return {
    src_addr: addr(o.src_addr, `${field}.src_addr`),
    dst_addr: addr(o.dst_addr, `${field}.dst_addr`),
    size: addr(o.size, `${field}.size`),
  };
}

/**
 * The HBM behind `[va, va + length)` of `ctx`'s device MMU: `EINVAL` unless one mapping holds the
 * whole range (an engine access outside would be an MMU page fault).
 */
export function hlDeviceVaRegion(ctx: HlCtx, va: number, length: number, what: string): MemRegion {
  const m = ctx.mmu.mappings.find((x) => va >= x.va && va < x.va + x.size);
  if (m === undefined || va + length > m.va + m.size)
    throw new KernelError(
      "EINVAL",
      `${what}: device VA 0x${va.toString(16)} (+${length}) is not inside one mapping of the device MMU`,
    );
  return backingStoreRegion(m.pack.store, va - m.va, length);
}

/** A chunk's operations resolved through the MMU (at CS time); empty when it has none. */
export function hlCsMemResolve(
  ctx: HlCtx,
  chunk: {
    fill?: { addr: number; data: Uint8Array };
    copy?: { src_addr: number; dst_addr: number; size: number };
  },
  what: string,
): HlCsMemOp[] {
  const ops: HlCsMemOp[] = [];
  const f = chunk.fill;
  if (f !== undefined)
    ops.push({
      kind: "fill",
      dst: hlDeviceVaRegion(ctx, f.addr, f.data.length, `${what} fill`),
      data: f.data,
    });
  const c = chunk.copy;
  if (c !== undefined)
    ops.push({
      kind: "copy",
      src: hlDeviceVaRegion(ctx, c.src_addr, c.size, `${what} copy source`),
      dst: hlDeviceVaRegion(ctx, c.dst_addr, c.size, `${what} copy destination`),
    });
  return ops;
}

/** The engine completed the job: its writes land, a fill then a copy. Returns 0 or a negative errno. */
export function hlCsMemApply(ops: readonly HlCsMemOp[]): number {
  try {
    for (const op of ops) {
      if (op.kind === "fill") op.dst.write(op.data);
      else op.dst.write(op.src.read());
    }
    return 0;
  } catch (e) {
    if (isKernelError(e)) return e.errno;
    throw e;
  }
}
