/**
 * amdgpu's sync rules: implicit sync by owner (NE_OWNER) and EXPLICIT_SYNC BOs, moves always
 * waited for, gang roles, timeline and scheduled dependencies, and the fence ioctls that name a
 * submission — WAIT_CS (`~0ull`), WAIT_FENCES, FENCE_TO_HANDLE — and the user fence.
 */
import { syncFileGetFence } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmSyncobjCreate,
  drmSyncobjFDToHandle,
  drmSyncobjQuery,
  drmSyncobjTimelineSignal,
  drmSyncobjWait,
} from "@drmsim/drm";
import { msecs, Process, S64_MAX, U64_MAX, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD,
  AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ,
  AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD,
  AMDGPU_GEM_CREATE_EXPLICIT_SYNC,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_SCHED_JOBS,
  type AmdgpuBo,
  DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuBoCpuMap,
  amdgpuCsChunkBoList,
  amdgpuCsChunkDeps,
  amdgpuCsChunkFence,
  amdgpuCsChunkIb,
  amdgpuCsChunkScheduledDeps,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsChunkSyncobjTimelineSignal,
  amdgpuCsChunkSyncobjTimelineWait,
  amdgpuCsCtxCreate2,
  amdgpuCsFenceToHandle,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuCsWaitFences,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

const KiB = 1024;
const gfx = (duration_ns: number) => amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns });
const comp = (duration_ns: number, ring = 0) =>
  amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring, duration_ns });

describe("implicit sync", () => {
  it("an EXPLICIT_SYNC BO is not waited for across processes; a move of it always is", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 256 * KiB, sdmaBytesPerNs: 1 });
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    await sim.execUntilIdle("a", async () => {
      const fa = await a.open("/dev/dri/renderD128");
      const fb = await b.open("/dev/dri/renderD128");
      const ca = await amdgpuCsCtxCreate2(a, fa);
      const cb = await amdgpuCsCtxCreate2(b, fb);
      const bo = await amdgpuBoAlloc(a, fa, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
        flags: AMDGPU_GEM_CREATE_EXPLICIT_SYNC,
      });
      const shared = await drmPrimeFDToHandle(b, fb, a.sendFd(b, await drmPrimeHandleToFD(a, fa, bo)));
      await amdgpuCsSubmitRaw2(a, fa, ca, [gfx(msecs(3)), amdgpuCsChunkBoList([bo])]);
      const t0 = sim.now;
      const s1 = await amdgpuCsSubmitRaw2(b, fb, cb, [comp(usecs(10)), amdgpuCsChunkBoList([shared])]);
      await amdgpuCsQueryFenceStatus(b, fb, { ctxId: cb, ipType: AMDGPU_HW_IP_COMPUTE, ring: 0, fence: s1 });
      // b did not wait for a's 3 ms write: it finished 10 µs after it was submitted.
      expect(sim.now).toBe(t0 + usecs(10));
      // Evict it (VRAM pressure from b): the copy waits for a's job; b's next CS waits for the copy.
      await amdgpuBoAlloc(b, fb, { allocSize: 256 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const s2 = await amdgpuCsSubmitRaw2(b, fb, cb, [comp(usecs(10)), amdgpuCsChunkBoList([shared])]);
      await amdgpuCsQueryFenceStatus(b, fb, { ctxId: cb, ipType: AMDGPU_HW_IP_COMPUTE, ring: 0, fence: s2 });
      expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[1]!.at).toBe(msecs(3) + 256 * KiB);
    });
    a.exit();
    b.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("gang submit", () => {
  it("the leader is the job of the last IB chunk: it writes the BOs, the others read, the sequence number is its ring's", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const bo = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const resv = [...dev.files][0]!.gem.peek(bo)!.resv;
      const names = (usage: DmaResvUsage) => {
        const fs = resv.getFences(usage);
        const n = fs.map((f) => f.timelineName);
        for (const f of fs) f.put();
        return n.sort();
      };
      // Compute first, gfx last: gfx leads.
      const s1 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        comp(msecs(1)),
        gfx(msecs(1)),
        amdgpuCsChunkBoList([bo]),
      ]);
      expect(names(DmaResvUsage.WRITE)).toEqual(["gfx_0.0.0"]);
      expect(names(DmaResvUsage.READ)).toEqual(["comp_1.0.0", "gfx_0.0.0"]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s1 }),
      ).toBe(true);
      // Gfx first, compute last: compute leads, and the sequence number is compute's.
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        gfx(msecs(1)),
        comp(msecs(1)),
        amdgpuCsChunkBoList([bo]),
      ]);
      expect(s2).toBe(1);
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: 2 }),
        ),
      ).toBe("EINVAL");
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: ctx,
          ipType: AMDGPU_HW_IP_COMPUTE,
          ring: 0,
          fence: s2,
        }),
      ).toBe(true);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("dependencies", () => {
  it("timeline chunks: wait for a point, signal one; a point never submitted is EINVAL; one out chunk only", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const tl = await drmSyncobjCreate(app, fd);
      const s = await drmSyncobjCreate(app, fd);
      await drmSyncobjTimelineSignal(app, fd, [tl], [1]);
      // Point 2 comes from a 2 ms job; the next job waits for it and signals point 3.
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        comp(msecs(2), 1),
        amdgpuCsChunkSyncobjTimelineSignal([{ handle: tl, point: 2 }]),
      ]);
      const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        gfx(msecs(1)),
        amdgpuCsChunkSyncobjTimelineWait([{ handle: tl, point: 2 }]),
        amdgpuCsChunkSyncobjTimelineSignal([{ handle: tl, point: 3 }]),
      ]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
      expect(sim.now).toBe(msecs(3));
      expect(await drmSyncobjQuery(app, fd, [tl])).toEqual([3]);
      expect(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, ctx, [
            gfx(1000),
            amdgpuCsChunkSyncobjTimelineWait([{ handle: tl, point: 9 }]),
          ]),
        ),
      ).toBe("EINVAL");
      expect(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, ctx, [
            gfx(1000),
            amdgpuCsChunkSyncobjOut([s]),
            amdgpuCsChunkSyncobjTimelineSignal([{ handle: tl, point: 4 }]),
          ]),
        ),
      ).toBe("EINVAL");
      expect(await drmSyncobjQuery(app, fd, [tl])).toEqual([3]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("SCHEDULED_DEPENDENCIES wait for the other job to start; DEPENDENCIES for it to finish", async () => {
    // One job on a ring at a time: the second gfx job is handed to the hardware at 3 ms.
    const { sim, host, dev, adev } = rig({ hwSubmission: 1 });
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const g = await amdgpuCsCtxCreate2(app, fd);
      const c = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, g, [gfx(msecs(3))]);
      // Behind the first on the gfx ring: scheduled at 3 ms, done at 5 ms.
      const s = await amdgpuCsSubmitRaw2(app, fd, g, [gfx(msecs(2))]);
      const dep = [{ ctx_id: g, ip_type: AMDGPU_HW_IP_GFX, ring: 0, handle: s }];
      await amdgpuCsSubmitRaw2(app, fd, c, [comp(usecs(10), 0), amdgpuCsChunkScheduledDeps(dep)]);
      await amdgpuCsSubmitRaw2(app, fd, c, [comp(usecs(10), 1), amdgpuCsChunkDeps(dep)]);
    });
    await sim.run();
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[0]!.at).toBe(msecs(3));
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][1]!.ran[0]!.at).toBe(msecs(5));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("fence ioctls", () => {
  it("WAIT_CS: ~0ull is the newest submission, 0 and long-forgotten ones are done, a past timeout does not wait", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const q = (fence: number | bigint, timeout?: number | bigint) =>
        amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence }, timeout);
      // Nothing submitted: ~0ull names submission 0, which is nothing to wait for.
      expect(await q(U64_MAX)).toBe(true);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(msecs(1))]);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(msecs(1))]);
      expect(await q(0)).toBe(true);
      expect(await q(U64_MAX, 0)).toBe(false); // a timeout already past: busy, no wait
      expect(sim.now).toBe(0);
      expect(await q(U64_MAX)).toBe(true);
      expect(sim.now).toBe(msecs(2));
      for (let i = 0; i < AMDGPU_SCHED_JOBS; i++) await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(1000)]);
      expect(await q(1, 0)).toBe(true); // forgotten: it signalled long ago
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("WAIT_FENCES waits for all or any, reports the first, and returns a failed submission's error", async () => {
    const { sim, host, dev } = rig({ timeoutNs: msecs(5) });
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const long = await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(msecs(3))]);
      const short = await amdgpuCsSubmitRaw2(app, fd, ctx, [comp(msecs(1))]);
      const fences = [
        { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: long },
        { ctxId: ctx, ipType: AMDGPU_HW_IP_COMPUTE, ring: 0, fence: short },
      ];
      expect(await amdgpuCsWaitFences(app, fd, fences, true, 0)).toEqual({ status: false, first: 0 });
      expect(await amdgpuCsWaitFences(app, fd, fences, false)).toEqual({ status: true, first: 1 });
      expect(sim.now).toBe(msecs(1));
      expect(await amdgpuCsWaitFences(app, fd, fences, true)).toMatchObject({ status: true });
      expect(sim.now).toBe(msecs(3));
      const bad = await amdgpuCsCtxCreate2(app, fd);
      const hung = await amdgpuCsSubmitRaw2(app, fd, bad, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, hang: true }),
      ]);
      expect(
        await errno(
          amdgpuCsWaitFences(app, fd, [{ ctxId: bad, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: hung }], true),
        ),
      ).toBe("ECANCELED");
      expect(
        await errno(
          amdgpuCsWaitFences(app, fd, [{ ctxId: 99, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: 1 }], true),
        ),
      ).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("FENCE_TO_HANDLE gives the submission's fence as a syncobj, a syncobj fd or a sync_file fd", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(msecs(2))]);
      const f = { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq };
      const so = await amdgpuCsFenceToHandle(app, fd, f, AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ);
      const soFd = await amdgpuCsFenceToHandle(app, fd, f, AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD);
      const sf = await amdgpuCsFenceToHandle(app, fd, f, AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD);
      const fromFd = await drmSyncobjFDToHandle(app, fd, soFd);
      const fence = syncFileGetFence(app, sf)!;
      expect(fence.signaled).toBe(false);
      await drmSyncobjWait(app, fd, [so, fromFd], S64_MAX, 1);
      expect(sim.now).toBe(msecs(2));
      expect(fence.signaled).toBe(true);
      fence.put();
      expect(
        await errno(
          app.ioctl(fd, DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, {
            in: { fence: { ctx_id: ctx, seq_no: 1 }, what: 3 },
          }),
        ),
      ).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a user fence: the submission's sequence number lands in the page-sized BO when the job completes", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const uf = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const cpu = await amdgpuBoCpuMap(app, fd, uf);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(1000)]);
      const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [gfx(msecs(1)), amdgpuCsChunkFence(uf, 64)]);
      const value = () => new DataView(cpu.read(64, 8).buffer).getBigUint64(0, true);
      // Not yet: read in the BO itself (a CPU read now would be one during the GPU's write).
      const bo = [...dev.files][0]!.gem.peek(uf) as AmdgpuBo;
      expect(Array.from(bo.store.read(64, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
      expect(value()).toBe(BigInt(seq));
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
