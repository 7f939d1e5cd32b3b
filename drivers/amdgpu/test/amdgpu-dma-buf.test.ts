/** dma-buf: VRAM to p2p importers, migration to GTT for the others, amdgpu as a dynamic importer that re-maps after a move. */
import {
  Device,
  DmaDataDirection,
  dmaBufGet,
  type PciDev,
  PciHostBridge,
  type SgTable,
} from "@drmsim/dma-buf";
import {
  type DrmDevice,
  type DrmFile,
  DrmPluginHost,
  drmCloseBufferHandle,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "@drmsim/drm";
import { Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  type AmdgpuBo,
  amdgpuDeviceOf,
  amdgpuProbe,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";

const KiB = 1024;
const VRAM_BASE = 0x80_0000_0000;

/** Two GPUs behind one PCIe switch (p2p works between them), one platform device without PCI. */
function machine(sim: Simulator) {
  const hb = new PciHostBridge("pci0000:00");
  const rp = hb.addRootPort("00:01.0");
  const [d0, d1] = rp.addSwitch("sw0", 2) as [PciDev, PciDev];
  return {
    gpuA: d0.addEndpoint("03:00.0"),
    gpuB: d1.addEndpoint("04:00.0"),
    platform: new Device(sim, { name: "display-engine", pci: null }),
  };
}

const inVram = (sgt: SgTable) => sgt.toArray().every((s) => s.dmaAddress >= VRAM_BASE);

/** A 64 KiB BO of device A (VRAM or GTT), exported and imported into device B by `app`. */
async function shareBo(app: Process, devA: DrmDevice, devB: DrmDevice) {
  const fdA = await app.open(devA.render!.path);
  const fdB = await app.open(devB.render!.path);
  const hA = await amdgpuBoAlloc(app, fdA, {
    allocSize: 64 * KiB,
    preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
  });
  const primeFd = await drmPrimeHandleToFD(app, fdA, hA);
  const hB = await drmPrimeFDToHandle(app, fdB, primeFd);
  app.close(primeFd);
  const exported = [...devA.files][0]!.gem.peek(hA) as AmdgpuBo;
  const imported = [...devB.files][0]!.gem.peek(hB) as AmdgpuBo;
  return { fdA, fdB, hA, hB, exported, imported };
}

describe("amdgpu as exporter", () => {
  it("maps VRAM for a p2p importer; a static importer without p2p pins it, which migrates it to GTT first", async () => {
    const sim = new Simulator();
    const m = machine(sim);
    const host = new DrmPluginHost(sim);
    const dev = amdgpuProbe(host, { pci: m.gpuA, sdmaBytesPerNs: 1 });
    const adev = amdgpuDeviceOf(dev);
    const p2pImporter = new Device(sim, { name: "nic", pci: m.gpuB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, {
        allocSize: 64 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      bo.store.write(0, new Uint8Array([7, 7]));
      const buf = dmaBufGet(app, await drmPrimeHandleToFD(app, fd, h));
      let invalidated = 0;
      let sgtP2p: SgTable | null = null;
      const dyn = buf.dynamicAttach(
        p2pImporter,
        {
          allowPeer2peer: true,
          invalidateMappings: (a) => {
            invalidated++;
            a.unmap(sgtP2p!, DmaDataDirection.BIDIRECTIONAL);
            sgtP2p = null;
          },
        },
        null,
      );
      expect(dyn.peer2peer).toBe(true);
      await buf.resv.lock(null);
      sgtP2p = await dyn.map(DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
      expect(inVram(sgtP2p)).toBe(true);
      expect(bo.domain).toBe("vram");

      const stat = buf.attach(m.platform);
      expect(stat.peer2peer).toBe(false);
      const t0 = sim.now;
      await buf.resv.lock(null);
      const sgt = await stat.map(DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
      // The core waited for the migration copy (KERNEL fence) before handing out the table.
      expect(sim.now - t0).toBe(64 * KiB);
      expect(bo.domain).toBe("gtt");
      expect(bo.pinCount).toBe(1);
      expect(inVram(sgt)).toBe(false);
      expect(invalidated).toBe(1);
      expect(Array.from(bo.store.read(0, 2))).toEqual([7, 7]);
      await buf.resv.lock(null);
      stat.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
      expect(bo.pinCount).toBe(0);
      buf.detach(stat);
      buf.detach(dyn);
      buf.put();
    });
    expect(adev.mman.stats.moves).toBe(1);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("amdgpu as dynamic importer", () => {
  it("maps at first CS, drops the mapping when the exporter moves the buffer, and the next CS maps again", async () => {
    const sim = new Simulator();
    const m = machine(sim);
    const host = new DrmPluginHost(sim);
    const devA = amdgpuProbe(host, { pci: m.gpuA, vramSize: 512 * KiB });
    const devB = amdgpuProbe(host, { pci: m.gpuB });
    const adevB = amdgpuDeviceOf(devB);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fdA = await app.open("/dev/dri/renderD128");
      const fdB = await app.open("/dev/dri/renderD129");
      const fileB = [...devB.files][0]! as DrmFile;
      const hA = await amdgpuBoAlloc(app, fdA, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const primeFd = await drmPrimeHandleToFD(app, fdA, hA);
      // Self-import gives back the same object.
      expect(await drmPrimeFDToHandle(app, fdA, primeFd)).toBe(hA);
      const hB = await drmPrimeFDToHandle(app, fdB, primeFd);
      const imported = fileB.gem.peek(hB) as AmdgpuBo;
      expect(imported.isImported).toBe(true);
      expect(imported.remaps).toBe(0);
      const ctx = await amdgpuCsCtxCreate2(app, fdB);
      await amdgpuCsSubmitRaw2(app, fdB, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([hB]),
      ]);
      expect(imported.remaps).toBe(1);
      expect(inVram(imported.importSgt!)).toBe(true);
      // VRAM pressure on A evicts the exported BO: B's mapping is invalidated.
      await amdgpuBoAlloc(app, fdA, { allocSize: 512 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      expect(imported.invalidations).toBe(1);
      expect(imported.importSgt).toBe(null);
      await amdgpuCsSubmitRaw2(app, fdB, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([hB]),
      ]);
      expect(imported.remaps).toBe(2);
      expect(inVram(imported.importSgt!)).toBe(false);
      app.close(primeFd);
    });
    await sim.run();
    expect(adevB.rings[AMDGPU_HW_IP_GFX][0]!.ran.length).toBe(2);
    app.exit();
    host.remove(devB);
    host.remove(devA);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("amdgpu to amdgpu without peer-to-peer", () => {
  it("the importer's first CS makes the exporter migrate the BO to GTT, and the job waits for that copy", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    // No PCI topology: the devices cannot reach each other's VRAM.
    const devA = amdgpuProbe(host, { sdmaBytesPerNs: 1 });
    const devB = amdgpuProbe(host);
    const adevA = amdgpuDeviceOf(devA);
    const adevB = amdgpuDeviceOf(devB);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fdB, hB, exported, imported } = await shareBo(app, devA, devB);
      const ctx = await amdgpuCsCtxCreate2(app, fdB);
      await amdgpuCsSubmitRaw2(app, fdB, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([hB]),
      ]);
      expect(exported.domain).toBe("gtt");
      expect(inVram(imported.importSgt!)).toBe(false);
    });
    await sim.run();
    expect(adevA.mman.stats.moves).toBe(1);
    expect(adevB.rings[AMDGPU_HW_IP_GFX][0]!.ran[0]!.at).toBe(64 * KiB);
    app.exit();
    host.remove(devB);
    host.remove(devA);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the exporter's own CS leaves a BO it shares in GTT while attached, and moves it back once detached", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const devA = amdgpuProbe(host);
    const devB = amdgpuProbe(host);
    const adevA = amdgpuDeviceOf(devA);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fdA, fdB, hA, hB, exported, imported } = await shareBo(app, devA, devB);
      const ctxA = await amdgpuCsCtxCreate2(app, fdA);
      const ctxB = await amdgpuCsCtxCreate2(app, fdB);
      // A frame: the importer reads the buffer (moved to GTT for it), the exporter renders to it.
      for (let frame = 0; frame < 3; frame++) {
        await amdgpuCsSubmitRaw2(app, fdB, ctxB, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
          amdgpuCsChunkBoList([hB]),
        ]);
        await amdgpuCsSubmitRaw2(app, fdA, ctxA, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
          amdgpuCsChunkBoList([hA]),
        ]);
      }
      expect(exported.domain).toBe("gtt");
      expect(adevA.mman.stats.moves).toBe(1);
      expect(imported.remaps).toBe(1);
      expect(imported.invalidations).toBe(0);
      // The importer lets go: the exporter's next CS brings the BO back to the VRAM it prefers.
      await drmCloseBufferHandle(app, fdB, hB);
      expect(exported.dmaBuf === null || exported.dmaBuf.attachments.length === 0).toBe(true);
      await amdgpuCsSubmitRaw2(app, fdA, ctxA, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([hA]),
      ]);
      expect(exported.domain).toBe("vram");
      expect(adevA.mman.stats.moves).toBe(2);
    });
    await sim.run();
    app.exit();
    host.remove(devB);
    host.remove(devA);
    expect(sim.teardown().findings).toEqual([]);
  });
});
