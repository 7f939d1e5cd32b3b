/**
 * habanalabs exports HBM; amdgpu imports it peer-to-peer (seed 003). On a PCI topology where the
 * two are behind one switch the import maps BAR addresses in segments of amdgpu's maximum
 * segment size; across two host bridges that are not whitelisted for p2p the first CS that
 * needs the buffer fails with `EPERM`, and nothing leaks either way.
 */
import "reflect-metadata";
import { type AmdgpuBo, amdgpuDeviceOf, amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { PAGE_SIZE, type PciDev, PciHostBridge } from "@drmsim/dma-buf";
import { DrmPluginHost, drmPrimeFDToHandle } from "@drmsim/drm";
import { habanalabsProbe, hlDeviceOf } from "@drmsim/habanalabs";
import {
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
} from "@drmsim/habanalabs/user";
import { isKernelError, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { amdgpuRender, amdgpuRenderDone, fileOf, MiB } from "../helpers/userspace.js";

const HBM_EXPORT = 64 * MiB;

/** Both devices behind one PCIe switch (p2p allowed), or under two host bridges (not). */
function topology(kind: "switch" | "split"): { gaudi: PciDev; gpu: PciDev } {
  if (kind === "switch") {
    const [a, b] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw0", 2) as [
      PciDev,
      PciDev,
    ];
    return { gaudi: a.addEndpoint("03:00.0"), gpu: b.addEndpoint("04:00.0") };
  }
  const hb0 = new PciHostBridge("pci0000:00", { p2pWhitelisted: false });
  const hb1 = new PciHostBridge("pci0000:80", { p2pWhitelisted: false });
  return {
    gaudi: hb0.addRootPort("00:01.0").addEndpoint("01:00.0"),
    gpu: hb1.addRootPort("80:01.0").addEndpoint("81:00.0"),
  };
}

async function scenario(kind: "switch" | "split") {
  const sim = new Simulator();
  const pci = topology(kind);
  const host = new DrmPluginHost(sim);
  const gaudiDev = habanalabsProbe(host, { pci: pci.gaudi });
  const gpuDev = amdgpuProbe(host, { pci: pci.gpu });
  const trainer = new Process(sim, "trainer");
  const renderer = new Process(sim, "renderer");
  const out = await sim.exec("trainer", async () => {
    const accel = await trainer.open("/dev/accel/accel0");
    const handle = await hlthunkDeviceMemoryAlloc(trainer, accel, HBM_EXPORT);
    const va = await hlthunkDeviceMemoryMap(trainer, accel, handle);
    const dmabuf = await hlthunkDeviceMappedMemoryExportDmabufFd(trainer, accel, va, HBM_EXPORT);
    const theirs = trainer.sendFd(renderer, dmabuf);
    trainer.close(dmabuf);
    return renderer.run(async () => {
      const gpu = await renderer.open("/dev/dri/renderD128");
      const bo = await drmPrimeFDToHandle(renderer, gpu, theirs);
      renderer.close(theirs);
      const ctx = await amdgpuCsCtxCreate2(renderer, gpu);
      const imported = fileOf(gpuDev, renderer).gem.peek(bo) as AmdgpuBo;
      try {
        const seq = await amdgpuRender(renderer, gpu, ctx, { bos: [bo] });
        const status = await amdgpuRenderDone(renderer, gpu, ctx, seq);
        const sgt = imported.importSgt!;
        return {
          ok: true as const,
          status,
          nents: sgt.nents,
          ranges: sgt.ranges(),
          segmentSize: sgt.segmentSize,
        };
      } catch (e) {
        if (!isKernelError(e)) throw e;
        return { ok: false as const, code: e.code, message: e.message, mapped: imported.importSgt !== null };
      }
    }).result;
  });
  const hdev = hlDeviceOf(gaudiDev);
  const maxSeg = amdgpuDeviceOf(gpuDev).dmaDev.maxSegmentSize;
  return { sim, host, trainer, renderer, hdev, maxSeg, out };
}

describe("habanalabs HBM → amdgpu, peer to peer", () => {
  it("behind one switch: amdgpu maps the BAR range in segments of its own maximum segment size", async () => {
    const { sim, host, trainer, renderer, hdev, maxSeg, out } = await scenario("switch");
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.status).toBe(true);
    const cap = Math.floor(maxSeg / PAGE_SIZE) * PAGE_SIZE;
    expect(out.segmentSize).toBe(Math.min(cap, 512 * MiB));
    const total = out.ranges.reduce((n, r) => n + r.length, 0);
    expect(total).toBe(HBM_EXPORT);
    expect(out.nents).toBe(out.ranges.reduce((n, r) => n + Math.ceil(r.length / out.segmentSize), 0));
    expect(out.ranges.every((r) => r.dmaAddress >= hdev.dramBarBase)).toBe(true);
    expect(hdev.exported.size).toBe(1);
    renderer.exit();
    trainer.exit();
    for (const d of [...host.devices]) host.remove(d);
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("across two host bridges: the CS that needs the buffer fails with EPERM, and nothing leaks", async () => {
    const { sim, host, trainer, renderer, out } = await scenario("split");
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.code).toBe("EPERM");
    expect(out.message).toMatch(/p2p|peer/i);
    expect(out.mapped).toBe(false);
    renderer.exit();
    trainer.exit();
    for (const d of [...host.devices]) host.remove(d);
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
