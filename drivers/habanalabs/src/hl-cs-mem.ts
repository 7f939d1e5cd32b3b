/**
 * Which memory a CS job's simulated writes touch. What the job writes — `fill` at a device
 * virtual address, `copy` between two (a DMA engine's LIN_DMA) — comes from the side channel
 * (`hl-hw-model.ts`: the hardware model or `DRMSIM_HL_HW_NEXT`), since drmsim does not decode the
 * packets of a command buffer. Addresses go through the context's device MMU, as the engines' do:
 * each range must lie inside one mapping (`EINVAL` otherwise, checked before the CS gets a
 * sequence number), and reaches that allocation's HBM — the same bytes a peer importing an export
 * of it reaches through its scatter list. The writes land when the job's engine completes it
 * without error: a job that hangs, or that a reset aborts, writes nothing.
 */
import { backingStoreRegion } from "@drmsim/dma-buf";
import { isKernelError, KernelError, type MemRegion } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";

/** One operation, resolved to the HBM it reaches. */
export type HlCsMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: MemRegion; readonly dst: MemRegion };

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

/** A job's operations resolved through the MMU (at CS time); empty when it has none. */
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
