/** Lifetimes: freeing a context, closing the file and removing the device while work is in flight leak nothing. */
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_USERQ_OP_CREATE,
  amdgpuFprivOf,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
} from "../src/index.js";
import { boAlloc, boList, cs, ctxCreate, ib, rig } from "./helpers.js";

describe("lifetimes", () => {
  it("CTX FREE flushes the context's queued work first", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      for (let i = 0; i < 3; i++) await cs(app, fd, ctx, [ib(AMDGPU_HW_IP_GFX, 0, 1000)]);
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { op: AMDGPU_CTX_OP_FREE_CTX, ctx_id: ctx });
      expect(amdgpuFprivOf([...dev.files][0]!).ctxMgr.ctxs.size).toBe(0);
    });
    await sim.run();
    expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran.length).toBe(3);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a process that exits with jobs queued, BOs busy and a user queue running leaves nothing behind", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      const bo = await boAlloc(app, fd, 1 << 20, AMDGPU_GEM_DOMAIN_VRAM);
      for (let i = 0; i < 5; i++) await cs(app, fd, ctx, [ib(AMDGPU_HW_IP_COMPUTE, 0, msecs(1)), boList(bo)]);
      const q = await app.ioctl<{ queue_id: number }>(fd, DRM_IOCTL_AMDGPU_USERQ, {
        op: AMDGPU_USERQ_OP_CREATE,
        ip_type: AMDGPU_HW_IP_COMPUTE,
        bo_handles: [bo],
      });
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ_DOORBELL, { queue_id: q.queue_id, work_ns: msecs(100) });
    });
    app.exit();
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(dev.files.size).toBe(0);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("removing the device with a file open and a job on the hardware cancels the job", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      await cs(app, fd, ctx, [ib(AMDGPU_HW_IP_GFX, 0, msecs(50))]);
    });
    await sim.runFor(msecs(1));
    host.remove(dev);
    app.exit();
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });
});
