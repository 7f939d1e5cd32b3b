import "reflect-metadata";
import { type DmaBuf, dmaBufInvalidateMappings } from "@drmsim/dma-buf";
import { DrmGemShmemObject } from "@drmsim/gem";
import { __u32, KernelError, Process, Simulator, type UapiArgsOf, uapiStruct } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_COMMAND_BASE,
  DRM_IOWR,
  DRM_RENDER_ALLOW,
  type DrmDevice,
  DrmDriverFeature,
  DrmGemPrimeDynamicObject,
  type DrmHooks,
  DrmPluginHost,
  drmIoctl,
  drmIoctlDefDrv,
  drmIsDynamicImporter,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  traceDrmDriverOp,
} from "../src/index.js";

const GPU = DrmDriverFeature.GEM | DrmDriverFeature.RENDER;

/**
 * The exporter: vgem's shape (shmem objects from the default helpers, `vgem_gem_dumb_create`).
 * vgem itself cannot be a dev dependency here (it depends on @drmsim/drm); drivers/vgem's own
 * tests cover it against this same core path. `refuseAttach` makes its dma_buf_ops.attach say EBUSY.
 */
class VgemLike {
  refuseAttach = false;
  apply(hooks: DrmHooks, device: DrmDevice): void {
    hooks.driver.dumbCreate.tapPromise("vgemlike", async (file, args) => {
      const pitch = args.width * Math.ceil(args.bpp / 8);
      const obj = device.gemCreateObject(args.height * pitch);
      try {
        args.handle = file.gem.handleCreate(obj);
      } finally {
        obj.put();
      }
      args.pitch = pitch;
      args.size = BigInt(obj.size);
      return true;
    });
    hooks.dmaBuf.attach.tap("vgemlike", () => {
      if (this.refuseAttach) throw new KernelError("EBUSY", "storage unreachable from the importer");
      return undefined;
    });
  }
}

/** `struct dyn_use`: in `handle`, out `mapped` (bytes). */
const dyn_use = uapiStruct("dyn_use", { handle: __u32, mapped: __u32 }, { size: 8 });
type DynUse = UapiArgsOf<typeof dyn_use>;
const DYN_USE = DRM_IOWR(DRM_COMMAND_BASE, dyn_use);

/**
 * A tiny dynamic importer: taps `dma_buf_attach_ops`; its one ioctl "uses" an object the way a
 * CS does — lock the resv, map (again if invalidated), unlock.
 */
class DynImporter {
  /** What `allowPeer2peer` answers (undefined: no answer). */
  p2p: boolean | undefined = undefined;
  askedFor: string[] = [];
  invalidations: string[] = [];
  maps = 0;
  apply(hooks: DrmHooks): void {
    hooks.dmaBufAttach.allowPeer2peer.tap("dyn", (buf) => {
      this.askedFor.push(buf.expName);
      return this.p2p;
    });
    hooks.dmaBufAttach.invalidateMappings.tap("dyn", (att) => {
      const obj = att.importerPriv as DrmGemPrimeDynamicObject;
      const sim = obj.sim;
      const dropped = obj.unmapLocked();
      this.invalidations.push(
        `${sim.current.backtrace()[0]} held=${obj.resv.isLockedByCurrent} dropped=${dropped}`,
      );
    });
    hooks.driver.ioctls.tap("dyn", (ioctls) => {
      ioctls.add(
        drmIoctlDefDrv(
          "DYN_USE",
          DYN_USE,
          dyn_use,
          async (file, args) => {
            const obj = file.gem.lookup(args.handle);
            try {
              if (!(obj instanceof DrmGemPrimeDynamicObject))
                throw new KernelError("EINVAL", "not a dynamic import");
              await obj.resv.lock(null);
              try {
                const before = obj.sgt;
                const sgt = await obj.mapLocked();
                if (sgt !== before) this.maps++;
                args.mapped = sgt.totalLength;
              } finally {
                obj.resv.unlock();
              }
            } finally {
              obj.put();
            }
          },
          DRM_RENDER_ALLOW,
        ),
      );
    });
  }
}

/** A driver that answers allowPeer2peer but does not implement invalidate_mappings: still static. */
class P2pOnly {
  apply(hooks: DrmHooks): void {
    hooks.dmaBufAttach.allowPeer2peer.tap("p2ponly", () => true);
  }
}

async function exportDumb(app: Process, fd: number): Promise<{ handle: number; bufFd: number; buf: DmaBuf }> {
  const bo = await drmModeCreateDumbBuffer(app, fd, 64, 16, 32);
  const bufFd = await drmPrimeHandleToFD(app, fd, bo.handle);
  return { handle: bo.handle, bufFd, buf: app.file(bufFd).priv as DmaBuf };
}

describe("dma_buf_attach_ops hooks and the core dynamic PRIME import", () => {
  it("a dynamic importer attaches without mapping, maps under the resv on use, is invalidated with the resv held, and re-maps", async () => {
    const sim = new Simulator({ trace: true });
    const host = new DrmPluginHost(sim);
    const exp = host.probe(VgemLike, { name: "vgemlike", features: GPU });
    const imp = host.probe(DynImporter, { name: "dyn", features: GPU });
    const drv = host.driverOf<DynImporter>(imp);
    expect(drmIsDynamicImporter(imp)).toBe(true);
    expect(drmIsDynamicImporter(exp)).toBe(false);
    const app = new Process(sim, "app");
    let dmabuf: DmaBuf | undefined;
    await sim.exec("app", async () => {
      const efd = await app.open("/dev/dri/card0");
      const ifd = await app.open("/dev/dri/renderD129");
      const { bufFd, buf } = await exportDumb(app, efd);
      dmabuf = buf;
      const h = await drmPrimeFDToHandle(app, ifd, bufFd);
      // Same dma-buf, same handle (the PRIME cache works for dynamic imports too).
      expect(await drmPrimeFDToHandle(app, ifd, bufFd)).toBe(h);
      const obj = [...imp.files][0]!.gem.peek(h)!;
      expect(obj).toBeInstanceOf(DrmGemPrimeDynamicObject);
      const dyn = obj as DrmGemPrimeDynamicObject;
      const att = dyn.importAttach!;
      expect(att.isDynamic).toBe(true);
      expect(att.importerPriv).toBe(dyn);
      expect(dyn.resv).toBe(buf.resv);
      // Not mapped at import time.
      expect(att.mappingCount).toBe(0);
      expect(dyn.sgt).toBeNull();

      const use = () => drmIoctl<DynUse>(app, ifd, DYN_USE, { handle: h });
      expect((await use()).mapped).toBe(64 * 16 * 4);
      expect(att.mappingCount).toBe(1);
      await use();
      expect(drv.maps).toBe(1); // the mapping is reused while valid

      // The exporter moves the storage: it holds the resv and invalidates.
      await buf.resv.lock(null);
      dmaBufInvalidateMappings(buf);
      buf.resv.unlock();
      expect(drv.invalidations).toEqual([
        "dyn: dma_buf_attach_ops.invalidate_mappings held=true dropped=true",
      ]);
      expect(att.mappingCount).toBe(0);
      expect(dyn.sgt).toBeNull();

      await use();
      expect(drv.maps).toBe(2);
      expect(att.mappingCount).toBe(1);

      // Re-export of the imported handle gives the original dma-buf back.
      const again = await drmPrimeHandleToFD(app, ifd, h);
      expect(app.file(again).priv).toBe(buf);
      // Left mapped on purpose: closing the files must unmap, detach and drop the dma-buf.
    });
    const ops = sim.tracer.eventsOf(traceDrmDriverOp).map((e) => (e.args as { op: string }).op);
    expect(ops).toContain("dma_buf_attach_ops.allow_peer2peer");
    expect(ops).toContain("dma_buf_attach_ops.invalidate_mappings");
    app.exit();
    expect(dmabuf!.isReleased).toBe(true);
    host.remove(imp);
    host.remove(exp);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("allowPeer2peer: no answer or false gives a non-p2p attachment, true a p2p one; asked once per import with the buffer", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const exp = host.probe(VgemLike, { name: "vgemlike", features: GPU });
    const imp = host.probe(DynImporter, { name: "dyn", features: GPU });
    const drv = host.driverOf<DynImporter>(imp);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const efd = await app.open("/dev/dri/card0");
      const ifd = await app.open("/dev/dri/renderD129");
      const peer2peer: boolean[] = [];
      const names: string[] = [];
      for (const answer of [undefined, false, true]) {
        drv.p2p = answer;
        const { bufFd, buf } = await exportDumb(app, efd);
        names.push(buf.expName);
        const h = await drmPrimeFDToHandle(app, ifd, bufFd);
        peer2peer.push([...imp.files][0]!.gem.peek(h)!.importAttach!.peer2peer);
      }
      expect(peer2peer).toEqual([false, false, true]);
      expect(drv.askedFor).toEqual(names);
    });
    app.exit();
    host.remove(imp);
    host.remove(exp);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without an invalidateMappings tap the import stays static: attached and mapped at import, shmem object", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const exp = host.probe(VgemLike, { name: "vgemlike", features: GPU });
    const plain = host.probe(VgemLike, { name: "plain", features: GPU });
    const p2p = host.probe(P2pOnly, { name: "p2ponly", features: GPU });
    expect(drmIsDynamicImporter(p2p)).toBe(false);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const efd = await app.open("/dev/dri/card0");
      const { bufFd } = await exportDumb(app, efd);
      for (const [dev, node] of [
        [plain, "/dev/dri/renderD129"],
        [p2p, "/dev/dri/renderD130"],
      ] as const) {
        const fd = await app.open(node);
        const h = await drmPrimeFDToHandle(app, fd, bufFd);
        const obj = [...dev.files][0]!.gem.peek(h)!;
        expect(obj).toBeInstanceOf(DrmGemShmemObject);
        expect(obj.importAttach!.isDynamic).toBe(false);
        expect(obj.importAttach!.mappingCount).toBe(1);
        // A static importer's allowPeer2peer is never consulted: static attachments never do p2p.
        expect(obj.importAttach!.peer2peer).toBe(false);
      }
    });
    app.exit();
    host.remove(p2p);
    host.remove(plain);
    host.remove(exp);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("self-import on a dynamic importer returns the original object, not an attachment", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    class DynExporter extends DynImporter {
      override apply(hooks: DrmHooks, device?: DrmDevice): void {
        super.apply(hooks);
        new VgemLike().apply(hooks, device!);
      }
    }
    const dev = host.probe(DynExporter, { name: "dynexp", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/card0");
      const { handle, bufFd, buf } = await exportDumb(app, fd);
      expect(await drmPrimeFDToHandle(app, fd, bufFd)).toBe(handle);
      const other = await app.open("/dev/dri/renderD128");
      const h = await drmPrimeFDToHandle(app, other, bufFd);
      const f = [...dev.files].find((x) => x.gem.peek(h) !== undefined && x.gem.peek(h)!.id !== undefined)!;
      expect(f.gem.peek(h)!.isImported).toBe(false);
      expect(buf.attachments.length).toBe(0);
    });
    expect(host.driverOf<DynImporter>(dev).askedFor).toEqual([]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an exporter refusing the dynamic attach fails the import with its errno and leaves nothing behind", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const exp = host.probe(VgemLike, { name: "vgemlike", features: GPU });
    host.driverOf<VgemLike>(exp).refuseAttach = true;
    const imp = host.probe(DynImporter, { name: "dyn", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const efd = await app.open("/dev/dri/card0");
      const ifd = await app.open("/dev/dri/renderD129");
      const { bufFd, buf } = await exportDumb(app, efd);
      const refcount = buf.refcount;
      await expect(drmPrimeFDToHandle(app, ifd, bufFd)).rejects.toMatchObject({ code: "EBUSY" });
      expect(buf.attachments.length).toBe(0);
      expect(buf.refcount).toBe(refcount);
      expect([...imp.files][0]!.gem.count).toBe(0);
    });
    app.exit();
    host.remove(imp);
    host.remove(exp);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("mapping a dynamic import without its resv held is resv-not-locked and EINVAL, leaving it unmapped", async () => {
    const sim = new Simulator({ validator: "collect" });
    const host = new DrmPluginHost(sim);
    const exp = host.probe(VgemLike, { name: "vgemlike", features: GPU });
    const imp = host.probe(DynImporter, { name: "dyn", features: GPU });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const efd = await app.open("/dev/dri/card0");
      const ifd = await app.open("/dev/dri/renderD129");
      const { bufFd } = await exportDumb(app, efd);
      const h = await drmPrimeFDToHandle(app, ifd, bufFd);
      const dyn = [...imp.files][0]!.gem.peek(h) as DrmGemPrimeDynamicObject;
      await expect(dyn.mapLocked()).rejects.toMatchObject({ code: "EINVAL" });
      expect(() => dyn.unmapLocked()).toThrow(KernelError);
      expect(dyn.importAttach!.mappingCount).toBe(0);
      expect(dyn.sgt).toBeNull();
    });
    expect(sim.validator.findingsOf("resv-not-locked").map((f) => f.title)).toEqual([
      expect.stringContaining("drm_gem_prime_dynamic_map"),
      expect.stringContaining("drm_gem_prime_dynamic_unmap"),
    ]);
    app.exit();
    host.remove(imp);
    host.remove(exp);
  });
});
