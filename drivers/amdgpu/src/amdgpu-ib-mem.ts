/**
 * Which memory the GPU's operations touch, and carrying them out. The hardware model and the VM
 * (`amdgpu-gpu-writes.ts`) decide which GPU addresses an IB stores to, copies between or fills,
 * and which BO ranges are behind them; this module decides which pages those ranges are — a BO's
 * own pages, an import's mapping through its attachment's scatter list into the exporter's
 * storage (`dmaBufAttachmentRegion`), a userptr BO's process pages — and performs the operations
 * when the job completes without error, in order (a copy reads its source then, so it sees what
 * the job stored before it). A job that hangs, faults or is skipped after a reset writes nothing;
 * a job whose memory went away meanwhile (the exporter's device was removed) completes with that
 * error instead.
 */
import { backingStoreRegion, dmaBufAttachmentRegion } from "@drmsim/dma-buf";
import { isKernelError, KernelError, type MemRegion } from "@drmsim/runtime";
import type { AmdgpuBo } from "./amdgpu-object.js";

/**
 * One operation, resolved to the memory the GPU reaches: a store of `data`, or a copy from the
 * `src` regions (read in order) to the `dst` regions (written in order, as many bytes in all).
 */
export type AmdgpuIbMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: readonly MemRegion[]; readonly dst: readonly MemRegion[] };

/** The resolved operations of a job (or user-queue segment) and the BOs they use (one reference each). */
export interface AmdgpuIbMem {
  readonly ops: AmdgpuIbMemOp[];
  readonly bos: AmdgpuBo[];
}

/** No operations yet. */
export function amdgpuIbMemCreate(): AmdgpuIbMem {
  return { ops: [], bos: [] };
}

/**
 * The memory of bytes `[offset, offset + length)` of `bo` as this GPU reaches it: an import
 * through its current mapping, a userptr BO through its process's pages, any other BO through
 * its own storage. Throws a `KernelError` when there is none (an import not mapped, process
 * pages gone or not writable).
 */
export function amdgpuBoGpuRegion(bo: AmdgpuBo, offset: number, length: number, write: boolean): MemRegion {
  const att = bo.importAttach;
  if (att !== null) {
    const sgt = bo.importSgt;
    if (sgt === null) throw new KernelError("EINVAL", `${bo.label} is not mapped (validate it first)`);
    return dmaBufAttachmentRegion(att, sgt, offset, length);
  }
  const u = bo.userptr;
  if (u !== null) return u.proc.mm.userRegion(u.addr + offset, length, write);
  return backingStoreRegion(bo.store, offset, length);
}

/** Adds `op` to `mem`, which keeps each of `bos` alive until `amdgpuIbMemRelease`. */
export function amdgpuIbMemAdd(mem: AmdgpuIbMem, op: AmdgpuIbMemOp, bos: readonly AmdgpuBo[]): void {
  for (const b of bos) {
    b.get();
    mem.bos.push(b);
  }
  mem.ops.push(op);
}

/**
 * The hardware carries the operations out (irq context, the job completed without error).
 * Returns 0, or the negative errno the job's fence must carry when the memory is gone.
 */
export function amdgpuIbMemApply(mem: AmdgpuIbMem): number {
  try {
    for (const op of mem.ops) {
      if (op.kind === "fill") {
        op.dst.write(op.data);
        continue;
      }
      const parts = op.src.map((r) => r.read());
      const bytes = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of parts) {
        bytes.set(b, at);
        at += b.length;
      }
      at = 0;
      for (const r of op.dst) {
        r.write(bytes.subarray(at, at + r.length));
        at += r.length;
      }
    }
    return 0;
  } catch (e) {
    if (isKernelError(e)) return e.errno;
    throw e;
  }
}

/** Drops the BO references the operations hold (`amdgpu_job_free`), and the operations. */
export function amdgpuIbMemRelease(mem: AmdgpuIbMem): void {
  for (const b of mem.bos) b.put();
  mem.bos.length = 0;
  mem.ops.length = 0;
}
