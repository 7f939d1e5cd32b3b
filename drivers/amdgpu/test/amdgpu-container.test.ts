/**
 * The device container: a test replaces amdgpu's hardware through `providers` without touching
 * the driver — a gfx ring that hangs on its third command, an 8 MiB VRAM that forces eviction.
 */
import { DRM_DEVICE, DrmPluginHost, HW_ENGINE_FACTORY, SIMULATOR } from "@drmsim/drm";
import { DrmVramManager } from "@drmsim/gem";
import { HardwareEngineFactory, msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
  AMDGPU_CTX_QUERY2_FLAGS_RESET,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  AMDGPU_VRAM,
  type AmdgpuBo,
  amdgpuDeviceOf,
  amdgpuProbe,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsQueryResetState2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";

import { errno } from "./helpers.js";

const MiB = 1024 * 1024;

it("HW_ENGINE_FACTORY: the gfx ring hangs on its third command; TDR resets and only that context is guilty", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(
    host,
    { timeoutNs: msecs(10) },
    {
      providers: [
        {
          provide: HW_ENGINE_FACTORY,
          useFactory: (c) => new HardwareEngineFactory(c.resolve(SIMULATOR), { "gfx_0.0.0": { hang: [3] } }),
        },
      ],
    },
  );
  const adev = amdgpuDeviceOf(dev);
  const app = new Process(sim, "app");
  await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const ok = await amdgpuCsCtxCreate2(app, fd);
    const victim = await amdgpuCsCtxCreate2(app, fd);
    const ib = amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1) });
    const s1 = await amdgpuCsSubmitRaw2(app, fd, ok, [ib]);
    const s2 = await amdgpuCsSubmitRaw2(app, fd, ok, [ib]);
    const s3 = await amdgpuCsSubmitRaw2(app, fd, victim, [ib]);
    for (const [ctxId, fence] of [
      [ok, s1],
      [ok, s2],
    ] as const)
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence }),
      ).toBe(true);
    // WAIT_CS returns the error of a submission that failed (amdgpu_cs_wait_ioctl).
    expect(
      await errno(
        amdgpuCsQueryFenceStatus(app, fd, { ctxId: victim, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s3 }),
      ),
    ).toBe("ECANCELED");
    // Commands 1 and 2 took 1 ms each; the third never completed and the 10 ms timeout reset the GPU.
    expect(sim.now).toBe(msecs(2) + msecs(10));
    expect(adev.gpuResetCounter).toBe(1);
    expect(await amdgpuCsQueryResetState2(app, fd, victim)).toBe(
      AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
    );
    expect(await amdgpuCsQueryResetState2(app, fd, ok)).toBe(AMDGPU_CTX_QUERY2_FLAGS_RESET);
  });
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});

it("AMDGPU_VRAM: an 8 MiB VRAM in place of the configured 256 MiB forces eviction to GTT", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(
    host,
    {},
    {
      providers: [
        {
          provide: AMDGPU_VRAM,
          useFactory: (c) => {
            const drm = c.resolve(DRM_DEVICE);
            return new DrmVramManager(drm.sim, {
              size: 8 * MiB,
              base: 0x80_0000_0000,
              contiguous: false,
              dmaDev: drm.dmaDev,
            });
          },
        },
      ],
    },
  );
  const adev = amdgpuDeviceOf(dev);
  expect(adev.config.vramSize).toBe(256 * MiB);
  const app = new Process(sim, "app");
  await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const file = [...dev.files][0]!;
    const domains = AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT;
    const a = await amdgpuBoAlloc(app, fd, { allocSize: 4 * MiB, preferredHeap: domains });
    const b = await amdgpuBoAlloc(app, fd, { allocSize: 4 * MiB, preferredHeap: domains });
    expect(adev.mman.stats.evictions).toBe(0);
    const c = await amdgpuBoAlloc(app, fd, { allocSize: 4 * MiB, preferredHeap: domains });
    const domain = (h: number) => (file.gem.peek(h) as AmdgpuBo).domain;
    expect([domain(a), domain(b), domain(c)]).toEqual(["gtt", "vram", "vram"]);
    expect(adev.mman.stats.evictions).toBe(1);
  });
  await sim.run();
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
