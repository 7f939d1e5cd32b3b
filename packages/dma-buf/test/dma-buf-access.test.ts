/**
 * One truth for contents: an importer's DMA goes through its scatter list to the exporter's
 * storage (dmaBufAttachmentRegion), CPU mappings of the fd reach the same bytes, and both are
 * checked — stale tables, revoked buffers, CPU accesses racing a device.
 */
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  isKernelError,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  Process,
  Simulator,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  BackingStore,
  backingStoreRegion,
  Device,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  type DmaBuf,
  DmaDataDirection,
  devicePlacement,
  dmaBufAttachmentRegion,
  dmaBufFd,
  PAGE_SIZE,
  StoreExporter,
  sgTableFromRuns,
  systemPlacement,
} from "../src/index.js";
import { fence, machine } from "./fixtures.js";

const SIZE = 64 * PAGE_SIZE;
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff);

async function errno(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return "ok";
}

/** A fragmented system-memory exporter (4-page runs) and a device importing it with 8 KiB segments. */
function rig(sim: Simulator, owner = { unplugged: false, toString: () => "exp-dev" }) {
  const dev = new Device(sim, { name: "exp" });
  const store = new BackingStore(SIZE, systemPlacement(sim, SIZE, { maxRun: 4 * PAGE_SIZE }));
  const exp = new StoreExporter({ dev, store });
  const buf = exp.export(sim);
  Object.defineProperty(buf, "owner", { value: owner });
  const imp = new Device(sim, { name: "importer", maxSegmentSize: 2 * PAGE_SIZE });
  return { exp, store, buf, imp, owner };
}

describe("DMA through an attachment's scatter list", () => {
  it("reaches the exporter's bytes segment by segment, across physically scattered runs", async () => {
    const sim = new Simulator();
    const { store, buf, imp } = rig(sim);
    const att = buf.dynamicAttach(imp, { invalidateMappings: () => {} }, null);
    await sim.exec("importer", async () => {
      await buf.resv.lock(null);
      const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
      expect(sgt.nents).toBe(SIZE / (2 * PAGE_SIZE));
      // Crosses three runs (each 4 pages, not contiguous with the next) and many segments.
      const off = 3 * PAGE_SIZE + 100;
      const len = 6 * PAGE_SIZE;
      const bytes = pattern(len, 1);
      dmaBufAttachmentRegion(att, sgt, off, len).write(bytes);
      expect(Array.from(store.read(off, len))).toEqual(Array.from(bytes));
      store.write(SIZE - 3, Uint8Array.of(7, 8, 9));
      expect(Array.from(dmaBufAttachmentRegion(att, sgt, SIZE - 3, 3).read())).toEqual([7, 8, 9]);
      expect(await errno(() => dmaBufAttachmentRegion(att, sgt, SIZE - 1, 2))).toBe("EINVAL");
      att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
    });
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a table made before a move, or used after unmap, is a stale mapping (EFAULT); a fresh map reaches the moved bytes", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { exp, store, buf, imp } = rig(sim);
    let told = 0;
    const att = buf.dynamicAttach(imp, { invalidateMappings: () => told++ }, null);
    await sim.exec("importer", async () => {
      await buf.resv.lock(null);
      const old = await att.map(DmaDataDirection.BIDIRECTIONAL);
      dmaBufAttachmentRegion(att, old, 0, 4).write(Uint8Array.of(1, 2, 3, 4));
      // The exporter moves the buffer (it holds the lock) and tells the importer, which ignores it.
      exp.move(buf, systemPlacement(sim, SIZE));
      expect(told).toBe(1);
      expect(await errno(() => dmaBufAttachmentRegion(att, old, 0, 4))).toBe("EFAULT");
      const fresh = await att.map(DmaDataDirection.BIDIRECTIONAL);
      expect(Array.from(dmaBufAttachmentRegion(att, fresh, 0, 4).read())).toEqual([1, 2, 3, 4]);
      expect(fresh.ranges()[0]!.dmaAddress).toBe(store.placement.runs[0]!.address);
      expect(fresh.ranges()[0]!.dmaAddress).not.toBe(old.ranges()[0]!.dmaAddress);
      att.unmap(old, DmaDataDirection.BIDIRECTIONAL);
      att.unmap(fresh, DmaDataDirection.BIDIRECTIONAL);
      expect(await errno(() => dmaBufAttachmentRegion(att, fresh, 0, 4))).toBe("EFAULT");
      // Swap-out: the pages leave memory; a table made before is stale too.
      const again = await att.map(DmaDataDirection.BIDIRECTIONAL);
      store.retire();
      expect(await errno(() => dmaBufAttachmentRegion(att, again, 0, 4))).toBe("EFAULT");
      att.unmap(again, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
    });
    const stale = sim.validator.findingsOf("dma-buf-stale-mapping");
    expect(stale.map((f) => f.title)).toEqual([
      expect.stringMatching(/made before exp moved it/),
      expect.stringMatching(/unmapped/),
      expect.stringMatching(/made before exp swapped it out/),
    ]);
    buf.detach(att);
    buf.put();
  });

  it("a table without backing is refused (EINVAL); one whose addresses are not the buffer's faults (EFAULT)", async () => {
    const sim = new Simulator();
    const dev = new Device(sim, { name: "exp" });
    const store = new BackingStore(SIZE, devicePlacement(0x10_0000_0000, SIZE));
    const exp = new StoreExporter({ dev, store });
    let mode: "none" | "wrong" = "none";
    exp.mapDmaBuf = (att) =>
      sgTableFromRuns([{ address: 0x20_0000_0000, length: SIZE }], {
        dev: att.dev,
        ...(mode === "wrong" ? { backing: store } : {}),
      });
    const buf = exp.export(sim);
    const imp = new Device(sim, { name: "imp" });
    const att = buf.dynamicAttach(imp, { invalidateMappings: () => {} }, null);
    await sim.exec("importer", async () => {
      await buf.resv.lock(null);
      const a = await att.map(DmaDataDirection.BIDIRECTIONAL);
      expect(await errno(() => dmaBufAttachmentRegion(att, a, 0, 8))).toBe("EINVAL");
      mode = "wrong";
      const b = await att.map(DmaDataDirection.BIDIRECTIONAL);
      expect(await errno(() => dmaBufAttachmentRegion(att, b, 0, 8))).toBe("EFAULT");
      att.unmap(a, DmaDataDirection.BIDIRECTIONAL);
      att.unmap(b, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
    });
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("once the exporter's device is gone: map and vmap are ENODEV, and a region resolved before fails (ENODEV)", async () => {
    const sim = new Simulator();
    const { buf, imp, owner } = rig(sim);
    const att = buf.dynamicAttach(imp, { invalidateMappings: () => {} }, null);
    await sim.exec("importer", async () => {
      await buf.resv.lock(null);
      const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
      const region = dmaBufAttachmentRegion(att, sgt, 0, 16);
      owner.unplugged = true;
      expect(buf.revoked).toBe(true);
      expect(await errno(() => region.read())).toBe("ENODEV");
      expect(await errno(att.map(DmaDataDirection.BIDIRECTIONAL))).toBe("ENODEV");
      expect(await errno(() => buf.vmap())).toBe("ENODEV");
      expect(await errno(() => dmaBufAttachmentRegion(att, sgt, 0, 16))).toBe("ENODEV");
      att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
      expect(await errno(buf.beginCpuAccess(DmaDataDirection.FROM_DEVICE))).toBe("ENODEV");
    });
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("backingStoreRegion is the exporter's own view, bounds-checked", () => {
    const store = new BackingStore(2 * PAGE_SIZE, devicePlacement(0, 2 * PAGE_SIZE));
    backingStoreRegion(store, PAGE_SIZE - 1, 2).write(Uint8Array.of(4, 5));
    expect(Array.from(store.read(PAGE_SIZE - 1, 2))).toEqual([4, 5]);
    expect(() => backingStoreRegion(store, 2 * PAGE_SIZE - 1, 2)).toThrow(/EINVAL/);
  });

  it("BackingStore.offsetOf finds an address in an unsorted placement; a p2p table routes to device memory", async () => {
    const store = new BackingStore(3 * PAGE_SIZE, {
      domain: "device",
      runs: [
        { address: 0x9000, length: PAGE_SIZE },
        { address: 0x1000, length: 2 * PAGE_SIZE },
      ],
    });
    expect(store.offsetOf(0x9010)).toEqual({ offset: 0x10, contiguous: PAGE_SIZE - 0x10 });
    expect(store.offsetOf(0x2000)).toEqual({ offset: 2 * PAGE_SIZE, contiguous: PAGE_SIZE });
    expect(store.offsetOf(0x3000)).toBeUndefined();
    const sim = new Simulator();
    const m = machine(sim);
    const exp = new StoreExporter({ dev: m.gpu0, store });
    const buf = exp.export(sim);
    const att = buf.dynamicAttach(m.gpu1, { allowPeer2peer: true, invalidateMappings: () => {} }, null);
    await sim.exec("p2p", async () => {
      await buf.resv.lock(null);
      const sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
      dmaBufAttachmentRegion(att, sgt, PAGE_SIZE - 2, 4).write(Uint8Array.of(1, 2, 3, 4));
      expect(Array.from(store.read(PAGE_SIZE - 2, 4))).toEqual([1, 2, 3, 4]);
      att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
      buf.resv.unlock();
    });
    buf.detach(att);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("CPU mappings of a dma-buf fd", () => {
  function setup(sim: Simulator) {
    const r = rig(sim);
    const proc = new Process(sim, "app");
    const fd = dmaBufFd(r.buf, proc);
    return { ...r, proc, fd };
  }

  async function addFence(buf: DmaBuf, sim: Simulator, usage: DmaResvUsage) {
    const f = fence(sim);
    await buf.resv.lock(null);
    buf.resv.reserveFences(1);
    buf.resv.addFence(f, usage);
    buf.resv.unlock();
    return f;
  }

  it("read and write the exporter's storage; SYNC START/END bracket the access; the mapping outlives close(fd)", async () => {
    const sim = new Simulator();
    const { store, proc, fd } = setup(sim);
    await sim.exec("app", async () => {
      const map = await proc.mmap(fd, 0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE });
      map.write(5 * PAGE_SIZE - 1, Uint8Array.of(1, 2));
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE });
      proc.close(fd);
      expect(Array.from(store.read(5 * PAGE_SIZE - 1, 2))).toEqual([1, 2]);
      store.write(0, Uint8Array.of(9));
      expect(Array.from(map.read(0, 1))).toEqual([9]);
      proc.munmap(map);
    });
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a CPU read while a device still writes is reported (cpu-access-during-dma); after SYNC START it is not", async () => {
    const sim = new Simulator({ validator: "collect" });
    const { buf, proc, fd } = setup(sim);
    const writer = await sim.exec("gpu", () => addFence(buf, sim, DmaResvUsage.WRITE));
    sim.schedule(1000, () => writer.signal());
    await sim.exec("app", async () => {
      const map = await proc.mmap(fd, 0, PAGE_SIZE, PROT_READ | PROT_WRITE);
      map.read(0, 4);
      expect(sim.validator.findingsOf("cpu-access-during-dma")).toHaveLength(1);
      expect(sim.validator.findingsOf("cpu-access-during-dma")[0]!.title).toMatch(
        /CPU read of dma_buf .* while .* \(WRITE usage\) has not signalled/,
      );
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
      expect(sim.now).toBe(1000);
      map.read(0, 4);
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
      // A device that only reads: CPU reads are fine, a CPU write races it.
      const reader = await addFence(buf, sim, DmaResvUsage.READ);
      map.read(0, 4);
      expect(sim.validator.findingsOf("cpu-access-during-dma")).toHaveLength(1);
      map.write(0, Uint8Array.of(1));
      const f = sim.validator.findingsOf("cpu-access-during-dma");
      expect(f).toHaveLength(2);
      expect(f[1]!.title).toMatch(/CPU write to .* \(READ usage\)/);
      reader.signal();
      reader.put();
      proc.munmap(map);
    });
    writer.put();
    proc.exit();
  });

  it("EINVAL for a private mapping or a range beyond the buffer; after the exporter is gone, ENODEV to map and EFAULT to touch", async () => {
    const sim = new Simulator();
    const { proc, fd, owner } = setup(sim);
    await sim.exec("app", async () => {
      expect(await errno(proc.mmap(fd, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE))).toBe("EINVAL");
      expect(await errno(proc.mmap(fd, SIZE, PAGE_SIZE, PROT_READ))).toBe("EINVAL");
      const map = await proc.mmap(fd, PAGE_SIZE, PAGE_SIZE, PROT_READ);
      owner.unplugged = true;
      expect(await errno(() => map.read(0, 1))).toBe("EFAULT");
      expect(await errno(proc.mmap(fd, 0, PAGE_SIZE, PROT_READ))).toBe("ENODEV");
      expect(
        await errno(proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ })),
      ).toBe("ENODEV");
    });
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
