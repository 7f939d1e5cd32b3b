import { Device, type DmaBuf } from "@drmsim/dma-buf";
import {
  GFP_KERNEL,
  isKernelError,
  type KernelError,
  Simulator,
  ValidatorError,
  withDmaFenceSignalling,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_GEM_OBJECT_BYTES,
  DrmGemShmemObject,
  drmGemShmemFuncs,
  drmGemShmemPurgedCount,
  traceDrmGemShmemPurge,
} from "../src/index.js";

const SZ = 16 * 4096;

async function expectErr(fn: () => unknown, code: string) {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(isKernelError(err, code as KernelError["code"])).toBe(true);
}

/** Runs `fn` in a process task with the object's resv held. */
function locked<T>(sim: Simulator, obj: DrmGemShmemObject, fn: () => T): Promise<T> {
  return sim.exec("test", async () => {
    await obj.resv.lock(null);
    try {
      return fn();
    } finally {
      obj.resv.unlock();
    }
  });
}

describe("drm_gem_shmem (drm_gem_shmem_test.c)", () => {
  it("obj_create: size (page aligned up), funcs, no pages yet", () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ - 100);
    expect(obj.size).toBe(SZ);
    expect(obj.funcs).toBe(drmGemShmemFuncs);
    expect(obj.pages).toBe(null);
    expect(obj.sgt).toBe(null);
    expect(obj.madv).toBe(0);
    expect(() => DrmGemShmemObject.create(sim, 0)).toThrow(/EINVAL/);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("obj_create_private: an imported table becomes the object's sgt", async () => {
    const sim = new Simulator();
    const donor = DrmGemShmemObject.create(sim, SZ);
    await donor.pin();
    const sgt = donor.getSgTable();
    const obj = DrmGemShmemObject.primeImportSgTable(sim, { dmabuf: { size: SZ } }, sgt);
    expect(obj.sgt).toBe(sgt);
    expect(obj.size).toBe(SZ);
    expect(obj.pages).toBe(null);
    obj.put();
    await donor.unpin();
    donor.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("pin_pages: pages appear on the first pin (accounted) and go at the last unpin", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    const used = sim.mm.used;
    await obj.pin();
    expect(obj.pages).not.toBe(null);
    expect(obj.pagesPinCount).toBe(1);
    expect(obj.pagesUseCount).toBe(1);
    expect(sim.mm.used).toBe(used + SZ);
    await obj.pin();
    expect(obj.pagesPinCount).toBe(2);
    await obj.unpin();
    await obj.unpin();
    expect(obj.pagesPinCount).toBe(0);
    expect(obj.pages).toBe(null);
    expect(sim.mm.used).toBe(used);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("pin failing on ENOMEM leaves no pages and no pin", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    sim.mm.failNth(1, (i) => i.site === "drm_gem_get_pages");
    await expectErr(() => sim.exec("pin", () => obj.pin()), "ENOMEM");
    expect(obj.pagesPinCount).toBe(0);
    expect(obj.pagesUseCount).toBe(0);
    expect(obj.pages).toBe(null);
    await sim.exec("pin", () => obj.pin());
    await sim.exec("unpin", () => obj.unpin());
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("vmap: one shared mapping, a byte pattern round-trips, vunmap clears it", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    const map = await obj.vmap();
    expect(obj.vmapUseCount).toBe(1);
    expect(obj.pagesPinCount).toBe(1);
    const pattern = new Uint8Array(SZ).map((_, i) => (i * 7 + 3) & 0xff);
    map.write(0, pattern);
    expect(map.read(0, SZ)).toEqual(pattern);
    const again = await obj.vmap();
    expect(again).toBe(map);
    expect(obj.vmapUseCount).toBe(2);
    await obj.vunmap(again);
    await obj.vunmap(map);
    expect(obj.vmapUseCount).toBe(0);
    expect(obj.vaddr).toBe(null);
    expect(obj.pages).toBe(null);
    expect(() => map.read(0, 4)).toThrow(/EFAULT/);
    // Contents live in the shmem file: they survive unpin.
    const map2 = await obj.vmap();
    expect(map2.read(100, 4)).toEqual(pattern.subarray(100, 104));
    await obj.vunmap(map2);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("get_sg_table: a new, uncached table covering the object, pages required", async () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "gpu", maxSegmentSize: 8192 });
    const obj = DrmGemShmemObject.create(sim, SZ, { dmaDev: dev });
    await expectErr(() => obj.getSgTable(), "EINVAL");
    await obj.pin();
    const a = obj.getSgTable();
    const b = obj.getSgTable();
    expect(a).not.toBe(b);
    expect(a.totalLength).toBeGreaterThanOrEqual(SZ);
    expect(obj.sgt).toBe(null);
    for (const seg of a) expect(seg.length).toBeLessThanOrEqual(8192);
    await obj.unpin();
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("get_pages_sgt: takes pages, caches the table, covers the object", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    const sgt = await obj.getPagesSgt();
    expect(obj.sgt).toBe(sgt);
    expect(await obj.getPagesSgt()).toBe(sgt);
    expect(obj.pages).not.toBe(null);
    expect(obj.pagesUseCount).toBe(1);
    expect(sgt.totalLength).toBeGreaterThanOrEqual(SZ);
    obj.put();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("madvise: 1 → retained; -1 → not retained; then 0 is refused and it stays -1", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    expect(await obj.madvise(1)).toBe(true);
    expect(obj.madv).toBe(1);
    expect(await obj.madvise(-1)).toBe(false);
    expect(obj.madv).toBe(-1);
    expect(await obj.madvise(0)).toBe(false);
    expect(obj.madv).toBe(-1);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("purge: purgeable only after madvise(1) and get_pages_sgt; purge drops pages, sgt and contents", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    expect(obj.isPurgeable).toBe(false);
    await obj.madvise(1);
    expect(obj.isPurgeable).toBe(false);
    const map = await obj.vmap();
    map.write(0, new Uint8Array([1, 2, 3]));
    await obj.vunmap(map);
    await obj.getPagesSgt();
    expect(obj.isPurgeable).toBe(true);
    // A pin makes it unpurgeable again.
    await obj.pin();
    expect(obj.isPurgeable).toBe(false);
    await obj.unpin();
    await obj.purge();
    expect(obj.pages).toBe(null);
    expect(obj.sgt).toBe(null);
    expect(obj.madv).toBe(-1);
    expect(obj.isPurgeable).toBe(false);
    const map2 = await obj.vmap();
    expect(map2.read(0, 3)).toEqual(new Uint8Array(3));
    await obj.vunmap(map2);
    expect(() => obj.mmapCheck({ length: 4096, pgoff: 0 })).toThrow(/EFAULT/);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an exported object is not purgeable", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    await obj.madvise(1);
    await obj.getPagesSgt();
    obj.dmaBuf = { put() {} } as unknown as DmaBuf;
    expect(obj.isPurgeable).toBe(false);
    obj.dmaBuf = null;
    expect(obj.isPurgeable).toBe(true);
    obj.put();
  });

  it("purging a non-purgeable object is reported and refused", async () => {
    const sim = new Simulator({ validator: "collect" });
    const obj = DrmGemShmemObject.create(sim, SZ);
    await obj.getPagesSgt();
    await expectErr(() => obj.purge(), "EINVAL");
    expect(sim.validator.findingsOf("gem-shmem-misuse")).toHaveLength(1);
    expect(obj.sgt).not.toBe(null);
    expect(obj.madv).toBe(0);
    obj.put();
  });

  it("unbalanced unpin and vunmap are reported (gem-unbalanced) and change nothing", async () => {
    const sim = new Simulator({ validator: "collect" });
    const obj = DrmGemShmemObject.create(sim, SZ);
    await expectErr(() => obj.unpin(), "EINVAL");
    await expectErr(() => obj.vunmap({ read: () => new Uint8Array(), write: () => {} }), "EINVAL");
    expect(sim.validator.findingsOf("gem-unbalanced")).toHaveLength(2);
    expect(obj.pagesPinCount).toBe(0);
    expect(obj.vmapUseCount).toBe(0);
    obj.put();
  });

  it("the _locked variants require the resv (resv-not-locked)", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    await expect(sim.exec("nolock", () => obj.pinLocked())).rejects.toBeInstanceOf(ValidatorError);
    expect(obj.pagesPinCount).toBe(0);
    await locked(sim, obj, () => obj.pinLocked());
    expect(obj.pagesPinCount).toBe(1);
    await locked(sim, obj, () => obj.unpinLocked());
    obj.put();
  });

  it("freeing a pinned object is reported (gem-freed-in-use) and its pages are returned", async () => {
    const sim = new Simulator({ validator: "collect" });
    const obj = DrmGemShmemObject.create(sim, SZ);
    await obj.pin();
    obj.put();
    expect(sim.validator.findingsOf("gem-freed-in-use")).toHaveLength(1);
    expect(sim.mm.used).toBe(0);
  });
});

describe("drm_gem_shmem funcs", () => {
  it("status and rss follow residency and purgeability; mmap checks range and purge", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    const f = obj.funcs;
    expect(f.status?.(obj)).toEqual({ resident: false, purgeable: false });
    expect(f.rss?.(obj)).toBe(0);
    await obj.getPagesSgt();
    await obj.madvise(1);
    expect(f.status?.(obj)).toEqual({ resident: true, purgeable: true });
    expect(f.rss?.(obj)).toBe(SZ);
    f.mmap?.(obj, { length: SZ, pgoff: 0 });
    expect(() => f.mmap?.(obj, { length: SZ, pgoff: 1 })).toThrow(/EINVAL/);
    await obj.purge();
    expect(f.status?.(obj)).toEqual({ resident: false, purgeable: false });
    expect(() => f.mmap?.(obj, { length: 4096, pgoff: 0 })).toThrow(/EFAULT/);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_gem_shmem shrinker", () => {
  it("memory pressure purges purgeable objects and only those", async () => {
    const sim = new Simulator();
    // Room for four objects' pages plus the three objects themselves.
    sim.mm.budget = 4 * SZ + 3 * DRM_GEM_OBJECT_BYTES;
    const keep = DrmGemShmemObject.create(sim, SZ, { label: "keep" });
    const dontneed = DrmGemShmemObject.create(sim, SZ, { label: "dontneed" });
    const pinned = DrmGemShmemObject.create(sim, SZ, { label: "pinned" });
    await keep.getPagesSgt();
    await dontneed.getPagesSgt();
    await pinned.getPagesSgt();
    await pinned.pin();
    await dontneed.madvise(1);
    await pinned.madvise(1);
    expect(sim.mm.used).toBe(3 * SZ + 3 * DRM_GEM_OBJECT_BYTES);
    // 2 * SZ more does not fit: reclaim must give back one purgeable object.
    const a = await sim.exec("alloc", () => sim.mm.kmalloc(2 * SZ, GFP_KERNEL, "big"));
    expect(dontneed.madv).toBe(-1);
    expect(dontneed.pages).toBe(null);
    expect(keep.madv).toBe(0);
    expect(keep.pages).not.toBe(null);
    expect(pinned.pages).not.toBe(null);
    expect(drmGemShmemPurgedCount(sim)).toBe(1);
    // Nothing else is purgeable: the next overcommit fails.
    await expectErr(() => sim.exec("alloc2", () => sim.mm.kmalloc(SZ, GFP_KERNEL, "big2")), "ENOMEM");
    a.free();
    await pinned.unpin();
    for (const o of [keep, dontneed, pinned]) o.put();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("reclaim skips an object whose resv is held instead of blocking", async () => {
    const sim = new Simulator();
    const obj = DrmGemShmemObject.create(sim, SZ);
    await obj.getPagesSgt();
    await obj.madvise(1);
    const freed = await locked(sim, obj, () => sim.mm.reclaim(SZ));
    expect(freed).toBe(0);
    expect(obj.madv).toBe(1);
    const freed2 = await sim.exec("reclaim", () => sim.mm.reclaim(SZ));
    expect(freed2).toBe(SZ);
    expect(obj.madv).toBe(-1);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_gem_shmem and the fence rules", () => {
  it("getting pages inside a fence signalling section is alloc-in-signalling (pages need reclaim)", async () => {
    const sim = new Simulator({ validator: "collect" });
    const obj = DrmGemShmemObject.create(sim, SZ);
    await locked(sim, obj, () => withDmaFenceSignalling(sim, () => obj.pinLocked()));
    expect(sim.validator.findingsOf("alloc-in-signalling").length).toBeGreaterThan(0);
    await obj.unpin();
    obj.put();
  });

  it("a purge is traced when tracing is on, and not otherwise", async () => {
    const sim = new Simulator();
    const a = DrmGemShmemObject.create(sim, SZ, { label: "a" });
    const b = DrmGemShmemObject.create(sim, SZ, { label: "b" });
    for (const o of [a, b]) {
      await o.getPagesSgt();
      await o.madvise(1);
    }
    await a.purge();
    expect(sim.tracer.eventsOf(traceDrmGemShmemPurge)).toHaveLength(0);
    sim.tracer.on = true;
    await b.purge();
    const ev = sim.tracer.eventsOf(traceDrmGemShmemPurge);
    expect(ev).toHaveLength(1);
    expect(ev[0]!.args).toEqual({ obj: "b", size: SZ });
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
