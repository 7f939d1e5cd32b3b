/**
 * What an IB does to memory — the drmsim-only write description of `drm_amdgpu_cs_chunk_ib`
 * (`fill` and `copy`, see `amdgpu-drm.ts`), in one place so it can move to a per-device hardware
 * model later.
 *
 * A real IB is a command stream the GPU decodes; drmsim has none, so an IB says what it writes:
 * `fill` puts bytes into a BO of the submission's BO list, `copy` reads bytes from one BO of the
 * list and writes them to another. The handles are checked with the rest of the CS (`EINVAL`
 * for a BO not in the list or a range outside it, `EFAULT` for a write into a read-only userptr),
 * resolved into the memory the GPU's page tables point at once the BOs are validated under their
 * locks — a BO's own pages, an import's mapping through its attachment's scatter list
 * (`dmaBufAttachmentRegion`), a userptr BO's process pages — and carried out when the job
 * completes without error: a fill first, then a copy, IB by IB. A job that hangs or is skipped
 * after a reset writes nothing; a job whose memory went away meanwhile (the exporter's device was
 * removed) completes with that error instead.
 */
import { backingStoreRegion, dmaBufAttachmentRegion } from "@drmsim/dma-buf";
import type { DrmFile } from "@drmsim/drm";
import { isKernelError, KernelError, type MemRegion, type UapiValue } from "@drmsim/runtime";
import type { drm_amdgpu_cs_chunk_ib } from "./amdgpu-drm.js";
import type { AmdgpuBo } from "./amdgpu-object.js";

/** An IB's memory operations as parsed from its chunk (handles not yet looked up). */
export interface AmdgpuIbMemArgs {
  fill?: { handle: number; offset: number; data: Uint8Array };
  copy?: { src: number; srcOffset: number; dst: number; dstOffset: number; size: number };
}

/** One operation, resolved to the memory the GPU reaches. */
export type AmdgpuIbMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: MemRegion; readonly dst: MemRegion };

/** The resolved operations of one IB and the BOs they use (referenced by the job, dropped at free). */
export interface AmdgpuIbMem {
  readonly ops: AmdgpuIbMemOp[];
  readonly bos: AmdgpuBo[];
}

/** The memory extension of one IB chunk (`fill`, `copy`). */
export function amdgpuIbMemArgs(ib: UapiValue<typeof drm_amdgpu_cs_chunk_ib>): AmdgpuIbMemArgs {
  const out: AmdgpuIbMemArgs = {};
  const f = ib.fill;
  if (f !== undefined)
    out.fill = { handle: f.bo_handle, offset: f.offset ?? 0, data: Uint8Array.from(f.data) };
  const c = ib.copy;
  if (c !== undefined)
    out.copy = {
      src: c.src_handle,
      srcOffset: c.src_offset ?? 0,
      dst: c.dst_handle,
      dstOffset: c.dst_offset ?? 0,
      size: c.size,
    };
  return out;
}

/** The BO of `handle` in the submission's list; `EINVAL` if it is not there or the range does not fit it. */
function listed(
  file: DrmFile,
  bos: readonly AmdgpuBo[],
  handle: number,
  offset: number,
  length: number,
  what: string,
): AmdgpuBo {
  const obj = file.gem.peek(handle);
  const bo = bos.find((b) => b === obj);
  if (bo === undefined)
    throw new KernelError("EINVAL", `AMDGPU_CS: ${what} target ${handle} is not in the submission's BO list`);
  if (offset + length > bo.size)
    throw new KernelError(
      "EINVAL",
      `AMDGPU_CS: ${what} of ${length} bytes at ${offset} does not fit ${bo.label} (${bo.size} bytes)`,
    );
  return bo;
}

/**
 * Checks an IB's memory operations against the submission's BO list (pass 2 of the CS, before
 * anything is locked): targets listed, ranges inside them, no write into a read-only userptr.
 */
export function amdgpuIbMemCheck(file: DrmFile, bos: readonly AmdgpuBo[], args: AmdgpuIbMemArgs): void {
  const f = args.fill;
  if (f !== undefined) writable(listed(file, bos, f.handle, f.offset, f.data.length, "fill"), "fill");
  const c = args.copy;
  if (c !== undefined) {
    listed(file, bos, c.src, c.srcOffset, c.size, "copy source");
    writable(listed(file, bos, c.dst, c.dstOffset, c.size, "copy destination"), "copy");
  }
}

function writable(bo: AmdgpuBo, what: string): void {
  if (bo.userptr?.readonly === true)
    throw new KernelError("EFAULT", `AMDGPU_CS: ${what} into ${bo.label}, a read-only userptr`);
}

/**
 * The memory of bytes `[offset, offset + length)` of `bo` as this GPU reaches it: an import
 * through its current mapping (the CS validated it), a userptr BO through its process's pages,
 * any other BO through its own storage. Call with the BO's reservation held.
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

/**
 * Resolves an IB's checked operations once its BOs are locked and validated (imports mapped,
 * userptr pages faulted in). Takes no references: `amdgpuIbMemHold` does, at the point of no
 * return, so a CS that fails later has nothing to undo.
 */
export function amdgpuIbMemResolve(file: DrmFile, args: AmdgpuIbMemArgs): AmdgpuIbMem | undefined {
  if (args.fill === undefined && args.copy === undefined) return undefined;
  const ops: AmdgpuIbMemOp[] = [];
  const used: AmdgpuBo[] = [];
  const bo = (h: number) => {
    const b = file.gem.peek(h) as AmdgpuBo;
    if (!used.includes(b)) used.push(b);
    return b;
  };
  const f = args.fill;
  if (f !== undefined)
    ops.push({
      kind: "fill",
      dst: amdgpuBoGpuRegion(bo(f.handle), f.offset, f.data.length, true),
      data: f.data,
    });
  const c = args.copy;
  if (c !== undefined)
    ops.push({
      kind: "copy",
      src: amdgpuBoGpuRegion(bo(c.src), c.srcOffset, c.size, false),
      dst: amdgpuBoGpuRegion(bo(c.dst), c.dstOffset, c.size, true),
    });
  return { ops, bos: used };
}

/** The job keeps the BOs its operations use alive until it is freed; returns `mem`. */
export function amdgpuIbMemHold(mem: AmdgpuIbMem): AmdgpuIbMem {
  for (const b of mem.bos) b.get();
  return mem;
}

/**
 * The hardware carries the operations out (irq context, the job completed without error).
 * Returns 0, or the negative errno the job's fence must carry when the memory is gone.
 */
export function amdgpuIbMemApply(mem: AmdgpuIbMem): number {
  try {
    for (const op of mem.ops) {
      if (op.kind === "fill") op.dst.write(op.data);
      else op.dst.write(op.src.read());
    }
    return 0;
  } catch (e) {
    if (isKernelError(e)) return e.errno;
    throw e;
  }
}

/** Drops the BO references an IB's operations hold (`amdgpu_job_free`). */
export function amdgpuIbMemRelease(mem: AmdgpuIbMem): void {
  for (const b of mem.bos) b.put();
}
