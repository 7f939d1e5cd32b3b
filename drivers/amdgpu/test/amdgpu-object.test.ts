/** Memory management: VRAM pressure evicts through SDMA copy jobs, system-memory pressure swaps through the shrinker. */
import { DmaResvUsage } from "@drmsim/dma-resv";
import type { DrmFile } from "@drmsim/drm";
import { DRM_IOCTL_GEM_CLOSE } from "@drmsim/drm";
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  type AmdgpuBo,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

const KiB = 1024;
const bo = (f: DrmFile, h: number) => f.gem.peek(h) as AmdgpuBo;

describe("VRAM eviction", () => {
  it("makes room by moving the least recently placed BO to GTT with an SDMA copy whose fence is a KERNEL fence", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 1024 * KiB, sdmaBytesPerNs: 1 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const hs: number[] = [];
      for (let i = 0; i < 4; i++)
        hs.push(
          await amdgpuBoAlloc(app, fd, {
            allocSize: 256 * KiB,
            preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
          }),
        );
      const a = bo(f, hs[0]!);
      a.store.write(0, new Uint8Array([1, 2, 3]));
      expect(adev.mman.vram.avail).toBe(0);
      const e = await amdgpuBoAlloc(app, fd, { allocSize: 256 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      expect(a.domain).toBe("gtt");
      expect(bo(f, e).domain).toBe("vram");
      expect(adev.mman.stats.evictions).toBe(1);
      // The copy is in flight: the evicted BO and the BO reusing its VRAM both carry the copy fence.
      expect(a.resv.testSignaled(DmaResvUsage.KERNEL)).toBe(false);
      expect(bo(f, e).resv.testSignaled(DmaResvUsage.KERNEL)).toBe(false);
      expect(Array.from(a.store.read(0, 3))).toEqual([1, 2, 3]);
      // A CS using the new BO waits for the copy (256 KiB at 1 byte/ns).
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const s = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([e]),
      ]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s }),
      ).toBe(true);
      expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran[0]!.at).toBe(256 * KiB);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a CS moves an evicted BO back to VRAM once there is room, and waits for that copy", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 512 * KiB, sdmaBytesPerNs: 1 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const a = await amdgpuBoAlloc(app, fd, {
        allocSize: 512 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const b = await amdgpuBoAlloc(app, fd, {
        allocSize: 512 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      expect(bo(f, a).domain).toBe("gtt");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      // No room: the CS uses A where it is (after the eviction copy).
      const s1 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([a]),
      ]);
      expect(bo(f, a).domain).toBe("gtt");
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s1 }),
      ).toBe(true);
      await app.ioctl(fd, DRM_IOCTL_GEM_CLOSE, { handle: b });
      const pages = bo(f, a).gttPages!;
      const t0 = sim.now;
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([a]),
      ]);
      expect(bo(f, a).domain).toBe("vram");
      expect(pages.freed).toBe(false); // the GTT pages stay until the copy has read them
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s2 }),
      ).toBe(true);
      const ran = adev.rings[AMDGPU_HW_IP_GFX][0]!.ran;
      expect(ran[ran.length - 1]!.at - t0).toBe(512 * KiB);
      expect(pages.freed).toBe(true);
    });
    expect(adev.mman.stats.moves).toBe(2);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("evicts a busy BO without waiting: the copy job depends on the BO's fences and runs after the CS", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 512 * KiB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const busy = await amdgpuBoAlloc(app, fd, {
        allocSize: 512 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(5) }),
        amdgpuCsChunkBoList([busy]),
      ]);
      const t0 = sim.now;
      await amdgpuBoAlloc(app, fd, { allocSize: 512 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      expect(sim.now).toBe(t0); // no CPU wait for the busy BO
      expect(bo(f, busy).domain).toBe("gtt");
      await bo(f, busy).resv.waitTimeout(DmaResvUsage.KERNEL);
      expect(sim.now).toBeGreaterThanOrEqual(msecs(5));
    });
    // The only copy on SDMA is the eviction (the rest are the library's page-table updates).
    expect(adev.sdmaRing.ran.map((r) => r.entity).filter((e) => !e.endsWith(".pt"))).toEqual([
      `${adev.name}.mman`,
    ]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a VRAM-only BO that does not fit VRAM is retried with GTT; ENOMEM where GTT cannot take it either, and nothing changed", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 512 * KiB }, { memoryBudget: 1024 * KiB });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      await amdgpuBoAlloc(app, fd, { allocSize: 256 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const f = [...dev.files][0]!;
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 768 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      expect(bo(f, h).domain).toBe("gtt");
      expect(
        await errno(amdgpuBoAlloc(app, fd, { allocSize: 1024 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM })),
      ).toBe("ENOMEM");
      expect(f.gem.count).toBe(2);
    });
    expect(adev.mman.vram.avail).toBe(256 * KiB);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("shrinker", () => {
  it("under system-memory pressure swaps idle GTT BOs out, skips busy ones, and a CS swaps them back in", async () => {
    const { sim, host, dev, adev } = rig({}, { memoryBudget: 1024 * KiB, validator: "throw" });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const idle = await amdgpuBoAlloc(app, fd, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
      });
      const busy = await amdgpuBoAlloc(app, fd, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
      });
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(5) }),
        amdgpuCsChunkBoList([busy]),
      ]);
      // The budget is nearly used; the next BO needs reclaim.
      const more = await amdgpuBoAlloc(app, fd, {
        allocSize: 512 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
      });
      expect(bo(f, idle).domain).toBe("cpu");
      expect(bo(f, busy).domain).toBe("gtt");
      expect(adev.mman.stats.swapouts).toBe(1);
      // Using the swapped-out BO brings it back.
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([idle]),
      ]);
      expect(bo(f, idle).domain).toBe("gtt");
      expect(adev.mman.stats.swapins).toBe(1);
      expect(bo(f, more).domain).not.toBe("vram");
    });
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    app.exit();
    host.remove(dev);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});
