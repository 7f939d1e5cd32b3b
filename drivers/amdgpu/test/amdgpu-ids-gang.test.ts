/** VMIDs and gang submit: what a job waits for before it may run is a fence returned from prepareJob. */
import { msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { AMDGPU_HW_IP_COMPUTE, AMDGPU_HW_IP_DMA, AMDGPU_HW_IP_GFX } from "../src/index.js";
import { amdgpuCsChunkIb, amdgpuCsCtxCreate2, amdgpuCsSubmitRaw2 } from "../src/user/index.js";
import { rig } from "./helpers.js";

describe("VMIDs", () => {
  it("with every ID busy, a new VM waits for the oldest holder, then takes its ID", async () => {
    const { sim, host, dev, adev } = rig({ vmids: 2, computeRings: 2, sdmaRings: 2 });
    const procs = [0, 1, 2].map((i) => new Process(sim, `app${i}`));
    // Three processes = three VMs, each on its own ring, all at t=0; jobs of 1, 2 and 1 ms.
    const rings: [number, number, number][] = [
      [AMDGPU_HW_IP_GFX, 0, msecs(1)],
      [AMDGPU_HW_IP_COMPUTE, 0, msecs(2)],
      [AMDGPU_HW_IP_DMA, 1, msecs(1)],
    ];
    const tasks = procs.map((p, i) =>
      sim.spawn(p.name, async () => {
        const fd = await p.open("/dev/dri/renderD128");
        const ctx = await amdgpuCsCtxCreate2(p, fd);
        const [ip, ring, t] = rings[i]!;
        await amdgpuCsSubmitRaw2(p, fd, ctx, [amdgpuCsChunkIb({ ip_type: ip, ring: ring, duration_ns: t })]);
      }),
    );
    await sim.run();
    await Promise.all(tasks.map((t) => t.result));
    expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran[0]!.at).toBe(0);
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[0]!.at).toBe(0);
    // The third VM found both IDs busy and waited for the oldest holder (the gfx job, 1 ms).
    expect(adev.rings[AMDGPU_HW_IP_DMA][1]!.ran[0]!.at).toBe(msecs(1));
    expect(adev.vmids.waits).toBe(1);
    expect(adev.vmids.ids.map((id) => id.uses)).toEqual([2, 1]);
    for (const p of procs) p.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a VM that holds an ID keeps using it while busy; 20 processes share the 16 IDs and all finish", async () => {
    const { sim, host, dev, adev } = rig();
    const procs = Array.from({ length: 20 }, (_, i) => new Process(sim, `p${i}`));
    const tasks = procs.map((p, i) =>
      sim.spawn(p.name, async () => {
        const fd = await p.open("/dev/dri/renderD128");
        const ctx = await amdgpuCsCtxCreate2(p, fd);
        for (let k = 0; k < 3; k++)
          await amdgpuCsSubmitRaw2(p, fd, ctx, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: i % 2, duration_ns: msecs(1) }),
          ]);
      }),
    );
    const r = await sim.run();
    await Promise.all(tasks.map((t) => t.result));
    expect(r.reason).toBe("idle");
    const ran = adev.rings[AMDGPU_HW_IP_COMPUTE].reduce((n, ring) => n + ring.ran.length, 0);
    expect(ran).toBe(60);
    expect(adev.vmids.ids.every((id) => id.uses > 0)).toBe(true);
    for (const p of procs) p.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("gang submit", () => {
  it("a gang's leader starts only once every member is scheduled; a second gang waits for the first gang's leader", async () => {
    const { sim, host, dev, adev } = rig({ hwSubmission: 1 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const busy = await amdgpuCsCtxCreate2(app, fd);
      const a = await amdgpuCsCtxCreate2(app, fd);
      const b = await amdgpuCsCtxCreate2(app, fd);
      // Keep gfx busy for 2 ms, so gang A's gfx leader cannot be scheduled before then.
      await amdgpuCsSubmitRaw2(app, fd, busy, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(2) }),
      ]);
      // Gang A: gfx (the leader) + compute0.
      await amdgpuCsSubmitRaw2(app, fd, a, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(1) }),
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1) }),
      ]);
      // Gang B: compute1 + sdma0, no gfx: the first IB's job leads.
      await amdgpuCsSubmitRaw2(app, fd, b, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(1) }),
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_DMA, ring: 0, duration_ns: msecs(1) }),
      ]);
    });
    await sim.run();
    const at = (ip: 0 | 1 | 2, ring: number, entity: string) =>
      adev.rings[ip][ring]!.ran.find((r) => r.entity === entity)!.at;
    expect(at(AMDGPU_HW_IP_COMPUTE, 0, "ctx2.comp_1.0.0")).toBe(0);
    expect(at(AMDGPU_HW_IP_GFX, 0, "ctx2.gfx_0.0.0")).toBe(msecs(2));
    // Gang B could not switch the hardware to itself while A's leader was unscheduled.
    expect(at(AMDGPU_HW_IP_COMPUTE, 1, "ctx3.comp_1.1.0")).toBe(msecs(2));
    expect(at(AMDGPU_HW_IP_DMA, 0, "ctx3.sdma0")).toBe(msecs(2));
    expect(adev.gangWaits).toBeGreaterThan(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
