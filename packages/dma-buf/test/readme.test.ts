/** The README's example, verbatim, so it cannot rot. */
import { Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  BackingStore,
  Device,
  DmaDataDirection,
  devicePlacement,
  PciHostBridge,
  StoreExporter,
} from "../src/index.js";

it("README example: a 64 MiB p2p export mapped by a GPU with 1 MiB segments has 64 segments", async () => {
  const sim = new Simulator();
  // Two devices behind one PCIe switch.
  const [port0, port1] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw", 2);
  const accel = new Device(sim, { name: "accel0", pci: port0!.addEndpoint("03:00.0") });
  const gpu = new Device(sim, { name: "gpu0", pci: port1!.addEndpoint("04:00.0"), maxSegmentSize: 1 << 20 });

  // The accelerator exports 64 MiB of its device memory (HBM behind a BAR).
  const size = 64 << 20;
  const exporter = new StoreExporter({
    dev: accel,
    store: new BackingStore(size, devicePlacement(0x80_0000_0000, size)),
  });
  const buf = exporter.export(sim);

  // The GPU imports it dynamically, peer-to-peer, and maps it.
  const att = buf.dynamicAttach(gpu, { allowPeer2peer: true, invalidateMappings: () => {} }, null);
  const nents = await sim.exec("gpu-import", async () => {
    const sgt = await att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
    await att.unmapUnlocked(sgt, DmaDataDirection.BIDIRECTIONAL);
    return sgt.nents;
  });
  expect(nents).toBe(64);

  buf.detach(att);
  buf.put();
  expect(sim.teardown().findings).toEqual([]);
});
