/** Shared test fixtures: a small PCI machine, devices, fences. */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import type { Simulator } from "@drmsim/runtime";
import { Device, type PciDev, PciHostBridge } from "../src/index.js";

/**
 * host bridge hb0 (whitelisted as asked) with root ports rp0 and rp1; a switch under rp0 with
 * two downstream ports (gpu0, gpu1 behind it); nic0 directly under rp1. A second root complex
 * hb1 with gpu2 under its root port.
 */
export function machine(sim: Simulator, opts: { whitelisted?: boolean; maxSeg?: number } = {}) {
  const hb0 = new PciHostBridge("pci0000:00", { p2pWhitelisted: opts.whitelisted ?? false });
  const rp0 = hb0.addRootPort("00:01.0");
  const rp1 = hb0.addRootPort("00:02.0");
  const [d0, d1] = rp0.addSwitch("sw0", 2) as [PciDev, PciDev];
  const hb1 = new PciHostBridge("pci0000:80", { p2pWhitelisted: true });
  const rp80 = hb1.addRootPort("80:01.0");
  const mk = (name: string, pci: PciDev | null) =>
    new Device(sim, { name, pci, ...(opts.maxSeg !== undefined ? { maxSegmentSize: opts.maxSeg } : {}) });
  return {
    hb0,
    hb1,
    gpu0: mk("gpu0", d0.addEndpoint("03:00.0")),
    gpu1: mk("gpu1", d1.addEndpoint("04:00.0")),
    nic0: mk("nic0", rp1.addEndpoint("05:00.0")),
    gpu2: mk("gpu2", rp80.addEndpoint("81:00.0")),
    platform: mk("platform-dev", null),
  };
}

const ops = { getDriverName: () => "test", getTimelineName: () => "ring" };

/** A fresh unsignalled fence on its own context. */
export function fence(sim: Simulator): DmaFence {
  return new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const KiB = 1024;
