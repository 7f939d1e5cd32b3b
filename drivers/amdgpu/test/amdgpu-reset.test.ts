/** GPU hang → TDR: the guilty context is told, innocent work re-runs, gang jobs are not re-submitted, VRAM-lost accounting. */
import { ERRNO, msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
  AMDGPU_CTX_QUERY2_FLAGS_RESET,
  AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  amdgpuFprivOf,
} from "../src/index.js";
import {
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsQueryResetState2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, nap, rig } from "./helpers.js";

describe("GPU recovery", () => {
  it("a hang times out; the guilty context is cancelled and reports GUILTY, an innocent one only RESET and its job re-runs", async () => {
    const { sim, host, dev, adev } = rig({ timeoutNs: msecs(10) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const bad = await amdgpuCsCtxCreate2(app, fd);
      const good = await amdgpuCsCtxCreate2(app, fd);
      expect(await amdgpuCsQueryResetState2(app, fd, bad)).toBe(0);
      const sBad = await amdgpuCsSubmitRaw2(app, fd, bad, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1), hang: true }),
      ]);
      await nap(sim, msecs(4));
      const sGood = await amdgpuCsSubmitRaw2(app, fd, good, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(8) }),
      ]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: good,
          ipType: AMDGPU_HW_IP_COMPUTE,
          ring: 0,
          fence: sGood,
        }),
      ).toBe(true);
      // WAIT_CS returns a failed submission's error.
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, {
            ctxId: bad,
            ipType: AMDGPU_HW_IP_GFX,
            ring: 0,
            fence: sBad,
          }),
        ),
      ).toBe("ECANCELED");
      expect(adev.gpuResetCounter).toBe(1);
      expect(await amdgpuCsQueryResetState2(app, fd, bad)).toBe(
        AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
      );
      expect(await amdgpuCsQueryResetState2(app, fd, good)).toBe(AMDGPU_CTX_QUERY2_FLAGS_RESET);
      const ctxs = amdgpuFprivOf([...dev.files][0]!).ctxMgr;
      const badFence = ctxs.get(bad).getEntity(AMDGPU_HW_IP_GFX, 0, 0).getFence(BigInt(sBad))!;
      const goodFence = ctxs.get(good).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 0).getFence(BigInt(sGood))!;
      expect(badFence.error).toBe(-ERRNO.ECANCELED);
      expect(goodFence.error).toBe(0);
      // The innocent job was on the hardware during the reset: it ran again, from the start.
      expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran.map((r) => r.at)).toEqual([msecs(4), msecs(10)]);
      expect(goodFence.timestamp).toBe(msecs(18));
      badFence.put();
      goodFence.put();
      // A guilty context takes no more work; a new context does.
      expect(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, bad, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
          ]),
        ),
      ).toBe("ECANCELED");
      const fresh = await amdgpuCsCtxCreate2(app, fd);
      expect(await amdgpuCsQueryResetState2(app, fd, fresh)).toBe(0);
      const s = await amdgpuCsSubmitRaw2(app, fd, fresh, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
      ]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: fresh,
          ipType: AMDGPU_HW_IP_GFX,
          ring: 0,
          fence: s,
        }),
      ).toBe(true);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("gang jobs on the hardware at the reset are not re-submitted; a plain job is", async () => {
    const { sim, host, dev, adev } = rig({ timeoutNs: msecs(10) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const hang = await amdgpuCsCtxCreate2(app, fd);
      const gang = await amdgpuCsCtxCreate2(app, fd);
      const plain = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, hang, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1), hang: true }),
      ]);
      await nap(sim, msecs(4));
      // On the hardware (gang) or queued on it (plain, behind the gang member) when the reset comes at 10 ms.
      const sg = await amdgpuCsSubmitRaw2(app, fd, gang, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(8) }),
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(8) }),
      ]);
      const sp = await amdgpuCsSubmitRaw2(app, fd, plain, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(6) }),
      ]);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: plain,
          ipType: AMDGPU_HW_IP_COMPUTE,
          ring: 1,
          fence: sp,
        }),
      ).toBe(true);
      // The sequence number is the gang leader's: the job of the last IB chunk (ring 1).
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, {
            ctxId: gang,
            ipType: AMDGPU_HW_IP_COMPUTE,
            ring: 1,
            fence: sg,
          }),
        ),
      ).toBe("ECANCELED");
      const ctxs = amdgpuFprivOf([...dev.files][0]!).ctxMgr;
      const gf = ctxs.get(gang).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 1).getFence(BigInt(sg))!;
      const pf = ctxs.get(plain).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 1).getFence(BigInt(sp))!;
      expect(gf.error).toBe(-ERRNO.ECANCELED);
      expect(pf.error).toBe(0);
      expect(pf.timestamp).toBe(msecs(16));
      expect(adev.gpuResetCounter).toBe(1);
      gf.put();
      pf.put();
      // The gang context is not guilty: it was a victim, and may submit again.
      expect(await amdgpuCsQueryResetState2(app, fd, gang)).toBe(AMDGPU_CTX_QUERY2_FLAGS_RESET);
    });
    const count = (ring: number, entity: string) =>
      adev.rings[AMDGPU_HW_IP_COMPUTE][ring]!.ran.filter((r) => r.entity === entity).length;
    expect(count(0, "ctx2.comp_1.0.0")).toBe(1);
    expect(count(1, "ctx2.comp_1.1.0")).toBe(1);
    expect(count(1, "ctx3.comp_1.1.0")).toBe(2);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a reset that loses VRAM: old contexts report VRAMLOST and are refused, new ones work", async () => {
    const { sim, host, dev, adev } = rig({ timeoutNs: msecs(10), vramLostOnReset: true });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const bad = await amdgpuCsCtxCreate2(app, fd);
      const bystander = await amdgpuCsCtxCreate2(app, fd);
      const s = await amdgpuCsSubmitRaw2(app, fd, bad, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1, hang: true }),
      ]);
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, { ctxId: bad, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s }),
        ),
      ).toBe("ECANCELED");
      expect(adev.vramLostCounter).toBe(1);
      expect(await amdgpuCsQueryResetState2(app, fd, bystander)).toBe(
        AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
      );
      expect(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, bystander, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
          ]),
        ),
      ).toBe("ECANCELED");
      const fresh = await amdgpuCsCtxCreate2(app, fd);
      expect(await amdgpuCsQueryResetState2(app, fd, fresh)).toBe(0);
      expect(
        await amdgpuCsSubmitRaw2(app, fd, fresh, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        ]),
      ).toBe(1);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
