/**
 * The peer-to-peer dma-buf exporter of device memory (`common/memory.c`: `habanalabs_dmabuf_ops`,
 * `export_dmabuf`), the one seed 003 reviewed, as taps of the device's `hooks.dmaBuf`: every
 * export goes through `device.dmaBufExport`, so the core hands the dma-buf layer the device's
 * hook-routed `dma_buf_ops` and each op runs behind the framework's frame
 * (`habanalabs: dma_buf_ops.map_dma_buf`).
 *
 * The exporter's rules, from that review and the driver that came out of it:
 * - **Peer-to-peer only.** The memory is HBM behind the device's PCI BAR; an importer reaches it
 *   only by PCI peer-to-peer DMA. At attach, `pci_p2pdma_distance() < 0` clears
 *   `attach->peer2peer`; mapping for an attachment without it fails with `EPERM` ("p2p is
 *   disabled") — an importer that did not allow p2p, or sits where the topology forbids it.
 * - **Scatter lists follow the importer.** Each entry is capped at the *importer's*
 *   `dma_get_max_seg_size()` rounded down to a page (`EINVAL` below a page) and at
 *   `DMA_BUF_CHUNK_MAX_SIZE` (512 MiB, as sg lengths are unsigned int); only physically
 *   contiguous pages merge. Both come from `@drmsim/dma-buf`'s exporter helpers, which exist
 *   because the review asked for core helpers instead of every driver open-coding them.
 * - **Exported memory is pinned**: the dma-buf keeps the allocation (`exporting_cnt`) and the
 *   context alive until its release.
 * - **Contents**: the scatter list records the allocation's storage, so an importer's DMA to the
 *   BAR addresses lands in the HBM the accelerator's own jobs read and write (`hl-cs-mem.ts`).
 *   drmsim adds CPU access the kernel's exporter lacks — `vmap`, `mmap` and `begin/end_cpu_access`
 *   (the BAR mapped write-combined, in effect) — so every exporter can be checked the same way
 *   from userspace.
 *
 * habanalabs imports nothing (it has no GEM and no PRIME import), so it taps no
 * `hooks.dmaBufAttach`.
 */
import {
  type DmaBuf,
  dmaBufAttachP2pCheck,
  dmaBufFd,
  dmaBufMapPlacement,
  type IosysMap,
  type PhysRun,
} from "@drmsim/dma-buf";
import type { DrmHooks } from "@drmsim/drm";
import { KernelError, MAP_PRIVATE, O_RDWR, type Process } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";
import { DMA_BUF_CHUNK_MAX_SIZE } from "./habanalabs-accel.js";
import type { HlDevice } from "./hl-device.js";
import type { HlVmPhysPgPack } from "./hl-dram.js";

/**
 * `struct hl_dmabuf_priv` (`dma_buf->priv`): what one dma-buf exports — the pages it covers (a
 * page range of an allocation) and the context it pins. State only: the ops are the device's
 * `hooks.dmaBuf` taps.
 */
export class HlDmabufPriv {
  /** The dma-buf (set right after export). */
  buf!: DmaBuf;
  /** Released by the last dma-buf reference. */
  released = false;

  constructor(
    readonly ctx: HlCtx,
    readonly pack: HlVmPhysPgPack,
    /** Byte offset into the allocation. */
    readonly offset: number,
    /** Exported bytes. */
    readonly size: number,
  ) {}

  /** The CPU's view of the exported bytes (through the BAR): offset 0 is the export's first byte. */
  window(): IosysMap {
    const store = this.pack.store;
    const base = this.offset;
    return { read: (o, l) => store.read(base + o, l), write: (o, b) => store.write(base + o, b) };
  }

  /** The exported range as BAR addresses (`dma_map_resource` of `bar_address`), in page order. */
  runs(): PhysRun[] {
    const hdev = this.ctx.hdev;
    const ps = this.pack.pageSize;
    const out: PhysRun[] = [];
    let off = this.offset;
    const end = this.offset + this.size;
    while (off < end) {
      const page = Math.floor(off / ps);
      const inPage = off - page * ps;
      const len = Math.min(ps - inPage, end - off);
      out.push({
        address: hdev.dramBarBase + (this.pack.pages[page]! - hdev.dram.base) + inPage,
        length: len,
      });
      off += len;
    }
    return out;
  }
}

/** The exporter's object of `buf` if `hdev` exported it, else undefined (not ours: decline). */
function exportedBy(hdev: HlDevice, buf: DmaBuf): HlDmabufPriv | undefined {
  const p = buf.priv;
  return p instanceof HlDmabufPriv && p.ctx.hdev === hdev ? p : undefined;
}

/** `habanalabs_dmabuf_ops` as taps of the device's hooks; each answers for this device's exports only. */
export function hlDmaBufApply(hooks: DrmHooks, hdev: HlDevice, name: string): void {
  const d = hooks.dmaBuf;
  // hl_dmabuf_attach: no peer-to-peer path to the importer clears peer2peer.
  d.attach.tap(name, (buf, att) => {
    if (exportedBy(hdev, buf) === undefined) return undefined;
    dmaBufAttachP2pCheck(att, hdev.dmaDev);
    return true;
  });
  // hl_map_dmabuf: the BAR ranges for the importer. EPERM without peer2peer; segments capped by the
  // importer's max segment size (page-rounded, EINVAL below a page) and 512 MiB.
  d.mapDmaBuf.tap(name, (att) => {
    const priv = exportedBy(hdev, att.dmabuf);
    if (priv === undefined) return undefined;
    return dmaBufMapPlacement(
      att,
      hdev.dmaDev,
      { domain: "device", runs: priv.runs() },
      { maxSegmentSize: DMA_BUF_CHUNK_MAX_SIZE, backing: priv.pack.store },
    );
  });
  // drmsim additions (habanalabs_dmabuf_ops has none of these; see the module comment): the CPU
  // reaches exported HBM through the BAR, `[offset, offset + size)` of the allocation.
  d.vmap.tap(name, (buf) => {
    const priv = exportedBy(hdev, buf);
    return priv === undefined ? undefined : priv.window();
  });
  d.vunmap.tap(name, (buf) => (exportedBy(hdev, buf) === undefined ? undefined : true));
  d.mmap.tap(name, (buf, vma) => {
    const priv = exportedBy(hdev, buf);
    if (priv === undefined) return undefined;
    if (((vma.flags ?? 0) & MAP_PRIVATE) !== 0)
      throw new KernelError("EINVAL", "mmap of exported device memory: a private (copy-on-write) mapping");
    vma.vmOps = priv.window();
    return true;
  });
  d.beginCpuAccess.tapPromise(name, async (buf) => (exportedBy(hdev, buf) === undefined ? undefined : true));
  d.endCpuAccess.tapPromise(name, async (buf) => (exportedBy(hdev, buf) === undefined ? undefined : true));
  // hl_unmap_dmabuf: nothing to undo (BAR addresses need no IOMMU teardown here).
  d.unmapDmaBuf.tap(name, (att) => (exportedBy(hdev, att.dmabuf) === undefined ? undefined : true));
  // hl_release_dmabuf: the allocation is no longer pinned by this export; the context reference goes.
  d.release.tap(name, (buf) => {
    const priv = exportedBy(hdev, buf);
    if (priv === undefined) return undefined;
    priv.released = true;
    priv.pack.exportingCnt--;
    hdev.exported.delete(priv);
    priv.ctx.put();
    return true;
  });
}

/**
 * `export_dmabuf`: a dma-buf over `size` bytes of `pack` from `offset` (checked by the caller),
 * with its fd in `proc` (`flags`: `O_CLOEXEC`; the file is always `O_RDWR`). The dma-buf pins the
 * allocation and holds a context reference. If no fd can be installed, the export's
 * `dma_buf_put` releases it, undoing both, so a full fd table leaves nothing exported behind.
 */
export function hlDmaBufExport(
  ctx: HlCtx,
  proc: Process,
  pack: HlVmPhysPgPack,
  offset: number,
  size: number,
  flags: number,
): number {
  const hdev = ctx.hdev;
  const priv = new HlDmabufPriv(ctx, pack, offset, size);
  const buf = hdev.drm.dmaBufExport({ size, priv, name: "habanalabs", flags: flags | O_RDWR });
  priv.buf = buf;
  pack.exportingCnt++;
  ctx.get();
  hdev.exported.add(priv);
  try {
    return dmaBufFd(buf, proc, flags);
  } catch (e) {
    buf.put();
    throw e;
  }
}
