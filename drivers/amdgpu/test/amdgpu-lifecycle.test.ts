/** Lifetimes: freeing a context, closing the file and removing the device while work is in flight leak nothing. */
import type { DmaFence } from "@drmsim/dma-fence";
import { ERRNO, msecs, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  amdgpuFprivOf,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCreateUserqueue,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsCtxFree,
  amdgpuCsSubmitRaw2,
  amdgpuUserqDoorbell,
} from "../src/user/index.js";
import { rig } from "./helpers.js";

describe("lifetimes", () => {
  it("CTX FREE flushes the context's queued work first", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      for (let i = 0; i < 3; i++)
        await amdgpuCsSubmitRaw2(app, fd, ctx, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        ]);
      await amdgpuCsCtxFree(app, fd, ctx);
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
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const bo = await amdgpuBoAlloc(app, fd, { allocSize: 1 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      for (let i = 0; i < 5; i++)
        await amdgpuCsSubmitRaw2(app, fd, ctx, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(1) }),
          amdgpuCsChunkBoList([bo]),
        ]);
      const q = await amdgpuCreateUserqueue(app, fd, AMDGPU_HW_IP_COMPUTE);
      await amdgpuUserqDoorbell(app, fd, q, msecs(100));
    });
    app.exit();
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(dev.files.size).toBe(0);
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("removing the device with a file open and a job on the hardware cancels the job", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    // Submitted from a thread of the process, the simulation driven only 1 ms (not to idle, which
    // would run the 50 ms job to completion before the removal).
    const submit = app.run(async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(50) }),
      ]);
    });
    await sim.runFor(msecs(1));
    await submit.result;
    // The job is on the hardware (50 ms to go): hold its finished fence to see how it ends.
    const ring = adev.rings[AMDGPU_HW_IP_GFX][0]!;
    expect(ring.ran).toHaveLength(1);
    const jobs: DmaFence[] = [];
    ring.sched.forEachPendingJob((job) => jobs.push(job.finished.get()));
    expect(jobs).toHaveLength(1);
    const finished = jobs[0]!;
    expect(finished.signaled).toBe(false);
    const removedAt = sim.now;
    host.remove(dev);
    app.exit();
    await sim.run();
    // Cancelled at removal, not run to completion: ECANCELED, signalled then, not 50 ms later.
    expect(finished.signaled).toBe(true);
    expect(finished.error).toBe(-ERRNO.ECANCELED);
    expect(finished.timestampNs).toBe(removedAt);
    finished.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
