/** Tracepoints: VMID grabs, BO moves and user-queue eviction/restore show up when tracing is on, and cost nothing when off. */
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  AMDGPU_USERQ_OP_CREATE,
  DRM_IOCTL_AMDGPU_USERQ,
  traceAmdgpuBoMove,
  traceAmdgpuUserqEvict,
  traceAmdgpuUserqRestore,
  traceAmdgpuVmGrabId,
} from "../src/index.js";
import { boAlloc, cs, ctxCreate, ib, rig } from "./helpers.js";

async function scenario(trace: boolean) {
  const { sim, host, dev } = rig({ vramSize: 256 * 1024 }, { trace });
  const app = new Process(sim, "app");
  await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const ctx = await ctxCreate(app, fd);
    await cs(app, fd, ctx, [ib(AMDGPU_HW_IP_GFX, 0, 1000)]);
    const h = await boAlloc(app, fd, 256 * 1024, AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT);
    await app.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ, {
      op: AMDGPU_USERQ_OP_CREATE,
      ip_type: AMDGPU_HW_IP_COMPUTE,
      bo_handles: [h],
    });
    await boAlloc(app, fd, 256 * 1024, AMDGPU_GEM_DOMAIN_VRAM);
  });
  await sim.runFor(msecs(5));
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
  return sim;
}

describe("tracing", () => {
  it("records the driver's events with their arguments", async () => {
    const sim = await scenario(true);
    const t = sim.tracer;
    expect(t.eventsOf(traceAmdgpuVmGrabId).map((e) => e.args)).toEqual([
      { ring: "gfx_0.0.0", vm: "amdgpu.0.vm1", vmid: 1 },
    ]);
    expect(t.eventsOf(traceAmdgpuBoMove).map((e) => (e.args as { from: string; to: string }).to)).toEqual([
      "gtt",
    ]);
    expect(t.eventsOf(traceAmdgpuUserqEvict).length).toBe(1);
    expect(t.eventsOf(traceAmdgpuUserqRestore).length).toBe(1);
  });

  it("records nothing when tracing is off", async () => {
    const sim = await scenario(false);
    expect(sim.tracer.events.length).toBe(0);
  });
});
