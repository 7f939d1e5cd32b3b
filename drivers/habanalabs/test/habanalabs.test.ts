import { Device, type DmaBuf, DmaDataDirection, dmaBufGet, PciHostBridge } from "@drmsim/dma-buf";
import { DrmPluginHost } from "@drmsim/drm";
import {
  File,
  type KernelError,
  listCharDevices,
  msecs,
  Process,
  Simulator,
  secs,
  usecs,
  WaitQueue,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_HL_CB,
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_INFO,
  DRM_IOCTL_HL_MEMORY,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CB_OP_CREATE,
  HL_CB_OP_DESTROY,
  HL_CB_OP_INFO,
  HL_CS_FLAGS_COLLECTIVE_WAIT,
  HL_CS_FLAGS_CUSTOM_TIMEOUT,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT,
  HL_CS_FLAGS_WAIT,
  HL_INFO_CS_COUNTERS,
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
  type HlCsChunk,
  type HlDeviceOptions,
  habanalabsProbe,
  hlDeviceOf,
} from "../src/index.js";

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
  return { sim, host, dev, hdev: hlDeviceOf(host, dev), pci };
}

async function createCb(p: Process, fd: number, size = 4096): Promise<number> {
  return (await p.ioctl<{ cb_handle: number }>(fd, DRM_IOCTL_HL_CB, { op: HL_CB_OP_CREATE, cb_size: size }))
    .cb_handle;
}
async function cs(
  p: Process,
  fd: number,
  chunks: HlCsChunk[],
  extra: Record<string, unknown> = {},
): Promise<number> {
  const out = await p.ioctl<{ seq: number }>(fd, DRM_IOCTL_HL_CS, {
    chunks_execute: chunks,
    num_chunks_execute: chunks.length,
    ...extra,
  });
  return out.seq;
}
async function waitCs(p: Process, fd: number, seq: number, timeout_us: number) {
  return p.ioctl<{ status: number; flags: number; timestamp_nsec?: number }>(fd, DRM_IOCTL_HL_WAIT_CS, {
    seq,
    timeout_us,
  });
}
async function mem<T = Record<string, number>>(
  p: Process,
  fd: number,
  args: Record<string, unknown>,
): Promise<T> {
  return p.ioctl<T & object>(fd, DRM_IOCTL_HL_MEMORY, args) as Promise<T>;
}
/** msleep() in a simulated task. */
const sleep = (sim: Simulator, ns: number) =>
  new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
const code = (e: unknown) => (e as KernelError).code;

describe("habanalabs: device and command submission (from userspace)", () => {
  it("README example: a CS on an external DMA queue and a TPC, waited for by sequence number", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = habanalabsProbe(host);
    const app = new Process(sim, "app");
    const result = await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const { cb_handle } = await app.ioctl<{ cb_handle: number }>(fd, DRM_IOCTL_HL_CB, {
        op: HL_CB_OP_CREATE,
        cb_size: 4096,
      });
      // The TPC fetches its command buffer from device memory: allocate and map some.
      const { handle } = await app.ioctl<{ handle: number }>(fd, DRM_IOCTL_HL_MEMORY, {
        op: HL_MEM_OP_ALLOC,
        mem_size: 2 * 1024 * 1024,
      });
      const { device_virt_addr } = await app.ioctl<{ device_virt_addr: number }>(fd, DRM_IOCTL_HL_MEMORY, {
        op: HL_MEM_OP_MAP,
        handle,
      });
      const { seq } = await app.ioctl<{ seq: number }>(fd, DRM_IOCTL_HL_CS, {
        chunks_execute: [
          { queue_index: 0, cb_handle, cb_size: 256, exec_ns: 50_000 }, // DMA_0_0, external
          { queue_index: 7, cb_handle: device_virt_addr, cb_size: 256, exec_ns: 20_000 }, // TPC_0
        ],
        num_chunks_execute: 2,
      });
      const busy = await app.ioctl<{ status: number }>(fd, DRM_IOCTL_HL_WAIT_CS, { seq, timeout_us: 0 });
      const done = await app.ioctl<{ status: number; timestamp_nsec: number }>(fd, DRM_IOCTL_HL_WAIT_CS, {
        seq,
        timeout_us: 1_000_000,
      });
      return { seq, busy: busy.status, done: done.status, at: done.timestamp_nsec };
    });
    console.log(result); // { seq: 1, busy: 1, done: 0, at: 50000 }
    expect(result).toEqual({
      seq: 1,
      busy: HL_WAIT_CS_STATUS_BUSY,
      done: HL_WAIT_CS_STATUS_COMPLETED,
      at: 50_000,
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

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
      const cb = await createCb(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 1, cb_handle: cb, cb_size: 64, exec_ns: 1_000_000 }]);
      expect((await waitCs(app, fd, seq, 0)).status).toBe(HL_WAIT_CS_STATUS_BUSY);
      const t0 = sim.now;
      const w = await waitCs(app, fd, seq, 100);
      expect(w.status).toBe(HL_WAIT_CS_STATUS_BUSY);
      expect(sim.now - t0).toBe(usecs(100));
      const done = await waitCs(app, fd, seq, 10_000_000);
      expect(done).toMatchObject({
        status: HL_WAIT_CS_STATUS_COMPLETED,
        flags: HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD,
      });
      expect(done.timestamp_nsec).toBe(1_000_000);
      expect(sim.now).toBe(1_000_000);
      await expect(waitCs(app, fd, seq + 1, 0)).rejects.toMatchObject({ code: "EINVAL" });
      await expect(waitCs(app, fd, 0, 0)).rejects.toMatchObject({ code: "EINVAL" });
      await expect(
        app.ioctl(fd, DRM_IOCTL_HL_WAIT_CS, { seq, timeout_us: 0, flags: 4 }),
      ).rejects.toMatchObject({
        code: "EOPNOTSUPP",
      });
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
      const cb = await createCb(app, fd);
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 4096 });
      const { device_virt_addr: va } = await mem(app, fd, { op: HL_MEM_OP_MAP, handle });
      const seq = await cs(app, fd, [
        { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 10_000 },
        { queue_index: 9, cb_handle: va!, cb_size: 64, exec_ns: 500_000 },
      ]);
      const w = await waitCs(app, fd, seq, 1_000_000);
      expect(w.timestamp_nsec).toBe(10_000);
      expect(hdev.queues[9]!.engine!.busy).toBe(1); // TPC_2 still running
      expect(hdev.queues[0]!.cq!.pi).toBe(1);
      await expect(cs(app, fd, [{ queue_index: 9, cb_handle: va!, cb_size: 64 }])).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect(hdev.csCounters.validationDropCnt).toBe(1);
      await expect(
        cs(app, fd, [{ queue_index: 9, cb_handle: va! + 2 * MiB, cb_size: 64 }]),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
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
      const cb = await createCb(app, fd);
      const ok: HlCsChunk = { queue_index: 0, cb_handle: cb, cb_size: 64 };
      const bad: [HlCsChunk[], Record<string, unknown>, string][] = [
        [[], {}, "EINVAL"],
        [[ok], { num_chunks_execute: 2 }, "EINVAL"],
        [[ok], { cs_flags: 0x10 }, "EINVAL"],
        [[ok], { cs_flags: 0x100000 }, "EINVAL"],
        [[ok], { cs_flags: HL_CS_FLAGS_COLLECTIVE_WAIT }, "EOPNOTSUPP"],
        [[ok], { cs_flags: HL_CS_FLAGS_SIGNAL | HL_CS_FLAGS_WAIT }, "EINVAL"], // one CS type at most
        [[ok], { pad: 1 }, "EINVAL"],
        [[ok], { ctx_id: 3 }, "EINVAL"],
        [[ok], { num_chunks_restore: 1 }, "EOPNOTSUPP"],
        [[ok], { cs_flags: HL_CS_FLAGS_CUSTOM_TIMEOUT, timeout: 0 }, "EINVAL"],
        [[{ ...ok, queue_index: 99 }], {}, "EINVAL"],
        [[{ ...ok, queue_index: 4 }], {}, "EINVAL"], // the CPU queue is driver-only
        [[{ ...ok, cb_handle: 77 }], {}, "EINVAL"],
        [[{ ...ok, cb_size: 8192 }], {}, "EINVAL"],
        [[{ ...ok, cs_chunk_flags: 1 }], {}, "EINVAL"],
        [[{ ...ok, pad: 1 }], {}, "EINVAL"],
        [Array.from({ length: 513 }, () => ok), {}, "EINVAL"],
      ];
      for (const [chunks, extra, want] of bad) {
        const e = await cs(app, fd, chunks, extra).catch((x) => x);
        expect(code(e), JSON.stringify(extra)).toBe(want);
      }
      expect(hdev.queues.every((q) => q.inflight === 0 && (q.engine?.stats.submitted ?? 0) === 0)).toBe(true);
      expect(await cs(app, fd, [ok])).toBe(1);
      await waitCs(app, fd, 1, 1_000_000);
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
      const cb = await createCb(app, fd);
      const job = { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 10_000 };
      // Sequences 1..3 take slots 1..3; sequence 4 takes slot 0. All pending.
      for (let i = 1; i <= 4; i++) expect(await cs(app, fd, [job])).toBe(i);
      // Sequence 5 would land on slot 1, still held by the unfinished CS 1.
      await expect(cs(app, fd, [job])).rejects.toMatchObject({ code: "EAGAIN" });
      expect(hdev.csCounters.maxCsInFlightDropCnt).toBe(1);
      await waitCs(app, fd, 1, 1_000_000);
      expect(await cs(app, fd, [job])).toBe(5); // slot 1 is free again
      await waitCs(app, fd, 5, 1_000_000);
      const gone = await waitCs(app, fd, 1, 0);
      expect(gone).toMatchObject({ status: HL_WAIT_CS_STATUS_COMPLETED, flags: HL_WAIT_CS_STATUS_FLAG_GONE });
      const info = await app.ioctl<{ info: Record<string, number> }>(fd, DRM_IOCTL_HL_INFO, {
        op: HL_INFO_CS_COUNTERS,
      });
      expect(info.info.total_max_cs_in_flight_drop_cnt).toBe(1);
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
      const cb = await createCb(app, fd);
      const job = { queue_index: 2, cb_handle: cb, cb_size: 64, exec_ns: 10_000 };
      await cs(app, fd, [job, job]);
      await expect(cs(app, fd, [job])).rejects.toMatchObject({ code: "EAGAIN" });
      expect(hdev.csCounters.queueFullDropCnt).toBe(1);
      const ctx = [...hdev.contexts][0]!;
      expect(ctx.csPending[2]!.error).toBe(-16);
      expect((await waitCs(app, fd, 2, 0)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      expect(hdev.queues[2]!.engine!.stats.submitted).toBe(2);
      await waitCs(app, fd, 1, 1_000_000);
      expect(await cs(app, fd, [job])).toBe(3);
      await waitCs(app, fd, 3, 1_000_000);
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
      const cb = await createCb(app, fd, 100);
      await expect(createCb(app, fd, 0)).rejects.toMatchObject({ code: "EINVAL" });
      await expect(createCb(app, fd, 0x200000)).rejects.toMatchObject({ code: "EINVAL" });
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 4096 }]);
      expect(
        (await app.ioctl<{ usage_cnt: number }>(fd, DRM_IOCTL_HL_CB, { op: HL_CB_OP_INFO, cb_handle: cb }))
          .usage_cnt,
      ).toBe(1);
      await app.ioctl(fd, DRM_IOCTL_HL_CB, { op: HL_CB_OP_DESTROY, cb_handle: cb });
      await expect(
        app.ioctl(fd, DRM_IOCTL_HL_CB, { op: HL_CB_OP_DESTROY, cb_handle: cb }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      await expect(cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }])).rejects.toMatchObject({
        code: "EINVAL",
      });
      expect((await waitCs(app, fd, seq, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      await expect(
        app.ioctl(fd, DRM_IOCTL_HL_CB, { op: HL_CB_OP_INFO, cb_handle: cb }),
      ).rejects.toMatchObject({ code: "EINVAL" });
      await expect(app.ioctl(fd, DRM_IOCTL_HL_CB, { op: 9 })).rejects.toMatchObject({ code: "EINVAL" });
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
      const cb = await createCb(app, fd);
      hdev.injectJobFault(0, { hang: true });
      const hung = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      const other = await cs(app, fd, [{ queue_index: 1, cb_handle: cb, cb_size: 64, exec_ns: secs(1) }]);
      const queued = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      await expect(waitCs(app, fd, hung, 1_000_000)).rejects.toMatchObject({ code: "ETIMEDOUT" });
      expect(sim.now).toBe(msecs(5));
      await expect(waitCs(app, fd, other, 0)).rejects.toMatchObject({ code: "EIO" });
      await expect(waitCs(app, fd, queued, 0)).rejects.toMatchObject({ code: "EIO" });
      expect(hdev.inReset).toBe(true);
      await expect(cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }])).rejects.toMatchObject({
        code: "EBUSY",
      });
      await expect(mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 4096 })).rejects.toMatchObject({
        code: "EBUSY",
      });
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      const rc = await app.ioctl<{ info: Record<string, number> }>(fd, DRM_IOCTL_HL_INFO, {
        op: HL_INFO_RESET_COUNT,
      });
      expect(rc.info.hard_reset_cnt).toBe(1);
      expect(hdev.lastCsTimeout).toEqual({ timestamp: msecs(5), seq: hung });
      const again = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      expect((await waitCs(app, fd, again, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the timeout is armed for the oldest CS only, and re-armed with a full period for the next", async () => {
    const { sim, host, dev, hdev } = setup({ csTimeoutNs: msecs(10) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await createCb(app, fd);
      // 8 ms each on one queue: 4 CSs take 32 ms, but none runs 10 ms past the previous one's end.
      const seqs: number[] = [];
      for (let i = 0; i < 4; i++)
        seqs.push(await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: msecs(8) }]));
      for (const s of seqs)
        expect((await waitCs(app, fd, s, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
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
      const cb = await createCb(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: secs(3) }], {
        cs_flags: HL_CS_FLAGS_CUSTOM_TIMEOUT | HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT,
        timeout: 2,
      });
      await sleep(sim, secs(2) + 1);
      expect(hdev.lastCsTimeout?.seq).toBe(seq);
      expect((await waitCs(app, fd, seq, 0)).status).toBe(HL_WAIT_CS_STATUS_BUSY);
      await expect(waitCs(app, fd, seq, 10_000_000)).rejects.toMatchObject({ code: "ETIMEDOUT" });
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 3 * MiB });
      expect(hdev.dram.freeBytes).toBe(60 * MiB); // two 2 MiB pages
      for (const [args, want] of [
        [{ op: HL_MEM_OP_ALLOC, mem_size: 0 }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, mem_size: 4096, flags: 0x4 }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, mem_size: 4096, page_size: 4096 }, "EINVAL"],
        [{ op: HL_MEM_OP_ALLOC, mem_size: 128 * MiB }, "ENOMEM"],
        [{ op: HL_MEM_OP_ALLOC, mem_size: 4096, ctx_id: 1 }, "EINVAL"],
        [{ op: HL_MEM_OP_FREE, handle: 99 }, "EINVAL"],
        [{ op: HL_MEM_OP_MAP, handle: 99 }, "EINVAL"],
        [{ op: HL_MEM_OP_MAP, handle, flags: 0x4 }, "EOPNOTSUPP"],
        [{ op: HL_MEM_OP_MAP, handle, hint_addr: 0x1234, flags: HL_MEM_FORCE_HINT }, "EINVAL"],
        [{ op: HL_MEM_OP_UNMAP, device_virt_addr: 0x1000 }, "EINVAL"],
        [{ op: 42 }, "EINVAL"],
      ] as const) {
        const e = await mem(app, fd, args).catch((x) => x);
        expect(code(e), JSON.stringify(args)).toBe(want);
      }
      expect(hdev.dram.freeBytes).toBe(60 * MiB);
      const { device_virt_addr: va } = await mem(app, fd, { op: HL_MEM_OP_MAP, handle });
      const ctx = [...hdev.contexts][0]!;
      expect(ctx.mmu.translate(va! + 2 * MiB + 5)).toBe(hdev.dram.base + 2 * MiB + 5);
      const hint = va! + 16 * MiB;
      const { device_virt_addr: va2 } = await mem(app, fd, {
        op: HL_MEM_OP_MAP,
        handle,
        hint_addr: hint,
        flags: HL_MEM_FORCE_HINT,
      });
      expect(va2).toBe(hint);
      await expect(mem(app, fd, { op: HL_MEM_OP_FREE, handle })).rejects.toMatchObject({ code: "EINVAL" }); // mapped
      await mem(app, fd, { op: HL_MEM_OP_UNMAP, device_virt_addr: va });
      await mem(app, fd, { op: HL_MEM_OP_UNMAP, device_virt_addr: va2 });
      expect(ctx.mmu.translate(va!)).toBeUndefined();
      await mem(app, fd, { op: HL_MEM_OP_FREE, handle });
      expect(hdev.dram.freeBytes).toBe(64 * MiB);
      const usage = await app.ioctl<{ info: Record<string, number> }>(fd, DRM_IOCTL_HL_INFO, {
        op: HL_INFO_DRAM_USAGE,
      });
      expect(usage.info).toEqual({ dram_free_mem: 64 * MiB, ctx_dram_mem: 0 });
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 8 * MiB });
      await mem(app, fd, { op: HL_MEM_OP_MAP, handle });
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

  it("scatter list: contiguous pages merge, chunks capped by the importer's max segment size (page-rounded) and 512 MiB", async () => {
    const { sim, host, dev, hdev, pci } = await exportSetup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      // Fragment: A (2 MiB), B (4 MiB), C (2 MiB); free B; a 1 GiB allocation takes B's hole then pages after C.
      const a = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
      const b = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 4 * MiB });
      await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
      await mem(app, fd, { op: HL_MEM_OP_FREE, handle: b.handle });
      const big = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: GiB });
      const { fd: dfd } = await mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, handle: big.handle });
      const buf = dmaBufGet(app, dfd!);
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
      buf.put();
      void a;
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
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
      await expect(mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, handle })).rejects.toMatchObject({
        code: "EMFILE",
      });
      // dma_buf_fd failed, so the export's dma_buf_put released it: nothing stays exported.
      expect(hdev.exported.size).toBe(0);
      await mem(app, fd, { op: HL_MEM_OP_FREE, handle });
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
      const { fd: dfd } = await mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, handle });
      const buf = dmaBufGet(app, dfd!);
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
      const { handle } = await mem(app, fd, {
        op: HL_MEM_OP_ALLOC,
        mem_size: 4 * MiB,
        flags: HL_MEM_CONTIGUOUS,
      });
      const { device_virt_addr: va } = await mem(app, fd, { op: HL_MEM_OP_MAP, handle });
      for (const args of [
        { handle, addr: va },
        {},
        { addr: va! + 4096, mem_size: 4096 },
        { addr: va, mem_size: 4096, offset: 100 },
        { addr: va, mem_size: 8 * MiB },
        { addr: va, mem_size: 0 },
        { handle, offset: 4096 },
        { handle, mem_size: 4096 },
        { handle: 99 },
        { handle, flags: 0x40 },
      ])
        await expect(
          mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, ...args }),
          JSON.stringify(args),
        ).rejects.toMatchObject({
          code: "EINVAL",
        });
      expect(hdev.exported.size).toBe(0);
      const { fd: dfd } = await mem(app, fd, {
        op: HL_MEM_OP_EXPORT_DMABUF_FD,
        addr: va,
        offset: MiB,
        mem_size: MiB,
      });
      const buf = dmaBufGet(app, dfd!);
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
      const { fd: dfd } = await mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, handle });
      await expect(mem(app, fd, { op: HL_MEM_OP_FREE, handle })).rejects.toMatchObject({ code: "EBUSY" });
      const passed = app.sendFd(importer, dfd!);
      app.close(dfd!);
      await expect(mem(app, fd, { op: HL_MEM_OP_FREE, handle })).rejects.toMatchObject({ code: "EBUSY" });
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
      const { handle } = await mem(app, fd, { op: HL_MEM_OP_ALLOC, mem_size: 2 * MiB });
      const { fd: dfd } = await mem(app, fd, { op: HL_MEM_OP_EXPORT_DMABUF_FD, handle });
      const buf = dmaBufGet(app, dfd!);
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
      const cb = await createCb(app, fd);
      hdev.injectJobFault(0, { hang: true });
      const seq = await cs(app, fd, [{ queue_index: 0, cb_handle: cb, cb_size: 64 }]);
      await expect(waitCs(app, fd, seq, 10_000)).rejects.toMatchObject({ code: "ETIMEDOUT" });
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
