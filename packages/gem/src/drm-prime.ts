/**
 * PRIME (`drivers/gpu/drm/drm_prime.c`): sharing GEM objects as dma-bufs.
 *
 * Export wraps an object in a dma-buf whose ops call back into the object's `funcs`
 * (`drm_gem_prime_dmabuf_ops`); the buffer is cached on `obj.dmaBuf` while the object has
 * handles, so exporting twice gives the same dma-buf, and an imported object re-exports the
 * buffer it came from. Import recognises this device's own buffers (self-import returns the
 * original object) and otherwise attaches, maps the attachment, and asks the driver to wrap the
 * table (`gem_prime_import_sg_table`).
 *
 * The two ioctls (PRIME_HANDLE_TO_FD, PRIME_FD_TO_HANDLE) belong to the DRM core; it calls
 * `drmGemPrimeHandleToDmaBuf` and `drmGemPrimeDmaBufToHandle`, which keep the per-file cache
 * (`DrmGemHandleTable.prime`) that guarantees one handle per dma-buf per file.
 */
import {
  type Device,
  type DmaBuf,
  type DmaBufAttachment,
  type DmaBufOps,
  type DmaBufOwner,
  DmaDataDirection,
  dmaBufExport,
  mapAttachmentUnlocked,
  type SgTable,
  unmapAttachment,
  unmapAttachmentUnlocked,
} from "@drmsim/dma-buf";
import { KernelError } from "@drmsim/runtime";
import type { DrmGemHandleTable } from "./drm-gem-handles.js";
import type { DrmGemObject } from "./drm-gem-object.js";

/** `DRM_CLOEXEC` (= `O_CLOEXEC`). */
export const DRM_CLOEXEC = 0o2000000;
/** `DRM_RDWR` (= `O_RDWR`). */
export const DRM_RDWR = 0o2;

function objOf(buf: DmaBuf): DrmGemObject {
  return buf.priv as DrmGemObject;
}

/**
 * `drm_gem_prime_dmabuf_ops`: the default dma-buf ops of an exported GEM object.
 * - `pin`/`unpin` → `funcs.pin`/`unpin` (resv held). The kernel pins at attach time
 *   (`drm_gem_map_attach`); here the dma-buf core pins a static importer at map time and
 *   `mapDmaBuf`/`unmapDmaBuf` pin a dynamic importer's mappings — in both cases the storage
 *   stays put while it is mapped.
 * - `mapDmaBuf` → `funcs.getSgTable(obj, att.dev)` (ENOSYS without it, EINVAL for `DMA_NONE`).
 * - `vmap`/`vunmap`/`mmap` → the object's funcs (EINVAL/ENODEV without them).
 * - `release` (`drm_gem_dmabuf_release`) drops the reference the dma-buf held on the object.
 */
export const drmGemPrimeDmaBufOps: DmaBufOps = {
  pin: (att) => {
    const obj = objOf(att.dmabuf);
    obj.funcs.pin?.(obj);
  },
  unpin: (att) => {
    const obj = objOf(att.dmabuf);
    obj.funcs.unpin?.(obj);
  },
  mapDmaBuf: (att, dir) => {
    const obj = objOf(att.dmabuf);
    // drm_gem_map_dma_buf: a mapping must have a direction (the kernel WARNs on DMA_NONE).
    if (dir === DmaDataDirection.NONE)
      throw new KernelError("EINVAL", `${obj.label}: map_dma_buf with DMA_NONE`);
    const get = obj.funcs.getSgTable;
    if (get === undefined)
      throw new KernelError("ENOSYS", `${obj.label} cannot be mapped: no get_sg_table op`);
    // drm_gem_map_attach pins for every importer, dynamic ones too (GEM objects do not move); the
    // dma-buf core pins only static importers on map, so a dynamic importer's mapping pins here.
    const pin = att.isDynamic;
    if (pin) obj.funcs.pin?.(obj);
    try {
      return get(obj, att.dev);
    } catch (e) {
      if (pin) obj.funcs.unpin?.(obj);
      throw e;
    }
  },
  unmapDmaBuf: (att) => {
    if (!att.isDynamic) return;
    const obj = objOf(att.dmabuf);
    obj.funcs.unpin?.(obj);
  },
  release: (buf) => {
    objOf(buf).put();
  },
  vmap: (buf) => {
    const obj = objOf(buf);
    if (obj.funcs.vmap === undefined) throw new KernelError("EOPNOTSUPP", `${obj.label} has no vmap op`);
    return obj.funcs.vmap(obj);
  },
  vunmap: (buf, map) => {
    const obj = objOf(buf);
    obj.funcs.vunmap?.(obj, map);
  },
  mmap: (buf, vma) => {
    const obj = objOf(buf);
    if (obj.funcs.mmap === undefined) throw new KernelError("ENODEV", `${obj.label} has no mmap op`);
    obj.funcs.mmap(obj, vma);
  },
};

/**
 * `drm_gem_dmabuf_export(dev, exp_info)`: exports `obj` with `ops` (a driver's own dma_buf_ops,
 * or the GEM defaults), sharing the object's resv. The dma-buf takes a reference to the object,
 * which the ops' `release` drops; the caller gets one reference to the dma-buf. No caching.
 */
export function drmGemDmabufExport(obj: DrmGemObject, ops: DmaBufOps, flags = DRM_RDWR): DmaBuf {
  const dev = obj.dev as Partial<DmaBufOwner> | null;
  const buf = dmaBufExport(obj.sim, {
    ops,
    size: obj.size,
    priv: obj,
    resv: obj.resv,
    flags,
    name: obj.label,
    // The device's removal revokes the buffer (the DRM core's DrmDevice has `unplugged`).
    ...(dev !== null && typeof dev.unplugged === "boolean" ? { owner: dev as DmaBufOwner } : {}),
  });
  obj.get();
  return buf;
}

/**
 * `drm_gem_prime_export(obj, flags)`: a new dma-buf for `obj`, sharing its resv, with the
 * default ops. The dma-buf holds a reference to the object; the caller gets one reference to
 * the dma-buf. This does not cache — `drmGemPrimeHandleToDmaBuf` does.
 */
export function drmGemPrimeExport(obj: DrmGemObject, flags = DRM_RDWR): DmaBuf {
  obj.assertLive("drm_gem_prime_export");
  return drmGemDmabufExport(obj, drmGemPrimeDmaBufOps, flags);
}

/** True if `buf` was exported by `drmGemPrimeExport` (its ops are the GEM default ops). */
export function drmGemIsPrimeExportedDmaBuf(buf: DmaBuf, dev?: object | null): boolean {
  if (buf.ops !== drmGemPrimeDmaBufOps) return false;
  return dev === undefined || objOf(buf).dev === dev;
}

/** Options of `drmGemPrimeImport`. */
export interface DrmGemPrimeImportOptions {
  /**
   * `drm_driver.gem_prime_import_sg_table`: wraps a mapped foreign buffer in a new object.
   * Without it a foreign import is EINVAL.
   */
  importSgTable?: (attach: DmaBufAttachment, sgt: SgTable) => DrmGemObject;
  /** The importing `struct device` the buffer is attached for. */
  dmaDev: Device;
}

/**
 * `drm_gem_prime_import_dev(dev, dma_buf, attach_dev)`. Self-import (a buffer this device
 * exported) returns the original object with a new reference. A foreign buffer is attached,
 * mapped BIDIRECTIONAL, and wrapped by `importSgTable`; the new object uses the dma-buf's resv,
 * records the attachment in `importAttach` and holds a dma-buf reference until it is freed
 * (`drmPrimeGemDestroy`). On failure everything is undone. Must run in a task (it sleeps).
 */
export async function drmGemPrimeImport(
  dev: object | null,
  buf: DmaBuf,
  opts: DrmGemPrimeImportOptions,
): Promise<DrmGemObject> {
  if (drmGemIsPrimeExportedDmaBuf(buf, dev)) {
    // Importing our own export: take a reference on the GEM object, not on the dma-buf.
    return objOf(buf).get();
  }
  const importSgTable = opts.importSgTable;
  if (importSgTable === undefined)
    throw new KernelError(
      "EINVAL",
      `the driver cannot import foreign dma-bufs (no gem_prime_import_sg_table)`,
    );
  const att = buf.attach(opts.dmaDev);
  buf.get();
  let sgt: SgTable | null = null;
  try {
    sgt = await mapAttachmentUnlocked(att, DmaDataDirection.BIDIRECTIONAL);
    const obj = importSgTable(att, sgt);
    obj.useResv(buf.resv);
    obj.importAttach = att;
    return obj;
  } catch (e) {
    if (sgt !== null) await unmapAttachmentUnlocked(att, sgt, DmaDataDirection.BIDIRECTIONAL);
    buf.detach(att);
    buf.put();
    throw e;
  }
}

/**
 * `drm_prime_gem_destroy(obj, sgt)`: the `free` path of an imported object — unmap the table,
 * detach, drop the dma-buf reference taken at import. Free runs synchronously, so the resv is
 * taken with a trylock; if another task holds it, the teardown is finished by a worker task that
 * waits for the lock (the kernel would block in place).
 */
export function drmPrimeGemDestroy(obj: DrmGemObject, sgt: SgTable | null): void {
  const att = obj.importAttach;
  if (att === null) return;
  const buf = att.dmabuf;
  obj.importAttach = null;
  const finish = () => {
    buf.detach(att);
    buf.put();
  };
  if (sgt === null) {
    finish();
    return;
  }
  if (buf.resv.trylock()) {
    try {
      unmapAttachment(att, sgt, DmaDataDirection.BIDIRECTIONAL);
    } finally {
      buf.resv.unlock();
    }
    finish();
    return;
  }
  obj.sim.spawn(
    "drm_prime_gem_destroy",
    async () => {
      await unmapAttachmentUnlocked(att, sgt, DmaDataDirection.BIDIRECTIONAL);
      finish();
    },
    { kind: "worker" },
  );
}

/**
 * `drm_gem_prime_handle_to_dmabuf(dev, file, handle, flags)`: the dma-buf for `handle`, with a
 * reference for the caller (the DRM core installs it as an fd). Reuses, in order: the file's PRIME
 * cache, the original buffer of an imported object, the object's cached export; otherwise exports
 * with `funcs.export` (default `drmGemPrimeExport`) and caches it on `obj.dmaBuf`. The handle is
 * entered in the file's PRIME cache. EINVAL for flags outside `DRM_CLOEXEC | DRM_RDWR`, ENOENT
 * for an unknown handle or an object that lost its last handle meanwhile.
 */
export function drmGemPrimeHandleToDmaBuf(table: DrmGemHandleTable, handle: number, flags = 0): DmaBuf {
  if ((flags & ~(DRM_CLOEXEC | DRM_RDWR)) !== 0)
    throw new KernelError("EINVAL", `PRIME_HANDLE_TO_FD: unknown flags 0x${flags.toString(16)}`);
  const obj = table.lookup(handle);
  try {
    const cached = table.prime.lookupBufByHandle(handle) as DmaBuf | undefined;
    if (cached !== undefined) return cached.get();
    let buf: DmaBuf;
    if (obj.importAttach !== null) buf = obj.importAttach.dmabuf.get();
    else if (obj.dmaBuf !== null) buf = obj.dmaBuf.get();
    else {
      if (obj.handleCount === 0) throw new KernelError("ENOENT", `${obj.label} has no handles left`);
      const exported = obj.funcs.export?.(obj, flags) ?? drmGemPrimeExport(obj, flags);
      // obj->dma_buf keeps the export's own reference; the caller gets a second one.
      obj.dmaBuf = exported;
      buf = exported.get();
    }
    try {
      table.prime.addBufHandle(buf, handle);
    } catch (e) {
      buf.put();
      throw e;
    }
    return buf;
  } finally {
    obj.put();
  }
}

/**
 * `drm_gem_prime_fd_to_handle(dev, file, fd)` after `dma_buf_get`: the handle of `buf` in `table`.
 * The same dma-buf always gives the same handle in one file (PRIME cache). Otherwise `importFn`
 * (the driver's `gem_prime_import`, typically `drmGemPrimeImport`) makes the object, which gets a
 * handle and caches the dma-buf on `obj.dmaBuf`. The caller keeps its own dma-buf reference.
 */
export async function drmGemPrimeDmaBufToHandle(
  table: DrmGemHandleTable,
  buf: DmaBuf,
  importFn: (buf: DmaBuf) => Promise<DrmGemObject>,
): Promise<number> {
  const known = table.prime.lookupBufHandle(buf);
  if (known !== undefined) return known;
  const obj = await importFn(buf);
  try {
    if (obj.dmaBuf === null) obj.dmaBuf = buf.get();
    const handle = table.handleCreate(obj);
    try {
      table.prime.addBufHandle(buf, handle);
    } catch (e) {
      table.handleDelete(handle);
      throw e;
    }
    return handle;
  } finally {
    obj.put();
  }
}
