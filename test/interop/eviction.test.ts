/**
 * amdgpu moves a buffer that asahi imported dynamically: the exporter calls
 * `invalidate_mappings`, the importer drops its table, maps again before its next use, and the
 * bytes are intact. Then the same with memory pressure from a shrinker while both GPUs have jobs
 * in flight on that buffer: no deadlock, validator quiet (throw mode), every job completes.
 *
 * The asahi driver imports statically (the PRIME helper pins). The DRM core imports dynamically
 * for any driver that taps `dma_buf_attach_ops.invalidateMappings`; the test taps it on the asahi
 * device, as a driver with a CS-time validate step would (`amdgpu_dma_buf_validate`,
 * `xe_bo_validate`), and does that validate step itself before each use.
 */
import "reflect-metadata";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  type AmdgpuBo,
  amdgpuDriverOf,
  amdgpuProbe,
} from "@drmsim/amdgpu";
import { asahiProbe, DRM_ASAHI_SYNC_SYNCOBJ } from "@drmsim/asahi";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  type DrmDevice,
  DrmGemPrimeDynamicObject,
  type DrmPluginHost,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { GFP_KERNEL, msecs, type Process } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  amdgpuBoAlloc,
  amdgpuCtxCreate,
  amdgpuRender,
  amdgpuWaitCs,
  asahiOpenQueue,
  asahiSubmit,
  FOREVER,
  fileOf,
  MiB,
} from "../helpers/userspace.js";

const PATTERN = Uint8Array.from({ length: 8192 }, (_, i) => (i * 13 + 5) & 0xff);

/** asahi with a dynamic-import tap: invalidations drop the mapping; counted. */
function asahiDynamicProbe(host: DrmPluginHost): DrmDevice {
  const dev = asahiProbe(host);
  dev.hooks.dmaBufAttach.invalidateMappings.tap("interop-dynamic-import", (att) => {
    if ((att.importerPriv as DrmGemPrimeDynamicObject).unmapLocked()) invalidations++;
  });
  return dev;
}
let invalidations = 0;

/** The importer's validate step before a use: resv locked, fences waited, map if invalidated. */
async function validate(obj: DrmGemPrimeDynamicObject) {
  await obj.resv.lock(null);
  try {
    await obj.resv.waitTimeout(DmaResvUsage.KERNEL, {});
    return await obj.mapLocked();
  } finally {
    obj.resv.unlock();
  }
}

async function share(game: Process, compositor: Process, amd: DrmDevice, agx: DrmDevice) {
  const gpu = await game.open("/dev/dri/renderD128");
  const ctx = await amdgpuCtxCreate(game, gpu);
  const fb = await amdgpuBoAlloc(game, gpu, 4 * MiB, AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT);
  const bo = fileOf(amd, game).gem.peek(fb) as AmdgpuBo;
  bo.store.write(0, PATTERN);
  const prime = await drmPrimeHandleToFD(game, gpu, fb);
  const theirs = game.sendFd(compositor, prime);
  game.close(prime);
  const agxSide = await compositor.run(async () => {
    const q = await asahiOpenQueue(compositor, "/dev/dri/renderD129");
    const handle = await drmPrimeFDToHandle(compositor, q.fd, theirs);
    compositor.close(theirs);
    return { ...q, handle, obj: fileOf(agx, compositor).gem.peek(handle) as DrmGemPrimeDynamicObject };
  }).result;
  return { gpu, ctx, fb, bo, ...agxSide };
}

describe("amdgpu moves a buffer asahi imported dynamically", () => {
  it("invalidate_mappings, re-map at the next use, bytes intact", async () => {
    invalidations = 0;
    const w = createWorld({ devices: [amdgpuProbe, asahiDynamicProbe], processes: ["game", "compositor"] });
    const [amd, agx] = [w.devices[0]!, w.devices[1]!];
    const { game, compositor } = { game: w.procs["game"]!, compositor: w.procs["compositor"]! };
    const adev = amdgpuDriverOf(w.host, amd);
    const r = await w.exec("game", async () => {
      const s = await share(game, compositor, amd, agx);
      expect(s.obj).toBeInstanceOf(DrmGemPrimeDynamicObject);
      expect(s.obj.sgt).toBe(null); // dynamic: not mapped at import
      const first = await compositor.run(() => validate(s.obj)).result;
      // asahi cannot reach VRAM peer to peer: the exporter moved the BO to GTT for it.
      expect(s.bo.domain).toBe("gtt");
      const placement1 = s.bo.store.placement.runs[0]!.address;
      expect(first.ranges()[0]!.dmaAddress).toBe(placement1);
      // Memory pressure: amdgpu's shrinker swaps the idle BO out and invalidates asahi's mapping.
      // Idle: whatever the move left in the resv (copy job, bookkeeping) has signalled.
      await compositor.run(() => s.bo.resv.waitTimeout(DmaResvUsage.BOOKKEEP, {})).result;
      const freed = await compositor.run(() => w.sim.mm.reclaim(s.bo.size)).result;
      expect(freed).toBeGreaterThanOrEqual(s.bo.size);
      expect(s.bo.domain).toBe("cpu");
      expect(invalidations).toBe(1);
      expect(s.obj.sgt).toBe(null);
      // The next use maps again: the exporter swaps the BO back in, at new pages.
      const second = await compositor.run(() => validate(s.obj)).result;
      expect(second).not.toBe(first);
      expect(s.bo.domain).toBe("gtt");
      expect(second.ranges()[0]!.dmaAddress).toBe(s.bo.store.placement.runs[0]!.address);
      return { bytes: Array.from(s.bo.store.read(0, PATTERN.length)), swapouts: adev.mman.stats.swapouts };
    });
    expect(r.bytes).toEqual(Array.from(PATTERN));
    expect(r.swapouts).toBe(1);
    expect(await w.teardown()).toEqual([]);
  });

  it("under memory pressure with jobs in flight on both GPUs: no deadlock, validator quiet, every job completes", async () => {
    invalidations = 0;
    const w = createWorld({
      devices: [amdgpuProbe, asahiDynamicProbe],
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
      await compositor.run(() => validate(s.obj)).result;
      // A frame in flight on each GPU, both on the shared buffer (amdgpu writes, asahi reads after).
      const seq = await amdgpuRender(game, s.gpu, s.ctx, { durationNs: msecs(8), bos: [s.fb] });
      const sampled = await compositor.run(async () => {
        const done = await drmSyncobjCreate(compositor, s.fd);
        await asahiSubmit(compositor, s.fd, s.queue, {
          reads: [s.handle],
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
      const status = await amdgpuWaitCs(game, s.gpu, s.ctx, seq);
      await compositor.run(() => drmSyncobjWait(compositor, s.fd, [sampled], FOREVER)).result;
      const tries = await hog.result;
      // The buffer is usable again after whatever the shrinker did.
      await compositor.run(() => validate(s.obj)).result;
      return { status, tries, bytes: Array.from(s.bo.store.read(0, PATTERN.length)) };
    });
    expect(r.status).toBe(0);
    // Refused (bounded, ENOMEM) while the BO was busy; granted once it was idle and could be swapped.
    expect(r.tries[0]!.ok).toBe(false);
    expect(r.tries.some((t) => t.ok)).toBe(true);
    expect(invalidations).toBeGreaterThanOrEqual(1);
    expect(r.bytes).toEqual(Array.from(PATTERN));
    expect(w.sim.validator.findings).toEqual([]);
    expect(await w.teardown()).toEqual([]);
  });
});
