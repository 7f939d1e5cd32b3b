/**
 * @drmsim/dma-buf benchmark: mapping a 1 GiB device-memory dma-buf for a p2p importer with 64 KiB
 * segments (16,384 segments), through the whole attachment path, against building the same
 * segment list as a plain array of objects in the same run. Both sides also walk every segment,
 * so they produce the same information. Run with `pnpm bench dma-buf`.
 */

import {
  BackingStore,
  Device,
  DmaDataDirection,
  devicePlacement,
  PciHostBridge,
  type SgSegment,
  StoreExporter,
} from "@drmsim/dma-buf";
import { Simulator } from "@drmsim/runtime";
import type { Comparison } from "./harness.js";

const SIZE = 1024 ** 3;
const SEG = 64 * 1024;
const BASE = 0x80_0000_0000;

const sim = new Simulator({ validator: "off" });
const [p0, p1] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw", 2);
const exporterDev = new Device(sim, { name: "accel", pci: p0!.addEndpoint("03:00.0") });
const importerDev = new Device(sim, { name: "gpu", pci: p1!.addEndpoint("04:00.0"), maxSegmentSize: SEG });
const exporter = new StoreExporter({
  dev: exporterDev,
  store: new BackingStore(SIZE, devicePlacement(BASE, SIZE)),
});
const buf = exporter.export(sim);
const att = buf.dynamicAttach(importerDev, { allowPeer2peer: true }, null);
// The validator is off and nothing else runs: take the lock synchronously from the main context.
if (!buf.resv.trylock()) throw new Error("bench: resv busy");

let sink = 0;

export const comparisons: Comparison[] = [
  {
    id: "dma-buf-map-1g-64k",
    title: "dma-buf: map 1 GiB p2p, 64 KiB segments (+ walk)",
    unit: "map",
    baseline: {
      name: "plain array of 16,384 segments",
      ops: 1,
      run: () => {
        const segs: SgSegment[] = [];
        for (let off = 0; off < SIZE; off += SEG) segs.push({ dmaAddress: BASE + off, length: SEG });
        let total = 0;
        for (const s of segs) total += s.length;
        sink += total;
      },
    },
    subject: {
      name: "mapAttachment + unmap",
      ops: 1,
      run: async () => {
        const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
        let total = 0;
        for (const s of sgt) total += s.length;
        att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
        sink += total;
      },
    },
    target: "ratio >= 0.5",
    meets: (r) => r.ratio >= 0.5,
  },
];

export const _sink = () => sink;
