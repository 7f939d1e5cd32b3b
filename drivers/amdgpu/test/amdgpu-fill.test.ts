/**
 * drmsim's `fill` knob: the test IB carries a WRITE marker the hardware model reads; the bytes land
 * in the BO (through the submitter's VM) when the job completes without error.
 */
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
      // The library refuses what no IB could write: out of bounds, bytes that are not bytes.
      for (const [fill, list] of [
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
      // A GPU write goes through the VM, whether or not the BO is in the submission's list.
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({
          ip_type: AMDGPU_HW_IP_GFX,
          ring: 0,
          duration_ns: 1000,
          fill: { bo_handle: h, data: [7] },
        }),
        amdgpuCsChunkBoList([other]),
      ]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s2 });
      expect(Array.from(bo.store.read(0, 1))).toEqual([7]);
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
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq }),
        ),
      ).toBe("ECANCELED");
      expect(Array.from(bo.store.read(0, 1))).toEqual([0]);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
