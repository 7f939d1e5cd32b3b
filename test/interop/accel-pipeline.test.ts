/**
 * An accelerator pipeline handed to a GPU, with the accelerator's own explicit sync. habanalabs
 * keeps dma_fence out of its uAPI (seed 000), so its queues are ordered by sync streams — a
 * signal CS on the DMA queue that loads the input, a wait CS holding the queue of the second
 * stage — and the hand-off to amdgpu is userspace's: it waits on the last CS (`HL_WAIT_CS`), then
 * passes the exported HBM to the renderer, which imports it peer to peer.
 */
import "reflect-metadata";
import { amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { type PciDev, PciHostBridge } from "@drmsim/dma-buf";
import { DrmPluginHost, drmPrimeFDToHandle } from "@drmsim/drm";
import {
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_WAIT,
  HL_SYNC_STREAM_JOB_NS,
  habanalabsProbe,
} from "@drmsim/habanalabs";
import {
  hlthunkCommandSubmission,
  hlthunkDeviceMappedMemoryExportDmabufFd,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "@drmsim/habanalabs/user";
import { Process, Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { amdgpuRender, amdgpuRenderDone, MiB } from "../helpers/userspace.js";

const LOAD = 0; // DMA_0_0: host → HBM
const STAGE2 = 1; // DMA_0_1: the second stage, which must not start before the load is done

describe("habanalabs pipeline → amdgpu", () => {
  it("the load signals, the second stage waits on its queue, userspace hands the result to the GPU", async () => {
    const sim = new Simulator();
    const [a, b] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw0", 2) as [
      PciDev,
      PciDev,
    ];
    const host = new DrmPluginHost(sim);
    habanalabsProbe(host, { pci: a.addEndpoint("03:00.0") });
    amdgpuProbe(host, { pci: b.addEndpoint("04:00.0") });
    const trainer = new Process(sim, "trainer");
    const renderer = new Process(sim, "renderer");
    const times = await sim.exec("trainer", async () => {
      const accel = await trainer.open("/dev/accel/accel0");
      const cb_handle = await hlthunkRequestCommandBuffer(trainer, accel, 4096);
      const size = 16 * MiB;
      const va = await hlthunkDeviceMemoryMap(
        trainer,
        accel,
        await hlthunkDeviceMemoryAlloc(trainer, accel, size),
      );
      // 1. Load the input (200 µs of DMA), then signal on the same queue.
      const load = await hlthunkCommandSubmission(trainer, accel, [
        { queue_index: LOAD, cb_handle, cb_size: 256, exec_ns: usecs(200) },
      ]);
      const loaded = await hlthunkCommandSubmission(trainer, accel, [{ queue_index: LOAD }], {
        cs_flags: HL_CS_FLAGS_SIGNAL,
      });
      // 2. The second stage's queue waits for that signal; the stage runs behind the wait,
      //    submitted at once — the queue, not userspace, holds it back.
      await hlthunkCommandSubmission(
        trainer,
        accel,
        [{ queue_index: STAGE2, signal_seq_arr: [loaded.seq!], num_signal_seq_arr: 1 }],
        { cs_flags: HL_CS_FLAGS_WAIT },
      );
      const stage2 = await hlthunkCommandSubmission(trainer, accel, [
        { queue_index: STAGE2, cb_handle, cb_size: 64, exec_ns: usecs(50) },
      ]);
      // 3. No fence crosses to the GPU: userspace waits, then hands the buffer over.
      const done = await hlthunkWaitForCs(trainer, accel, stage2.seq!, 1_000_000);
      const loadDone = await hlthunkWaitForCs(trainer, accel, load.seq!, 0);
      const dmabuf = await hlthunkDeviceMappedMemoryExportDmabufFd(trainer, accel, va, size);
      const theirs = trainer.sendFd(renderer, dmabuf);
      trainer.close(dmabuf);
      const handedOver = sim.now;
      const rendered = await renderer.run(async () => {
        const gpu = await renderer.open("/dev/dri/renderD128");
        const bo = await drmPrimeFDToHandle(renderer, gpu, theirs);
        renderer.close(theirs);
        const ctx = await amdgpuCsCtxCreate2(renderer, gpu);
        const seq = await amdgpuRender(renderer, gpu, ctx, { bos: [bo], durationNs: usecs(100) });
        expect(await amdgpuRenderDone(renderer, gpu, ctx, seq)).toBe(true);
        return sim.now;
      }).result;
      return { load: loadDone.timestamp_nsec, stage2: done.timestamp_nsec, handedOver, rendered };
    });
    // The second stage's queue ran nothing before the load's signal: the stage ends after the
    // load, its signal, the wait, then its own 50 µs job — not at 50 µs, as it would unsynced.
    expect(times.load).toBe(usecs(200));
    expect(times.stage2).toBe(usecs(200) + 2 * HL_SYNC_STREAM_JOB_NS + usecs(50));
    expect(times.handedOver).toBeGreaterThanOrEqual(times.stage2!);
    expect(times.rendered).toBeGreaterThanOrEqual(times.handedOver + usecs(100));
    trainer.exit();
    renderer.exit();
    for (const d of [...host.devices]) host.remove(d);
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
