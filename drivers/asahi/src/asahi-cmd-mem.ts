/**
 * Which pages an asahi command's simulated writes touch: what the command addresses — GPU
 * addresses of its queue's VM, resolved to objects and offsets by `asahi-hw-mem.ts` from the
 * side channel's `fill`/`copy` — becomes the memory the GPU's page tables reach: a native object's
 * pages, an import's pages through its attachment's scatter list (the submit maps imports first,
 * under their locks). The command's writes land when its last stage (the fragment half of a
 * render, or the compute work) completes without error; a hung, failed or skipped command writes
 * nothing, and one whose memory went away (its exporter's device was removed) ends the job with
 * that error.
 */
import { backingStoreRegion, dmaBufAttachmentRegion } from "@drmsim/dma-buf";
import { DrmGemPrimeDynamicObject } from "@drmsim/drm";
import { type DrmGemObject, DrmGemShmemObject } from "@drmsim/gem";
import { isKernelError, KernelError, type MemRegion } from "@drmsim/runtime";
import type { AsahiHwMemTargets, AsahiVaTarget } from "./asahi-hw-mem.js";

/** One operation, resolved to the memory the GPU reaches. */
export type AsahiCmdMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: MemRegion; readonly dst: MemRegion };

/** The resolved operations of one command and the objects they use (the job holds references). */
export interface AsahiCmdMem {
  readonly ops: AsahiCmdMemOp[];
  readonly objs: DrmGemObject[];
}

/**
 * The memory of bytes `[offset, offset + length)` of `obj` as the GPU reaches it: a dynamic
 * import through its current mapping (made by the submit), a native object through its pages.
 * `EINVAL` beyond the object or for an object asahi cannot address.
 */
export function asahiObjGpuRegion(obj: DrmGemObject, offset: number, length: number): MemRegion {
  if (obj instanceof DrmGemPrimeDynamicObject) {
    const att = obj.importAttach;
    if (att === null || obj.sgt === null)
      throw new KernelError("EINVAL", `${obj.label} is not mapped (the submit maps it first)`);
    return dmaBufAttachmentRegion(att, obj.sgt, offset, length);
  }
  if (obj instanceof DrmGemShmemObject && !obj.isImported)
    return backingStoreRegion(obj.store, offset, length);
  throw new KernelError("EINVAL", `${obj.label} has no pages the GPU can reach`);
}

/**
 * One command's writes as the GPU performs them: each target's object and offset become the
 * memory behind them (`asahiObjGpuRegion`; `EINVAL` for an object the GPU cannot reach).
 */
export function asahiCmdMemOf(t: AsahiHwMemTargets): AsahiCmdMem {
  const objs: DrmGemObject[] = [];
  const region = (v: AsahiVaTarget) => {
    if (!objs.includes(v.obj)) objs.push(v.obj);
    return asahiObjGpuRegion(v.obj, v.offset, v.length);
  };
  const ops: AsahiCmdMemOp[] = [];
  if (t.fill !== undefined) ops.push({ kind: "fill", dst: region(t.fill.dst), data: t.fill.data });
  if (t.copy !== undefined) ops.push({ kind: "copy", src: region(t.copy.src), dst: region(t.copy.dst) });
  return { ops, objs };
}

/** The job keeps the objects its commands use alive until it is freed; returns `mem`. */
export function asahiCmdMemHold(mem: AsahiCmdMem): AsahiCmdMem {
  for (const o of mem.objs) o.get();
  return mem;
}

/** Drops the references `asahiCmdMemHold` took. */
export function asahiCmdMemRelease(mem: AsahiCmdMem): void {
  for (const o of mem.objs) o.put();
}

/**
 * The command completed without error: its writes land (a fill, then a copy). Returns 0, or the
 * negative errno the job must end with when the memory is gone. Irq context.
 */
export function asahiCmdMemApply(mem: AsahiCmdMem): number {
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
