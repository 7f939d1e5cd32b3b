import { Device, type DmaBuf, DmaDataDirection, dmaBufGet, PciHostBridge } from "@drmsim/dma-buf";
import { DrmPluginHost } from "@drmsim/drm";
import { File, listCharDevices, msecs, Process, Simulator, secs, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  HL_CB_OP_INFO,
  HL_CS_FLAGS_COLLECTIVE_WAIT,
  HL_CS_FLAGS_CUSTOM_TIMEOUT,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT,
  HL_CS_FLAGS_WAIT,
  HL_DEVICE_STATUS_IN_RESET,
  HL_DEVICE_STATUS_OPERATIONAL,
  HL_INFO_CS_COUNTERS,
  HL_INFO_DEVICE_STATUS,
  HL_INFO_DRAM_USAGE,
  HL_INFO_RESET_COUNT,
  HL_MEM_CONTIGUOUS,
  HL_MEM_FORCE_HINT,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_EXPORT_DMABUF_FD,
  HL_MEM_OP_FREE,
  HL_MEM_OP_MAP,
  HL_MEM_OP_UNMAP,
  HL_WAIT_CS_STATUS_BUSY,
  HL_WAIT_CS_STATUS_COMPLETED,
  HL_WAIT_CS_STATUS_FLAG_GONE,
  HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD,
  type HlCsArgs,
  type HlCsChunk,
  type HlDeviceOptions,
  type HlMemArgs,
  habanalabsProbe,
  hl_info_cs_counters,
  hl_info_device_status,
  hl_info_dram_usage,
  hl_info_reset_count,
  hlDeviceOf,
} from "../src/index.js";
import {
  hlthunkCbIoctl,
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryFree,
  hlthunkDeviceMemoryMap,
  hlthunkGetInfo,
  hlthunkMemoryIoctl,
  hlthunkMemoryUnmap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { cs, errno, sleep } from "./hl-user.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A switch with the accelerator and a NIC below it, and a GPU under another root complex. */
function topology() {
  const hb = new PciHostBridge("pci0000:00");
  const [d0, d1] = hb.addRootPort("00:01.0").addSwitch("sw", 2);
  const far = new PciHostBridge("pci0000:80").addRootPort("80:01.0");
  return {
    gaudi: d0!.addEndpoint("0000:03:00.0"),
    nic: d1!.addEndpoint("0000:04:00.0"),
    far: far.addEndpoint("0000:81:00.0"),
  };
}

function setup(opts: HlDeviceOptions = {}, sim = new Simulator()) {
  const pci = topology();
  const host = new DrmPluginHost(sim);
  const dev = habanalabsProbe(host, { pci: pci.gaudi, ...opts });
  return { sim, host, dev, hdev: hlDeviceOf(dev), pci };
}

describe("habanalabs: device and command submission (from userspace)", () => {
  it("is an accel device: /dev/accel/accel0 only, no card or render node", () => {
    const { sim, host, dev } = setup();
    expect(dev.minors.map((m) => m.path)).toEqual(["/dev/accel/accel0"]);
    expect(listCharDevices(sim, "/dev/dri/")).toEqual([]);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("WAIT_CS: busy with timeout 0, busy when its own timeout expires, completed with a timestamp, EINVAL for a future sequence", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 1, cb_handle: cb, cb_size: 64, exec_ns: 1_000_000 }]);
      expect((await hlthunkWaitForCs(app, fd, seq, 0)).status).toBe(HL_WAIT_CS_STATUS_BUSY);
      const t0 = sim.now;
      const w = await hlthunkWaitForCs(app, fd, seq, 100);
      expect(w.status).toBe(HL_WAIT_CS_STATUS_BUSY);
      expect(sim.now - t0).toBe(usecs(100));
      const done = await hlthunkWaitForCs(app, fd, seq, 10_000_000);
      expect(done).toMatchObject({
        status: HL_WAIT_CS_STATUS_COMPLETED,
        flags: HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD,
      });
      expect(done.timestamp_nsec).toBe(1_000_000);
      expect(sim.now).toBe(1_000_000);
      expect(await errno(hlthunkWaitForCs(app, fd, seq + 1, 0))).toBe("EINVAL");
      expect(await errno(hlthunkWaitForCs(app, fd, 0, 0))).toBe("EINVAL");
      expect(await errno(hlthunkWaitForCs(app, fd, seq, 0, 4))).toBe("EOPNOTSUPP"); // HL_WAIT_CS_FLAGS_MULTI_CS
      expect(
        await errno(app.ioctl(fd, DRM_IOCTL_HL_WAIT_CS, { in: { seq, timeout_us: 0, ctx_id: 1 } })),
      ).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the CS completes when its external jobs retire; internal jobs do not gate it; internal-only CSs are EINVAL", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const va = await hlthunkDeviceMemoryMap(app, fd, await hlthunkDeviceMemoryAlloc(app, fd, 4096));
      const seq = await cs(app, fd, [
        { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 10_000 },
        { queue_index: 9, cb_handle: va, cb_size: 64, exec_ns: 500_000 },
      ]);
      const w = await hlthunkWaitForCs(app, fd, seq, 1_000_000);
      expect(w.timestamp_nsec).toBe(10_000);
      expect(hdev.queues[9]!.engine!.busy).toBe(1); // TPC_2 still running
      expect(hdev.queues[0]!.cq!.pi).toBe(1);
      expect(await errno(cs(app, fd, [{ queue_index: 9, cb_handle: va, cb_size: 64 }]))).toBe("EINVAL");
      expect(hdev.csCounters.validationDropCnt).toBe(1);
      expect(await errno(cs(app, fd, [{ queue_index: 9, cb_handle: va + 2 * MiB, cb_size: 64 }]))).toBe(
        "EINVAL",
      );
      await sleep(sim, msecs(1));
      expect(hdev.queues[9]!.engine!.busy).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("HL_CS validates like the kernel and a refused CS consumes no sequence number", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const ok: HlCsChunk = { queue_index: 0, cb_handle: cb, cb_size: 64 };
      const bad: [HlCsChunk[], NonNullable<HlCsArgs["in"]>, string][] = [
        [[], {}, "EINVAL"],
        // copy_from_user of 2 chunks from a 1-chunk array faults.
        [[ok], { num_chunks_execute: 2 }, "EFAULT"],
        [[ok], { chunks_execute: null }, "EFAULT"],
        [[ok], { cs_flags: 0x10 }, "EINVAL"],
        [[ok], { cs_flags: 0x100000 }, "EINVAL"],
        [[ok], { cs_flags: HL_CS_FLAGS_COLLECTIVE_WAIT }, "EOPNOTSUPP"],
        [[ok], { cs_flags: HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT }, "EINVAL"], // one CS type at most
        [[ok], { pad: [0, 1] }, "EINVAL"],
        [[ok], { ctx_id: 3 }, "EINVAL"],
        [[ok], { num_chunks_restore: 1 }, "EOPNOTSUPP"],
        [[ok], { cs_flags: HL_CS_FLAGS_CUSTOM_TIMEOUT, timeout: 0 }, "EINVAL"],
        [[{ ...ok, queue_index: 99 }], {}, "EINVAL"],
        [[{ ...ok, queue_index: 4 }], {}, "EINVAL"], // the CPU queue is driver-only
        [[{ ...ok, cb_handle: 77 }], {}, "EINVAL"],
        [[{ ...ok, cb_size: 8192 }], {}, "EINVAL"],
        [[{ ...ok, cs_chunk_flags: 1 }], {}, "EINVAL"],
        [[{ ...ok, collective_engine_id: 2 }], {}, "EINVAL"],
        [[{ ...ok, pad: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1] }], {}, "EINVAL"],
        [Array.from({ length: 513 }, () => ok), {}, "EINVAL"],
      ];
      for (const [chunks, extra, want] of bad)
        expect(await errno(cs(app, fd, chunks, extra)), JSON.stringify(extra)).toBe(want);
      expect(hdev.queues.every((q) => q.inflight === 0 && (q.engine?.stats.submitted ?? 0) === 0)).toBe(true);
      expect(await cs(app, fd, [ok])).toBe(1);
      await hlthunkWaitForCs(app, fd, 1, 1_000_000);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("bounded ring: a CS landing on an unfinished slot gets EAGAIN; finished slots are reused and old CSs are 'gone'", async () => {
    const { sim, host, dev, hdev } = setup({ maxPendingCs: 4 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const job = { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 10_000 };
      // Sequences 1..3 take slots 1..3; sequence 4 takes slot 0. All pending.
      for (let i = 1; i <= 4; i++) expect(await cs(app, fd, [job])).toBe(i);
      // Sequence 5 would land on slot 1, still held by the unfinished CS 1.
      expect(await errno(cs(app, fd, [job]))).toBe("EAGAIN");
      expect(hdev.csCounters.maxCsInFlightDropCnt).toBe(1);
      await hlthunkWaitForCs(app, fd, 1, 1_000_000);
      expect(await cs(app, fd, [job])).toBe(5); // slot 1 is free again
      await hlthunkWaitForCs(app, fd, 5, 1_000_000);
      const gone = await hlthunkWaitForCs(app, fd, 1, 0);
      expect(gone).toMatchObject({ status: HL_WAIT_CS_STATUS_COMPLETED, flags: HL_WAIT_CS_STATUS_FLAG_GONE });
      const c = await hlthunkGetInfo(app, fd, HL_INFO_CS_COUNTERS, hl_info_cs_counters);
      expect(c.total_max_cs_in_flight_drop_cnt).toBe(1);
      expect(c.ctx_max_cs_in_flight_drop_cnt).toBe(1);
      // The next user's context has counters of its own; the device's are everyone's. One user
      // at a time (hl_device_open): the first context goes when its fd closes and its CSs are done.
      app.close(fd);
      await sleep(sim, msecs(1));
      const fd2 = await app.open("/dev/accel/accel0");
      const c2 = await hlthunkGetInfo(app, fd2, HL_INFO_CS_COUNTERS, hl_info_cs_counters);
      expect([c2.total_max_cs_in_flight_drop_cnt, c2.ctx_max_cs_in_flight_drop_cnt]).toEqual([1, 0]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a full hardware queue: EAGAIN, and the sequence it took ends with -EBUSY (not submitted), reported as completed", async () => {
    const { sim, host, dev, hdev } = setup({ queueLength: 2 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const job = { queue_index: 2, cb_handle: cb, cb_size: 64, exec_ns: 10_000 };
      await cs(app, fd, [job, job]);
      expect(await errno(cs(app, fd, [job]))).toBe("EAGAIN");
      expect(hdev.csCounters.queueFullDropCnt).toBe(1);
      const ctx = [...hdev.contexts][0]!;
      expect(ctx.csPending[2]!.error).toBe(-16);
      expect((await hlthunkWaitForCs(app, fd, 2, 0)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      expect(hdev.queues[2]!.engine!.stats.submitted).toBe(2);
      await hlthunkWaitForCs(app, fd, 1, 1_000_000);
      expect(await cs(app, fd, [job])).toBe(3);
      await hlthunkWaitForCs(app, fd, 3, 1_000_000);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("command buffers: destroy while in use keeps the CB until its job retires; INFO counts users", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd, 100);
      expect(await errno(hlthunkRequestCommandBuffer(app, fd, 0))).toBe("EINVAL");
      expect(await errno(hlthunkRequestCommandBuffer(app, fd, 0x200000))).toBe("EINVAL");
      expect(await errno(hlthunkCbIoctl(app, fd, { op: HL_CB_OP_CREATE, cb_size: 64, flags: 1 }))).toBe(
        "EINVAL",
      );
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 4096 }]);
      expect((await hlthunkCbIoctl(app, fd, { op: HL_CB_OP_INFO, cb_handle: cb })).out?.usage_cnt).toBe(1);
      await hlthunkCbIoctl(app, fd, { op: HL_CB_OP_DESTROY, cb_handle: cb });
      expect(await errno(hlthunkCbIoctl(app, fd, { op: HL_CB_OP_DESTROY, cb_handle: cb }))).toBe("EINVAL");
      expect(await errno(cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]))).toBe("EINVAL");
      expect((await hlthunkWaitForCs(app, fd, seq, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      expect(await errno(hlthunkCbIoctl(app, fd, { op: HL_CB_OP_INFO, cb_handle: cb }))).toBe("EINVAL");
      expect(await errno(hlthunkCbIoctl(app, fd, { op: 9 }))).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("INFO: EINVAL without a buffer or for an unknown op, EINVAL for a non-zero pad; a short buffer gets the first bytes", async () => {
    const { sim, host, dev } = setup({ dramSize: 64 * MiB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB);
      const call = (a: object) => errno(app.ioctl(fd, DRM_IOCTL_HL_INFO, a));
      expect(await call({ op: HL_INFO_DRAM_USAGE, return_size: 16 })).toBe("EINVAL"); // no return_pointer
      expect(await call({ op: HL_INFO_DRAM_USAGE, return_pointer: {} })).toBe("EINVAL"); // return_size 0
      expect(await call({ op: 99, return_pointer: {}, return_size: 16 })).toBe("EINVAL");
      expect(await call({ op: HL_INFO_DRAM_USAGE, return_pointer: {}, return_size: 16, pad: 1 })).toBe(
        "EINVAL",
      );
      // return_size 8: only dram_free_mem (a __u64) is copied.
      const bytes = new Uint8Array(16).fill(0xee);
      await app.ioctl(fd, DRM_IOCTL_HL_INFO, {
        op: HL_INFO_DRAM_USAGE,
        return_pointer: bytes,
        return_size: 8,
      });
      expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(BigInt(62 * MiB));
      expect([...bytes.subarray(8)]).toEqual(Array(8).fill(0xee));
      const u = await hlthunkGetInfo(app, fd, HL_INFO_DRAM_USAGE, hl_info_dram_usage);
      expect(u).toEqual({ dram_free_mem: 62 * MiB, ctx_dram_mem: 2 * MiB });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("habanalabs: CS timeout and hard reset", () => {
  it("a hung job times out: ETIMEDOUT for it, EIO for the other in-flight CSs, EBUSY during the reset, work again after", async () => {
    const { sim, host, dev, hdev } = setup({ csTimeoutNs: msecs(5), resetDurationNs: msecs(1) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const hung = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, hang: true }]);
      const other = await cs(app, fd, [{ queue_index: 1, cb_handle: cb, cb_size: 64, exec_ns: secs(1) }]);
      const queued = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      expect(await errno(hlthunkWaitForCs(app, fd, hung, 1_000_000))).toBe("ETIMEDOUT");
      expect(sim.now).toBe(msecs(5));
      expect(await errno(hlthunkWaitForCs(app, fd, other, 0))).toBe("EIO");
      expect(await errno(hlthunkWaitForCs(app, fd, queued, 0))).toBe("EIO");
      expect(hdev.inReset).toBe(true);
      // INFO answers its queries during the reset (the device status says so); other ops are EBUSY.
      expect(await hlthunkGetInfo(app, fd, HL_INFO_DEVICE_STATUS, hl_info_device_status)).toEqual({
        status: HL_DEVICE_STATUS_IN_RESET,
        pad: 0,
      });
      expect(await errno(hlthunkGetInfo(app, fd, 99, hl_info_device_status))).toBe("EBUSY");
      expect(await errno(cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]))).toBe("EBUSY");
      expect(await errno(hlthunkDeviceMemoryAlloc(app, fd, 4096))).toBe("EBUSY");
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      const rc = await hlthunkGetInfo(app, fd, HL_INFO_RESET_COUNT, hl_info_reset_count);
      expect(rc.hard_reset_cnt).toBe(1);
      expect(hdev.lastCsTimeout).toEqual({ timestamp: msecs(5), seq: hung });
      expect((await hlthunkGetInfo(app, fd, HL_INFO_DEVICE_STATUS, hl_info_device_status)).status).toBe(
        HL_DEVICE_STATUS_OPERATIONAL,
      );
      const again = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      expect((await hlthunkWaitForCs(app, fd, again, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("removing the device with a CS hung on its engine rolls it back: its fence ends with EIO, nothing leaks", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    const fence = await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, hang: true }]);
      await sleep(sim, msecs(1));
      return hdev.csMirrorList.find((c) => c.sequence === seq)!.fence.get();
    });
    expect(fence.done).toBe(false);
    app.exit(); // the hung CS keeps the context alive
    host.remove(dev);
    expect(fence.done).toBe(true);
    expect(fence.error).toBe(-5);
    expect(hdev.csMirrorList).toEqual([]);
    fence.put();
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the timeout is armed for the oldest CS only, and re-armed with a full period for the next", async () => {
    const { sim, host, dev, hdev } = setup({ csTimeoutNs: msecs(10) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      // 8 ms each on one queue: 4 CSs take 32 ms, but none runs 10 ms past the previous one's end.
      const seqs: number[] = [];
      for (let i = 0; i < 4; i++)
        seqs.push(await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: msecs(8) }]));
      for (const s of seqs)
        expect((await hlthunkWaitForCs(app, fd, s, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      expect(sim.now).toBe(msecs(32));
      expect(hdev.hardResetCnt).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("custom timeout and SKIP_RESET_ON_TIMEOUT: the CS carries ETIMEDOUT once it ends, without a reset", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: secs(3) }], {
        cs_flags: HL_CS_FLAGS_CUSTOM_TIMEOUT | HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT,
        timeout: 2,
      });
      await sleep(sim, secs(2) + 1);
      expect(hdev.lastCsTimeout?.seq).toBe(seq);
      expect((await hlthunkWaitForCs(app, fd, seq, 0)).status).toBe(HL_WAIT_CS_STATUS_BUSY);
      expect(await errno(hlthunkWaitForCs(app, fd, seq, 10_000_000))).toBe("ETIMEDOUT");
      expect(sim.now).toBe(secs(3));
      expect(hdev.hardResetCnt).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("habanalabs: device memory and the device MMU", () => {
  it("alloc / map / unmap / free with the kernel's checks; nothing changes on failure", async () => {
    const { sim, host, dev, hdev } = setup({ dramSize: 64 * MiB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const handle = await hlthunkDeviceMemoryAlloc(app, fd, 3 * MiB);
      expect(hdev.dram.freeBytes).toBe(60 * MiB); // two 2 MiB pages
      const cases: [NonNullable<HlMemArgs["in"]>, string][] = [
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 0 } }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 4096 }, flags: 0x4 }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 4096, page_size: 4096 } }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 128 * MiB } }, "ENOMEM"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 2n ** 60n } }, "ENOMEM"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 4096 }, ctx_id: 1 }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, alloc: { mem_size: 4096 }, num_of_elements: 1 }, "EINVAL"],
        [{ op: HL_MEM_OP_FREE, free: { handle: 99 } }, "EINVAL"],
        [{ op: HL_MEM_OP_FREE, free: { handle }, flags: 1 }, "EINVAL"],
        [{ op: HL_MEM_OP_MAP, map_device: { handle: 99 } }, "EINVAL"],
        [{ op: HL_MEM_OP_MAP, map_device: { handle }, flags: 0x4 }, "EOPNOTSUPP"],
        [{ op: HL_MEM_OP_MAP, map_device: { handle }, flags: 0x100 }, "EINVAL"],
        [
          { op: HL_MEM_OP_MAP, map_device: { handle, hint_addr: 0x1234 }, flags: HL_MEM_FORCE_HINT },
          "EINVAL",
        ],
        [{ op: HL_MEM_OP_UNMAP, unmap: { device_virt_addr: 0x1000 } }, "EINVAL"],
        [{ op: 42 }, "EINVAL"],
      ];
      for (const [input, want] of cases)
        expect(
          await errno(hlthunkMemoryIoctl(app, fd, input)),
          JSON.stringify(input, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
        ).toBe(want);
      expect(hdev.dram.freeBytes).toBe(60 * MiB);
      const va = await hlthunkDeviceMemoryMap(app, fd, handle);
      const ctx = [...hdev.contexts][0]!;
      expect(ctx.mmu.translate(va + 2 * MiB + 5)).toBe(hdev.dram.base + 2 * MiB + 5);
      const hint = va + 16 * MiB;
      const va2 = await hlthunkDeviceMemoryMap(app, fd, handle, hint, HL_MEM_FORCE_HINT);
      expect(va2).toBe(hint);
      expect(await errno(hlthunkDeviceMemoryFree(app, fd, handle))).toBe("EINVAL"); // mapped
      await hlthunkMemoryUnmap(app, fd, va);
      await hlthunkMemoryUnmap(app, fd, va2);
      expect(ctx.mmu.translate(va)).toBeUndefined();
      await hlthunkDeviceMemoryFree(app, fd, handle);
      expect(hdev.dram.freeBytes).toBe(64 * MiB);
      expect(await hlthunkGetInfo(app, fd, HL_INFO_DRAM_USAGE, hl_info_dram_usage)).toEqual({
        dram_free_mem: 64 * MiB,
        ctx_dram_mem: 0,
      });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("closing the file frees the context's memory and mappings", async () => {
    const { sim, host, dev, hdev } = setup({ dramSize: 64 * MiB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      await hlthunkDeviceMemoryMap(app, fd, await hlthunkDeviceMemoryAlloc(app, fd, 8 * MiB));
      expect(hdev.dram.freeBytes).toBe(56 * MiB);
      app.close(fd);
    });
    expect(hdev.dram.freeBytes).toBe(64 * MiB);
    expect(hdev.contexts.size).toBe(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("habanalabs: peer-to-peer dma-buf export of device memory", () => {
  async function exportSetup(opts: HlDeviceOptions = {}) {
    const s = setup({ dramSize: 2 * GiB, ...opts });
    return s;
  }

  /** Allocates and maps `size` bytes and exports all of it: the dma-buf fd, the handle and its VA. */
  async function allocExport(app: Process, fd: number, size: number) {
    const handle = await hlthunkDeviceMemoryAlloc(app, fd, size);
    const va = await hlthunkDeviceMemoryMap(app, fd, handle);
    return { dfd: await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, size), handle, va };
  }

  it("scatter list: contiguous pages merge, chunks capped by the importer's max segment size (page-rounded) and 512 MiB", async () => {
    const { sim, host, dev, hdev, pci } = await exportSetup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      // Fragment: A (2 MiB), B (4 MiB), C (2 MiB); free B; a 1 GiB allocation takes B's hole then pages after C.
      await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB);
      const b = await hlthunkDeviceMemoryAlloc(app, fd, 4 * MiB);
      await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB);
      await hlthunkDeviceMemoryFree(app, fd, b);
      const { dfd } = await allocExport(app, fd, GiB);
      const buf = dmaBufGet(app, dfd);
      expect(buf.size).toBe(GiB);
      const nicDev = new Device(sim, { name: "mlx5_0", pci: pci.nic, maxSegmentSize: 3 * MiB + 100 });
      const att = buf.dynamicAttach(nicDev, { allowPeer2peer: true, invalidateMappings: () => {} }, null);
      const sgt = await att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
      const bar = hdev.dramBarBase;
      expect(sgt.ranges()).toEqual([
        { dmaAddress: bar + 2 * MiB, length: 4 * MiB },
        { dmaAddress: bar + 8 * MiB, length: GiB - 4 * MiB },
      ]);
      expect(sgt.segmentSize).toBe(3 * MiB); // 3 MiB + 100 rounded down to a page
      expect(sgt.nents).toBe(2 + Math.ceil((GiB - 4 * MiB) / (3 * MiB)));
      await att.unmapUnlocked(sgt, DmaDataDirection.BIDIRECTIONAL);
      buf.detach(att);
      // An importer with no segment limit: chunks stop at 512 MiB.
      const big2 = new Device(sim, { name: "peer", pci: pci.nic, maxSegmentSize: 4 * GiB });
      const att2 = buf.dynamicAttach(big2, { allowPeer2peer: true }, null);
      const sgt2 = await att2.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
      expect(sgt2.toArray().map((s) => s.length)).toEqual([4 * MiB, 512 * MiB, 512 * MiB - 4 * MiB]);
      await att2.unmapUnlocked(sgt2, DmaDataDirection.BIDIRECTIONAL);
      buf.detach(att2);
      // Below a page: EINVAL.
      const tiny = new Device(sim, { name: "tiny", pci: pci.nic, maxSegmentSize: 2048 });
      const att3 = buf.dynamicAttach(tiny, { allowPeer2peer: true }, null);
      await expect(att3.mapUnlocked(DmaDataDirection.BIDIRECTIONAL)).rejects.toMatchObject({
        code: "EINVAL",
      });
      buf.detach(att3);
      // The device's exports carry its hook-routed dma_buf_ops; mmap and vmap are not among them.
      expect(dev.ownsDmaBuf(buf)).toBe(true);
      buf.put();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("export with a full fd table is EMFILE and undoes the export (no dma-buf, allocation freeable)", async () => {
    const { sim, host, dev, hdev } = await exportSetup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const handle = await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB);
      const va = await hlthunkDeviceMemoryMap(app, fd, handle);
      // Fill every free fd with one dummy file.
      const filler = new File(sim, { kind: "filler" }, null);
      for (;;) {
        try {
          app.installFile(filler.get());
        } catch (e) {
          filler.put();
          expect(e).toMatchObject({ code: "EMFILE" });
          break;
        }
      }
      expect(await errno(hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 2 * MiB))).toBe("EMFILE");
      // dma_buf_fd failed, so the export's dma_buf_put released it: nothing stays exported.
      expect(hdev.exported.size).toBe(0);
      await hlthunkMemoryUnmap(app, fd, va);
      await hlthunkDeviceMemoryFree(app, fd, handle);
      filler.put();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("p2p only: an importer that does not allow p2p, or sits under another root complex, gets EPERM on map", async () => {
    const { sim, host, dev, pci } = await exportSetup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { dfd } = await allocExport(app, fd, 2 * MiB);
      const buf = dmaBufGet(app, dfd);
      const cases: [Device, boolean][] = [
        [new Device(sim, { name: "nic-static", pci: pci.nic }), false],
        [new Device(sim, { name: "far-gpu", pci: pci.far }), true],
        [new Device(sim, { name: "platform", pci: null }), true],
      ];
      for (const [d, p2p] of cases) {
        const att = p2p ? buf.dynamicAttach(d, { allowPeer2peer: true }, null) : buf.attach(d);
        expect(att.peer2peer).toBe(false);
        await expect(att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL)).rejects.toMatchObject({
          code: "EPERM",
        });
        buf.detach(att);
      }
      buf.put();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("export by address: a page range of a mapping; argument checks", async () => {
    const { sim, host, dev, hdev, pci } = await exportSetup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const va = await hlthunkDeviceMemoryMap(
        app,
        fd,
        await hlthunkDeviceMemoryAlloc(app, fd, 4 * MiB, HL_MEM_CONTIGUOUS),
      );
      for (const [addr, mem_size, offset, flags] of [
        [0, 4096, 0, 0], // no mapping starts there
        [va + 4096, 4096, 0, 0], // not the start of a mapping
        [va, 4096, 100, 0], // offset not page aligned
        [va, 100, 0, 0], // size not page aligned
        [va, 8 * MiB, 0, 0], // past the mapping
        [va, 2 * MiB, 3 * MiB, 0], // past the mapping
        [va, 0, 0, 0], // empty
        [va, 4096, 0, 0x40], // not a file flag
      ])
        expect(
          await errno(hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, addr!, mem_size!, offset, flags)),
          `${[addr, mem_size, offset, flags]}`,
        ).toBe("EINVAL");
      expect(
        await errno(
          hlthunkMemoryIoctl(app, fd, {
            op: HL_MEM_OP_EXPORT_DMABUF_FD,
            export_dmabuf_fd: { addr: va, mem_size: 2n ** 64n - 1n },
          }),
        ),
      ).toBe("EINVAL");
      expect(hdev.exported.size).toBe(0);
      const buf = dmaBufGet(app, await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, MiB, MiB));
      const att = buf.dynamicAttach(
        new Device(sim, { name: "nic", pci: pci.nic, maxSegmentSize: GiB }),
        { allowPeer2peer: true },
        null,
      );
      const sgt = await att.mapUnlocked(DmaDataDirection.TO_DEVICE);
      expect(sgt.toArray()).toEqual([{ dmaAddress: hdev.dramBarBase + MiB, length: MiB }]);
      await att.unmapUnlocked(sgt, DmaDataDirection.TO_DEVICE);
      buf.detach(att);
      buf.put();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("exported memory is pinned: FREE is EBUSY until the last dma-buf reference goes, even after the exporter closed its fd", async () => {
    const { sim, host, dev, hdev } = await exportSetup();
    const app = new Process(sim, "app");
    const importer = new Process(sim, "importer");
    let buf!: DmaBuf;
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { dfd, handle, va } = await allocExport(app, fd, 2 * MiB);
      await hlthunkMemoryUnmap(app, fd, va);
      expect(await errno(hlthunkDeviceMemoryFree(app, fd, handle))).toBe("EBUSY");
      const passed = app.sendFd(importer, dfd);
      app.close(dfd);
      expect(await errno(hlthunkDeviceMemoryFree(app, fd, handle))).toBe("EBUSY");
      app.close(fd);
      buf = importer.file(passed).priv as DmaBuf;
      // The file is gone, but the context (and its memory) lives on for the importer.
      expect(hdev.contexts.size).toBe(1);
      expect(hdev.dram.freeBytes).toBe(2 * GiB - 2 * MiB);
      importer.close(passed);
    });
    expect(buf.isReleased).toBe(true);
    expect(hdev.contexts.size).toBe(0);
    expect(hdev.dram.freeBytes).toBe(2 * GiB);
    app.exit();
    importer.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a hard reset invalidates importers' mappings; the dma-buf stays valid and can be mapped again", async () => {
    const { sim, host, dev, hdev, pci } = await exportSetup({
      csTimeoutNs: msecs(1),
      resetDurationNs: msecs(1),
    });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { dfd } = await allocExport(app, fd, 2 * MiB);
      const buf = dmaBufGet(app, dfd);
      const invalidated: string[] = [];
      const nic = new Device(sim, { name: "nic", pci: pci.nic });
      const att = buf.dynamicAttach(
        nic,
        {
          allowPeer2peer: true,
          invalidateMappings: (a) => {
            invalidated.push(a.dev.name);
            expect(buf.resv.isLocked).toBe(true);
          },
        },
        null,
      );
      const sgt = await att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, hang: true }]);
      expect(await errno(hlthunkWaitForCs(app, fd, seq, 10_000))).toBe("ETIMEDOUT");
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      expect(invalidated).toEqual(["nic"]);
      expect(buf.isReleased).toBe(false);
      await att.unmapUnlocked(sgt, DmaDataDirection.BIDIRECTIONAL);
      const again = await att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL);
      expect(again.totalLength).toBe(2 * MiB);
      await att.unmapUnlocked(again, DmaDataDirection.BIDIRECTIONAL);
      buf.detach(att);
      buf.put();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
