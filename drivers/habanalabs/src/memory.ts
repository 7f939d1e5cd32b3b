/**
 * Device memory (`common/memory.c`): `HL_MEM_OP_ALLOC` / `FREE` / `MAP` / `UNMAP` and
 * `HL_MEM_OP_EXPORT_DMABUF_FD`, the peer-to-peer dma-buf exporter of device memory that seed 003
 * reviewed.
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
 * - **Exported memory is pinned.** While a dma-buf exports an allocation, `HL_MEM_OP_FREE` of it
 *   is refused with `EBUSY` (the first upstream version returned `EINVAL`; the task's contract
 *   for drmsim is `EBUSY`), and the dma-buf keeps the context alive until its release.
 * - **No kernel log from userspace-triggered failures** (the review again): errors are only the
 *   errno and its message.
 */
import {
  type DmaBuf,
  type DmaBufAttachment,
  type DmaBufOps,
  type DmaDataDirection,
  dmaBufAttachP2pCheck,
  dmaBufExport,
  dmaBufFd,
  dmaBufMapPlacement,
  PAGE_SIZE,
  type PhysRun,
  type SgTable,
} from "@drmsim/dma-buf";
import { KernelError, O_CLOEXEC, O_RDWR, type Process } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";
import {
  DMA_BUF_CHUNK_MAX_SIZE,
  HL_MEM_CONTIGUOUS,
  HL_MEM_FORCE_HINT,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_EXPORT_DMABUF_FD,
  HL_MEM_OP_FREE,
  HL_MEM_OP_MAP,
  HL_MEM_OP_UNMAP,
  HL_MEM_PREFETCH,
  HL_MEM_SHARED,
  HL_MEM_USERPTR,
  type HlMemArgs,
} from "./habanalabs-accel.js";
import { HlVmPhysPgPack } from "./hl-dram.js";

function argU(a: Record<string, unknown>, field: string, what: string, dflt?: number): number {
  const v = a[field] ?? dflt;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new KernelError("EINVAL", `${what}: ${field} must be a non-negative integer, got ${String(v)}`);
  return v;
}

function only(a: Record<string, unknown>, what: string, allowed: readonly string[]): void {
  for (const k of Object.keys(a)) {
    if (allowed.includes(k) || a[k] === undefined || a[k] === 0) continue;
    throw new KernelError("EINVAL", `${what}: field ${k} is not used by this op and must be 0`);
  }
}

/**
 * `struct hl_dmabuf_priv`: the exporter's object behind one dma-buf — the pages it covers (a
 * whole allocation, or a page range of one for an export by address) and the context it pins.
 */
export class HlDmabufPriv implements DmaBufOps {
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

  /** `hl_dmabuf_attach`: no peer-to-peer path to the importer clears `peer2peer`. */
  attach(_buf: DmaBuf, att: DmaBufAttachment): void {
    dmaBufAttachP2pCheck(att, this.ctx.hdev.dmaDev);
  }

  /**
   * `hl_map_dmabuf`: the BAR ranges for the importer. `EPERM` without peer2peer; segments capped by
   * the importer's max segment size (page-rounded, `EINVAL` below a page) and 512 MiB.
   */
  mapDmaBuf(att: DmaBufAttachment, _dir: DmaDataDirection): SgTable {
    return dmaBufMapPlacement(
      att,
      this.ctx.hdev.dmaDev,
      { domain: "device", runs: this.runs() },
      { maxSegmentSize: DMA_BUF_CHUNK_MAX_SIZE },
    );
  }

  /** `hl_unmap_dmabuf`: nothing to undo (BAR addresses need no IOMMU teardown here). */
  unmapDmaBuf(_att: DmaBufAttachment, _sgt: SgTable, _dir: DmaDataDirection): void {}

  /** `hl_release_dmabuf`: the allocation is no longer pinned by this export; the context reference goes. */
  release(_buf: DmaBuf): void {
    this.released = true;
    this.pack.exportingCnt--;
    this.ctx.hdev.exported.delete(this);
    this.ctx.put();
  }
}

/** `alloc_device_memory`. */
function allocDeviceMemory(ctx: HlCtx, a: Record<string, unknown>): number {
  const hdev = ctx.hdev;
  const flags = argU(a, "flags", "HL_MEM_OP_ALLOC", 0);
  if ((flags & ~(HL_MEM_CONTIGUOUS | HL_MEM_SHARED)) !== 0)
    throw new KernelError(
      "EINVAL",
      `HL_MEM_OP_ALLOC: flags 0x${flags.toString(16)} are not valid for device memory`,
    );
  const size = argU(a, "mem_size", "HL_MEM_OP_ALLOC");
  const pageSize = argU(a, "page_size", "HL_MEM_OP_ALLOC", 0) || hdev.dram.pageSize;
  if (pageSize !== hdev.dram.pageSize)
    throw new KernelError(
      "EINVAL",
      `HL_MEM_OP_ALLOC: page size ${pageSize} is not supported (DRAM pages are ${hdev.dram.pageSize})`,
    );
  if (size === 0) throw new KernelError("EINVAL", "HL_MEM_OP_ALLOC: cannot allocate 0 bytes");
  const npages = Math.ceil(size / pageSize);
  const pages = hdev.dram.alloc(npages, (flags & HL_MEM_CONTIGUOUS) !== 0);
  const pack = new HlVmPhysPgPack(ctx.allocMemHandle(), pages, pageSize, (flags & HL_MEM_CONTIGUOUS) !== 0);
  ctx.memHandles.set(pack.handle, pack);
  ctx.dramPhysMem += pack.totalSize;
  return pack.handle;
}

function packOf(ctx: HlCtx, handle: number, what: string): HlVmPhysPgPack {
  const pack = ctx.memHandles.get(handle);
  if (pack === undefined) throw new KernelError("EINVAL", `${what}: no match for handle ${handle}`);
  return pack;
}

/** `free_device_memory`: `EINVAL` for an unknown or mapped handle, `EBUSY` while it is exported. */
function freeDeviceMemory(ctx: HlCtx, handle: number): void {
  const pack = packOf(ctx, handle, "free device memory failed");
  if (pack.mappingCnt > 0) throw new KernelError("EINVAL", `handle ${handle} is mapped, cannot free`);
  if (pack.exportingCnt > 0)
    throw new KernelError(
      "EBUSY",
      `handle ${handle} is exported (${pack.exportingCnt} dma-buf(s)), cannot free`,
    );
  ctx.memHandles.delete(handle);
  ctx.hdev.dram.free(pack.pages);
  pack.freed = true;
  ctx.dramPhysMem -= pack.totalSize;
}

/**
 * `export_dmabuf_from_addr` / by handle: a dma-buf over device memory, with its fd in `proc`.
 * By `handle`: the whole allocation (`mem_size` 0 or its size, `offset` 0). By `addr`: the
 * mapping that starts at that device VA, `offset` and `mem_size` page-aligned and inside it.
 * `EINVAL` for anything else; flags beyond `O_RDWR | O_CLOEXEC` too.
 */
function exportDmabuf(ctx: HlCtx, proc: Process, a: Record<string, unknown>): number {
  const what = "HL_MEM_OP_EXPORT_DMABUF_FD";
  const flags = argU(a, "flags", what, 0);
  if ((flags & ~(O_RDWR | O_CLOEXEC)) !== 0)
    throw new KernelError(
      "EINVAL",
      `${what}: flags 0x${flags.toString(16)} are not O_RDWR/O_CLOEXEC file flags`,
    );
  const handle = argU(a, "handle", what, 0);
  const addr = argU(a, "addr", what, 0);
  let size = argU(a, "mem_size", what, 0);
  const offset = argU(a, "offset", what, 0);
  if ((handle === 0) === (addr === 0))
    throw new KernelError("EINVAL", `${what}: give exactly one of handle and addr`);
  let pack: HlVmPhysPgPack;
  if (handle !== 0) {
    pack = packOf(ctx, handle, what);
    if (offset !== 0) throw new KernelError("EINVAL", `${what}: offset must be 0 when exporting by handle`);
    if (size !== 0 && size !== pack.totalSize)
      throw new KernelError(
        "EINVAL",
        `${what}: mem_size ${size} is not the allocation's size ${pack.totalSize}`,
      );
    size = pack.totalSize;
  } else {
    const m = ctx.mmu.mappingAt(addr);
    if (m === undefined)
      throw new KernelError(
        "EINVAL",
        `${what}: device VA 0x${addr.toString(16)} is not the start of a mapping`,
      );
    pack = m.pack;
    if (size === 0 || size % PAGE_SIZE !== 0 || offset % PAGE_SIZE !== 0 || offset + size > m.size)
      throw new KernelError(
        "EINVAL",
        `${what}: offset ${offset} + mem_size ${size} must be page aligned, non-empty and inside the ${m.size}-byte mapping`,
      );
  }
  const hdev = ctx.hdev;
  const priv = new HlDmabufPriv(ctx, pack, handle !== 0 ? 0 : offset, size);
  const buf = dmaBufExport(hdev.sim, { ops: priv, size, priv, name: "habanalabs", flags: flags | O_RDWR });
  priv.buf = buf;
  pack.exportingCnt++;
  ctx.get();
  hdev.exported.add(priv);
  try {
    return dmaBufFd(buf, proc, flags);
  } catch (e) {
    // export_dmabuf's error path: dma_buf_put, whose release undoes the export (exporting_cnt,
    // the context reference), so a full fd table leaves nothing exported behind.
    buf.put();
    throw e;
  }
}

/**
 * `hl_mem_ioctl`: one memory op. `EBUSY` while the device is in reset, `EINVAL` for an unknown op
 * or bad arguments, `EOPNOTSUPP` for host-memory (userptr) mappings, `ENOMEM` when device memory
 * or device VA space runs out. A failed op changes nothing.
 */
export function hlMemIoctl(ctx: HlCtx, proc: Process, args: HlMemArgs): HlMemArgs {
  const a = args as unknown as Record<string, unknown>;
  const hdev = ctx.hdev;
  if (hdev.inReset) throw new KernelError("EBUSY", "Device is in reset. Can't execute MEMORY IOCTL");
  if ((a.ctx_id ?? 0) !== 0 || (a.num_of_elements ?? 0) !== 0)
    throw new KernelError("EINVAL", "HL_MEMORY: ctx_id and num_of_elements must be 0");
  const op = a.op;
  const common = ["op", "flags", "ctx_id", "num_of_elements"];
  switch (op) {
    case HL_MEM_OP_ALLOC:
      only(a, "HL_MEM_OP_ALLOC", [...common, "mem_size", "page_size"]);
      args.handle = allocDeviceMemory(ctx, a);
      return args;
    case HL_MEM_OP_FREE:
      only(a, "HL_MEM_OP_FREE", [...common, "handle"]);
      if ((a.flags ?? 0) !== 0) throw new KernelError("EINVAL", "HL_MEM_OP_FREE: flags must be 0");
      freeDeviceMemory(ctx, argU(a, "handle", "HL_MEM_OP_FREE"));
      return args;
    case HL_MEM_OP_MAP: {
      const flags = argU(a, "flags", "HL_MEM_OP_MAP", 0);
      if ((flags & HL_MEM_USERPTR) !== 0)
        throw new KernelError(
          "EOPNOTSUPP",
          "HL_MEM_OP_MAP: mapping host memory (HL_MEM_USERPTR) is not modelled",
        );
      if ((flags & ~(HL_MEM_FORCE_HINT | HL_MEM_PREFETCH)) !== 0)
        throw new KernelError(
          "EINVAL",
          `HL_MEM_OP_MAP: flags 0x${flags.toString(16)} are not valid for device memory`,
        );
      only(a, "HL_MEM_OP_MAP", [...common, "handle", "hint_addr"]);
      const pack = packOf(ctx, argU(a, "handle", "HL_MEM_OP_MAP"), "HL_MEM_OP_MAP");
      const va = ctx.mmu.map(
        pack,
        argU(a, "hint_addr", "HL_MEM_OP_MAP", 0),
        (flags & HL_MEM_FORCE_HINT) !== 0,
      );
      pack.mappingCnt++;
      args.device_virt_addr = va;
      return args;
    }
    case HL_MEM_OP_UNMAP: {
      only(a, "HL_MEM_OP_UNMAP", [...common, "device_virt_addr"]);
      if ((a.flags ?? 0) !== 0) throw new KernelError("EINVAL", "HL_MEM_OP_UNMAP: flags must be 0");
      const m = ctx.mmu.unmap(argU(a, "device_virt_addr", "HL_MEM_OP_UNMAP"));
      m.pack.mappingCnt--;
      return args;
    }
    case HL_MEM_OP_EXPORT_DMABUF_FD:
      only(a, "HL_MEM_OP_EXPORT_DMABUF_FD", [...common, "handle", "addr", "mem_size", "offset"]);
      args.fd = exportDmabuf(ctx, proc, a);
      return args;
    default:
      throw new KernelError("EINVAL", `HL_MEMORY: unknown opcode ${String(op)}`);
  }
}
