/** The drmsim `fill` extension of an IB: the bytes the job writes land in the BO when it completes. */
import { Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { AMDGPU_GEM_DOMAIN_GTT, AMDGPU_HW_IP_GFX, type AmdgpuBo } from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

describe("IB fill (drmsim extension)", () => {
  it("writes the bytes at completion, not before; a failing CS changes nothing and takes no reference", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const other = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      const refs = bo.refcount;
      const data = [1, 2, 3, 4];
      // Errors: target not in the BO list, out of bounds, malformed data.
      for (const [fill, list] of [
        [{ bo_handle: h, data }, [other]],
        [{ bo_handle: h, offset: 8190, data }, [h]],
        [{ bo_handle: h, data: [256] }, [h]],
      ] as const)
        expect(
          await errno(
            amdgpuCsSubmitRaw2(app, fd, ctx, [
              amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000, fill }),
              amdgpuCsChunkBoList(list),
            ]),
          ),
        ).toBe("EINVAL");
      expect(bo.refcount).toBe(refs);
      const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({
          ip_type: AMDGPU_HW_IP_GFX,
          ring: 0,
          duration_ns: 50_000,
          fill: { bo_handle: h, offset: 4096, data },
        }),
        amdgpuCsChunkBoList([h]),
      ]);
      expect(Array.from(bo.store.read(4096, 4))).toEqual([0, 0, 0, 0]); // still running
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: ctx,
          ipType: AMDGPU_HW_IP_GFX,
          ring: 0,
          fence: seq,
        }),
      ).toBe(true);
      expect(Array.from(bo.store.read(4096, 4))).toEqual(data);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a hung IB's bytes never land (the job ends with an error)", async () => {
    const { sim, host, dev } = rig({ timeoutNs: 1_000_000 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({
          ip_type: AMDGPU_HW_IP_GFX,
          ring: 0,
          duration_ns: 1000,
          hang: true,
          fill: { bo_handle: h, data: [9] },
        }),
        amdgpuCsChunkBoList([h]),
      ]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
      expect(Array.from(bo.store.read(0, 1))).toEqual([0]);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
