/**
 * drm_gem_mmap and the fake offsets of drm_vma_manager: MODE_MAP_DUMB hands out an offset from the
 * device's manager, the file holding a handle maps it and reads/writes the object's pages, any
 * other file gets EACCES for the same offset until it holds a handle too.
 */

import { DMA_BUF_IOCTL_IMPORT_SYNC_FILE, DMA_BUF_SYNC_WRITE } from "@drmsim/dma-buf";
import { DmaFence, dmaFenceContextAlloc, syncFileInstall } from "@drmsim/dma-fence";
import { type DrmGemShmemObject, DrmVmaOffsetManager, DrmVmaOffsetNode } from "@drmsim/gem";
import {
  isKernelError,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  Process,
  Simulator,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_DEVICE,
  DRM_IOCTL_GEM_CLOSE,
  DRM_IOCTL_MODE_DESTROY_DUMB,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmGemMmapOffset,
  drmModeCreateDumbBuffer,
  drmModeMapDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "../src/index.js";

const GPU = DrmDriverFeature.GEM | DrmDriverFeature.RENDER;

async function errno(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return "ok";
}

/** A shmem driver with dumb buffers (the shape of vgem). */
function probe(sim: Simulator, name = "dumb", dumb = true, host = new DrmPluginHost(sim)) {
  // A class per driver name: the host refuses two different classes under one name.
  const Dumb = {
    [name]: class {
      apply(hooks: DrmHooks) {
        if (!dumb) return;
        hooks.driver.dumbCreate.tapPromise(name, async (file, args) => {
          const obj = host
            .containerOf(dev)
            .resolve(DRM_DEVICE)
            .gemCreateObject(args.width * args.height * 4);
          try {
            args.handle = file.gem.handleCreate(obj);
          } finally {
            obj.put();
          }
          args.pitch = args.width * 4;
          args.size = BigInt(obj.size);
          return true;
        });
      }
    },
  }[name]!;
  const dev = host.probe(Dumb, { name, features: GPU });
  return { host, dev };
}

describe("drm_vma_offset_manager", () => {
  it("hands out first-fit page ranges above 4 GiB, looks up ranges inside a node, reuses freed ranges", () => {
    const mgr = new DrmVmaOffsetManager();
    const a = new DrmVmaOffsetNode();
    const b = new DrmVmaOffsetNode();
    const c = new DrmVmaOffsetNode();
    mgr.add(a, 2, "a");
    mgr.add(b, 3, "b");
    mgr.add(a, 99, "ignored"); // already has an offset
    expect(a.offsetAddr).toBe(0x1_0000_0000n);
    expect(b.start).toBe(a.start + 2);
    expect(mgr.lookup(b.start + 1, 2)?.owner).toBe("b");
    expect(mgr.lookup(b.start + 1, 3)).toBeUndefined();
    mgr.remove(a);
    expect(a.hasOffset).toBe(false);
    mgr.add(c, 2, "c");
    expect(c.start).toBe(mgr.pageOffset);
    expect(() => mgr.add(new DrmVmaOffsetNode(), 0, "x")).toThrow(/EINVAL/);
    const small = new DrmVmaOffsetManager(16, 4);
    small.add(new DrmVmaOffsetNode(), 4, "full");
    expect(() => small.add(new DrmVmaOffsetNode(), 1, "y")).toThrow(/ENOSPC/);
  });

  it("allow/revoke count per file", () => {
    const n = new DrmVmaOffsetNode();
    const f = {};
    n.allow(f);
    n.allow(f);
    n.revoke(f);
    expect(n.isAllowed(f)).toBe(true);
    n.revoke(f);
    expect(n.isAllowed(f)).toBe(false);
    n.revoke(f);
    expect(n.isAllowed(f)).toBe(false);
  });
});

describe("drm_gem_mmap", () => {
  it("maps the object's pages at its MODE_MAP_DUMB offset; another file gets EACCES until it holds a handle", async () => {
    const sim = new Simulator();
    const { host, dev } = probe(sim);
    const owner = new Process(sim, "owner");
    const other = new Process(sim, "other");
    await sim.exec("owner", async () => {
      const fd = await owner.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(owner, fd, 64, 32, 32);
      const off = await drmModeMapDumbBuffer(owner, fd, bo.handle);
      expect(off).toBeGreaterThanOrEqual(2 ** 32);
      expect(await drmModeMapDumbBuffer(owner, fd, bo.handle)).toBe(off); // made once
      const map = await owner.mmap(fd, off, bo.size, PROT_READ | PROT_WRITE);
      map.write(4000, Uint8Array.of(1, 2, 3));
      const obj = [...dev.files][0]!.gem.peek(bo.handle) as DrmGemShmemObject;
      expect(Array.from(obj.store.read(4000, 3))).toEqual([1, 2, 3]);
      // A sub-range at an offset inside the object.
      const tail = await owner.mmap(fd, BigInt(off) + 4096n, 4096, PROT_READ);
      obj.store.write(4096 + 7, Uint8Array.of(42));
      expect(Array.from(tail.read(7, 1))).toEqual([42]);
      expect(await errno(owner.mmap(fd, off, bo.size + 4096, PROT_READ))).toBe("EINVAL");
      expect(await errno(owner.mmap(fd, off, 4096, PROT_READ, MAP_PRIVATE))).toBe("EINVAL");
      expect(await errno(owner.mmap(fd, 2 ** 40, 4096, PROT_READ))).toBe("EINVAL");

      const prime = await drmPrimeHandleToFD(owner, fd, bo.handle);
      const theirs = owner.sendFd(other, prime);
      owner.close(prime);
      await other.run(async () => {
        const ofd = await other.open("/dev/dri/renderD128");
        expect(await errno(other.mmap(ofd, off, 4096, PROT_READ))).toBe("EACCES");
        // A PRIME import on the same device is the same object, now with a handle in this file.
        const handle = await drmPrimeFDToHandle(other, ofd, theirs);
        other.close(theirs);
        const mine = await other.mmap(ofd, off, 4096, PROT_READ);
        expect(Array.from(mine.read(4000, 3))).toEqual([1, 2, 3]);
        // Closing the handle revokes the file's permission; the mapping it made stays valid.
        await other.ioctl(ofd, DRM_IOCTL_GEM_CLOSE, { handle });
        expect(await errno(other.mmap(ofd, off, 4096, PROT_READ))).toBe("EACCES");
        expect(Array.from(mine.read(4000, 3))).toEqual([1, 2, 3]);
        other.munmap(mine);
      }).result;
      owner.munmap(tail);
      owner.munmap(map);
    });
    owner.exit();
    other.exit();
    host.remove(dev);
    expect(dev.vmaOffsetManager.count).toBe(0); // freed objects give their offsets back
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a mapping keeps the object alive after its handle is closed; without dumb buffers MODE_MAP_DUMB is ENOSYS", async () => {
    const sim = new Simulator();
    const { host, dev } = probe(sim);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 16, 32);
      const off = await drmModeMapDumbBuffer(app, fd, bo.handle);
      const map = await app.mmap(fd, off, bo.size, PROT_READ | PROT_WRITE, MAP_SHARED);
      await app.ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, { handle: bo.handle });
      map.write(0, Uint8Array.of(5));
      expect(Array.from(map.read(0, 1))).toEqual([5]);
      expect(dev.vmaOffsetManager.count).toBe(1);
      app.munmap(map);
      expect(dev.vmaOffsetManager.count).toBe(0);
    });
    app.exit();
    host.remove(dev);
    const s2 = new Simulator();
    const { host: h2, dev: plain } = probe(s2, "plain", false);
    const p2 = new Process(s2, "app");
    await s2.exec("app", async () => {
      const fd = await p2.open("/dev/dri/card0");
      expect(await errno(drmModeMapDumbBuffer(p2, fd, 1))).toBe("ENOSYS");
    });
    p2.exit();
    h2.remove(plain);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("checks CPU accesses against the object's fences, reaches an import through its exporter, and faults once the exporter is unplugged", async () => {
    const sim = new Simulator({ validator: "collect" });
    const host = new DrmPluginHost(sim);
    const { dev } = probe(sim, "exporter", true, host);
    const { dev: imp } = probe(sim, "importer", true, host);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 16, 32);
      const file = [...dev.files][0]!;
      const obj = file.gem.peek(bo.handle) as DrmGemShmemObject;
      const off = drmGemMmapOffset(file, bo.handle);
      const map = await app.mmap(fd, off, bo.size, PROT_READ | PROT_WRITE);
      const f = new DmaFence(
        sim,
        { getDriverName: () => "t", getTimelineName: () => "r" },
        dmaFenceContextAlloc(sim),
        1,
      );
      // A device write still running on the object (implicit sync, through the dma-buf fd).
      const buf = await drmPrimeHandleToFD(app, fd, bo.handle);
      const sf = syncFileInstall(app, f);
      await app.ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { flags: DMA_BUF_SYNC_WRITE, fd: sf });
      app.close(sf);
      map.read(0, 1);
      expect(sim.validator.findingsOf("cpu-access-during-dma")).toHaveLength(1);
      f.signal();
      f.put();
      map.read(0, 1);
      expect(sim.validator.findingsOf("cpu-access-during-dma")).toHaveLength(1);

      // The importer's GEM offset maps the exporter's pages (drm_gem_shmem_mmap → dma_buf_mmap).
      const ifd = await app.open("/dev/dri/card1");
      const ih = await drmPrimeFDToHandle(app, ifd, buf);
      app.close(buf);
      expect(await errno(drmModeMapDumbBuffer(app, ifd, ih))).toBe("EINVAL"); // imported
      const ioff = drmGemMmapOffset([...imp.files][0]!, ih);
      const imap = await app.mmap(ifd, ioff, bo.size, PROT_READ | PROT_WRITE);
      imap.write(8, Uint8Array.of(9));
      expect(Array.from(obj.store.read(8, 1))).toEqual([9]);
      expect(Array.from(map.read(8, 1))).toEqual([9]);
      app.munmap(map);
      host.remove(dev);
      expect(await errno(app.mmap(fd, off, 4096, PROT_READ))).toBe("ENODEV");
      // The import's mapping belongs to a revoked buffer now: it faults.
      expect(await errno(() => imap.read(8, 1))).toBe("EFAULT");
      app.munmap(imap);
    });
    app.exit();
    host.remove(imp);
    expect(sim.validator.findings.filter((x) => x.kind !== "cpu-access-during-dma")).toEqual([]);
  });
});
