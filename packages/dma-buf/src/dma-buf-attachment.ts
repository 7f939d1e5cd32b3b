/**
 * `struct dma_buf_attachment` and `struct dma_buf_attach_ops`: one importing device's view of a
 * dma-buf — how it maps the buffer, whether it pins, whether it may read device memory
 * peer-to-peer, and how it learns that the exporter moved the storage.
 *
 * Static importers (`buf.attach(dev)`) never see a move: a pinnable exporter pins on their first
 * map and unpins at their last unmap, and the core waits for the buffer's KERNEL fences (moves,
 * clears) before handing them a table. Dynamic importers (`buf.dynamicAttach(dev, ops, priv)`)
 * map with the reservation lock held, wait for fences themselves, and are told to drop their
 * mappings through `invalidateMappings` when the exporter moves the buffer.
 */
import { DmaResvUsage } from "@drmsim/dma-resv";
import { frameList, KernelError } from "@drmsim/runtime";
import type { Device } from "./device.js";
import type { DmaBuf, DmaDataDirection } from "./dma-buf.js";
import { checkResvLock, misuse } from "./internal/rules.js";
import type { SgTable } from "./sg-table.js";

/**
 * `struct dma_buf_attach_ops`: what a dynamic importer provides.
 *
 * 7.1 renamed `move_notify` to `invalidate_mappings` and made it optional (≤ 6.19 it was
 * mandatory for dynamic importers); the callback runs with the reservation lock held.
 */
export interface DmaBufAttachOps {
  /** `allow_peer2peer`: the importer can DMA to device memory (PCI BARs) of the exporter. */
  allowPeer2peer?: boolean;
  /** `invalidate_mappings` (≤ 6.19 `move_notify`): stop using and unmap every mapping; resv held. */
  invalidateMappings?(att: DmaBufAttachment): void;
}

/** `struct dma_buf_attachment`. Created by `DmaBuf.attach` / `DmaBuf.dynamicAttach`. */
export class DmaBufAttachment {
  /**
   * `attach->peer2peer`: the importer accepts device-memory (BAR) addresses. Starts as the
   * importer's `allowPeer2peer`; the exporter's `attach` op clears it when the PCI distance
   * rules say no (as habanalabs does).
   */
  peer2peer: boolean;
  /** `attach->priv`: the exporter's per-attachment data. */
  priv: unknown = undefined;
  /** Pins taken through `pin()` (dynamic importers). */
  pinCount = 0;
  /** True once detached. */
  detached = false;
  private readonly live = new Set<SgTable>();
  /** Pins the core took on behalf of a static importer's mappings. */
  private mapPins = 0;

  /** @internal Use `DmaBuf.attach` / `dynamicAttach`. */
  constructor(
    /** `attach->dmabuf`. */
    readonly dmabuf: DmaBuf,
    /** `attach->dev`: the importing device. */
    readonly dev: Device,
    /** `attach->importer_ops`, null for a static attachment. */
    readonly importerOps: DmaBufAttachOps | null,
    /** `attach->importer_priv`. */
    readonly importerPriv: unknown,
  ) {
    this.peer2peer = importerOps?.allowPeer2peer === true;
  }

  /** `dma_buf_attachment_is_dynamic()`. */
  get isDynamic(): boolean {
    return this.importerOps !== null;
  }

  /** Number of tables mapped and not yet unmapped. */
  get mappingCount(): number {
    return this.live.size;
  }

  /** True if `sgt` was mapped through this attachment and not unmapped since. */
  hasMapping(sgt: SgTable): boolean {
    return this.live.has(sgt);
  }

  /**
   * `dma_buf_pin()`: keeps the storage where it is until `unpin`. Dynamic attachments only (a
   * static one is pinned by mapping: `dma-buf-misuse`, `EINVAL`); resv held (`dma-buf-locking`).
   */
  pin(): void {
    const buf = this.dmabuf;
    this.checkAttached("dma_buf_pin");
    if (!this.isDynamic)
      misuse(
        buf.sim,
        "EINVAL",
        `dma_buf_pin on a static attachment of ${this.dev.name}`,
        "Only dynamic importers pin explicitly; for static importers the core pins on map.",
      );
    checkResvLock(buf.sim, buf.resv, "dma_buf_pin", true);
    buf.ops.pin?.(this);
    this.pinCount++;
  }

  /** `dma_buf_unpin()`: dynamic attachments only, resv held; an unbalanced unpin is `EINVAL`. */
  unpin(): void {
    const buf = this.dmabuf;
    this.checkAttached("dma_buf_unpin");
    if (!this.isDynamic)
      misuse(
        buf.sim,
        "EINVAL",
        `dma_buf_unpin on a static attachment of ${this.dev.name}`,
        "Only dynamic importers pin explicitly; for static importers the core pins on map.",
      );
    checkResvLock(buf.sim, buf.resv, "dma_buf_unpin", true);
    if (this.pinCount === 0)
      misuse(
        buf.sim,
        "EINVAL",
        `dma_buf_unpin of ${this.dev.name}'s attachment that is not pinned`,
        "Unpin once per pin.",
      );
    buf.ops.unpin?.(this);
    this.pinCount--;
  }

  /**
   * `dma_buf_map_attachment()`: the buffer's DMA table for this device. The caller holds the
   * reservation lock (7.1 asserts it for every importer; `dma-buf-locking`, `EINVAL`). A static
   * importer on a pinnable exporter pins first; a static importer then waits (interruptibly) for
   * the KERNEL-usage fences — a move or clear in flight — and the mapping is undone if that wait
   * fails. Dynamic importers wait for fences themselves. A table with a segment longer than the
   * importer's maximum segment size is undone and refused (`dma-buf-sg-exceeds-max-segment`,
   * `EINVAL`), a drmsim check the kernel lacks. A revoked buffer (its exporter is gone) is
   * `ENODEV`.
   */
  async map(dir: DmaDataDirection): Promise<SgTable> {
    const buf = this.dmabuf;
    this.checkAttached("dma_buf_map_attachment");
    if (dir !== 0 && dir !== 1 && dir !== 2 && dir !== 3)
      throw new KernelError("EINVAL", `dma_buf_map_attachment: invalid DMA direction ${String(dir)}`);
    checkResvLock(buf.sim, buf.resv, "dma_buf_map_attachment", true);
    buf.checkNotRevoked("dma_buf_map_attachment");
    const ops = buf.ops;
    const pinOnMap = !this.isDynamic && ops.pin !== undefined;
    if (pinOnMap) ops.pin!(this);
    let sgt: SgTable;
    try {
      sgt = ops.mapDmaBuf(this, dir);
    } catch (e) {
      if (pinOnMap) ops.unpin!(this);
      throw e;
    }
    if (sgt === null || sgt === undefined) {
      if (pinOnMap) ops.unpin!(this);
      throw new KernelError("ENOMEM", `${buf.expName}: map_dma_buf returned no table`);
    }
    if (sgt.maxSegmentLength > this.dev.maxSegmentSize) {
      ops.unmapDmaBuf(this, sgt, dir);
      if (pinOnMap) ops.unpin!(this);
      segmentTooLong(buf, this.dev, sgt);
    }
    if (!this.isDynamic) {
      try {
        await buf.resv.waitTimeout(DmaResvUsage.KERNEL, { interruptible: true });
      } catch (e) {
        ops.unmapDmaBuf(this, sgt, dir);
        if (pinOnMap) ops.unpin!(this);
        throw e;
      }
    }
    if (pinOnMap) this.mapPins++;
    this.live.add(sgt);
    return sgt;
  }

  /**
   * `dma_buf_unmap_attachment()`: gives `sgt` back; resv held. Unmapping a table that is not
   * mapped (twice, or another attachment's) is `dma-buf-misuse` and `EINVAL`, changing nothing.
   */
  unmap(sgt: SgTable, dir: DmaDataDirection): void {
    const buf = this.dmabuf;
    this.checkAttached("dma_buf_unmap_attachment");
    checkResvLock(buf.sim, buf.resv, "dma_buf_unmap_attachment", true);
    if (!this.live.has(sgt))
      misuse(
        buf.sim,
        "EINVAL",
        `dma_buf_unmap_attachment of a table that ${this.dev.name}'s attachment has not mapped (double unmap?)`,
        "Each table from dma_buf_map_attachment must be unmapped exactly once, through the attachment that mapped it.",
      );
    this.live.delete(sgt);
    buf.ops.unmapDmaBuf(this, sgt, dir);
    if (!this.isDynamic && this.mapPins > 0) {
      this.mapPins--;
      buf.ops.unpin?.(this);
    }
  }

  /** `dma_buf_map_attachment_unlocked()`: takes the reservation lock around `map`; must not hold it. */
  async mapUnlocked(dir: DmaDataDirection): Promise<SgTable> {
    const buf = this.dmabuf;
    checkResvLock(buf.sim, buf.resv, "dma_buf_map_attachment_unlocked", false);
    await buf.resv.lock(null);
    try {
      return await this.map(dir);
    } finally {
      buf.resv.unlock();
    }
  }

  /** `dma_buf_unmap_attachment_unlocked()`. */
  async unmapUnlocked(sgt: SgTable, dir: DmaDataDirection): Promise<void> {
    const buf = this.dmabuf;
    checkResvLock(buf.sim, buf.resv, "dma_buf_unmap_attachment_unlocked", false);
    await buf.resv.lock(null);
    try {
      this.unmap(sgt, dir);
    } finally {
      buf.resv.unlock();
    }
  }

  private checkAttached(op: string): void {
    if (this.detached)
      misuse(
        this.dmabuf.sim,
        "EINVAL",
        `${op} on ${this.dev.name}'s attachment after dma_buf_detach`,
        "An attachment is gone once detached; attach again to use the buffer.",
      );
  }
}

/**
 * Reports `dma-buf-sg-exceeds-max-segment` and refuses the mapping with `EINVAL`. The kernel has
 * no such check (a too-long segment corrupts the importer's DMA silently, or trips an IOMMU
 * fault much later); drmsim owns both sides, so it checks every table an exporter hands out.
 */
function segmentTooLong(buf: DmaBuf, dev: Device, sgt: SgTable): never {
  const sim = buf.sim;
  const ctx = sim.current;
  const op = `${buf.expName}: map_dma_buf`;
  sim.validator.report({
    kind: "dma-buf-sg-exceeds-max-segment",
    title: `${op} returned a ${sgt.maxSegmentLength}-byte DMA segment for ${dev.name}, whose maximum segment size is ${dev.maxSegmentSize}`,
    context: ctx.label,
    backtrace: [op, ...frameList(ctx.frame)],
    details: [
      `exporter ${buf.expName}: ${sgt.nents} segment(s), ${sgt.totalLength} bytes, segments of up to ${sgt.maxSegmentLength} bytes`,
      `importer ${dev.name}: dma_get_max_seg_size() = ${dev.maxSegmentSize}`,
    ],
    explanation:
      "An exporter must split its scatter list by the importing device's dma_get_max_seg_size() (rounded down to a page), not by a size of its own: the importer programs one DMA descriptor per segment and cannot take a longer one (seed 003, habanalabs dma-buf review). Build the table with sgTableFromRuns(runs, { dev: attach.dev }).",
  });
  throw new KernelError(
    "EINVAL",
    `${op}: a segment of ${sgt.maxSegmentLength} bytes exceeds ${dev.name}'s maximum DMA segment size of ${dev.maxSegmentSize}`,
  );
}

/** `dma_buf_map_attachment(att, dir)`: see `DmaBufAttachment.map`. */
export function mapAttachment(att: DmaBufAttachment, dir: DmaDataDirection): Promise<SgTable> {
  return att.map(dir);
}

/** `dma_buf_unmap_attachment(att, sgt, dir)`: see `DmaBufAttachment.unmap`. */
export function unmapAttachment(att: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection): void {
  att.unmap(sgt, dir);
}

/** `dma_buf_map_attachment_unlocked(att, dir)`. */
export function mapAttachmentUnlocked(att: DmaBufAttachment, dir: DmaDataDirection): Promise<SgTable> {
  return att.mapUnlocked(dir);
}

/** `dma_buf_unmap_attachment_unlocked(att, sgt, dir)`. */
export function unmapAttachmentUnlocked(
  att: DmaBufAttachment,
  sgt: SgTable,
  dir: DmaDataDirection,
): Promise<void> {
  return att.unmapUnlocked(sgt, dir);
}

/** `dma_buf_invalidate_mappings(buf)` (≤ 6.19 `dma_buf_move_notify`): see `DmaBuf.invalidateMappings`. */
export function dmaBufInvalidateMappings(buf: DmaBuf): void {
  buf.invalidateMappings();
}
