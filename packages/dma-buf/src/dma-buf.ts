/**
 * `struct dma_buf` (`include/linux/dma-buf.h`, `drivers/dma-buf/dma-buf.c`): a buffer one driver
 * (the exporter) shares with other devices and processes (importers) through a file descriptor.
 *
 * DOC: lifetime. A dma-buf *is* its file: its reference count is the file's (`get_file`/`fput`),
 * every fd in every process and every kernel user holds one, and the exporter's `release` op
 * runs when the last one goes. drmsim's leak check therefore reports a forgotten dma-buf as its
 * `dma_buf` file.
 *
 * DOC: locking convention (checked; see `dma-buf-locking` findings). Importers hold the buffer's
 * reservation lock for pin/unpin, map/unmap and vmap/vunmap, and must not hold it for attach,
 * detach, export, fd, get, put, mmap, begin/end_cpu_access or the `*Unlocked` variants. Exporters
 * see their pin/unpin/map/unmap/vmap/vunmap ops called with the lock held and hold it themselves
 * when they call `invalidateMappings`.
 *
 * DOC: contents. A buffer's bytes live in its exporter's storage and nowhere else: an importer's
 * device reaches them through its attachment's scatter list (`dmaBufAttachmentRegion`), the
 * kernel through `vmap`, a process through `mmap` of the dma-buf fd (or a GEM offset) bracketed
 * by `DMA_BUF_IOCTL_SYNC`. A CPU access that races the buffer's fences is reported
 * (`cpu-access-during-dma`).
 *
 * DOC: revocation. A buffer whose exporting device is gone (`owner.unplugged`, after
 * `drm_dev_unplug`) is revoked, as 7.1's revocable attachments are: mapping, vmap, mmap and CPU
 * access fail with `ENODEV`, DMA through a table mapped earlier fails too, and an existing CPU
 * mapping faults (`EFAULT`, SIGBUS) — importers get errors, never the stale bytes of memory that
 * is gone.
 */
import { DmaResv, dmaResvUsageRw } from "@drmsim/dma-resv";
import {
  type Allocation,
  File,
  frameList,
  GFP_KERNEL,
  KernelError,
  MAP_PRIVATE,
  O_CLOEXEC,
  O_RDWR,
  type Process,
  type Simulator,
  type VmArea,
} from "@drmsim/runtime";
import { vmOpsCheckingFences } from "./cpu-access.js";
import type { Device } from "./device.js";
import { PAGE_SIZE } from "./device.js";
import { DmaBufAttachment, type DmaBufAttachOps } from "./dma-buf-attachment.js";
import { DMA_BUF_FILE_KIND, dmaBufFops } from "./dma-buf-file.js";
import { checkResvLock, misuse } from "./internal/rules.js";
import type { SgTable } from "./sg-table.js";
import {
  DMA_BUF_TRACK,
  type DmaBufTraceArgs,
  traceDmaBufDetach,
  traceDmaBufDynamicAttach,
  traceDmaBufExport,
  traceDmaBufFd,
  traceDmaBufGet,
  traceDmaBufMmap,
  traceDmaBufPut,
} from "./trace.js";

/** `enum dma_data_direction`. */
export const DmaDataDirection = {
  /** `DMA_BIDIRECTIONAL`. */
  BIDIRECTIONAL: 0,
  /** `DMA_TO_DEVICE`: the CPU/importer writes what the device reads. */
  TO_DEVICE: 1,
  /** `DMA_FROM_DEVICE`: the device writes what the CPU reads. */
  FROM_DEVICE: 2,
  /** `DMA_NONE`. */
  NONE: 3,
} as const;
/** A `DmaDataDirection` value. */
export type DmaDataDirection = (typeof DmaDataDirection)[keyof typeof DmaDataDirection];

function checkDirection(dir: unknown): asserts dir is DmaDataDirection {
  if (dir !== 0 && dir !== 1 && dir !== 2 && dir !== 3)
    throw new KernelError("EINVAL", `invalid DMA direction ${String(dir)}`);
}

/** A kernel mapping of the whole buffer (`struct iosys_map`), as returned by `vmap`. */
export interface IosysMap {
  /** Reads bytes at an offset of the buffer. */
  read(offset: number, length: number): Uint8Array;
  /** Writes bytes at an offset of the buffer. */
  write(offset: number, bytes: Uint8Array): void;
}

/** What `mmap` maps (`struct vm_area_struct`); the exporter's `mmap` op sets `vma.vmOps`. */
export type { VmArea } from "@drmsim/runtime";

/**
 * The exporting device as a dma-buf sees it (`exp_info->owner` in spirit): once it is unplugged,
 * the buffer is revoked (see the module's DOC: revocation).
 */
export interface DmaBufOwner {
  /** True once the device was removed (`drm_dev_unplug`). */
  readonly unplugged: boolean;
  toString(): string;
}

/**
 * `struct dma_buf_ops`. `mapDmaBuf`, `unmapDmaBuf` and `release` are mandatory; `pin` and
 * `unpin` come together or not at all. Ops marked "resv held" run with the reservation lock held.
 */
export interface DmaBufOps {
  /** `attach`: may refuse (throw, e.g. `EBUSY` when the storage is unreachable from the device) or clear `att.peer2peer`. */
  attach?(buf: DmaBuf, att: DmaBufAttachment): void;
  /** `detach`. */
  detach?(buf: DmaBuf, att: DmaBufAttachment): void;
  /** `pin` (resv held): the storage must not move until `unpin`. */
  pin?(att: DmaBufAttachment): void;
  /** `unpin` (resv held). */
  unpin?(att: DmaBufAttachment): void;
  /** `map_dma_buf` (resv held): the DMA table for `att.dev`. */
  mapDmaBuf(att: DmaBufAttachment, dir: DmaDataDirection): SgTable;
  /** `unmap_dma_buf` (resv held). */
  unmapDmaBuf(att: DmaBufAttachment, sgt: SgTable, dir: DmaDataDirection): void;
  /** `release`: the last reference is gone. */
  release(buf: DmaBuf): void;
  /**
   * `mmap`: the range was checked against the buffer size (`vma.pgoff` pages into it). Set
   * `vma.vmOps` to the mapping's accessors (offsets are bytes into the buffer).
   */
  mmap?(buf: DmaBuf, vma: VmArea): void;
  /** `vmap` (resv held). */
  vmap?(buf: DmaBuf): IosysMap;
  /** `vunmap` (resv held). */
  vunmap?(buf: DmaBuf, map: IosysMap): void;
  /** `begin_cpu_access`: make the buffer coherent for the CPU (may sleep). */
  beginCpuAccess?(buf: DmaBuf, dir: DmaDataDirection): void | Promise<void>;
  /** `end_cpu_access`. */
  endCpuAccess?(buf: DmaBuf, dir: DmaDataDirection): void | Promise<void>;
}

/** `struct dma_buf_export_info`. */
export interface DmaBufExportInfo {
  ops: DmaBufOps;
  /** Size in bytes, a positive multiple of `PAGE_SIZE`. */
  size: number;
  /** `exp_info->priv`: the exporter's object (mandatory, as in the kernel). */
  priv: unknown;
  /** A reservation object to share (a GEM object's); omitted: the dma-buf embeds its own. */
  resv?: DmaResv;
  /** `exp_name`: the exporter's name for reports (`habanalabs`, `amdgpu`). */
  name?: string;
  /** File flags (`O_RDWR`, `O_CLOEXEC`). */
  flags?: number;
  /** The exporting device: its removal revokes the buffer. */
  owner?: DmaBufOwner;
}

/** `sizeof(struct dma_buf)` on 64-bit, an estimate: what `dma_buf_export` allocates. */
const DMA_BUF_BYTES = 256;
/** `sizeof(struct dma_resv)`, added when the buffer embeds its own reservation object. */
const DMA_RESV_BYTES = 64;

/** `struct dma_buf`. Create with `dmaBufExport`. */
export class DmaBuf {
  /** The backing file (`dma_buf->file`); its reference count is the buffer's. */
  readonly file: File<DmaBuf>;
  /** `dma_buf->resv`. */
  readonly resv: DmaResv;
  /** `dma_buf->attachments`, in attach order. */
  readonly attachments: DmaBufAttachment[] = [];
  /** `dma_buf->name`, set by `DMA_BUF_SET_NAME`. */
  name = "";
  /** `dma_buf->exp_name`. */
  readonly expName: string;
  /** `dma_buf->vmapping_counter`. */
  vmappingCounter = 0;
  private vmapPtr: IosysMap | null = null;
  private readonly ownsResv: boolean;
  private released = false;

  /** @internal Use `dmaBufExport`. */
  constructor(
    readonly sim: Simulator,
    readonly ops: DmaBufOps,
    readonly size: number,
    /** `dma_buf->priv`. */
    readonly priv: unknown,
    resv: DmaResv | undefined,
    expName: string,
    flags: number,
    /** The struct's memory (`dma_buf_export`'s kzalloc), freed on release. */
    private readonly mem: Allocation,
    /** The exporting device, if the exporter named it. */
    readonly owner: DmaBufOwner | null = null,
  ) {
    this.ownsResv = resv === undefined;
    this.resv = resv ?? new DmaResv(sim);
    this.expName = expName;
    this.file = new File<DmaBuf>(sim, dmaBufFops, this, flags & ~O_CLOEXEC, `dmabuf:${expName}`);
  }

  /** `get_dma_buf()`: a new reference (on the file). */
  get(): this {
    this.file.get();
    return this;
  }

  /** `dma_buf_put()`: drops a reference; the last one releases the buffer. Must not hold the resv. */
  put(): void {
    checkResvLock(this.sim, this.resv, "dma_buf_put", false);
    if (this.sim.tracer.on) this.sim.tracer.instant(traceDmaBufPut, DMA_BUF_TRACK, this.traceArgs());
    this.file.put();
  }

  /** The reference count (`file_count(dmabuf->file)`). */
  get refcount(): number {
    return this.file.refcount;
  }

  /** True once the last reference was dropped. */
  get isReleased(): boolean {
    return this.released;
  }

  /** True once the exporting device is gone: every access fails (see DOC: revocation). */
  get revoked(): boolean {
    return this.owner?.unplugged === true;
  }

  /** Throws `ENODEV` for a revoked buffer (`drm_dev_enter` failing in the exporter): importers check it before using a mapping they hold. */
  checkNotRevoked(op: string): void {
    if (this.revoked)
      throw new KernelError(
        "ENODEV",
        `${op}: ${this.describe()} was revoked: its exporter ${this.owner} is gone`,
      );
  }

  /** `dma_buf_attach()`: a static attachment of `dev` (no importer ops; the exporter pins on map). */
  attach(dev: Device): DmaBufAttachment {
    return this.dynamicAttach(dev, null, undefined);
  }

  /**
   * `dma_buf_dynamic_attach()`: attaches `dev` as an importer. With `importerOps` the attachment
   * is dynamic: the importer may map without pinning and must follow moves through
   * `importerOps.invalidateMappings` (≤ 6.19: `move_notify`, then mandatory; 7.1 renamed it and
   * made it optional). `peer2peer` starts as `importerOps.allowPeer2peer`; the exporter's `attach`
   * op may clear it or refuse. Must be called without the reservation lock held.
   */
  dynamicAttach(dev: Device, importerOps: DmaBufAttachOps | null, importerPriv: unknown): DmaBufAttachment {
    this.assertLive("dma_buf_dynamic_attach");
    checkResvLock(this.sim, this.resv, "dma_buf_dynamic_attach", false);
    const att = new DmaBufAttachment(this, dev, importerOps, importerPriv);
    this.ops.attach?.(this, att);
    // The kernel links the attachment under the resv lock; nothing here can sleep in between.
    // Like the kernel, an attachment holds no reference: the importer keeps its own (dma_buf_get).
    this.attachments.push(att);
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDmaBufDynamicAttach, DMA_BUF_TRACK, {
        ...this.traceArgs(),
        dev: dev.name,
        isDynamic: att.isDynamic,
      });
    return att;
  }

  /**
   * `dma_buf_detach()`. Refused with `EBUSY` (and a `dma-buf-misuse` finding) while the
   * attachment still has mappings or pins, changing nothing. Must be called without the lock.
   */
  detach(att: DmaBufAttachment): void {
    checkResvLock(this.sim, this.resv, "dma_buf_detach", false);
    const i = this.attachments.indexOf(att);
    if (i < 0)
      misuse(
        this.sim,
        "EINVAL",
        `dma_buf_detach of an attachment of ${att.dev.name} that is not attached to ${this.describe()}`,
        "Detach each attachment exactly once, from the dma-buf it was attached to.",
      );
    if (att.mappingCount > 0 || att.pinCount > 0)
      misuse(
        this.sim,
        "EBUSY",
        `dma_buf_detach of ${att.dev.name}'s attachment with ${att.mappingCount} live mapping(s) and ${att.pinCount} pin(s)`,
        "An importer must unmap every mapping and drop every pin before detaching: the exporter frees the mapping state at detach.",
      );
    this.attachments.splice(i, 1);
    this.ops.detach?.(this, att);
    att.detached = true;
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDmaBufDetach, DMA_BUF_TRACK, {
        ...this.traceArgs(),
        dev: att.dev.name,
        isDynamic: att.isDynamic,
      });
  }

  /**
   * `dma_buf_invalidate_mappings()` (≤ 6.19 `dma_buf_move_notify`): the exporter is about to move
   * the storage; every dynamic importer's `invalidateMappings` runs, with the reservation lock
   * held (required), and must stop using its mappings and unmap them.
   */
  invalidateMappings(): void {
    checkResvLock(this.sim, this.resv, "dma_buf_invalidate_mappings", true);
    for (const att of [...this.attachments]) att.importerOps?.invalidateMappings?.(att);
  }

  /**
   * `dma_buf_vmap()`: a kernel mapping of the whole buffer, refcounted — the first call runs
   * `ops.vmap`, later ones return the same map. Resv held. `EINVAL` without `ops.vmap`.
   */
  vmap(): IosysMap {
    checkResvLock(this.sim, this.resv, "dma_buf_vmap", true);
    const vmapOp = this.ops.vmap;
    if (vmapOp === undefined) throw new KernelError("EINVAL", `${this.describe()}: the exporter has no vmap`);
    this.checkNotRevoked("dma_buf_vmap");
    if (this.vmapPtr !== null) {
      this.vmappingCounter++;
      return this.vmapPtr;
    }
    const map = vmapOp.call(this.ops, this);
    this.vmapPtr = map;
    this.vmappingCounter = 1;
    return map;
  }

  /** `dma_buf_vunmap()`: drops one vmap; the last runs `ops.vunmap`. Resv held. A stray vunmap is misuse (`EINVAL`). */
  vunmap(map: IosysMap): void {
    checkResvLock(this.sim, this.resv, "dma_buf_vunmap", true);
    if (this.vmappingCounter === 0 || map !== this.vmapPtr)
      misuse(
        this.sim,
        "EINVAL",
        `dma_buf_vunmap on ${this.describe()} of a map it did not hand out (vmapping_counter ${this.vmappingCounter})`,
        "Every dma_buf_vunmap must match one dma_buf_vmap of the same buffer, with the map it returned.",
      );
    if (--this.vmappingCounter === 0) {
      this.ops.vunmap?.(this, map);
      this.vmapPtr = null;
    }
  }

  /** `dma_buf_vmap_unlocked()`: takes and drops the reservation lock around `vmap`. */
  async vmapUnlocked(): Promise<IosysMap> {
    checkResvLock(this.sim, this.resv, "dma_buf_vmap_unlocked", false);
    await this.resv.lock(null);
    try {
      return this.vmap();
    } finally {
      this.resv.unlock();
    }
  }

  /** `dma_buf_vunmap_unlocked()`. */
  async vunmapUnlocked(map: IosysMap): Promise<void> {
    checkResvLock(this.sim, this.resv, "dma_buf_vunmap_unlocked", false);
    await this.resv.lock(null);
    try {
      this.vunmap(map);
    } finally {
      this.resv.unlock();
    }
  }

  /**
   * `dma_buf_mmap()` / the file's mmap: `EINVAL` without `ops.mmap` or for a range beyond the
   * buffer, `EOVERFLOW` when `pgoff + pages` overflows, `ENODEV` once revoked; a private
   * (copy-on-write) mapping is `EINVAL`, as every exporter drmsim models refuses it
   * (`is_cow_mapping`). The exporter's op sets `vma.vmOps`; the core then checks every access of
   * the mapping against the buffer's fences (`cpu-access-during-dma`) and faults (`EFAULT`,
   * SIGBUS) once the buffer is revoked. Must be called without the lock.
   */
  mmap(vma: VmArea): void {
    checkResvLock(this.sim, this.resv, "dma_buf_mmap", false);
    const mmapOp = this.ops.mmap;
    if (mmapOp === undefined)
      throw new KernelError("EINVAL", `${this.describe()}: the exporter does not support mmap`);
    if (
      !Number.isSafeInteger(vma.length) ||
      vma.length <= 0 ||
      !Number.isSafeInteger(vma.pgoff) ||
      vma.pgoff < 0
    )
      throw new KernelError("EINVAL", `mmap of ${vma.length} bytes at page ${vma.pgoff}: not a valid range`);
    const pages = Math.ceil(vma.length / PAGE_SIZE);
    if (vma.pgoff + pages > 2 ** 52)
      throw new KernelError("EOVERFLOW", `mmap: page offset ${vma.pgoff} + ${pages} overflows`);
    if (vma.pgoff + pages > this.size / PAGE_SIZE)
      throw new KernelError(
        "EINVAL",
        `mmap of pages ${vma.pgoff}..${vma.pgoff + pages - 1} is beyond the ${this.size / PAGE_SIZE}-page buffer`,
      );
    if (((vma.flags ?? 0) & MAP_PRIVATE) !== 0)
      throw new KernelError("EINVAL", `mmap of ${this.describe()}: a private (copy-on-write) mapping`);
    this.checkNotRevoked("dma_buf_mmap");
    if (this.sim.tracer.on) this.sim.tracer.instant(traceDmaBufMmap, DMA_BUF_TRACK, this.traceArgs());
    mmapOp.call(this.ops, this, vma);
    const inner = vma.vmOps;
    if (inner === undefined) return;
    // The mapping's reference is its file's (vma->vm_file: the dma-buf, or for a GEM mapping the
    // object that holds the import): nothing to take here.
    vma.vmOps = vmOpsCheckingFences(
      this.sim,
      this.resv,
      () => this.describe(),
      inner,
      () => {
        if (this.revoked)
          throw new KernelError(
            "EFAULT",
            `access to a mapping of ${this.describe()} after its exporter ${this.owner} went away (SIGBUS)`,
          );
      },
    );
  }

  /**
   * `dma_buf_begin_cpu_access()`: runs the exporter's op, then waits (interruptibly) for the
   * fences the access must see: a CPU read waits for writers (`WRITE` usage), a CPU write for
   * everyone (`READ` usage) — `dma_resv_usage_rw(write)`, write = TO_DEVICE or BIDIRECTIONAL.
   * Must be called without the reservation lock. Throws `ERESTARTSYS` when interrupted.
   */
  async beginCpuAccess(dir: DmaDataDirection): Promise<void> {
    checkDirection(dir);
    checkResvLock(this.sim, this.resv, "dma_buf_begin_cpu_access", false);
    this.assertLive("dma_buf_begin_cpu_access");
    this.checkNotRevoked("dma_buf_begin_cpu_access");
    await this.ops.beginCpuAccess?.(this, dir);
    const write = dir === DmaDataDirection.BIDIRECTIONAL || dir === DmaDataDirection.TO_DEVICE;
    await this.resv.waitTimeout(dmaResvUsageRw(write), { interruptible: true });
  }

  /** `dma_buf_end_cpu_access()`: runs the exporter's op. Must be called without the lock. */
  async endCpuAccess(dir: DmaDataDirection): Promise<void> {
    checkDirection(dir);
    checkResvLock(this.sim, this.resv, "dma_buf_end_cpu_access", false);
    this.assertLive("dma_buf_end_cpu_access");
    await this.ops.endCpuAccess?.(this, dir);
  }

  /** Arguments of the `dma_buf` trace event class. */
  traceArgs(): DmaBufTraceArgs {
    return { expName: this.expName, size: this.size, ino: this.file.ino };
  }

  /** For reports: `dma_buf habanalabs "weights" (4096 bytes)`. */
  describe(): string {
    return `dma_buf ${this.expName}${this.name !== "" ? ` "${this.name}"` : ""} (${this.size} bytes)`;
  }

  /** @internal The file's release: the last reference is gone (`dma_buf_release`). */
  releaseFromFile(): void {
    this.released = true;
    // The last reference is gone either way: report what is still outstanding, then release
    // (the kernel cannot refuse an fput; the importers' pointers now dangle).
    const outstanding: string[] = [];
    if (this.attachments.length > 0)
      outstanding.push(
        `${this.attachments.length} attachment(s) (${this.attachments.map((a) => a.dev.name).join(", ")})`,
      );
    if (this.vmappingCounter > 0) outstanding.push(`${this.vmappingCounter} vmap(s)`);
    if (outstanding.length > 0) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "dma-buf-misuse",
        title: `${this.describe()} released with ${outstanding.join(" and ")} outstanding`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation:
          "An attachment or vmap holds no reference of its own: an importer must keep a reference " +
          "(dma_buf_get) until it has unmapped, vunmapped and detached.",
      });
    }
    this.ops.release(this);
    if (this.ownsResv) this.resv.fini();
    this.mem.free();
  }

  /** @internal */
  assertLive(op: string): void {
    if (this.released) this.file.assertLive(op);
  }
}

/**
 * `dma_buf_export()`: wraps the exporter's storage in a dma-buf with one reference (the caller's).
 * `EINVAL` unless `priv`, `ops.mapDmaBuf`, `ops.unmapDmaBuf` and `ops.release` are given, if only
 * one of `pin`/`unpin` is, or for a size that is not a positive page multiple. Embeds its own
 * reservation object unless `info.resv` is given. Must be called without that resv's lock.
 */
export function dmaBufExport(sim: Simulator, info: DmaBufExportInfo): DmaBuf {
  const ops = info.ops;
  if (ops === undefined || ops === null) throw new KernelError("EINVAL", "dma_buf_export: no ops");
  const missing = (["mapDmaBuf", "unmapDmaBuf", "release"] as const).filter(
    (k) => typeof ops[k] !== "function",
  );
  if (missing.length > 0)
    throw new KernelError(
      "EINVAL",
      `dma_buf_export: the exporter's ops lack the mandatory ${missing.join(", ")}`,
    );
  if ((ops.pin === undefined) !== (ops.unpin === undefined))
    throw new KernelError("EINVAL", "dma_buf_export: pin and unpin must be provided together");
  if (info.priv === undefined || info.priv === null)
    throw new KernelError("EINVAL", "dma_buf_export: exp_info.priv (the exporter's object) is mandatory");
  if (!Number.isSafeInteger(info.size) || info.size <= 0 || info.size % PAGE_SIZE !== 0)
    throw new KernelError(
      "EINVAL",
      `dma_buf_export: size must be a positive multiple of ${PAGE_SIZE}, got ${info.size}`,
    );
  if (info.resv !== undefined) checkResvLock(sim, info.resv, "dma_buf_export", false);
  // The struct, with room for its own resv unless the exporter shares one (`kzalloc(alloc_size,
  // GFP_KERNEL)`); failing here leaves nothing behind, as the kernel's unwinding does.
  const mem = sim.mm.kmalloc(
    DMA_BUF_BYTES + (info.resv === undefined ? DMA_RESV_BYTES : 0),
    GFP_KERNEL,
    "dma_buf_export",
  );
  const buf = new DmaBuf(
    sim,
    ops,
    info.size,
    info.priv,
    info.resv,
    info.name ?? "dmabuf",
    info.flags ?? O_RDWR,
    mem,
    info.owner ?? null,
  );
  if (sim.tracer.on) sim.tracer.instant(traceDmaBufExport, DMA_BUF_TRACK, buf.traceArgs());
  return buf;
}

/**
 * `dma_buf_fd()`: installs the dma-buf in `proc`'s fd table and returns the fd. The fd takes over
 * the caller's reference (as in the kernel). `flags` may carry `O_CLOEXEC`. Must be called
 * without the lock.
 */
export function dmaBufFd(buf: DmaBuf, proc: Process, flags = 0): number {
  if (buf === null || buf === undefined) throw new KernelError("EINVAL", "dma_buf_fd: no dma-buf");
  checkResvLock(buf.sim, buf.resv, "dma_buf_fd", false);
  buf.assertLive("dma_buf_fd");
  const fd = proc.installFile(buf.file, (flags & O_CLOEXEC) !== 0);
  if (buf.sim.tracer.on) buf.sim.tracer.instant(traceDmaBufFd, DMA_BUF_TRACK, { ...buf.traceArgs(), fd });
  return fd;
}

/**
 * `dma_buf_get()`: the dma-buf behind `fd` in `proc`, with a new reference. `EBADF` for a closed
 * fd, `EINVAL` for an fd that is not a dma-buf.
 */
export function dmaBufGet(proc: Process, fd: number): DmaBuf {
  const file = proc.file(fd);
  const buf = file.privOf<DmaBuf>(DMA_BUF_FILE_KIND, "dma-buf");
  buf.get();
  if (buf.sim.tracer.on) buf.sim.tracer.instant(traceDmaBufGet, DMA_BUF_TRACK, { ...buf.traceArgs(), fd });
  return buf;
}

/** `dma_buf_put()`. */
export function dmaBufPut(buf: DmaBuf): void {
  buf.put();
}

/** True if `file` is a dma-buf (`is_dma_buf_file`). */
export function isDmaBufFile(file: File): boolean {
  return file.fops.kind === DMA_BUF_FILE_KIND;
}
