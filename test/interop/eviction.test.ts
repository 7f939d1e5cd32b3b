/**
 * amdgpu moves a buffer that asahi imported dynamically: the exporter calls
 * `invalidate_mappings`, the importer drops its table, maps again at its next submit, and the
 * bytes are intact. Then the same with memory pressure from a shrinker while both GPUs have jobs
 * in flight on that buffer: no deadlock, validator quiet (throw mode), every job completes.
 *
 * Nothing here is test-side plumbing: asahi itself is a dynamic importer (it taps
 * `dma_buf_attach_ops.invalidateMappings`) and, at each submit, maps the imported buffers bound
 * into the queue's VM under their resv locks (`drm_gpuvm`'s external objects), fencing them
 * `BOOKKEEP` so the exporter waits for the job before it moves them. Synchronisation is explicit,
 * bridged from amdgpu's implicit sync through the dma-buf's sync_file ioctls, as Mesa does.
 */
import { agxOpenContext } from "@drmsim/asahi/user";
import "reflect-metadata";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  type AmdgpuBo,
  amdgpuDeviceOf,
  amdgpuProbe,
} from "@drmsim/amdgpu";
import { amdgpuBoAlloc, amdgpuCsCtxCreate2 } from "@drmsim/amdgpu/user";
import { asahiPrimeStats, asahiProbe, DRM_ASAHI_SYNC_SYNCOBJ } from "@drmsim/asahi";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  type DrmDevice,
  DrmGemPrimeDynamicObject,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { GFP_KERNEL, msecs, type Process } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  amdgpuRender,
  amdgpuRenderDone,
  asahiImport,
  asahiSubmit,
  FOREVER,
  fileOf,
  MiB,
} from "../helpers/userspace.js";

const PATTERN = Uint8Array.from({ length: 8192 }, (_, i) => (i * 13 + 5) & 0xff);

/** One asahi job that reads the shared buffer (`dmabuf`), waited for: the driver maps it at submit. */
async function sample(p: Process, fd: number, queue: number, dmabuf: number) {
  const done = await drmSyncobjCreate(p, fd);
  await asahiSubmit(p, fd, queue, {
    reads: [dmabuf],
    outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: done }],
  });
  await drmSyncobjWait(p, fd, [done], FOREVER);
}

async function share(game: Process, compositor: Process, amd: DrmDevice, agx: DrmDevice) {
  const gpu = await game.open("/dev/dri/renderD128");
  const ctx = await amdgpuCsCtxCreate2(game, gpu);
  const fb = await amdgpuBoAlloc(game, gpu, {
    allocSize: 4 * MiB,
    preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
  });
  const bo = fileOf(amd, game).gem.peek(fb) as AmdgpuBo;
  bo.store.write(0, PATTERN);
  const prime = await drmPrimeHandleToFD(game, gpu, fb);
  const theirs = game.sendFd(compositor, prime);
  game.close(prime);
  const agxSide = await compositor.run(async () => {
    const q = await agxOpenContext(compositor, "/dev/dri/renderD129");
    const handle = await asahiImport(compositor, q.fd, q.vm, theirs, 4 * MiB);
    const obj = fileOf(agx, compositor).gem.peek(handle) as DrmGemPrimeDynamicObject;
    return { ...q, dmabuf: theirs, handle, obj };
  }).result;
  return { gpu, ctx, fb, bo, ...agxSide };
}

describe("amdgpu moves a buffer asahi imported dynamically", () => {
  it("invalidate_mappings, re-map at the next submit, bytes intact", async () => {
    const w = createWorld({ devices: [amdgpuProbe, asahiProbe], processes: ["game", "compositor"] });
    const [amd, agx] = [w.devices[0]!, w.devices[1]!];
    const { game, compositor } = { game: w.procs["game"]!, compositor: w.procs["compositor"]! };
    const adev = amdgpuDeviceOf(amd);
    const stats = asahiPrimeStats(agx);
    const r = await w.exec("game", async () => {
      const s = await share(game, compositor, amd, agx);
      expect(s.obj).toBeInstanceOf(DrmGemPrimeDynamicObject);
      expect(s.obj.sgt).toBe(null); // dynamic: not mapped at import
      expect(s.bo.domain).toBe("vram");
      // The first submit on the VM it is bound into maps it. asahi cannot reach VRAM peer to peer: the
      // exporter moved the BO to GTT for it, and the job waited for that move through the resv.
      await compositor.run(() => sample(compositor, s.fd, s.queue, s.dmabuf)).result;
      const first = s.obj.sgt!;
      expect(s.bo.domain).toBe("gtt");
      expect(first.ranges()[0]!.dmaAddress).toBe(s.bo.store.placement.runs[0]!.address);
      expect({ ...stats }).toEqual({ maps: 1, reuses: 0, invalidations: 0 });
      // Nothing moved: the next submit reuses the mapping.
      await compositor.run(() => sample(compositor, s.fd, s.queue, s.dmabuf)).result;
      expect(s.obj.sgt).toBe(first);
      expect({ ...stats }).toEqual({ maps: 1, reuses: 1, invalidations: 0 });
      // Memory pressure: amdgpu's shrinker swaps the idle BO out and invalidates asahi's mapping.
      // Idle: whatever the move left in the resv (copy job, bookkeeping) has signalled.
      await compositor.run(() => s.bo.resv.waitTimeout(DmaResvUsage.BOOKKEEP, {})).result;
      const freed = await compositor.run(() => w.sim.mm.reclaim(s.bo.size)).result;
      expect(freed).toBeGreaterThanOrEqual(s.bo.size);
      expect(s.bo.domain).toBe("cpu");
      expect(stats.invalidations).toBe(1);
      expect(s.obj.sgt).toBe(null);
      // The next submit maps again: the exporter swaps the BO back in, at new pages.
      await compositor.run(() => sample(compositor, s.fd, s.queue, s.dmabuf)).result;
      const second = s.obj.sgt!;
      expect(second).not.toBe(first);
      expect(s.bo.domain).toBe("gtt");
      expect(second.ranges()[0]!.dmaAddress).toBe(s.bo.store.placement.runs[0]!.address);
      expect(second.ranges()[0]!.dmaAddress).not.toBe(first.ranges()[0]!.dmaAddress);
      expect({ ...stats }).toEqual({ maps: 2, reuses: 1, invalidations: 1 });
      return { bytes: Array.from(s.bo.store.read(0, PATTERN.length)), swapouts: adev.mman.stats.swapouts };
    });
    expect(r.bytes).toEqual(Array.from(PATTERN));
    expect(r.swapouts).toBe(1);
    expect(await w.teardown()).toEqual([]);
  });

  it("under memory pressure with jobs in flight on both GPUs: no deadlock, validator quiet, every job completes", async () => {
    const w = createWorld({
      devices: [amdgpuProbe, asahiProbe],
      processes: ["game", "compositor", "memhog"],
      memoryBudget: 16 * MiB,
    });
    const [amd, agx] = [w.devices[0]!, w.devices[1]!];
    const { game, compositor, memhog } = {
      game: w.procs["game"]!,
      compositor: w.procs["compositor"]!,
      memhog: w.procs["memhog"]!,
    };
    const r = await w.exec("game", async () => {
      const s = await share(game, compositor, amd, agx);
      await compositor.run(() => sample(compositor, s.fd, s.queue, s.dmabuf)).result;
      // A frame in flight on each GPU, both on the shared buffer (amdgpu writes, asahi reads after).
      const seq = await amdgpuRender(game, s.gpu, s.ctx, { durationNs: msecs(8), bos: [s.fb] });
      const sampled = await compositor.run(async () => {
        const done = await drmSyncobjCreate(compositor, s.fd);
        await asahiSubmit(compositor, s.fd, s.queue, {
          reads: [s.dmabuf],
          outSyncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: done }],
        });
        return done;
      }).result;
      // Meanwhile a process keeps allocating past the budget (4 MiB of GTT pages + 14 MiB > 16 MiB):
      // direct reclaim runs amdgpu's shrinker, which must skip the busy BO (trylock, idle check)
      // rather than wait for the GPUs from inside reclaim.
      const hog = memhog.run(async () => {
        const tries: { atNs: number; ok: boolean }[] = [];
        for (let i = 0; i < 10; i++) {
          try {
            w.sim.mm.kmalloc(14 * MiB, GFP_KERNEL, "memhog").free();
            tries.push({ atNs: w.sim.now, ok: true });
          } catch (e) {
            if ((e as { code?: string }).code !== "ENOMEM") throw e;
            tries.push({ atNs: w.sim.now, ok: false });
          }
          await new Promise<void>((resolve) => w.sim.schedule(msecs(2), resolve));
        }
        return tries;
      });
      const status = await amdgpuRenderDone(game, s.gpu, s.ctx, seq);
      await compositor.run(() => drmSyncobjWait(compositor, s.fd, [sampled], FOREVER)).result;
      const tries = await hog.result;
      // The buffer is usable again after whatever the shrinker did: the next submit maps it anew.
      await compositor.run(() => sample(compositor, s.fd, s.queue, s.dmabuf)).result;
      expect(s.obj.sgt!.ranges()[0]!.dmaAddress).toBe(s.bo.store.placement.runs[0]!.address);
      return { status, tries, bytes: Array.from(s.bo.store.read(0, PATTERN.length)) };
    });
    expect(r.status).toBe(true);
    // Refused (bounded, ENOMEM) while the BO was busy; granted once it was idle and could be swapped.
    expect(r.tries[0]!.ok).toBe(false);
    expect(r.tries.some((t) => t.ok)).toBe(true);
    expect(asahiPrimeStats(agx).invalidations).toBeGreaterThanOrEqual(1);
    expect(r.bytes).toEqual(Array.from(PATTERN));
    expect(w.sim.validator.findings).toEqual([]);
    expect(await w.teardown()).toEqual([]);
  });
});
