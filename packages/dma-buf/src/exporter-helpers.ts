/**
 * Exporter helpers: the checks every exporter of device memory needs, written once.
 *
 * Seed 003's review of the habanalabs exporter asked for exactly this: drivers should not
 * open-code the PCI peer-to-peer check and the scatter-list split. `dmaBufAttachP2pCheck` is the
 * attach-time `pci_p2pdma_distance() < 0 → peer2peer = false`, and `dmaBufMapPlacement` builds
 * the table for the importer — device memory only for a peer2peer attachment (`EPERM`
 * otherwise, "p2p is disabled"), segments capped by the *importer's* max segment size (never an
 * exporter constant), addresses checked against the importer's DMA mask.
 *
 * `StoreExporter` puts them together: a complete `DmaBufOps` over a `BackingStore`, with
 * pinning, moves that invalidate dynamic importers, vmap and mmap. Drivers and tests can use it
 * as is or copy what they need.
 */
import { KernelError, type Simulator } from "@drmsim/runtime";
import { BackingStore, type Placement } from "./backing-store.js";
import type { Device } from "./device.js";
import {
  type DmaBuf,
  type DmaBufOps,
  type DmaDataDirection,
  dmaBufExport,
  type IosysMap,
  type VmArea,
} from "./dma-buf.js";
import type { DmaBufAttachment } from "./dma-buf-attachment.js";
import { checkResvLock } from "./internal/rules.js";
import { pciP2pdmaDistance } from "./pci.js";
import { type SgTable, sgTableFromRuns } from "./sg-table.js";

/**
 * The attach-time peer-to-peer check (habanalabs' `hl_dmabuf_attach`, amdgpu's
 * `amdgpu_dma_buf_attach`): if the importer allowed peer-to-peer but the PCI topology does not
 * support it between `exporter` and the importing device, clear `att.peer2peer`, so that device
 * memory will not be mapped for it. Returns the distance (negative: not supported).
 */
export function dmaBufAttachP2pCheck(att: DmaBufAttachment, exporter: Device): number {
  if (!att.peer2peer) return -1;
  // Not verbose: the attach is triggered from userspace, and the review asked not to log there.
  const d = pciP2pdmaDistance(exporter, att.dev);
  if (d < 0) att.peer2peer = false;
  return d;
}

/** Options of `dmaBufMapPlacement`. */
export interface DmaBufMapPlacementOptions {
  /** An exporter cap on segments below the importer's (habanalabs: 512 MiB). */
  maxSegmentSize?: number;
  /**
   * The memory `placement` is a part of (a store whose placement holds the runs): recorded in the
   * table so the importer's DMA reaches it (`dmaBufAttachmentRegion`).
   */
  backing?: BackingStore;
}

/**
 * The map helper (`map_dma_buf` body): the DMA table of `placement` (or of a store's current
 * placement, recorded as the table's backing) for `att`'s device. Device
 * memory needs a peer2peer attachment (`EPERM`); segments are capped by the importer's
 * `maxSegmentSize` rounded down to a page (`EINVAL` below a page); an address outside the
 * importer's DMA mask fails with `ENOMEM`.
 */
export function dmaBufMapPlacement(
  att: DmaBufAttachment,
  exporter: Device,
  placement: Placement | BackingStore,
  opts: DmaBufMapPlacementOptions = {},
): SgTable {
  if (placement instanceof BackingStore)
    return dmaBufMapPlacement(att, exporter, placement.placement, { ...opts, backing: placement });
  if (placement.domain === "device") {
    if (!att.peer2peer)
      throw new KernelError(
        "EPERM",
        `${exporter.name}: the buffer is in device memory and peer-to-peer DMA to ${att.dev.name} is disabled (${
          att.importerOps?.allowPeer2peer === true
            ? "the PCI topology does not support it"
            : "the importer did not allow peer2peer"
        })`,
      );
    if (pciP2pdmaDistance(exporter, att.dev) < 0)
      throw new KernelError(
        "EPERM",
        `${exporter.name}: peer-to-peer DMA to ${att.dev.name} is not supported`,
      );
  }
  return sgTableFromRuns(placement.runs, {
    dev: att.dev,
    ...(opts.maxSegmentSize !== undefined ? { maxSegmentSize: opts.maxSegmentSize } : {}),
    ...(opts.backing !== undefined ? { backing: opts.backing } : {}),
  });
}

/** Options of `new StoreExporter()`. */
export interface StoreExporterOptions {
  /** The exporting device. */
  dev: Device;
  /** The buffer's storage. */
  store: BackingStore;
  /** Exporter name for reports (`exp_name`). */
  name?: string;
  /** An exporter cap on segment size. */
  maxSegmentSize?: number;
}

/**
 * A complete exporter over a `BackingStore`: `dma_buf_ops` with the p2p check at attach, the map
 * helper (tables record the store, so importers' DMA reaches it), pin counting, vmap/mmap over
 * the store, and `move()` for evictions/migrations.
 */
export class StoreExporter implements DmaBufOps {
  readonly dev: Device;
  readonly store: BackingStore;
  /** Pins held (importer pins and static importers' map pins). */
  pinCount = 0;
  /** Attachments whose exporter-side state is live. */
  readonly attached = new Set<DmaBufAttachment>();
  /** Set once `release` ran. */
  released = false;
  private readonly cap: number | undefined;

  constructor(opts: StoreExporterOptions) {
    this.dev = opts.dev;
    this.store = opts.store;
    this.cap = opts.maxSegmentSize;
  }

  /** Exports the store as a dma-buf (`dma_buf_export`) with one reference. */
  export(sim: Simulator, name = this.dev.name): DmaBuf {
    return dmaBufExport(sim, { ops: this, size: this.store.size, priv: this.store, name });
  }

  attach(_buf: DmaBuf, att: DmaBufAttachment): void {
    dmaBufAttachP2pCheck(att, this.dev);
    this.attached.add(att);
  }

  detach(_buf: DmaBuf, att: DmaBufAttachment): void {
    this.attached.delete(att);
  }

  pin(_att: DmaBufAttachment): void {
    this.pinCount++;
  }

  unpin(_att: DmaBufAttachment): void {
    this.pinCount--;
  }

  mapDmaBuf(att: DmaBufAttachment, _dir: DmaDataDirection): SgTable {
    return dmaBufMapPlacement(
      att,
      this.dev,
      this.store,
      this.cap !== undefined ? { maxSegmentSize: this.cap } : {},
    );
  }

  unmapDmaBuf(_att: DmaBufAttachment, _sgt: SgTable, _dir: DmaDataDirection): void {}

  release(_buf: DmaBuf): void {
    this.released = true;
  }

  mmap(_buf: DmaBuf, vma: VmArea): void {
    const store = this.store;
    vma.vmOps = { read: (o, l) => store.read(o, l), write: (o, b) => store.write(o, b) };
  }

  vmap(_buf: DmaBuf): IosysMap {
    const store = this.store;
    return { read: (o, l) => store.read(o, l), write: (o, b) => store.write(o, b) };
  }

  vunmap(_buf: DmaBuf, _map: IosysMap): void {}

  /**
   * Moves the buffer (TTM eviction/migration): with the reservation lock held (`dma-buf-locking`
   * otherwise), refused with `EBUSY` while pinned; tells every dynamic importer to drop its
   * mappings (`invalidateMappings`), then moves the bytes to `placement`.
   */
  move(buf: DmaBuf, placement: Placement): void {
    checkResvLock(buf.sim, buf.resv, "exporter move", true);
    if (this.pinCount > 0)
      throw new KernelError("EBUSY", `${buf.describe()} is pinned ${this.pinCount} time(s) and cannot move`);
    buf.invalidateMappings();
    this.store.move(placement);
  }
}
