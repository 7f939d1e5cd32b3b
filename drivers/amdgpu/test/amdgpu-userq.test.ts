/** User queues: no dma_fence for their work; eviction preempts them through the eviction fence (seed 001). */
import { DmaResvUsage } from "@drmsim/dma-resv";
import { msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_GFX,
  type AmdgpuBo,
  amdgpuFprivOf,
  DRM_IOCTL_AMDGPU_USERQ,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCreateUserqueue,
  amdgpuCreateUserqueueRaw,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsSubmitRaw2,
  amdgpuFreeUserqueue,
  amdgpuSimDoorbell,
  amdgpuUserqDoorbell,
} from "../src/user/index.js";
import { errno, nap, rig } from "./helpers.js";

const KiB = 1024;

describe("user queues", () => {
  it("a doorbell more than a ring ahead of the read pointer stops the queue at once: no lap of stale ring is run", async () => {
    // Found by the fuzzer: a doorbell value of 2^32 made the model read 2^32 dwords of a 4 KiB ring.
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const t = sim.spawn("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const id = await amdgpuCreateUserqueue(app, fd, AMDGPU_HW_IP_COMPUTE);
      const file = [...dev.files][0]!;
      const q = amdgpuFprivOf(file).userq.queues.get(id)!;
      const handle = file.gem.handles().find((h) => file.gem.peek(h) === q.props.doorbell)!;
      const ringDwords = q.props.queueSize / 4;
      await amdgpuSimDoorbell(app, fd, handle, q.props.doorbellOffset, 2 ** 32);
      await nap(sim, msecs(10));
      return { q, ringDwords };
    });
    await sim.run({ untilNs: msecs(20) });
    const { q, ringDwords } = await t.result;
    expect(q.wptr).toBe(2 ** 32);
    expect(q.wptr - q.rptr).toBeGreaterThan(ringDwords);
    // Nothing ran: the queue is stuck on its first segment until it is torn down.
    expect(q.rptr).toBe(0);
    expect(q.completed).toBe(0);
    app.exit();
    host.remove(dev);
    await sim.run();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an eviction of a queue's BO preempts the queue in bounded time, moves the BO, and restores the queue", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 512 * KiB, sdmaBytesPerNs: 16, preemptNs: usecs(100) });
    const kfd = new Process(sim, "compute-app");
    const other = new Process(sim, "other-app");
    let evictedAt = 0;
    let bo: AmdgpuBo | null = null;
    const t1 = sim.spawn("compute-app", async () => {
      const fd = await kfd.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(kfd, fd, {
        allocSize: 512 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      const q = await amdgpuCreateUserqueue(kfd, fd, AMDGPU_HW_IP_COMPUTE);
      // 50 ms of work with no dma_fence behind it.
      await amdgpuUserqDoorbell(kfd, fd, q, msecs(50));
      return { fd, q };
    });
    const t2 = sim.spawn("other-app", async () => {
      const fd = await other.open("/dev/dri/renderD128");
      await nap(sim, msecs(1));
      // VRAM pressure: the queue's BO is the only victim.
      await amdgpuBoAlloc(other, fd, { allocSize: 512 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      expect(bo!.domain).toBe("gtt");
      await bo!.resv.waitTimeout(DmaResvUsage.KERNEL);
      evictedAt = sim.now;
    });
    await sim.run();
    await t1.result;
    await t2.result;
    // Preemption (100 µs) + the copy (512 KiB at 16 B/ns), not the 50 ms of queued work.
    expect(evictedAt).toBe(msecs(1) + usecs(100) + (512 * KiB) / 16);
    const mgr = amdgpuFprivOf([...dev.files][0]!).userq;
    const q = [...mgr.queues.values()][0]!;
    expect(q.preemptions).toBe(1);
    expect(mgr.suspends).toBe(1);
    expect(mgr.restores).toBe(1);
    expect(q.completed).toBe(1);
    // The work took 50 ms of GPU time plus the time it was off the hardware.
    expect(sim.now).toBeGreaterThan(msecs(50) + usecs(100));
    // A new eviction fence guards the BO again.
    expect(bo!.resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(false);
    kfd.exit();
    other.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
    expect(adev.mman.stats.evictions).toBe(1);
  });

  it("a CS on a queue's BO does not wait for the queue (the eviction fence is BOOKKEEP, never signalled for sync)", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 64 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const q = await amdgpuCreateUserqueue(app, fd, AMDGPU_HW_IP_COMPUTE);
      await amdgpuUserqDoorbell(app, fd, q, msecs(100));
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
        amdgpuCsChunkBoList([h]),
      ]);
      await nap(sim, msecs(1));
      expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran[0]!.at).toBe(0);
      const mgr = amdgpuFprivOf([...dev.files][0]!).userq;
      expect(mgr.suspends).toBe(0);
      expect(await errno(amdgpuUserqDoorbell(app, fd, 9, 1))).toBe("EINVAL");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ, { in: { op: 3 } }))).toBe("EINVAL");
      expect(await errno(amdgpuCreateUserqueue(app, fd, 7))).toBe("EINVAL");
      // The real struct's checks: a doorbell that is no doorbell BO, a ring that is not mapped.
      const ring = {
        queue_va: 0x10_0000,
        queue_size: 4096,
        rptr_va: 0x10_0000,
        wptr_va: 0x10_0008,
        mqd: {},
        mqd_size: 8,
      };
      expect(
        await errno(
          amdgpuCreateUserqueueRaw(app, fd, { ip_type: AMDGPU_HW_IP_COMPUTE, doorbell_handle: h, ...ring }),
        ),
      ).toBe("EINVAL");
      await amdgpuFreeUserqueue(app, fd, q);
      expect(mgr.queues.size).toBe(0);
      expect(await errno(amdgpuFreeUserqueue(app, fd, q))).toBe("EINVAL");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the shrinker never waits on a user queue: it skips BOs guarded by an eviction fence", async () => {
    const { sim, host, dev, adev } = rig({}, { memoryBudget: 256 * KiB });
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 128 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await amdgpuCreateUserqueue(app, fd, AMDGPU_HW_IP_COMPUTE);
      expect(
        await errno(amdgpuBoAlloc(app, fd, { allocSize: 192 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT })),
      ).toBe("ENOMEM");
      expect(([...dev.files][0]!.gem.peek(h) as AmdgpuBo).domain).toBe("gtt");
    });
    expect(adev.mman.stats.swapouts).toBe(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("user queues and process exit", () => {
  it("a process that exits while MES is preempting its queues for an eviction leaves no double signal and no leak", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 256 * KiB, preemptNs: msecs(1) });
    const kfd = new Process(sim, "compute-app");
    const other = new Process(sim, "other-app");
    let mgr: ReturnType<typeof amdgpuFprivOf>["userq"] | null = null;
    let queue = -1;
    await sim.execUntilIdle("compute-app", async () => {
      const fd = await kfd.open("/dev/dri/renderD128");
      mgr = amdgpuFprivOf([...dev.files][0]!).userq;
      await amdgpuBoAlloc(kfd, fd, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const q = await amdgpuCreateUserqueue(kfd, fd, AMDGPU_HW_IP_COMPUTE);
      queue = q;
      await amdgpuUserqDoorbell(kfd, fd, q, msecs(50));
    });
    // The other process's allocation needs the VRAM the queue's BO holds: the eviction starts.
    // Run from a thread of that process and the simulation driven only 500 µs, half-way through
    // MES's 1 ms preemption (not to idle, which would let it finish before the exit).
    const alloc = other.run(async () => {
      const fd = await other.open("/dev/dri/renderD128");
      await amdgpuBoAlloc(other, fd, { allocSize: 256 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
    });
    await sim.runFor(usecs(500));
    const m = mgr!;
    expect(adev.mes.busy).toBe(1); // MES is preempting the queue…
    expect(m.queues.get(queue)!.state).toBe("active"); // …which has not stopped yet
    expect(m.suspends).toBe(0);
    kfd.exit();
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    await alloc.result;
    // The preemption finished after the exit, on a queue the exit had already stopped: the
    // suspend completed once (no second signal of the eviction fence) and nothing is left.
    expect(adev.mes.busy).toBe(0);
    expect(m.suspends).toBe(1);
    expect(m.queues.size).toBe(0);
    other.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
