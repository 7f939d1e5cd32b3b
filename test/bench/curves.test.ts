/** `pnpm bench --curves`: the slope fit that checks a curve's complexity, and its SVG plot. */
import { describe, expect, it } from "vitest";
import { type CurveResult, curveSvg, FIT_FROM, logLogSlope, SLOPE_BANDS } from "../../bench/curves.js";

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
});
