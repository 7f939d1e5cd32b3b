/** Userptr BOs: the mmu notifier waits for the GPU; a CS racing an invalidation gets EAGAIN and retries. */
import { MAP_ANONYMOUS, MAP_PRIVATE, msecs, PROT_READ, PROT_WRITE, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_USERPTR_READONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_HW_IP_GFX,
  amdgpuHmmInvalidateRange,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
} from "../src/index.js";
import {
  amdgpuCreateBoFromUserMem,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, nap, rig } from "./helpers.js";

/** Anonymous memory for userptr BOs: the pages must exist for the CS to fault them in. */
async function anon(app: Process, size: number): Promise<number> {
  return (await app.mmap(-1, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)).addr;
}

describe("userptr", () => {
  it("an invalidation of the range waits for the GPU work using it; other ranges are untouched", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    let invalidatedAt = -1;
    let hits = -1;
    let missed = -1;
    let ADDR = 0;
    const t = sim.spawn("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      ADDR = await anon(app, 65536 + 4096);
      const handle = await amdgpuCreateBoFromUserMem(app, fd, ADDR, 65536, AMDGPU_GEM_USERPTR_REGISTER);
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(3) }),
        amdgpuCsChunkBoList([handle]),
      ]);
    });
    const mm = sim.spawn("munmap", async () => {
      await nap(sim, msecs(1));
      missed = await amdgpuHmmInvalidateRange(dev, app, ADDR + 65536, 4096);
      hits = await amdgpuHmmInvalidateRange(dev, app, ADDR + 4096, 4096);
      invalidatedAt = sim.now;
    });
    await sim.run();
    await t.result;
    await mm.result;
    expect(missed).toBe(0);
    expect(hits).toBe(1);
    expect(invalidatedAt).toBe(usecs(2) + msecs(3));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a CS whose pages were invalidated while it was being set up returns EAGAIN and submits nothing; the retry works", async () => {
    const { sim, host, dev, adev } = rig({ userptrFaultNs: usecs(10) });
    const app = new Process(sim, "app");
    const results: string[] = [];
    const t = sim.spawn("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ADDR = await anon(app, 8192);
      const handle = await amdgpuCreateBoFromUserMem(app, fd, ADDR, 8192, AMDGPU_GEM_USERPTR_READONLY);
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const mm = sim.spawn("migrate", async () => {
        await nap(sim, usecs(5));
        await amdgpuHmmInvalidateRange(dev, app, ADDR, 8192);
      });
      results.push(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, ctx, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
            amdgpuCsChunkBoList([handle]),
          ]),
        ),
      );
      await mm.result;
      expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.sched.stats.run).toBe(0);
      results.push(
        String(
          await amdgpuCsSubmitRaw2(app, fd, ctx, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 }),
            amdgpuCsChunkBoList([handle]),
          ]),
        ),
      );
    });
    await sim.run();
    await t.result;
    expect(results).toEqual(["EAGAIN", "1"]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses unaligned ranges, unknown flags and a writable range without the notifier", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ADDR = await anon(app, 4096);
      const bad = (a: object) => errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_USERPTR, a));
      expect(await bad({ addr: ADDR + 1, size: 4096, flags: AMDGPU_GEM_USERPTR_REGISTER })).toBe("EINVAL");
      expect(await bad({ addr: ADDR, size: 100, flags: AMDGPU_GEM_USERPTR_REGISTER })).toBe("EINVAL");
      expect(await bad({ addr: ADDR, size: 4096, flags: 1 << 9 })).toBe("EINVAL");
      // Writable without the notifier: EACCES, as amdgpu_gem_userptr_ioctl answers.
      expect(await bad({ addr: ADDR, size: 4096, flags: 0 })).toBe("EACCES");
      expect([...dev.files][0]!.gem.count).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
