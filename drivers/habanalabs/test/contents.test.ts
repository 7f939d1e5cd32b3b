/**
 * Device memory contents on habanalabs: CS jobs fill and copy HBM through the device MMU (written
 * when the engine completes them, never by a hung job), and an export of that memory is what the
 * CPU maps (vmap, mmap of the dma-buf fd with DMA_BUF_IOCTL_SYNC) — until the device goes away.
 */
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  type DmaBuf,
} from "@drmsim/dma-buf";
import { isKernelError, PROT_READ, PROT_WRITE, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { cs, errno, rig } from "./hl-user.js";

const MiB = 1024 * 1024;

async function setupMem(app: Process, fd: number, size = 4 * MiB) {
  const va = await hlthunkDeviceMemoryMap(app, fd, await hlthunkDeviceMemoryAlloc(app, fd, size));
  const cb = await hlthunkRequestCommandBuffer(app, fd, 4096);
  return { va, cb };
}

describe("habanalabs: what jobs write", () => {
  it("a DMA job fills HBM at a device VA, another copies it; an export maps those bytes for the CPU", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { va, cb } = await setupMem(app, fd);
      const s1 = await cs(app, fd, [
        {
          queue_index: 0,
          cb_handle: cb,
          cb_size: 64,
          fill: { addr: va + 2 * MiB - 2, data: Uint8Array.of(1, 2, 3, 4) },
        },
      ]);
      await hlthunkWaitForCs(app, fd, s1, 1_000_000);
      const s2 = await cs(app, fd, [
        {
          queue_index: 0,
          cb_handle: cb,
          cb_size: 64,
          copy: { src_addr: va + 2 * MiB - 2, dst_addr: va + 3 * MiB, size: 4 },
        },
      ]);
      await hlthunkWaitForCs(app, fd, s2, 1_000_000);
      // Export the second half; offset 0 of the dma-buf is 2 MiB into the allocation.
      const bufFd = await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 2 * MiB, 2 * MiB);
      const buf = app.file(bufFd).priv as DmaBuf;
      const k = await buf.vmapUnlocked();
      expect(Array.from(k.read(0, 2))).toEqual([3, 4]);
      expect(Array.from(k.read(MiB, 4))).toEqual([1, 2, 3, 4]);
      await buf.vunmapUnlocked(k);
      const map = await app.mmap(bufFd, 0, 2 * MiB, PROT_READ | PROT_WRITE);
      await app.ioctl(bufFd, DMA_BUF_IOCTL_SYNC, {
        flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE,
      });
      expect(Array.from(map.read(MiB, 4))).toEqual([1, 2, 3, 4]);
      map.write(100, Uint8Array.of(9, 8));
      await app.ioctl(bufFd, DMA_BUF_IOCTL_SYNC, {
        flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE,
      });
      // The CPU's write is in HBM: a job copies it to the first half.
      const s3 = await cs(app, fd, [
        {
          queue_index: 0,
          cb_handle: cb,
          cb_size: 64,
          copy: { src_addr: va + 2 * MiB + 100, dst_addr: va, size: 2 },
        },
      ]);
      await hlthunkWaitForCs(app, fd, s3, 1_000_000);
      const head = await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 4096);
      const hmap = await app.mmap(head, 0, 4096, PROT_READ);
      expect(Array.from(hmap.read(0, 2))).toEqual([9, 8]);
      app.munmap(hmap);
      app.munmap(map);
      app.close(head);
      app.close(bufFd);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EINVAL for a range outside the device MMU's mappings (no sequence number spent); a hung job writes nothing", async () => {
    const { sim, host, dev, hdev } = rig({ csTimeoutNs: 1_000_000 } as never);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { va, cb } = await setupMem(app, fd, 2 * MiB);
      const job = { queue_index: 0, cb_handle: cb, cb_size: 64 };
      expect(
        await errno(cs(app, fd, [{ ...job, fill: { addr: va + 2 * MiB - 1, data: Uint8Array.of(1, 2) } }])),
      ).toBe("EINVAL");
      expect(await errno(cs(app, fd, [{ ...job, copy: { src_addr: 0x1234, dst_addr: va, size: 1 } }]))).toBe(
        "EINVAL",
      );
      expect(
        await errno(cs(app, fd, [{ ...job, fill: { addr: va, data: [256] as unknown as Uint8Array } }])),
      ).toBe("EINVAL");
      const ok = await cs(app, fd, [job]);
      expect(ok).toBe(1);
      const hung = await cs(app, fd, [{ ...job, hang: true, fill: { addr: va, data: Uint8Array.of(7) } }]);
      const r = await hlthunkWaitForCs(app, fd, hung, 100_000_000).catch((e) =>
        isKernelError(e) ? e.code : e,
      );
      expect(r).toBe("ETIMEDOUT");
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      const bufFd = await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 4096);
      const map = await app.mmap(bufFd, 0, 4096, PROT_READ);
      expect(Array.from(map.read(0, 1))).toEqual([0]);
      app.munmap(map);
      app.close(bufFd);
      expect(hdev.hardResetCnt).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("once the device is removed, a mapping of its export faults and the fd can no longer be mapped", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const keeper = new Process(sim, "keeper");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { va } = await setupMem(app, fd, 2 * MiB);
      const bufFd = await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 4096);
      const theirs = app.sendFd(keeper, bufFd);
      const map = await keeper.run(() => keeper.mmap(theirs, 0, 4096, PROT_READ)).result;
      app.exit(); // the user's context goes; the dma-buf lives on in keeper
      host.remove(dev);
      await keeper.run(async () => {
        expect(await errno(Promise.resolve().then(() => map.read(0, 1)))).toBe("EFAULT");
        expect(await errno(keeper.mmap(theirs, 0, 4096, PROT_READ))).toBe("ENODEV");
        keeper.munmap(map);
      }).result;
    });
    keeper.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});
