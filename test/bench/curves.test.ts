/** `pnpm bench --curves`: the slope fit that checks a curve's complexity, and its SVG plot. */

import { DmaDataDirection } from "@drmsim/dma-buf";
import { describe, expect, it } from "vitest";
import {
  type CurveResult,
  curveSvg,
  curves,
  FIT_FROM,
  logLogSlope,
  p2pBuffer,
  SLOPE_BANDS,
} from "../../bench/curves.js";

const pts = (f: (n: number) => number) => [1, 10, 100, 1000, 10_000].map((n) => ({ n, nsPerOp: f(n) }));

describe("scaling curves", () => {
  it("the fitted log-log slope is 0 for a constant cost, 1 for a linear one, 2 for a quadratic one", () => {
    expect(logLogSlope(pts(() => 42))).toBeCloseTo(0, 10);
    expect(logLogSlope(pts((n) => 3 * n))).toBeCloseTo(1, 10);
    expect(logLogSlope(pts((n) => n * n))).toBeCloseTo(2, 10);
  });

  it("the bands tell the three complexities apart over the fitted sizes", () => {
    const inBand = (c: keyof typeof SLOPE_BANDS, s: number) =>
      s >= SLOPE_BANDS[c][0] && s <= SLOPE_BANDS[c][1];
    const slopeOf = (f: (n: number) => number) => logLogSlope(pts(f).slice(FIT_FROM));
    expect(
      inBand(
        "O(1)",
        slopeOf(() => 8),
      ),
    ).toBe(true);
    expect(
      inBand(
        "O(1)",
        slopeOf((n) => n),
      ),
    ).toBe(false);
    expect(
      inBand(
        "O(log n)",
        slopeOf((n) => Math.log2(n)),
      ),
    ).toBe(true);
    expect(
      inBand(
        "O(n)",
        slopeOf((n) => 5 + n),
      ),
    ).toBe(true);
    expect(
      inBand(
        "O(n)",
        slopeOf((n) => Math.log2(n)),
      ),
    ).toBe(false);
    expect(
      inBand(
        "O(n)",
        slopeOf((n) => n * n),
      ),
    ).toBe(false);
  });

  it("the plot has a point per size, the title and the verdict", () => {
    const r: CurveResult = {
      id: "t",
      title: "cost <per> op",
      x: "size",
      op: "op",
      expected: "O(n)",
      points: pts((n) => n),
      slope: 1,
      met: true,
    };
    const svg = curveSvg(r);
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain("cost &lt;per&gt; op");
    expect(svg).toContain("expected O(n) per op; slope from 100 on: 1.00 ✓");
  });

  it("the dma-buf curve maps 16 GiB of p2p memory as 262,144 segments without allocating it", async () => {
    const { att, store } = p2pBuffer(16 * 1024 ** 3);
    const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
    expect(sgt.nents).toBe(262_144);
    expect(sgt.totalLength).toBe(16 * 1024 ** 3);
    expect(sgt.segment(262_143)).toEqual({
      dmaAddress: 0x80_0000_0000 + 16 * 1024 ** 3 - 65_536,
      length: 65_536,
    });
    expect(store.residentBytes).toBe(0);
    att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
  });

  it("every curve the issue asks for is there, with the complexity it expects", () => {
    expect(Object.fromEntries(curves.map((c) => [c.id, c.expected]))).toEqual({
      "drm-sched-entities": "O(1)",
      "dma-resv-add": "O(n)",
      "dma-resv-iterate": "O(1)",
      "syncobj-wait-handles": "O(1)",
      "dma-buf-map-p2p": "O(1)",
      "fuzz-sequence-length": "O(1)",
    });
    const buf = curves.find((c) => c.id === "dma-buf-map-p2p")!;
    expect([buf.sizes[0], buf.sizes.at(-1)]).toEqual([4096, 16 * 1024 ** 3]);
  });
});
