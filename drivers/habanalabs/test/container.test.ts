/**
 * Replacing the device's hardware through the probe's container, without touching the driver:
 * a smaller HBM (`HL_DRAM`), queue engines that hang or lose their completion interrupt
 * (`HW_ENGINE_FACTORY` faults), and the driver's dma-buf ops running behind the host's frames.
 */
import { Device, DmaDataDirection, dmaBufGet } from "@drmsim/dma-buf";
import {
  type DrmDevice,
  DrmHookStage,
  type DrmHooks,
  DrmPluginHost,
  HW_ENGINE_FACTORY,
  SIMULATOR,
  traceDrmDriverOp,
} from "@drmsim/drm";
import {
  frameList,
  HardwareEngineFactory,
  type HwFaultPlans,
  msecs,
  Process,
  Simulator,
} from "@drmsim/runtime";
import type { DependencyContainer } from "tsyringe";
import { describe, expect, it } from "vitest";
import { runReadmeFragment } from "../../../test/helpers/markdown.js";
import {
  HL_DRAM,
  HL_INFO_CS_TIMEOUT_EVENT,
  HL_INFO_DRAM_USAGE,
  HL_INFO_HW_IP_INFO,
  HL_WAIT_CS_STATUS_COMPLETED,
  HlDramPool,
  habanalabsProbe,
  hl_info_cs_timeout_event,
  hl_info_dram_usage,
  hl_info_hw_ip_info,
  hlDeviceOf,
  hlQueueEngineName,
} from "../src/index.js";
import {
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkGetInfo,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { cs, errno, rig, sleep } from "./hl-user.js";

const MiB = 1024 * 1024;

/** A provider of `HW_ENGINE_FACTORY` whose engines carry `faults`. */
const faultyEngines = (faults: HwFaultPlans) => ({
  provide: HW_ENGINE_FACTORY,
  useFactory: (c: DependencyContainer) => new HardwareEngineFactory(c.resolve(SIMULATOR), faults),
});

describe("habanalabs: device hardware from the container", () => {
  it("options out of range are EINVAL before any device exists", () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    expect(() => habanalabsProbe(host, { maxPendingCs: 3 })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => habanalabsProbe(host, { dramPageSize: 1000 })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => habanalabsProbe(host, { dramSize: 3 * MiB })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(host.devices).toEqual([]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a smaller HBM through HL_DRAM: the fifth 2 MiB allocation is ENOMEM, and INFO reports the HBM it has", async () => {
    const base = 0x20_0000_0000;
    const { sim, host, dev, hdev } = rig(
      { dramSize: 1024 * MiB },
      { providers: [{ provide: HL_DRAM, useValue: new HlDramPool(base, 8 * MiB, 2 * MiB) }] },
    );
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const ip = await hlthunkGetInfo(app, fd, HL_INFO_HW_IP_INFO, hl_info_hw_ip_info);
      expect(ip).toMatchObject({
        dram_base_address: base,
        dram_size: 8 * MiB,
        dram_page_size: 2 * MiB,
        dram_enabled: 1,
      });
      const handles: number[] = [];
      for (let i = 0; i < 4; i++) handles.push(await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB));
      expect(await errno(hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB))).toBe("ENOMEM");
      expect(await errno(hlthunkDeviceMemoryAlloc(app, fd, 4096))).toBe("ENOMEM");
      expect(await hlthunkGetInfo(app, fd, HL_INFO_DRAM_USAGE, hl_info_dram_usage)).toEqual({
        dram_free_mem: 0,
        ctx_dram_mem: 8 * MiB,
      });
      // The pool is the device's: the pages handed out are the override's.
      expect(hdev.dram.npages).toBe(4);
      expect([...hdev.contexts][0]!.memHandles.get(handles[3]!)!.pages).toEqual([base + 6 * MiB]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a queue engine that hangs on its second job: the CS times out, the device resets, INFO names the CS", async () => {
    const engine = hlQueueEngineName("habanalabs.0", "DMA_0_0");
    const { sim, host, dev, hdev } = rig(
      { csTimeoutNs: msecs(5), resetDurationNs: msecs(1) },
      { providers: [faultyEngines({ [engine]: { hang: [2] } })] },
    );
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const job = { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 1000 };
      const first = await cs(app, fd, [job]);
      expect((await hlthunkWaitForCs(app, fd, first, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      const t0 = sim.now;
      const second = await cs(app, fd, [job]);
      expect(await errno(hlthunkWaitForCs(app, fd, second, 1_000_000))).toBe("ETIMEDOUT");
      expect(sim.now - t0).toBe(msecs(5));
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      expect(hdev.hardResetCnt).toBe(1);
      expect(await hlthunkGetInfo(app, fd, HL_INFO_CS_TIMEOUT_EVENT, hl_info_cs_timeout_event)).toEqual({
        timestamp: t0 + msecs(5),
        seq: second,
      });
      expect(hdev.queues[0]!.engine!.stats).toMatchObject({
        submitted: 2,
        completed: 1,
        aborted: 1,
        resets: 1,
      });
      // The third job is not planned to hang: the queue works again.
      const third = await cs(app, fd, [job]);
      expect((await hlthunkWaitForCs(app, fd, third, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a lost completion interrupt: the job ran, but without its CQ entry the CS times out", async () => {
    const engine = hlQueueEngineName("habanalabs.0", "DMA_0_1");
    const { sim, host, dev, hdev } = rig(
      { csTimeoutNs: msecs(2), resetDurationNs: msecs(1) },
      { providers: [faultyEngines({ [engine]: { dropIrq: [1] } })] },
    );
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const seq = await cs(app, fd, [{ queue_index: 1, cb_handle: cb, cb_size: 64, exec_ns: 1000 }]);
      expect(await errno(hlthunkWaitForCs(app, fd, seq, 1_000_000))).toBe("ETIMEDOUT");
      expect(hdev.queues[1]!.cq!.pi).toBe(0);
      expect(hdev.queues[1]!.engine!.stats.droppedIrqs).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the exporter's dma_buf_ops are the device's hooks: host frames and traces name them", async () => {
    const sim = new Simulator({ trace: true });
    const host = new DrmPluginHost(sim);
    const frames: string[][] = [];
    // A test plugin tapping before the driver sees the frame the host pushed for the op.
    const spy = {
      apply: (hooks: DrmHooks) =>
        hooks.dmaBuf.mapDmaBuf.tap({ name: "spy", stage: DrmHookStage.EARLY }, () => {
          frames.push(frameList(sim.current.frame));
          return undefined;
        }),
    };
    const dev = habanalabsProbe(host, {}, { plugins: [spy] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const va = await hlthunkDeviceMemoryMap(app, fd, await hlthunkDeviceMemoryAlloc(app, fd, 2 * MiB));
      const dfd = await hlthunkDeviceMappedMemoryExportDmabufFd(app, fd, va, 2 * MiB);
      const buf = dmaBufGet(app, dfd);
      app.close(dfd);
      const att = buf.dynamicAttach(
        new Device(sim, { name: "peer", pci: null }),
        { allowPeer2peer: true },
        null,
      );
      // No PCI function on this device: p2p is refused at map (after the ops ran).
      await expect(att.mapUnlocked(DmaDataDirection.BIDIRECTIONAL)).rejects.toMatchObject({ code: "EPERM" });
      buf.detach(att);
      buf.put();
    });
    expect(frames).toHaveLength(1);
    // The host's frame, named after the device's driver and the kernel op; nobody pushed it by hand.
    expect(frames[0]).toContain("habanalabs: dma_buf_ops.map_dma_buf");
    const ops = sim.tracer
      .eventsOf(traceDrmDriverOp)
      .map((e) => e.args as { op: string; plugin: string })
      .filter((a) => a.plugin === "habanalabs" && a.op.startsWith("dma_buf_ops."))
      .map((a) => a.op);
    expect(ops).toEqual(["dma_buf_ops.attach", "dma_buf_ops.map_dma_buf", "dma_buf_ops.release"]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("README: replacing the hardware (the snippet, read from the README)", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const { dev } = (await runReadmeFragment(
      new URL("../README.md", import.meta.url).pathname,
      "// A device with 8 MiB of HBM, whose DMA_0_0 queue hangs on its second job:",
      {
        host,
        habanalabsProbe,
        HL_DRAM,
        HlDramPool,
        HW_ENGINE_FACTORY,
        HardwareEngineFactory,
        SIMULATOR,
        hlQueueEngineName,
      },
      ["dev"],
    )) as { dev: DrmDevice };
    const hdev = hlDeviceOf(dev);
    expect(hdev.dram.size).toBe(8 * MiB);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/accel/accel0");
      const cb = await hlthunkRequestCommandBuffer(app, fd);
      const job = { queue_index: 0, cb_handle: cb, cb_size: 64 };
      await cs(app, fd, [job]);
      await cs(app, fd, [job]);
      await sleep(sim, msecs(1));
    });
    expect(hdev.queues[0]!.engine!.stats).toMatchObject({ submitted: 2, completed: 1 });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
