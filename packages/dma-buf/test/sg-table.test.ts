/** sg_alloc_table_from_pages_segment + dma_map_sgtable, with the importer's max segment size. */
import { KernelError, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  Device,
  DmaDataDirection,
  dmaBufExport,
  PAGE_SIZE,
  SG_MAX_SEGMENT_LENGTH,
  SgTable,
  sgSegmentCap,
  sgTableFromRuns,
} from "../src/index.js";
import { GiB, KiB, MiB } from "./fixtures.js";

describe("SgTable", () => {
  it("merges only contiguous runs, then splits each at the importer's max segment size", () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "imp", maxSegmentSize: 64 * KiB });
    const sgt = sgTableFromRuns(
      [
        { address: 0x10000, length: 96 * KiB },
        { address: 0x10000 + 96 * KiB, length: 32 * KiB }, // contiguous with the first: merged
        { address: 0x100000, length: 8 * KiB }, // a hole before it: new segment
      ],
      { dev },
    );
    expect(sgt.toArray()).toEqual([
      { dmaAddress: 0x10000, length: 64 * KiB },
      { dmaAddress: 0x20000, length: 64 * KiB },
      { dmaAddress: 0x100000, length: 8 * KiB },
    ]);
    expect(sgt.nents).toBe(3);
    expect(sgt.totalLength).toBe(136 * KiB);
    expect(sgt.segment(2)).toEqual({ dmaAddress: 0x100000, length: 8 * KiB });
    expect(sgt.ranges()).toHaveLength(2);
  });

  it("the cap follows the importer, not a constant: two importers, two splits of the same runs", () => {
    const sim = new Simulator();
    const runs = [{ address: 0, length: 4 * MiB }];
    const a = new Device(sim, { name: "a", maxSegmentSize: MiB });
    const b = new Device(sim, { name: "b", maxSegmentSize: 256 * KiB });
    expect(sgTableFromRuns(runs, { dev: a }).nents).toBe(4);
    expect(sgTableFromRuns(runs, { dev: b }).nents).toBe(16);
  });

  it("rounds the cap down to a page; below a page is EINVAL", () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "d", maxSegmentSize: 3 * PAGE_SIZE + 100 });
    expect(sgSegmentCap(dev)).toBe(3 * PAGE_SIZE);
    dev.setMaxSegSize(PAGE_SIZE - 1);
    expect(() => sgTableFromRuns([{ address: 0, length: PAGE_SIZE }], { dev })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    const huge = new Device(sim, { name: "h", maxSegmentSize: 8 * GiB });
    expect(sgSegmentCap(huge)).toBe(SG_MAX_SEGMENT_LENGTH);
    expect(sgSegmentCap(huge, 512 * MiB)).toBe(512 * MiB);
  });

  it("an address beyond the importer's DMA mask fails the mapping with ENOMEM", () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "d32", dmaMask: 32 });
    expect(sgTableFromRuns([{ address: 0xfff0_0000, length: MiB }], { dev }).nents).toBe(16);
    expect(() => sgTableFromRuns([{ address: 0x1_0000_0000, length: PAGE_SIZE }], { dev })).toThrow(
      expect.objectContaining({ code: "ENOMEM" }),
    );
  });

  it("rejects unaligned or empty runs with EINVAL, and out-of-range segment indexes", () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "d" });
    expect(() => sgTableFromRuns([{ address: 100, length: PAGE_SIZE }], { dev })).toThrow(/page-aligned/);
    expect(() => sgTableFromRuns([{ address: 0, length: 0 }], { dev })).toThrow(/page-aligned/);
    const sgt = sgTableFromRuns([{ address: 0, length: PAGE_SIZE }], { dev });
    expect(() => sgt.segment(1)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("random segment lookups agree with iteration (binary search over runs)", () => {
    const sim = new Simulator({ seed: 7 });
    const dev = new Device(sim, { name: "d", maxSegmentSize: 16 * KiB });
    const runs = [];
    let addr = 0;
    for (let i = 0; i < 50; i++) {
      const len = sim.random.int(1, 20) * PAGE_SIZE;
      runs.push({ address: addr, length: len });
      addr += len + PAGE_SIZE * sim.random.int(1, 2);
    }
    const sgt = sgTableFromRuns(runs, { dev });
    const all = sgt.toArray();
    expect(all.length).toBe(sgt.nents);
    for (let i = 0; i < all.length; i++) expect(sgt.segment(i)).toEqual(all[i]);
  });
});

describe("dma-buf-sg-exceeds-max-segment", () => {
  it("maxSegmentLength is the longest segment; map refuses a table longer than the importer's limit, unpinning and unmapping", async () => {
    const sim = new Simulator({ validator: "collect" });
    const dev = new Device(sim, { name: "importer", maxSegmentSize: 65536 });
    const calls: string[] = [];
    const tooLong = new SgTable([{ dmaAddress: 0x1000_0000, length: 1 << 20, first: 0, count: 2 }], 1 << 19);
    expect(tooLong.maxSegmentLength).toBe(1 << 19);
    const buf = dmaBufExport(sim, {
      name: "bad-exporter",
      size: 1 << 20,
      priv: {},
      ops: {
        pin: () => calls.push("pin"),
        unpin: () => calls.push("unpin"),
        mapDmaBuf: () => tooLong,
        unmapDmaBuf: () => calls.push("unmap"),
        release: () => {},
      },
    });
    const att = buf.attach(dev);
    const err = await sim.exec("importer", () =>
      att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL).catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe("EINVAL");
    expect(calls).toEqual(["pin", "unmap", "unpin"]);
    const [f] = sim.validator.findingsOf("dma-buf-sg-exceeds-max-segment");
    expect(f!.title).toMatch(/bad-exporter: map_dma_buf returned a 524288-byte DMA segment for importer/);
    expect(f!.backtrace[0]).toBe("bad-exporter: map_dma_buf");
    buf.detach(att); // no live mapping was left behind
    buf.put();
  });
});
