/** The dma-buf fd's uAPI: DMA_BUF_IOCTL_SYNC, EXPORT/IMPORT_SYNC_FILE, SET_NAME, poll. */
import {
  DmaFenceArray,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  syncFileFdget,
  syncFileInstall,
} from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { EPOLLIN, EPOLLOUT, msecs, type PollFd, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  BackingStore,
  Device,
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SET_NAME,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_RW,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  type DmaBuf,
  type DmaBufOps,
  DmaDataDirection,
  devicePlacement,
  dmaBufFd,
  PAGE_SIZE,
  StoreExporter,
} from "../src/index.js";
import { fence } from "./fixtures.js";

function setup(sim: Simulator, extra: Partial<DmaBufOps> = {}) {
  const dev = new Device(sim, { name: "exp" });
  const exp = new StoreExporter({
    dev,
    store: new BackingStore(4 * PAGE_SIZE, devicePlacement(0, 4 * PAGE_SIZE)),
  });
  Object.assign(exp, extra);
  const buf = exp.export(sim);
  const proc = new Process(sim, "app");
  const fd = dmaBufFd(buf, proc);
  return { buf, proc, fd };
}

async function addFence(buf: DmaBuf, usage: DmaResvUsage, sim: Simulator) {
  const f = fence(sim);
  await buf.resv.lock(null);
  buf.resv.reserveFences(1);
  buf.resv.addFence(f, usage);
  buf.resv.unlock();
  return f;
}

describe("DMA_BUF_IOCTL_SYNC", () => {
  it("START calls begin_cpu_access and END end_cpu_access with the direction of the flags", async () => {
    const sim = new Simulator();
    const calls: string[] = [];
    const { proc, fd } = setup(sim, {
      beginCpuAccess: (_b, d) => void calls.push(`begin ${d}`),
      endCpuAccess: (_b, d) => void calls.push(`end ${d}`),
    });
    await sim.exec("app", async () => {
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ });
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ });
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE });
      await proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW });
    });
    expect(calls).toEqual([
      `begin ${DmaDataDirection.FROM_DEVICE}`,
      `end ${DmaDataDirection.FROM_DEVICE}`,
      `begin ${DmaDataDirection.TO_DEVICE}`,
      `end ${DmaDataDirection.BIDIRECTIONAL}`,
    ]);
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("unknown flags, or neither READ nor WRITE, are EINVAL; unknown ioctls ENOTTY", async () => {
    const sim = new Simulator();
    const { proc, fd } = setup(sim);
    await sim.exec("app", async () => {
      for (const flags of [0x8, DMA_BUF_SYNC_START, DMA_BUF_SYNC_END])
        await expect(proc.ioctl(fd, DMA_BUF_IOCTL_SYNC, { flags })).rejects.toMatchObject({ code: "EINVAL" });
      await expect(proc.ioctl(fd, 0x40086209, {})).rejects.toMatchObject({ code: "ENOTTY" });
    });
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DMA_BUF_SET_NAME", () => {
  it("sets the name; too long is EINVAL and leaves the old name", async () => {
    const sim = new Simulator();
    const { buf, proc, fd } = setup(sim);
    await sim.exec("app", async () => {
      await proc.ioctl(fd, DMA_BUF_SET_NAME, "weights");
      await expect(proc.ioctl(fd, DMA_BUF_SET_NAME, "x".repeat(32))).rejects.toMatchObject({
        code: "EINVAL",
      });
      // strndup_user of a NULL pointer faults.
      await expect(proc.ioctl(fd, DMA_BUF_SET_NAME, null)).rejects.toMatchObject({ code: "EFAULT" });
    });
    expect(buf.name).toBe("weights");
    expect(buf.describe()).toMatch(/"weights"/);
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("DMA_BUF_IOCTL_EXPORT_SYNC_FILE / IMPORT_SYNC_FILE", () => {
  it("export for READ gives the writers' fence; for WRITE every fence; with none, the signalled stub", async () => {
    const sim = new Simulator();
    const { buf, proc, fd } = setup(sim);
    await sim.exec("app", async () => {
      const empty = await proc.ioctl<{ fd: number }>(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, {
        flags: DMA_BUF_SYNC_READ,
      });
      expect(syncFileFdget(proc, empty.fd)!.fence.signaled).toBe(true);
      const w = await addFence(buf, DmaResvUsage.WRITE, sim);
      const r = await addFence(buf, DmaResvUsage.READ, sim);
      const forRead = await proc.ioctl<{ fd: number }>(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, {
        flags: DMA_BUF_SYNC_READ,
      });
      expect(syncFileFdget(proc, forRead.fd)!.fence).toBe(w);
      const forWrite = await proc.ioctl<{ fd: number }>(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, {
        flags: DMA_BUF_SYNC_WRITE,
      });
      const arr = syncFileFdget(proc, forWrite.fd)!.fence;
      expect(arr).toBeInstanceOf(DmaFenceArray);
      for (const flags of [0, 0x4])
        await expect(proc.ioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, { flags })).rejects.toMatchObject({
          code: "EINVAL",
        });
      w.signal();
      r.signal();
      w.put();
      r.put();
    });
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("import adds every unwrapped leaf, as WRITE with SYNC_WRITE else READ; bad flags/fd are EINVAL", async () => {
    const sim = new Simulator();
    const { buf, proc, fd } = setup(sim);
    await sim.exec("app", async () => {
      const a = fence(sim);
      const b = fence(sim);
      const arr = dmaFenceArrayCreate(sim, [a.get(), b.get()], dmaFenceContextAlloc(sim), 1, false)!;
      const sf = syncFileInstall(proc, arr);
      arr.put();
      await proc.ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { flags: DMA_BUF_SYNC_READ, fd: sf });
      expect(buf.resv.numFences).toBe(2);
      expect(buf.resv.testSignaled(DmaResvUsage.WRITE)).toBe(true);
      expect(buf.resv.testSignaled(DmaResvUsage.READ)).toBe(false);
      const c = fence(sim);
      const sf2 = syncFileInstall(proc, c);
      await proc.ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { flags: DMA_BUF_SYNC_WRITE, fd: sf2 });
      expect(buf.resv.testSignaled(DmaResvUsage.WRITE)).toBe(false);
      const before = buf.resv.numFences;
      await expect(
        proc.ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { flags: 0, fd: sf }),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
      await expect(proc.ioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, { flags: 1, fd })).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(buf.resv.numFences).toBe(before);
      for (const f of [a, b, c]) {
        f.signal();
        f.put();
      }
    });
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("poll", () => {
  it("EPOLLIN once writers are done, EPOLLOUT once readers are too; pollers wake from fence callbacks", async () => {
    const sim = new Simulator();
    const { buf, proc, fd } = setup(sim);
    const seen: string[] = [];
    await sim.exec("app", async () => {
      const w = await addFence(buf, DmaResvUsage.WRITE, sim);
      const r = await addFence(buf, DmaResvUsage.READ, sim);
      sim.schedule(msecs(2), () => w.signal());
      sim.schedule(msecs(5), () => r.signal());
      w.put();
      r.put();
      const pin = [{ fd, events: EPOLLIN }];
      expect(await proc.poll(pin, 0)).toBe(0);
      await proc.poll(pin);
      seen.push(`in at ${sim.now}`);
      const pout: PollFd[] = [{ fd, events: EPOLLOUT }];
      await proc.poll(pout);
      seen.push(`out at ${sim.now}`);
      expect(pout[0]!.revents).toBe(EPOLLOUT);
    });
    expect(seen).toEqual([`in at ${msecs(2)}`, `out at ${msecs(5)}`]);
    proc.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
