/**
 * Seed 003: a dma-buf exporter that splits its scatter list by a constant instead of the
 * importer's maximum segment size. drmsim refuses the mapping and names the exporter op.
 */
import { DEFAULT_MAX_SEGMENT_SIZE, Device, DmaDataDirection } from "@drmsim/dma-buf";
import { KernelError, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  HARDCODED_CHUNK,
  HARDCODED_SG_EXPORTER,
  hardcodedSgSplitExport,
} from "../fixtures/hardcoded-sg-split/hardcoded-sg-split.js";

const SIZE = 1024 * 1024 * 1024; // 1 GiB of HBM

async function mapOnce(sim: Simulator, dev: Device, fixed: boolean) {
  const buf = hardcodedSgSplitExport(sim, SIZE, { fixed });
  const att = buf.attach(dev);
  try {
    return await sim.exec("importer", async () => {
      try {
        const sgt = await att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
        const shape = { nents: sgt.nents, max: sgt.maxSegmentLength };
        await att.unmapUnlocked(sgt, DmaDataDirection.BIDIRECTIONAL);
        return shape;
      } catch (e) {
        return e;
      }
    });
  } finally {
    buf.detach(att);
    buf.put();
  }
}

describe("seed fixture: hardcoded-sg-split", () => {
  it("a 64 KiB-segment importer: the 512 MiB segments are refused and reported, naming map_dma_buf", async () => {
    const sim = new Simulator({ validator: "collect" });
    const nic = new Device(sim, { name: "rdma-nic" });
    expect(nic.maxSegmentSize).toBe(DEFAULT_MAX_SEGMENT_SIZE);
    const r = await mapOnce(sim, nic, false);
    expect(r).toBeInstanceOf(KernelError);
    expect((r as KernelError).code).toBe("EINVAL");
    const [f, ...more] = sim.validator.findingsOf("dma-buf-sg-exceeds-max-segment");
    expect(more).toEqual([]);
    expect(f!.title).toBe(
      `${HARDCODED_SG_EXPORTER}: map_dma_buf returned a ${HARDCODED_CHUNK}-byte DMA segment for rdma-nic, whose maximum segment size is ${DEFAULT_MAX_SEGMENT_SIZE}`,
    );
    expect(f!.backtrace[0]).toBe(`${HARDCODED_SG_EXPORTER}: map_dma_buf`);
    expect(f!.explanation).toMatch(/dma_get_max_seg_size/);
    expect(sim.teardown().findings.filter((x) => x.kind !== "dma-buf-sg-exceeds-max-segment")).toEqual([]);
  });

  it("throw mode fails the importer's map at once", async () => {
    const sim = new Simulator();
    const nic = new Device(sim, { name: "rdma-nic" });
    await expect(mapOnce(sim, nic, false)).rejects.toThrow(ValidatorError);
  });

  it("an importer that takes 512 MiB segments maps the broken table; the fixed exporter serves a 64 KiB importer", async () => {
    const sim = new Simulator();
    const big = new Device(sim, { name: "gpu", maxSegmentSize: HARDCODED_CHUNK });
    expect(await mapOnce(sim, big, false)).toEqual({ nents: 2, max: HARDCODED_CHUNK });
    const nic = new Device(sim, { name: "rdma-nic" });
    expect(await mapOnce(sim, nic, true)).toEqual({
      nents: SIZE / DEFAULT_MAX_SEGMENT_SIZE,
      max: DEFAULT_MAX_SEGMENT_SIZE,
    });
    expect(sim.teardown().findings).toEqual([]);
  });
});
