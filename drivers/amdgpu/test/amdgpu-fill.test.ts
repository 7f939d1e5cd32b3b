/**
 * drmsim's `fill` and `copy` knobs: the test IB carries a WRITE marker the hardware model reads,
 * and a real copy packet; the bytes land in the BO (through the submitter's VM) when the job
 * completes without error.
 */
import { Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { AMDGPU_GEM_DOMAIN_GTT, AMDGPU_HW_IP_DMA, AMDGPU_HW_IP_GFX, type AmdgpuBo } from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

describe("IB copy (drmsim knob as a real copy packet)", () => {
  it("copies after the IB's fill, on gfx (DMA_DATA) and SDMA (COPY linear); the library refuses copies that do not fit", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const a = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const b = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const bo = (h: number) => [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      for (const [ip, at] of [
        [AMDGPU_HW_IP_GFX, 0],
        [AMDGPU_HW_IP_DMA, 100],
      ] as const) {
        const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
          amdgpuCsChunkIb({
            ip_type: ip,
            ring: 0,
            fill: { bo_handle: a, offset: 5000 + at, data: [9, 8, 7] },
            copy: { src_handle: a, src_offset: 5000 + at, dst_handle: b, dst_offset: at, size: 3 },
          }),
          amdgpuCsChunkBoList([a, b]),
        ]);
        expect(await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: ip, ring: 0, fence: seq })).toBe(
          true,
        );
        expect(Array.from(bo(b).store.read(at, 3))).toEqual([9, 8, 7]);
      }
      // A fill larger than one packet can carry (256 KiB) takes several markers; it all lands.
      const big = await amdgpuBoAlloc(app, fd, {
        allocSize: 256 * 1024,
        preferredHeap: AMDGPU_GEM_DOMAIN_GTT,
      });
      const data = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7 + 3) & 0xff);
      const s3 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, fill: { bo_handle: big, data } }),
      ]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s3 }),
      ).toBe(true);
      expect(Buffer.from(bo(big).store.read(0, 256 * 1024)).equals(data)).toBe(true);
      for (const copy of [
        { src_handle: a, dst_handle: b, dst_offset: 4000, size: 200 },
        { src_handle: a, src_offset: -1, dst_handle: b, size: 4 },
        { src_handle: a, dst_handle: b, size: 0 },
      ])
        expect(
          await errno(
            amdgpuCsSubmitRaw2(app, fd, ctx, [amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, copy })]),
          ),
        ).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

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
