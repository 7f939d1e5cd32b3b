/**
 * A device's DMA through a mapped dma-buf: what an importer's engine reaches when it is
 * programmed with the addresses of its attachment's scatter list.
 *
 * The kernel's importer writes the table's DMA addresses into its page tables and the bus routes
 * them to the exporter's memory. drmsim does the same walk: the bytes `[offset, offset + length)`
 * of the buffer are found segment by segment in the table (`sgt.segmentsCovering`), each DMA
 * address is looked up in the placement of the memory the table maps (`sgt.backing`), and the
 * result is a `MemRegion` over the exporter's own storage. Nothing is copied and there is no
 * second store: what one device writes, the exporter and every other importer read.
 *
 * The walk also catches what the kernel would only see as corruption later:
 * - a table that was unmapped, or that the exporter's move made stale (it moved the buffer and
 *   told the importer with `invalidate_mappings`, and the importer did not map it again) —
 *   `dma-buf-stale-mapping`, `EFAULT`;
 * - a table whose addresses are not the buffer's memory (an exporter bug) — `EFAULT`;
 * - a buffer whose exporter is gone — `ENODEV`, also when a region resolved earlier is used.
 */
import { frameList, KernelError, type MemPiece, MemRegion } from "@drmsim/runtime";
import type { BackingStore } from "./backing-store.js";
import type { DmaBufAttachment } from "./dma-buf-attachment.js";
import type { SgTable } from "./sg-table.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * An importer's device used a scatter list it had unmapped, or one made before the exporter
     * moved the buffer (it ignored `invalidate_mappings`): the DMA would hit memory that is no
     * longer the buffer's.
     */
    "dma-buf-stale-mapping": true;
  }
}

/**
 * The region of bytes `[offset, offset + length)` of `att`'s buffer, reached through `sgt` (a
 * table `att` mapped) as `att.dev`'s DMA would. Call where the importer programs its hardware
 * (at submit, with the resv held for a dynamic importer); access the region when the hardware
 * runs. Errors: see the module comment; `EINVAL` for a range beyond the buffer or a table that
 * does not say which memory it maps.
 */
export function dmaBufAttachmentRegion(
  att: DmaBufAttachment,
  sgt: SgTable,
  offset: number,
  length: number,
): MemRegion {
  const buf = att.dmabuf;
  if (!att.hasMapping(sgt))
    stale(att, `a scatter list ${att.dev.name} no longer has mapped (it was unmapped)`);
  buf.checkNotRevoked(`DMA by ${att.dev.name}`);
  const store = sgt.backing;
  if (store === null)
    throw new KernelError(
      "EINVAL",
      `DMA by ${att.dev.name}: ${buf.expName}'s scatter list does not say which memory it maps (build it with sgTableFromRuns(runs, { backing }))`,
    );
  if (sgt.generation !== store.generation || !store.resident)
    stale(
      att,
      `a scatter list of ${buf.describe()} made before ${buf.expName} ${store.resident ? "moved it" : "swapped it out"} (invalidate_mappings was called; the importer must map it again before its next use)`,
    );
  const pieces: MemPiece[] = [];
  for (const seg of sgt.segmentsCovering(offset, length)) {
    let addr = seg.dmaAddress - sgt.addressOffset;
    let left = seg.length;
    while (left > 0) {
      const at = store.offsetOf(addr);
      if (at === undefined)
        throw new KernelError(
          "EFAULT",
          `DMA by ${att.dev.name} to 0x${addr.toString(16)}, which is not memory of ${buf.describe()} (a bad scatter list from ${buf.expName})`,
        );
      const n = Math.min(left, at.contiguous);
      const last = pieces[pieces.length - 1];
      if (last !== undefined && last.offset + last.length === at.offset)
        pieces[pieces.length - 1] = { store, offset: last.offset, length: last.length + n };
      else pieces.push({ store, offset: at.offset, length: n });
      addr += n;
      left -= n;
    }
  }
  return new MemRegion(pieces, () => buf.checkNotRevoked(`DMA by ${att.dev.name}`));
}

/**
 * The region of bytes `[offset, offset + length)` of `store`: how an exporter's own device (or
 * the kernel) reaches its buffer, without a scatter list. `EINVAL` beyond the store.
 */
export function backingStoreRegion(store: BackingStore, offset: number, length: number): MemRegion {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > store.size
  )
    throw new KernelError("EINVAL", `${length} bytes at ${offset} are outside the ${store.size}-byte buffer`);
  return MemRegion.of(store, offset, length);
}

function stale(att: DmaBufAttachment, what: string): never {
  const sim = att.dmabuf.sim;
  const ctx = sim.current;
  sim.validator.report({
    kind: "dma-buf-stale-mapping",
    title: `DMA by ${att.dev.name} through ${what}`,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    explanation:
      "A dynamic importer must stop using its mapping when the exporter calls invalidate_mappings and map the buffer again (under the reservation lock) before the next use; a table is only valid between dma_buf_map_attachment and dma_buf_unmap_attachment.",
  });
  throw new KernelError("EFAULT", `DMA by ${att.dev.name} through ${what}`);
}
