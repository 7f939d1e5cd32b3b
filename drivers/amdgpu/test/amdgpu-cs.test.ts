/** Contexts and command submission from userspace: rings, priorities, dependencies, syncobjs, implicit sync, errors. */
import { DmaResvUsage } from "@drmsim/dma-resv";
import { drmProcessSetRoot, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CHUNK_ID_DEPENDENCIES,
  AMDGPU_CHUNK_ID_FENCE,
  AMDGPU_CHUNK_ID_SYNCOBJ_IN,
  AMDGPU_CHUNK_ID_SYNCOBJ_OUT,
  AMDGPU_CTX_OP_FREE_CTX,
  AMDGPU_CTX_OP_QUERY_STATE,
  AMDGPU_CTX_PRIORITY_HIGH,
  AMDGPU_CTX_PRIORITY_LOW,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_RING_MAX_IBS,
  type AmdgpuBo,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
} from "../src/index.js";
import { boAlloc, boList, cs, ctxCreate, errno, ib, nap, rig, waitCs } from "./helpers.js";

describe("GEM_CREATE", () => {
  it("places a BO in VRAM or GTT and refuses bad arguments without creating anything", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = host.containerOf(dev) && dev.files.values().next().value!;
      const v = await boAlloc(app, fd, 1 << 20, AMDGPU_GEM_DOMAIN_VRAM);
      const g = await boAlloc(app, fd, 8192, AMDGPU_GEM_DOMAIN_GTT);
      expect((f.gem.peek(v) as AmdgpuBo).domain).toBe("vram");
      expect((f.gem.peek(g) as AmdgpuBo).domain).toBe("gtt");
      expect(adev.mman.vram.avail).toBe(adev.config.vramSize - (1 << 20));
      const bad = (a: object) => errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, a));
      expect(await bad({ bo_size: 0, domains: AMDGPU_GEM_DOMAIN_VRAM })).toBe("EINVAL");
      expect(await bad({ bo_size: 4096, domains: 0 })).toBe("EINVAL");
      expect(await bad({ bo_size: 4096, domains: 0x40 })).toBe("EINVAL");
      expect(await bad({ bo_size: 4096, domains: AMDGPU_GEM_DOMAIN_GTT, domain_flags: 1 << 30 })).toBe(
        "EINVAL",
      );
      expect(await bad({ bo_size: 4096, domains: AMDGPU_GEM_DOMAIN_GTT, alignment: 3 })).toBe("EINVAL");
      expect(f.gem.count).toBe(2);
      // VRAM-only and larger than VRAM: nowhere to go.
      expect(await bad({ bo_size: adev.config.vramSize * 2, domains: AMDGPU_GEM_DOMAIN_VRAM })).toBe(
        "ENOMEM",
      );
      expect(f.gem.count).toBe(2);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("AMDGPU_CTX", () => {
  it("allocates with a priority, checks permission, frees, and refuses unknown ids and ops", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const a = await ctxCreate(app, fd, AMDGPU_CTX_PRIORITY_LOW);
      const b = await ctxCreate(app, fd);
      expect([a, b]).toEqual([1, 2]);
      expect(await errno(ctxCreate(app, fd, 7))).toBe("EINVAL");
      expect(await errno(ctxCreate(app, fd, AMDGPU_CTX_PRIORITY_HIGH))).toBe("EACCES");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { op: 99 }))).toBe("EINVAL");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { op: 1, flags: 1 }))).toBe("EINVAL");
      const r = await app.ioctl<{ reset_status: number }>(fd, DRM_IOCTL_AMDGPU_CTX, {
        op: AMDGPU_CTX_OP_QUERY_STATE,
        ctx_id: a,
      });
      expect(r.reset_status).toBe(0);
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { op: AMDGPU_CTX_OP_FREE_CTX, ctx_id: a });
      expect(
        await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { op: AMDGPU_CTX_OP_FREE_CTX, ctx_id: a })),
      ).toBe("EINVAL");
      const rfd = await root.open("/dev/dri/renderD128");
      expect(await ctxCreate(root, rfd, AMDGPU_CTX_PRIORITY_HIGH)).toBe(1);
    });
    app.exit();
    root.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("amdgpu_ctx_priority_permit asks capable() of the caller: a root fd passed to a user gets EACCES, a user fd used by root passes", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("t", async () => {
      const rfd = await root.open("/dev/dri/renderD128");
      const inApp = root.sendFd(app, rfd);
      expect(await errno(ctxCreate(app, inApp, AMDGPU_CTX_PRIORITY_HIGH))).toBe("EACCES");
      const afd = await app.open("/dev/dri/renderD128");
      const inRoot = app.sendFd(root, afd);
      expect(await ctxCreate(root, inRoot, AMDGPU_CTX_PRIORITY_HIGH)).toBe(1);
    });
    app.exit();
    root.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a high-priority context's job runs before normal ones submitted earlier on the same ring", async () => {
    const { sim, host, dev, adev } = rig({ hwSubmission: 1 });
    const root = new Process(sim, "root");
    drmProcessSetRoot(root);
    await sim.exec("root", async () => {
      const fd = await root.open("/dev/dri/renderD128");
      const lo = await ctxCreate(root, fd);
      const hi = await ctxCreate(root, fd, AMDGPU_CTX_PRIORITY_HIGH);
      for (let i = 0; i < 3; i++) await cs(root, fd, lo, [ib(AMDGPU_HW_IP_GFX, 0, usecs(100))]);
      await cs(root, fd, hi, [ib(AMDGPU_HW_IP_GFX, 0, usecs(100))]);
      await nap(sim, msecs(1));
    });
    await sim.run();
    const order = adev.rings[AMDGPU_HW_IP_GFX][0]!.ran.map((r) => r.entity);
    // All four were queued before the scheduler ran: the HIGH run queue is served first.
    expect(order).toEqual(["ctx2.gfx_0.0.0", "ctx1.gfx_0.0.0", "ctx1.gfx_0.0.0", "ctx1.gfx_0.0.0"]);
    root.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("AMDGPU_CS", () => {
  it("runs IBs on the chosen ring, returns a sequence number WAIT_CS understands", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      const s1 = await cs(app, fd, ctx, [ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(2))]);
      const s2 = await cs(app, fd, ctx, [
        ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(1)),
        ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(1)),
      ]);
      expect([s1, s2]).toEqual([1, 2]);
      expect(await waitCs(app, fd, ctx, AMDGPU_HW_IP_COMPUTE, 1, s2, msecs(1))).toBe(1);
      expect(await waitCs(app, fd, ctx, AMDGPU_HW_IP_COMPUTE, 1, s2)).toBe(0);
      expect(sim.now).toBe(msecs(4));
      expect(await errno(waitCs(app, fd, ctx, AMDGPU_HW_IP_COMPUTE, 1, 3))).toBe("EINVAL");
      expect(await errno(waitCs(app, fd, 9, AMDGPU_HW_IP_COMPUTE, 1, 1))).toBe("EINVAL");
    });
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][1]!.ran.length).toBe(2);
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran.length).toBe(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses a bad BO handle, too many IBs, a wrong ring or IP, unknown chunks — and submits nothing", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      const bo = await boAlloc(app, fd, 4096, AMDGPU_GEM_DOMAIN_VRAM);
      const file = [...dev.files][0]!;
      const resv = file.gem.peek(bo)!.resv;
      const good = ib(AMDGPU_HW_IP_GFX, 0, 1000);
      const tooMany = Array.from({ length: AMDGPU_RING_MAX_IBS + 1 }, () => good);
      const cases: [string, Parameters<typeof cs>[3], number?][] = [
        ["ENOENT", [good, boList(bo, 77)]],
        ["EINVAL", tooMany],
        ["EINVAL", [ib(AMDGPU_HW_IP_GFX, 1, 1000), boList(bo)]],
        ["EINVAL", [ib(AMDGPU_HW_IP_COMPUTE, 2, 1000)]],
        ["EINVAL", [ib(9, 0, 1000)]],
        ["EINVAL", [ib(AMDGPU_HW_IP_GFX, 0, 1000, { ip_instance: 1 })]],
        ["EINVAL", [ib(AMDGPU_HW_IP_GFX, 0, -1)]],
        ["EINVAL", [good, { chunk_id: AMDGPU_CHUNK_ID_FENCE, data: {} }]],
        ["EINVAL", [good, { chunk_id: 0x77, data: [] }]],
        ["EINVAL", [boList(bo)]],
        ["EINVAL", []],
        ["ENOENT", [good, { chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_IN, data: [{ handle: 5 }] }]],
        ["ENOENT", [good, { chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_OUT, data: [{ handle: 5 }] }]],
        [
          "EINVAL",
          [
            good,
            {
              chunk_id: AMDGPU_CHUNK_ID_DEPENDENCIES,
              data: [{ ctx_id: ctx, ip_type: 0, ring: 0, handle: 4 }],
            },
          ],
        ],
        [
          "EINVAL",
          [
            good,
            {
              chunk_id: AMDGPU_CHUNK_ID_DEPENDENCIES,
              data: [{ ctx_id: 42, ip_type: 0, ring: 0, handle: 1 }],
            },
          ],
        ],
      ];
      for (const [code, chunks] of cases) expect(await errno(cs(app, fd, ctx, chunks!))).toBe(code);
      expect(await errno(cs(app, fd, 99, [good]))).toBe("EINVAL");
      expect(
        await errno(app.ioctl(fd, "DRM_IOCTL_AMDGPU_CS", { ctx_id: ctx, bo_list_handle: 3, chunks: [good] })),
      ).toBe("ENOENT");
      expect(resv.numFences).toBe(0);
      await nap(sim, msecs(1));
    });
    for (const r of adev.allRings) expect(r.sched.stats.run).toBe(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a gang spans at most four rings", async () => {
    const { sim, host, dev } = rig({ computeRings: 4 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await ctxCreate(app, fd);
      const five = [ib(0, 0, 1), ib(1, 0, 1), ib(1, 1, 1), ib(1, 2, 1), ib(1, 3, 1)];
      expect(await errno(cs(app, fd, ctx, five))).toBe("EINVAL");
      expect(await cs(app, fd, ctx, five.slice(0, 4))).toBe(1);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("implicit sync: a job writing a BO waits for the previous writer on another ring, and its fence lands in the resv", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const c1 = await ctxCreate(app, fd);
      const c2 = await ctxCreate(app, fd);
      const bo = await boAlloc(app, fd, 4096, AMDGPU_GEM_DOMAIN_GTT);
      await cs(app, fd, c1, [ib(AMDGPU_HW_IP_GFX, 0, msecs(3)), boList(bo)]);
      await cs(app, fd, c2, [ib(AMDGPU_HW_IP_DMA, 0, msecs(1)), boList(bo)]);
      const resv = [...dev.files][0]!.gem.peek(bo)!.resv;
      const writers = resv.getFences(DmaResvUsage.WRITE);
      expect(writers.length).toBe(2);
      for (const f of writers) f.put();
    });
    await sim.run();
    expect(adev.rings[AMDGPU_HW_IP_DMA][0]!.ran[0]!.at).toBe(msecs(3));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("explicit sync: dependencies on other submissions and syncobjs in and out", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const c1 = await ctxCreate(app, fd);
      const c2 = await ctxCreate(app, fd);
      const so = await drmSyncobjCreate(app, fd);
      const s1 = await cs(app, fd, c1, [
        ib(AMDGPU_HW_IP_GFX, 0, msecs(2)),
        { chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_OUT, data: [{ handle: so }] },
      ]);
      // Waits on c1's submission by sequence number.
      await cs(app, fd, c2, [
        ib(AMDGPU_HW_IP_COMPUTE, 0, msecs(1)),
        {
          chunk_id: AMDGPU_CHUNK_ID_DEPENDENCIES,
          data: [{ ctx_id: c1, ip_type: AMDGPU_HW_IP_GFX, ring: 0, handle: s1 }],
        },
      ]);
      // Waits on the syncobj c1's submission signals.
      await cs(app, fd, c2, [
        ib(AMDGPU_HW_IP_COMPUTE, 1, msecs(1)),
        { chunk_id: AMDGPU_CHUNK_ID_SYNCOBJ_IN, data: [{ handle: so }] },
      ]);
      await drmSyncobjWait(app, fd, [so], Number.MAX_SAFE_INTEGER, 0);
      expect(sim.now).toBe(msecs(2));
    });
    await sim.run();
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[0]!.at).toBe(msecs(2));
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][1]!.ran[0]!.at).toBe(msecs(2));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
