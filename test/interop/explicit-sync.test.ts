/**
 * The same frame with explicit sync (seed 004: "roll out explicit first, across at least two
 * drivers"): the fence travels as a sync_file exported from the dma-buf
 * (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`) or as a timeline syncobj passed from the amdgpu process to
 * the asahi process (`SYNCOBJ_HANDLE_TO_FD` → `sendFd` → `SYNCOBJ_FD_TO_HANDLE`). The asahi job
 * lists no buffer: only the fence it was handed orders it after amdgpu's rendering.
 */
import { agxOpenContext } from "@drmsim/asahi/user";
import "reflect-metadata";
import { AMDGPU_GEM_DOMAIN_GTT, amdgpuProbe } from "@drmsim/amdgpu";
import { amdgpuBoAlloc, amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { asahiProbe, DRM_ASAHI_SYNC_SYNCOBJ, DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ } from "@drmsim/asahi";
import { DMA_BUF_IOCTL_EXPORT_SYNC_FILE, DMA_BUF_SYNC_READ } from "@drmsim/dma-buf";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjFDToHandle,
  drmSyncobjHandleToFD,
  drmSyncobjImportSyncFile,
  drmSyncobjQuery,
  drmSyncobjTimelineWait,
  drmSyncobjTransfer,
  drmSyncobjWait,
} from "@drmsim/drm";
import { msecs } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import { amdgpuRender, asahiSubmit, FOREVER, MiB, syncobjFence } from "../helpers/userspace.js";

function world() {
  const w = createWorld({ devices: [amdgpuProbe, asahiProbe], processes: ["game", "compositor"] });
  return {
    w,
    amd: w.devices[0]!,
    agx: w.devices[1]!,
    game: w.procs["game"]!,
    compositor: w.procs["compositor"]!,
  };
}

describe("explicit sync between amdgpu and asahi", () => {
  it("a sync_file exported from the dma-buf orders the asahi job after amdgpu's write", async () => {
    const { w, amd, agx, game, compositor } = world();
    const t = await w.exec("game", async () => {
      const gpu = await game.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(game, gpu);
      const fb = await amdgpuBoAlloc(game, gpu, { allocSize: MiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const rendered = await drmSyncobjCreate(game, gpu);
      await amdgpuRender(game, gpu, ctx, { durationNs: msecs(4), bos: [fb], outSyncobjs: [rendered] });
      const renderFence = syncobjFence(amd, game, rendered)!;
      const prime = await drmPrimeHandleToFD(game, gpu, fb);
      const theirs = game.sendFd(compositor, prime);
      game.close(prime);
      const sampleDone = await compositor.run(async () => {
        // The consumer asks the buffer for the fences it must wait on before reading it.
        const { fd: syncFile } = await compositor.ioctl<{ fd: number }>(
          theirs,
          DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
          {
            flags: DMA_BUF_SYNC_READ,
          },
        );
        compositor.close(theirs);
        const { fd: agxFd, queue } = await agxOpenContext(compositor, "/dev/dri/renderD129");
        const wait = await drmSyncobjCreate(compositor, agxFd);
        await drmSyncobjImportSyncFile(compositor, agxFd, wait, syncFile);
        compositor.close(syncFile);
        const done = await drmSyncobjCreate(compositor, agxFd);
        await asahiSubmit(compositor, agxFd, queue, {
          inSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: wait }],
          outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: done }],
        });
        await drmSyncobjWait(compositor, agxFd, [done], FOREVER);
        const f = syncobjFence(agx, compositor, done)!;
        const ts = f.timestampNs;
        f.put();
        return ts;
      }).result;
      const renderDone = renderFence.timestampNs;
      renderFence.put();
      return { renderDone, sampleDone };
    });
    expect(t.renderDone).toBe(msecs(4));
    expect(t.sampleDone - t.renderDone).toBeGreaterThanOrEqual(500_000);
    expect(await w.teardown()).toEqual([]);
  });

  it("a timeline syncobj shared between the two processes carries one point per frame", async () => {
    const { w, amd, agx, game, compositor } = world();
    const FRAMES = 3;
    const t = await w.exec("game", async () => {
      const gpu = await game.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(game, gpu);
      const fb = await amdgpuBoAlloc(game, gpu, { allocSize: MiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const timeline = await drmSyncobjCreate(game, gpu, DRM_SYNCOBJ_CREATE_SIGNALED);
      // Share the timeline once: a file over the socket, a handle on the asahi fd.
      const objFd = await drmSyncobjHandleToFD(game, gpu, timeline);
      const theirs = game.sendFd(compositor, objFd);
      game.close(objFd);
      const { fd: agxFd, queue } = await compositor.run(() =>
        agxOpenContext(compositor, "/dev/dri/renderD129"),
      ).result;
      const shared = await compositor.run(() => drmSyncobjFDToHandle(compositor, agxFd, theirs)).result;
      compositor.close(theirs);

      const rendered: number[] = [];
      const sampled: number[] = [];
      for (let point = 1; point <= FRAMES; point++) {
        // amdgpu signals a binary syncobj; the game moves its fence to timeline point `point`.
        const bin = await drmSyncobjCreate(game, gpu);
        await amdgpuRender(game, gpu, ctx, { durationNs: msecs(3), bos: [fb], outSyncobjs: [bin] });
        const f = syncobjFence(amd, game, bin)!;
        await drmSyncobjTransfer(game, gpu, timeline, point, bin, 0);
        await compositor.run(async () => {
          const done = await drmSyncobjCreate(compositor, agxFd);
          await asahiSubmit(compositor, agxFd, queue, {
            inSyncs: [{ sync_type: DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ, handle: shared, timeline_value: point }],
            outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: done }],
          });
          await drmSyncobjTimelineWait(compositor, agxFd, [shared], [point], FOREVER);
          await drmSyncobjWait(compositor, agxFd, [done], FOREVER);
          const s = syncobjFence(agx, compositor, done)!;
          sampled.push(s.timestampNs);
          s.put();
        }).result;
        rendered.push(f.timestampNs);
        f.put();
      }
      const [last] = await drmSyncobjQuery(game, gpu, [timeline]);
      return { rendered, sampled, last };
    });
    expect(t.last).toBe(FRAMES);
    for (let i = 0; i < FRAMES; i++) expect(t.sampled[i]! - t.rendered[i]!).toBeGreaterThanOrEqual(500_000);
    expect(await w.teardown()).toEqual([]);
  });
});
