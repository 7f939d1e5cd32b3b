/**
 * What an asahi command does to memory — the drmsim-only write description of a SUBMIT command
 * (`fill` and `copy` on `DrmAsahiCommand`), in one place so it can move to a per-device hardware
 * model later.
 *
 * The firmware's command buffers are not decoded (drmsim has no shaders), so a command says what
 * it writes: `fill` puts bytes into a buffer of the submit, `copy` reads bytes from one buffer and
 * writes them to another (a blit, a composite). Both name buffers of the submit's `bos` list, and
 * a buffer written must be listed with `ASAHI_BO_WRITE` — otherwise implicit sync would not order
 * later readers after the write (`EINVAL`). At submit, with the buffers locked and imports mapped,
 * each buffer resolves to the memory the GPU's page tables reach: a native object's pages, an
 * import's pages through its attachment's scatter list. The command's writes land when its last
 * stage (the fragment half of a render, or the compute work) completes without error; a hung,
 * failed or skipped command writes nothing, and one whose memory went away (its exporter's device
 * was removed) ends the job with that error.
 */
import { backingStoreRegion, dmaBufAttachmentRegion } from "@drmsim/dma-buf";
import { DrmGemPrimeDynamicObject } from "@drmsim/drm";
import { type DrmGemObject, DrmGemShmemObject } from "@drmsim/gem";
import { isKernelError, KernelError, type MemRegion } from "@drmsim/runtime";

/** drmsim extension of a command: bytes it writes into a buffer of the submit. */
export interface DrmAsahiFill {
  handle: number;
  /** Byte offset in the buffer (default 0). */
  offset?: number;
  data: Uint8Array | readonly number[];
}

/** drmsim extension of a command: `size` bytes it copies from one buffer of the submit to another. */
export interface DrmAsahiCopy {
  src_handle: number;
  src_offset?: number;
  dst_handle: number;
  dst_offset?: number;
  size: number;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new KernelError("EINVAL", `${field} must be an object`);
  return v as Record<string, unknown>;
}

function uint(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new KernelError("EINVAL", `${field} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** Checks a command's `fill` member (copied in with the command). */
export function asahiParseFill(v: unknown, field: string): DrmAsahiFill | undefined {
  if (v === undefined) return undefined;
  const o = record(v, field);
  const d = o.data;
  if (
    !(d instanceof Uint8Array) &&
    !(Array.isArray(d) && d.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
  )
    throw new KernelError("EINVAL", `${field}.data must be a Uint8Array or an array of bytes`);
  return {
    handle: uint(o.handle, `${field}.handle`),
    offset: o.offset === undefined ? 0 : uint(o.offset, `${field}.offset`),
    data: Uint8Array.from(d as ArrayLike<number>),
  };
}

/** Checks a command's `copy` member. */
export function asahiParseCopy(v: unknown, field: string): DrmAsahiCopy | undefined {
  if (v === undefined) return undefined;
  const o = record(v, field);
  return {
    src_handle: uint(o.src_handle, `${field}.src_handle`),
    src_offset: o.src_offset === undefined ? 0 : uint(o.src_offset, `${field}.src_offset`),
    dst_handle: uint(o.dst_handle, `${field}.dst_handle`),
    dst_offset: o.dst_offset === undefined ? 0 : uint(o.dst_offset, `${field}.dst_offset`),
    size: uint(o.size, `${field}.size`),
  };
}

/** One operation, resolved to the memory the GPU reaches. */
export type AsahiCmdMemOp =
  | { readonly kind: "fill"; readonly dst: MemRegion; readonly data: Uint8Array }
  | { readonly kind: "copy"; readonly src: MemRegion; readonly dst: MemRegion };

/** The resolved operations of one command and the objects they use (the job holds references). */
export interface AsahiCmdMem {
  readonly ops: AsahiCmdMemOp[];
  readonly objs: DrmGemObject[];
}

/** A buffer of the submit: its handle's object and whether it was listed for writing. */
export interface AsahiSubmitBo {
  readonly obj: DrmGemObject;
  readonly write: boolean;
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
 * Resolves one command's `fill`/`copy` against the submit's buffers (by handle, `lookup`), with
 * the buffers locked and imports mapped. `EINVAL` for a handle not in the submit, a written buffer
 * not listed with `ASAHI_BO_WRITE`, or a range outside a buffer.
 */
export function asahiCmdMemResolve(
  cmd: { fill?: DrmAsahiFill; copy?: DrmAsahiCopy },
  lookup: (handle: number) => AsahiSubmitBo | undefined,
  what: string,
): AsahiCmdMem | undefined {
  if (cmd.fill === undefined && cmd.copy === undefined) return undefined;
  const objs: DrmGemObject[] = [];
  const bo = (handle: number, write: boolean, role: string) => {
    const b = lookup(handle);
    if (b === undefined)
      throw new KernelError("EINVAL", `${what}: ${role} ${handle} is not one of the submit's buffers`);
    if (write && !b.write)
      throw new KernelError(
        "EINVAL",
        `${what}: ${role} ${handle} is written but not listed with ASAHI_BO_WRITE (later readers would not wait for it)`,
      );
    if (!objs.includes(b.obj)) objs.push(b.obj);
    return b.obj;
  };
  const ops: AsahiCmdMemOp[] = [];
  const f = cmd.fill;
  if (f !== undefined) {
    const data = Uint8Array.from(f.data);
    ops.push({
      kind: "fill",
      dst: asahiObjGpuRegion(bo(f.handle, true, "fill target"), f.offset ?? 0, data.length),
      data,
    });
  }
  const c = cmd.copy;
  if (c !== undefined)
    ops.push({
      kind: "copy",
      src: asahiObjGpuRegion(bo(c.src_handle, false, "copy source"), c.src_offset ?? 0, c.size),
      dst: asahiObjGpuRegion(bo(c.dst_handle, true, "copy destination"), c.dst_offset ?? 0, c.size),
    });
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
