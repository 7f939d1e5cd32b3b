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
import { cs, ctxCreate, ctxQuery2, errno, ib, nap, rig, waitCs } from "./helpers.js";

describe("GPU recovery", () => {
  it("a hang times out; the guilty context is cancelled and reports GUILTY, an innocent one only RESET and its job re-runs", async () => {
    const { sim, host, dev, adev } = rig({ timeoutNs: msecs(10) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const bad = await ctxCreate(app, fd);
      const good = await ctxCreate(app, fd);
      expect(await ctxQuery2(app, fd, bad)).toBe(0);
      const sBad = await cs(app, fd, bad, [ib(AMDGPU_HW_IP_GFX, 0, msecs(1), { hang: true })]);
      await nap(sim, msecs(4));
      const sGood = await cs(app, fd, good, [ib(AMDGPU_HW_IP_COMPUTE, 0, msecs(8))]);
      expect(await waitCs(app, fd, good, AMDGPU_HW_IP_COMPUTE, 0, sGood)).toBe(0);
      expect(await waitCs(app, fd, bad, AMDGPU_HW_IP_GFX, 0, sBad)).toBe(0);
      expect(adev.gpuResetCounter).toBe(1);
      expect(await ctxQuery2(app, fd, bad)).toBe(
        AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
      );
      expect(await ctxQuery2(app, fd, good)).toBe(AMDGPU_CTX_QUERY2_FLAGS_RESET);
      const ctxs = amdgpuFprivOf([...dev.files][0]!).ctxMgr;
      const badFence = ctxs.get(bad).getEntity(AMDGPU_HW_IP_GFX, 0, 0).getFence(sBad)!;
      const goodFence = ctxs.get(good).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 0).getFence(sGood)!;
      expect(badFence.error).toBe(-ERRNO.ECANCELED);
      expect(goodFence.error).toBe(0);
      // The innocent job was on the hardware during the reset: it ran again, from the start.
      expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran.map((r) => r.at)).toEqual([msecs(4), msecs(10)]);
      expect(goodFence.timestamp).toBe(msecs(18));
      badFence.put();
      goodFence.put();
      // A guilty context takes no more work; a new context does.
      expect(await errno(cs(app, fd, bad, [ib(AMDGPU_HW_IP_GFX, 0, 1000)]))).toBe("ECANCELED");
      const fresh = await ctxCreate(app, fd);
      expect(await ctxQuery2(app, fd, fresh)).toBe(0);
      const s = await cs(app, fd, fresh, [ib(AMDGPU_HW_IP_GFX, 0, 1000)]);
      expect(await waitCs(app, fd, fresh, AMDGPU_HW_IP_GFX, 0, s)).toBe(0);
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
      const hang = await ctxCreate(app, fd);
      const gang = await ctxCreate(app, fd);
      const plain = await ctxCreate(app, fd);
      await cs(app, fd, hang, [ib(AMDGPU_HW_IP_GFX, 0, msecs(1), { hang: true })]);
      await nap(sim, msecs(4));
      // On the hardware (gang) or queued on it (plain, behind the gang member) when the reset comes at 10 ms.
      const sg = await cs(app, fd, gang, [
        ib(AMDGPU_HW_IP_COMPUTE, 0, msecs(8)),
        ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(8)),
      ]);
      const sp = await cs(app, fd, plain, [ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(6))]);
      expect(await waitCs(app, fd, plain, AMDGPU_HW_IP_COMPUTE, 1, sp)).toBe(0);
      expect(await waitCs(app, fd, gang, AMDGPU_HW_IP_COMPUTE, 0, sg)).toBe(0);
      const ctxs = amdgpuFprivOf([...dev.files][0]!).ctxMgr;
      const gf = ctxs.get(gang).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 0).getFence(sg)!;
      const pf = ctxs.get(plain).getEntity(AMDGPU_HW_IP_COMPUTE, 0, 1).getFence(sp)!;
      expect(gf.error).toBe(-ERRNO.ECANCELED);
      expect(pf.error).toBe(0);
      expect(pf.timestamp).toBe(msecs(16));
      expect(adev.gpuResetCounter).toBe(1);
      gf.put();
      pf.put();
      // The gang context is not guilty: it was a victim, and may submit again.
      expect(await ctxQuery2(app, fd, gang)).toBe(AMDGPU_CTX_QUERY2_FLAGS_RESET);
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
      const bad = await ctxCreate(app, fd);
      const bystander = await ctxCreate(app, fd);
      const s = await cs(app, fd, bad, [ib(AMDGPU_HW_IP_GFX, 0, 1, { hang: true })]);
      await waitCs(app, fd, bad, AMDGPU_HW_IP_GFX, 0, s);
      expect(adev.vramLostCounter).toBe(1);
      expect(await ctxQuery2(app, fd, bystander)).toBe(
        AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
      );
      expect(await errno(cs(app, fd, bystander, [ib(AMDGPU_HW_IP_GFX, 0, 1000)]))).toBe("ECANCELED");
      const fresh = await ctxCreate(app, fd);
      expect(await ctxQuery2(app, fd, fresh)).toBe(0);
      expect(await cs(app, fd, fresh, [ib(AMDGPU_HW_IP_GFX, 0, 1000)])).toBe(1);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
