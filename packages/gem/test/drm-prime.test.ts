import {
  BackingStore,
  Device,
  type DmaBuf,
  type DmaBufAttachment,
  DmaDataDirection,
  PAGE_SIZE,
  type SgTable,
  StoreExporter,
  systemPlacement,
} from "@drmsim/dma-buf";
import { isKernelError, type KernelError, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_CLOEXEC,
  DRM_RDWR,
  DrmGemHandleTable,
  DrmGemNameTable,
  type DrmGemObject,
  DrmGemShmemObject,
  drmGemIsPrimeExportedDmaBuf,
  drmGemPrimeDmaBufToHandle,
  drmGemPrimeExport,
  drmGemPrimeHandleToDmaBuf,
  drmGemPrimeImport,
} from "../src/index.js";

const SZ = 8 * PAGE_SIZE;

async function expectErr(fn: () => unknown, code: string) {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(isKernelError(err, code as KernelError["code"])).toBe(true);
}

/** A shmem "driver" on one device: its drm device token, its struct device, its import callback. */
function driver(sim: Simulator, name: string) {
  const drm = { name };
  const dmaDev = new Device(sim, { name });
  const importSgTable = (att: DmaBufAttachment, sgt: SgTable) =>
    DrmGemShmemObject.primeImportSgTable(sim, att, sgt, { dev: drm, dmaDev, label: `${name}-import` });
  const importFn = (buf: DmaBuf): Promise<DrmGemObject> =>
    drmGemPrimeImport(drm, buf, { importSgTable, dmaDev });
  const create = (size = SZ) => DrmGemShmemObject.create(sim, size, { dev: drm, dmaDev });
  return { drm, dmaDev, importSgTable, importFn, create };
}

describe("PRIME export (PRIME_HANDLE_TO_FD)", () => {
  it("re-export returns the same dma-buf, cached on obj.dmaBuf and in the file's cache", () => {
    const sim = new Simulator();
    const d = driver(sim, "gpu0");
    const file = new DrmGemHandleTable(sim, {});
    const obj = d.create();
    const h = file.handleCreate(obj);
    obj.put();
    const a = drmGemPrimeHandleToDmaBuf(file, h, DRM_CLOEXEC | DRM_RDWR);
    const b = drmGemPrimeHandleToDmaBuf(file, h);
    expect(b).toBe(a);
    expect(obj.dmaBuf).toBe(a);
    expect(a.resv).toBe(obj.resv);
    expect(a.size).toBe(obj.size);
    expect(drmGemIsPrimeExportedDmaBuf(a, d.drm)).toBe(true);
    expect(file.prime.lookupBufHandle(a)).toBe(h);
    a.put();
    b.put();
    // Closing the last handle drops the cache, the cached export and then the object.
    file.release();
    expect(a.isReleased).toBe(true);
    expect(obj.refcount).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("mapping an export with DMA_NONE is EINVAL (drm_gem_map_dma_buf) and leaves it unpinned", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const imp = driver(sim, "gpu1");
    const file = new DrmGemHandleTable(sim, {});
    const obj = exp.create() as DrmGemShmemObject;
    const h = file.handleCreate(obj);
    obj.put();
    const buf = drmGemPrimeHandleToDmaBuf(file, h);
    await sim.exec("map", async () => {
      const att = buf.attach(imp.dmaDev);
      await expectErr(() => att.mapUnlocked(DmaDataDirection.NONE), "EINVAL");
      expect(att.mappingCount).toBe(0);
      expect(obj.pagesPinCount).toBe(0);
      const sgt = await att.mapUnlocked(DmaDataDirection.TO_DEVICE);
      expect(obj.pagesPinCount).toBe(1);
      await att.unmapUnlocked(sgt, DmaDataDirection.TO_DEVICE);
      buf.detach(att);
    });
    buf.put();
    file.release();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EINVAL for unknown flags, ENOENT for unknown handles; nothing is exported", async () => {
    const sim = new Simulator();
    const d = driver(sim, "gpu0");
    const file = new DrmGemHandleTable(sim, {});
    const obj = d.create();
    const h = file.handleCreate(obj);
    obj.put();
    await expectErr(() => drmGemPrimeHandleToDmaBuf(file, h, 0x4), "EINVAL");
    await expectErr(() => drmGemPrimeHandleToDmaBuf(file, h + 1), "ENOENT");
    expect(obj.dmaBuf).toBe(null);
    expect(file.prime.size).toBe(0);
    file.release();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("funcs.export replaces the default export", () => {
    const sim = new Simulator();
    const d = driver(sim, "gpu0");
    const file = new DrmGemHandleTable(sim, {});
    const obj = d.create();
    let called = 0;
    obj.funcs = {
      ...obj.funcs,
      export: (o, flags) => {
        called++;
        return drmGemPrimeExport(o, flags);
      },
    };
    const h = file.handleCreate(obj);
    obj.put();
    drmGemPrimeHandleToDmaBuf(file, h).put();
    drmGemPrimeHandleToDmaBuf(file, h).put();
    expect(called).toBe(1);
    file.release();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("PRIME import (PRIME_FD_TO_HANDLE)", () => {
  it("self-import returns the original object and the original handle; other files get a new handle", async () => {
    const sim = new Simulator();
    const d = driver(sim, "gpu0");
    const f1 = new DrmGemHandleTable(sim, {});
    const f2 = new DrmGemHandleTable(sim, {});
    const obj = d.create();
    f2.handleCreate(obj); // make f2's next handle differ from f1's
    const h = f1.handleCreate(obj);
    obj.put();
    const buf = drmGemPrimeHandleToDmaBuf(f1, h);
    await sim.exec("import", async () => {
      expect(await drmGemPrimeDmaBufToHandle(f1, buf, d.importFn)).toBe(h);
      const h2 = await drmGemPrimeDmaBufToHandle(f2, buf, d.importFn);
      expect(f2.peek(h2)).toBe(obj);
      expect(h2).toBe(2);
      // Same dma-buf → same handle, every time.
      expect(await drmGemPrimeDmaBufToHandle(f2, buf, d.importFn)).toBe(h2);
      const direct = await drmGemPrimeImport(d.drm, buf, { dmaDev: d.dmaDev });
      expect(direct).toBe(obj);
      direct.put();
    });
    expect(obj.handleCount).toBe(3);
    buf.put();
    f1.release();
    f2.release();
    expect(buf.isReleased).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a foreign buffer is attached, mapped and wrapped; it shares the exporter's resv and bytes", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const imp = driver(sim, "gpu1");
    const fe = new DrmGemHandleTable(sim, {});
    const fi = new DrmGemHandleTable(sim, {});
    const src = exp.create();
    const hs = fe.handleCreate(src);
    src.put();
    const buf = drmGemPrimeHandleToDmaBuf(fe, hs);
    await sim.exec("import", async () => {
      const hi = await drmGemPrimeDmaBufToHandle(fi, buf, imp.importFn);
      const obj = fi.peek(hi)! as DrmGemShmemObject;
      expect(obj).not.toBe(src);
      expect(obj.isImported).toBe(true);
      expect(obj.importAttach?.dmabuf).toBe(buf);
      expect(obj.importAttach?.dev).toBe(imp.dmaDev);
      expect(obj.resv).toBe(src.resv);
      expect(obj.ownsResv).toBe(false);
      expect(obj.sgt?.totalLength).toBe(SZ);
      // The exporter pinned its pages for the static importer's mapping.
      expect(src.pagesPinCount).toBe(1);
      // Bytes written by the exporter are read by the importer through dma_buf_vmap.
      const m = await src.vmap();
      m.write(10, new Uint8Array([9, 8, 7]));
      await src.vunmap(m);
      await obj.resv.lock(null);
      const im = obj.vmapLocked();
      expect(im.read(10, 3)).toEqual(new Uint8Array([9, 8, 7]));
      obj.vunmapLocked(im);
      obj.resv.unlock();
      // Same dma-buf → same handle; re-export gives the original buffer.
      expect(await drmGemPrimeDmaBufToHandle(fi, buf, imp.importFn)).toBe(hi);
      const again = drmGemPrimeHandleToDmaBuf(fi, hi);
      expect(again).toBe(buf);
      again.put();
    });
    buf.put();
    fi.release();
    // The importer's object is gone: attachment unmapped and detached, exporter unpinned.
    expect(buf.attachments).toHaveLength(0);
    expect(src.pagesPinCount).toBe(0);
    fe.release();
    expect(buf.isReleased).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an imported object re-exports its original dma-buf from any file; closing the handle empties the cache", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const imp = driver(sim, "gpu1");
    const names = new DrmGemNameTable();
    const fe = new DrmGemHandleTable(sim, {});
    const fi = new DrmGemHandleTable(sim, {});
    const f3 = new DrmGemHandleTable(sim, {});
    const src = exp.create();
    const hs = fe.handleCreate(src);
    src.put();
    const buf = drmGemPrimeHandleToDmaBuf(fe, hs);
    await sim.exec("import", async () => {
      const hi = await drmGemPrimeDmaBufToHandle(fi, buf, imp.importFn);
      const obj = fi.peek(hi)!;
      // A second file of the importing device opens the import by name: its cache is empty, so
      // the export goes through obj->import_attach and must hand back the exporter's dma-buf.
      const { handle: h3 } = names.open(names.flink(obj), f3);
      expect(f3.prime.lookupBufByHandle(h3)).toBeUndefined();
      const again = drmGemPrimeHandleToDmaBuf(f3, h3);
      expect(again).toBe(buf);
      expect(f3.prime.lookupBufHandle(buf)).toBe(h3);
      again.put();
      // Closing the last handle in a file drops its cache entry: a new import is a new object.
      f3.handleDelete(h3);
      expect(f3.prime.size).toBe(0);
      fi.handleDelete(hi);
      expect(fi.prime.size).toBe(0);
      expect(buf.attachments).toHaveLength(0);
      const hi2 = await drmGemPrimeDmaBufToHandle(fi, buf, imp.importFn);
      expect(fi.peek(hi2)).not.toBe(obj);
      expect(fi.peek(hi2)!.isImported).toBe(true);
    });
    buf.put();
    fi.release();
    f3.release();
    fe.release();
    expect(buf.isReleased).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("importing a non-GEM dma-buf works the same way", async () => {
    const sim = new Simulator();
    const imp = driver(sim, "gpu1");
    const owner = new Device(sim, { name: "camera" });
    const store = new BackingStore(SZ, systemPlacement(sim, SZ));
    store.write(0, new Uint8Array([42]));
    const exporter = new StoreExporter({ dev: owner, store });
    const buf = exporter.export(sim);
    const file = new DrmGemHandleTable(sim, {});
    await sim.exec("import", async () => {
      const h = await drmGemPrimeDmaBufToHandle(file, buf, imp.importFn);
      const obj = file.peek(h)!;
      expect(obj.resv).toBe(buf.resv);
      expect(exporter.attached.size).toBe(1);
    });
    file.release();
    expect(exporter.attached.size).toBe(0);
    buf.put();
    expect(exporter.released).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EINVAL without gem_prime_import_sg_table, leaving no attachment or reference behind", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const other = { name: "gpu1" };
    const src = exp.create();
    const buf = drmGemPrimeExport(src);
    const refs = buf.refcount;
    await expectErr(
      () =>
        sim.exec("import", () =>
          drmGemPrimeImport(other, buf, { dmaDev: new Device(sim, { name: "gpu1" }) }),
        ),
      "EINVAL",
    );
    expect(buf.attachments).toHaveLength(0);
    expect(buf.refcount).toBe(refs);
    buf.put();
    src.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a failing import callback undoes the attach and map", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const src = exp.create();
    const buf = drmGemPrimeExport(src);
    const refs = buf.refcount;
    const failing = () => {
      throw new Error("driver refused");
    };
    await expect(
      sim.exec("import", () =>
        drmGemPrimeImport({ name: "gpu1" }, buf, {
          importSgTable: failing,
          dmaDev: new Device(sim, { name: "gpu1" }),
        }),
      ),
    ).rejects.toThrow("driver refused");
    expect(buf.attachments).toHaveLength(0);
    expect(buf.refcount).toBe(refs);
    expect(src.pagesPinCount).toBe(0);
    buf.put();
    src.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("freeing an import while its resv is held finishes the teardown in a worker once the lock is free", async () => {
    const sim = new Simulator();
    const exp = driver(sim, "gpu0");
    const imp = driver(sim, "gpu1");
    const src = exp.create();
    const buf = drmGemPrimeExport(src);
    const obj = await sim.exec("import", () => imp.importFn(buf));
    expect(buf.attachments).toHaveLength(1);
    await sim.exec("holder", async () => {
      await buf.resv.lock(null);
      obj.put(); // free cannot take the lock: the unmap is deferred
      expect(buf.attachments).toHaveLength(1);
      buf.resv.unlock();
    });
    await sim.runUntilIdle();
    expect(buf.attachments).toHaveLength(0);
    expect(src.pagesPinCount).toBe(0);
    buf.put();
    src.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
