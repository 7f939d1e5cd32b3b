/** Tracepoints: VMID grabs, BO moves and user-queue eviction/restore show up when tracing is on, and cost nothing when off. */
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  traceAmdgpuBoMove,
  traceAmdgpuUserqEvict,
  traceAmdgpuUserqRestore,
  traceAmdgpuVmGrabId,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCreateUserqueue,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { rig } from "./helpers.js";

async function scenario(trace: boolean) {
  const { sim, host, dev } = rig({ vramSize: 256 * 1024 }, { trace });
  const app = new Process(sim, "app");
  await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const ctx = await amdgpuCsCtxCreate2(app, fd);
    await amdgpuCsSubmitRaw2(app, fd, ctx, [
      amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
    ]);
    await amdgpuBoAlloc(app, fd, {
      allocSize: 256 * 1024,
      preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
    });
    await amdgpuCreateUserqueue(app, fd, AMDGPU_HW_IP_COMPUTE);
    await amdgpuBoAlloc(app, fd, { allocSize: 256 * 1024, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
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
