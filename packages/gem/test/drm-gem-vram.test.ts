import { Device, PAGE_SIZE } from "@drmsim/dma-buf";
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { isKernelError, type KernelError, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_GEM_OBJECT_BYTES,
  DrmGemHandleTable,
  DrmGemVramObject,
  DrmVramManager,
  drmGemPrimeHandleToDmaBuf,
  traceDrmGemVramMove,
} from "../src/index.js";

const MiB = 1 << 20;
const BASE = 0x80_0000_0000;

async function expectErr(fn: () => unknown, code: string) {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(isKernelError(err, code as KernelError["code"])).toBe(true);
}

function setup(vramSize = 4 * MiB) {
  const sim = new Simulator();
  const dev = new Device(sim, { name: "gpu0", maxSegmentSize: 1 * MiB });
  const vram = new DrmVramManager(sim, { size: vramSize, base: BASE, dmaDev: dev });
  return { sim, dev, vram };
}

describe("DrmVramManager", () => {
  it("rejects an unaligned base and bad sizes", () => {
    const sim = new Simulator();
    expect(() => new DrmVramManager(sim, { size: MiB, base: 123 })).toThrow(/EINVAL/);
    expect(() => new DrmVramManager(sim, { size: 100, base: 0 })).toThrow(/EINVAL/);
  });
});

describe("DrmGemVramObject", () => {
  it("is placed in VRAM at the BAR base; its offset is only given while pinned", async () => {
    const { sim, vram } = setup();
    const obj = DrmGemVramObject.create(sim, vram, MiB);
    expect(obj.domain).toBe("vram");
    expect(vram.avail).toBe(3 * MiB);
    await expectErr(() => obj.gpuOffset, "ENODEV");
    await obj.pin();
    const off = obj.gpuOffset;
    expect(obj.store.placement.domain).toBe("device");
    expect(obj.store.placement.runs).toEqual([{ address: BASE + off, length: MiB }]);
    const sgt = obj.getSgTable();
    expect(sgt.nents).toBe(1);
    expect(sgt.segment(0).dmaAddress).toBe(BASE + off);
    await obj.unpin();
    obj.put();
    expect(vram.avail).toBe(4 * MiB);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("full VRAM evicts the least recently placed unpinned object, keeping its bytes", async () => {
    const { sim, vram } = setup();
    const a = DrmGemVramObject.create(sim, vram, 2 * MiB, { label: "a" });
    const b = DrmGemVramObject.create(sim, vram, 2 * MiB, { label: "b" });
    await sim.exec("fill", async () => {
      await a.resv.lock(null);
      const m = a.vmapLocked();
      m.write(5, new Uint8Array([1, 2, 3]));
      a.vunmapLocked(m);
      a.resv.unlock();
    });
    const used = sim.mm.used;
    const c = DrmGemVramObject.create(sim, vram, 2 * MiB, { label: "c" });
    expect(c.domain).toBe("vram");
    expect(a.domain).toBe("system");
    expect(b.domain).toBe("vram");
    expect(vram.evictions).toBe(1);
    expect(a.store.placement.domain).toBe("system");
    expect(a.store.read(5, 3)).toEqual(new Uint8Array([1, 2, 3]));
    // The evicted object now takes system memory.
    expect(sim.mm.used).toBe(used + 2 * MiB + DRM_GEM_OBJECT_BYTES);
    // Moving it back evicts b (the oldest in VRAM now) and frees its system pages.
    await sim.exec("back", () => a.pin("vram"));
    expect(a.domain).toBe("vram");
    expect(b.domain).toBe("system");
    expect(a.store.read(5, 3)).toEqual(new Uint8Array([1, 2, 3]));
    await a.unpin();
    for (const o of [a, b, c]) o.put();
    expect(vram.avail).toBe(4 * MiB);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("pinned objects are never evicted: new objects fall back to system memory, pinning to VRAM is ENOSPC", async () => {
    const { sim, vram } = setup(2 * MiB);
    const a = DrmGemVramObject.create(sim, vram, 2 * MiB);
    await a.pin();
    const b = DrmGemVramObject.create(sim, vram, MiB);
    expect(b.domain).toBe("system");
    expect(a.domain).toBe("vram");
    await expectErr(() => sim.exec("pin", () => b.pin("vram")), "ENOSPC");
    expect(b.domain).toBe("system");
    expect(b.pinCount).toBe(0);
    // Moving a pinned object is EBUSY.
    await expectErr(() => sim.exec("move", () => a.pin("system")), "EBUSY");
    await a.unpin();
    await b.pin("vram");
    expect(b.domain).toBe("vram");
    expect(a.domain).toBe("system");
    await b.unpin();
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("busy objects (unsignalled fences) are not evicted", async () => {
    const { sim, vram } = setup(2 * MiB);
    const a = DrmGemVramObject.create(sim, vram, 2 * MiB);
    const ops = { getDriverName: () => "gpu0", getTimelineName: () => "gfx" };
    const f = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
    await sim.exec("submit", async () => {
      await a.resv.lock(null);
      a.resv.reserveFences(1);
      a.resv.addFence(f, DmaResvUsage.WRITE);
      a.resv.unlock();
    });
    const b = DrmGemVramObject.create(sim, vram, MiB);
    expect(a.domain).toBe("vram");
    expect(b.domain).toBe("system");
    f.signal();
    await sim.exec("pin", () => b.pin("vram"));
    expect(a.domain).toBe("system");
    await b.unpin();
    f.put();
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("evicting an exported object tells dynamic importers to drop their mappings", async () => {
    const { sim, vram } = setup(2 * MiB);
    const a = DrmGemVramObject.create(sim, vram, 2 * MiB);
    // Exported through a handle, as PRIME_HANDLE_TO_FD does: the export is cached on obj.dmaBuf,
    // which is what eviction notifies (amdgpu_bo_move_notify uses bo->base.dma_buf).
    const file = new DrmGemHandleTable(sim, {});
    const h = file.handleCreate(a);
    a.put();
    const buf = drmGemPrimeHandleToDmaBuf(file, h);
    const importer = new Device(sim, { name: "nic" });
    let invalidated = 0;
    const att = buf.dynamicAttach(importer, { invalidateMappings: () => invalidated++ }, null);
    await sim.exec("evict", async () => {
      await a.resv.lock(null);
      a.evictLocked();
      a.resv.unlock();
    });
    expect(invalidated).toBe(1);
    expect(a.domain).toBe("system");
    buf.detach(att);
    buf.put();
    file.release();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("unpin without pin is gem-unbalanced and refused; freeing pinned is gem-freed-in-use", async () => {
    const sim = new Simulator({ validator: "collect" });
    const vram = new DrmVramManager(sim, { size: MiB, base: BASE });
    const a = DrmGemVramObject.create(sim, vram, PAGE_SIZE);
    await expectErr(() => sim.exec("unpin", () => a.unpin()), "EINVAL");
    expect(sim.validator.findingsOf("gem-unbalanced")).toHaveLength(1);
    await sim.exec("pin", () => a.pin());
    a.put();
    expect(sim.validator.findingsOf("gem-freed-in-use")).toHaveLength(1);
    expect(vram.avail).toBe(MiB);
  });

  it("non-contiguous managers place objects in several blocks and the placement covers them all", async () => {
    const sim = new Simulator();
    const vram = new DrmVramManager(sim, { size: 8 * PAGE_SIZE, base: BASE, contiguous: false });
    const hold = [0, 1, 2, 3].map(() => DrmGemVramObject.create(sim, vram, PAGE_SIZE));
    // Free every other page: 4 free pages, none adjacent to another free page's buddy… then 3 pages fit only split.
    hold[1]!.put();
    hold[3]!.put();
    const obj = DrmGemVramObject.create(sim, vram, 3 * PAGE_SIZE);
    expect(obj.domain).toBe("vram");
    const total = obj.store.placement.runs.reduce((s, r) => s + r.length, 0);
    expect(total).toBe(3 * PAGE_SIZE);
    expect(obj.store.placement.runs.length).toBeGreaterThan(1);
    obj.put();
    hold[0]!.put();
    hold[2]!.put();
    expect(vram.avail).toBe(8 * PAGE_SIZE);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("moves are traced: an eviction to system memory and the way back", async () => {
    const { sim, vram } = setup(2 * MiB);
    sim.tracer.on = true;
    const a = DrmGemVramObject.create(sim, vram, 2 * MiB, { label: "a" });
    const b = DrmGemVramObject.create(sim, vram, 2 * MiB, { label: "b", domain: "system" });
    await sim.exec("swap", () => b.pin("vram"));
    const moves = sim.tracer.eventsOf(traceDrmGemVramMove).map((e) => e.args);
    expect(moves).toEqual([
      { obj: "a", size: 2 * MiB, from: "vram", to: "system", evict: true },
      { obj: "b", size: 2 * MiB, from: "system", to: "vram", evict: false },
    ]);
    await b.unpin();
    a.put();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
