/**
 * amdgpu renders into a BO and exports it; asahi imports it and samples it. amdgpu is an
 * implicit-sync driver: its write fence is in the reservation object the two drivers share
 * (seed 004). asahi is explicit-sync only, as upstream: the compositor's winsys bridges the two,
 * as Mesa does — it asks the dma-buf what a read must wait for (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`),
 * waits on that as an in-sync, and hands its own fence back (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`).
 * Then the asahi job runs after amdgpu's write, and the pages asahi's DMA reads are the pages
 * amdgpu wrote.
 *
 * The bytes come from the job model: the gfx IB carries amdgpu's `fill` extension, whose bytes
 * land in the BO when the hardware completes the job.
 */
import "reflect-metadata";
import { AMDGPU_GEM_DOMAIN_GTT, type AmdgpuBo, amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuBoAlloc, amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { asahiProbe } from "@drmsim/asahi";
import { agxOpenContext, agxSyncobj } from "@drmsim/asahi/user";
import type { DmaFence } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { drmPrimeHandleToFD, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import type { DrmGemShmemObject } from "@drmsim/gem";
import { msecs } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  amdgpuRender,
  asahiImport,
  asahiSubmit,
  FOREVER,
  fileOf,
  MiB,
  syncobjFence,
} from "../helpers/userspace.js";

const PATTERN = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff);

/** One frame: amdgpu renders into a shared BO, asahi samples it (bridging implicit sync, or not). */
async function frame(bridge: boolean) {
  const w = createWorld({ devices: [amdgpuProbe, asahiProbe], processes: ["game", "compositor"] });
  const [amd, agx] = w.devices as [(typeof w.devices)[0], (typeof w.devices)[0]];
  const { game, compositor } = w.procs as Record<string, NonNullable<(typeof w.procs)[string]>>;
  const seen: { renderDone: number; sampleDone: number; bytesAtSample: number[] } = {
    renderDone: -1,
    sampleDone: -1,
    bytesAtSample: [],
  };
  await w.exec("game", async () => {
    const gpu = await game!.open("/dev/dri/renderD128");
    const ctx = await amdgpuCsCtxCreate2(game!, gpu);
    const fb = await amdgpuBoAlloc(game!, gpu, {
      allocSize: MiB,
      // In GTT, where both GPUs reach it: no migration at asahi's first submit, whose move fence
      // would order the two through memory management (the eviction suite covers that path).
      preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
    });
    const bo = fileOf(amd, game!).gem.peek(fb) as AmdgpuBo;
    // Share the buffer first, as a compositor gets its swapchain images before any frame.
    const prime = await drmPrimeHandleToFD(game!, gpu, fb);
    const theirs = game!.sendFd(compositor!, prime);
    game!.close(prime);
    const {
      fd: agxFd,
      vm,
      queue,
    } = await compositor!.run(() => agxOpenContext(compositor!, "/dev/dri/renderD129")).result;
    const imported = await compositor!.run(() => asahiImport(compositor!, agxFd, vm, theirs, MiB)).result;
    const gem = fileOf(agx, compositor!).gem.peek(imported) as DrmGemShmemObject;
    expect(gem.resv).toBe(bo.resv);

    // Frame: 5 ms of rendering that writes the buffer, fenced out through a syncobj.
    const rendered = await drmSyncobjCreate(game!, gpu);
    await amdgpuRender(game!, gpu, ctx, { durationNs: msecs(5), bos: [fb], outSyncobjs: [rendered] });
    const renderFence = syncobjFence(amd, game!, rendered)!;
    expect(bo.resv.testSignaled(DmaResvUsage.WRITE)).toBe(false);
    renderFence.addCallback({
      func: (f: DmaFence) => {
        bo.store.write(0, PATTERN); // the IB's writes land as the hardware completes
        seen.renderDone = f.timestampNs;
      },
    });

    // The compositor samples it: no fence passed between the processes, only the dma-buf.
    await compositor!.run(async () => {
      const sampled = await drmSyncobjCreate(compositor!, agxFd);
      await asahiSubmit(compositor!, agxFd, queue, {
        reads: bridge ? [theirs] : [],
        outSyncs: [agxSyncobj(sampled)],
      });
      const sampleFence = syncobjFence(agx, compositor!, sampled)!;
      await drmSyncobjWait(compositor!, agxFd, [sampled], FOREVER);
      seen.sampleDone = sampleFence.timestampNs;
      sampleFence.put();
      // What the importer's DMA reads: its table's pages, against where the bytes are now.
      seen.bytesAtSample = Array.from(bo.store.read(0, PATTERN.length));
      // asahi imports dynamically: the submit mapped the buffer bound into its VM, where it is now.
      const mapped = gem
        .sgt!.ranges()
        .map((r) => r.length)
        .reduce((a, b) => a + b, 0);
      expect(mapped).toBe(bo.size);
      expect(gem.sgt!.ranges()[0]!.dmaAddress).toBe(bo.store.placement.runs[0]!.address);
    }).result;
    renderFence.put();
  });
  // Let the frame finish (amdgpu's render ends at 5 ms, after asahi's sample in the control)
  // before the processes exit and cut it short.
  await w.sim.run();
  return { seen, findings: await w.teardown() };
}

describe("implicit sync: amdgpu renders, asahi samples", () => {
  it("bridged through the dma-buf's sync_file ioctls, the asahi job starts after amdgpu's write fence and its DMA covers the pages that hold amdgpu's bytes", async () => {
    const { seen, findings } = await frame(true);
    // The asahi job (vertex 100 µs + fragment 400 µs) ran entirely after amdgpu's fence.
    expect(seen.renderDone).toBeGreaterThan(0);
    expect(seen.sampleDone - seen.renderDone).toBeGreaterThanOrEqual(500_000);
    expect(seen.bytesAtSample).toEqual(Array.from(PATTERN));
    expect(findings).toEqual([]);
  });

  it("control: without the bridge nothing orders the two — asahi fences and waits on nothing implicitly — and asahi samples before amdgpu is done", async () => {
    const { seen, findings } = await frame(false);
    expect(seen.sampleDone).toBeLessThan(seen.renderDone);
    expect(seen.bytesAtSample.every((b) => b === 0)).toBe(true); // it sampled an unrendered buffer
    expect(findings).toEqual([]);
  });
});
