/**
 * `dma_buf_export`'s allocation: charged to `sim.mm` while the buffer lives, and an injected
 * failure is a clean ENOMEM (no buffer, the exporter's release never runs).
 */
import { isKernelError, KernelError, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { type DmaBufOps, dmaBufExport, dmaBufFd } from "../src/index.js";

const SIZE = 8192;

function opsCounting(counter: { released: number }): DmaBufOps {
  return {
    mapDmaBuf: () => {
      throw new KernelError("ENOMEM", "unused");
    },
    unmapDmaBuf: () => {},
    release: () => void counter.released++,
  };
}

describe("dma_buf_export allocation", () => {
  it("is charged until the last reference goes", () => {
    const sim = new Simulator();
    const proc = new Process(sim, "app");
    const start = sim.mm.used;
    const counter = { released: 0 };
    const buf = dmaBufExport(sim, { ops: opsCounting(counter), size: SIZE, priv: {} });
    expect(sim.mm.used).toBeGreaterThan(start);
    expect(sim.mm.sites.get("dma_buf_export")).toBe(1);
    const fd = dmaBufFd(buf, proc);
    proc.close(fd);
    expect(counter.released).toBe(1);
    expect(sim.mm.used).toBe(start);
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENOMEM creates no buffer and never calls release", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const counter = { released: 0 };
    sim.mm.failWhen(({ site }) => site === "dma_buf_export");
    let err: unknown;
    try {
      dmaBufExport(sim, { ops: opsCounting(counter), size: SIZE, priv: {} });
    } catch (e) {
      err = e;
    }
    sim.mm.clearFaults();
    expect(isKernelError(err, "ENOMEM")).toBe(true);
    expect(counter.released).toBe(0);
    expect(sim.mm.used).toBe(start);
    expect(sim.teardown().findings).toEqual([]);
  });
});
