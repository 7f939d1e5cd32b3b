/** The drmsim `fill` extension of an IB: the bytes the job writes land in the BO when it completes. */
import { Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { AMDGPU_GEM_DOMAIN_GTT, AMDGPU_HW_IP_GFX, type AmdgpuBo } from "../src/index.js";
import { boAlloc, boList, cs, ctxCreate, errno, ib, rig, waitCs } from "./helpers.js";

describe("IB fill (drmsim extension)", () => {
  it("writes the bytes at completion, not before; a failing CS changes nothing and takes no reference", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      const h = await boAlloc(app, fd, 8192, AMDGPU_GEM_DOMAIN_GTT);
      const other = await boAlloc(app, fd, 4096, AMDGPU_GEM_DOMAIN_GTT);
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
          await errno(cs(app, fd, ctx, [ib(AMDGPU_HW_IP_GFX, 0, 1000, { fill }), boList(...list)])),
        ).toBe("EINVAL");
      expect(bo.refcount).toBe(refs);
      const seq = await cs(app, fd, ctx, [
        ib(AMDGPU_HW_IP_GFX, 0, 50_000, { fill: { bo_handle: h, offset: 4096, data } }),
        boList(h),
      ]);
      expect(Array.from(bo.store.read(4096, 4))).toEqual([0, 0, 0, 0]); // still running
      expect(await waitCs(app, fd, ctx, AMDGPU_HW_IP_GFX, 0, seq)).toBe(0);
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
      const ctx = await ctxCreate(app, fd);
      const h = await boAlloc(app, fd, 4096, AMDGPU_GEM_DOMAIN_GTT);
      const bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      const seq = await cs(app, fd, ctx, [
        ib(AMDGPU_HW_IP_GFX, 0, 1000, { hang: true, fill: { bo_handle: h, data: [9] } }),
        boList(h),
      ]);
      await waitCs(app, fd, ctx, AMDGPU_HW_IP_GFX, 0, seq);
      expect(Array.from(bo.store.read(0, 1))).toEqual([0]);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
