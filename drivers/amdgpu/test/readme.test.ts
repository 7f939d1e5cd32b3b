/** The README example, verbatim (imports adjusted to the package under test), so it cannot rot. */
import { DrmPluginHost } from "@drmsim/drm";
import { msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import { AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_GFX, amdgpuProbe } from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";

it("README example", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(host, { vramSize: 64 * 1024 * 1024 });
  const app = new Process(sim, "app");
  const result = await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const ctx = await amdgpuCsCtxCreate2(app, fd);
    const bo = await amdgpuBoAlloc(app, fd, { allocSize: 1 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
    // Render on gfx (2 ms), then a compute pass (1 ms) on the same BO: implicit sync orders them.
    const submit = (ip_type: number, duration_ns: number) =>
      amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type, ring: 0, duration_ns }),
        amdgpuCsChunkBoList([bo]),
      ]);
    await submit(AMDGPU_HW_IP_GFX, msecs(2));
    const seq = await submit(AMDGPU_HW_IP_COMPUTE, msecs(1));
    const done = await amdgpuCsQueryFenceStatus(app, fd, {
      ctxId: ctx,
      ipType: AMDGPU_HW_IP_COMPUTE,
      ring: 0,
      fence: seq,
    });
    return { seq, done, doneAtMs: sim.now / 1e6 };
  });
  expect(result).toEqual({ seq: 1, done: true, doneAtMs: 3 });
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
