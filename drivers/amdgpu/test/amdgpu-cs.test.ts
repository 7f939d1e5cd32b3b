/** Contexts and command submission from userspace: rings, priorities, dependencies, syncobjs, implicit sync, errors. */
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
  drmProcessSetRoot,
  drmSyncobjCreate,
  drmSyncobjWait,
} from "@drmsim/drm";
import { msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CHUNK_ID_FENCE,
  AMDGPU_CTX_PRIORITY_HIGH,
  AMDGPU_CTX_PRIORITY_LOW,
  AMDGPU_GEM_CREATE_CP_MQD_GFX9,
  AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED,
  AMDGPU_GEM_CREATE_CPU_GTT_USWC,
  AMDGPU_GEM_CREATE_DISCARDABLE,
  AMDGPU_GEM_CREATE_ENCRYPTED,
  AMDGPU_GEM_CREATE_EXPLICIT_SYNC,
  AMDGPU_GEM_CREATE_GFX12_DCC,
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
  AMDGPU_GEM_CREATE_VRAM_CLEARED,
  AMDGPU_GEM_DOMAIN_GDS,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_MMIO_REMAP,
  AMDGPU_GEM_DOMAIN_OA,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  type AmdgpuBo,
  amdgpuFprivOf,
  amdgpuRingMaxIbs,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  type DrmAmdgpuCsChunk,
  type DrmAmdgpuGemCreate,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuCsChunkBoList,
  amdgpuCsChunkDeps,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjIn,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsCtxCreate2,
  amdgpuCsCtxFree,
  amdgpuCsQueryFenceStatus,
  amdgpuCsQueryResetState,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, nap, rig } from "./helpers.js";

describe("GEM_CREATE", () => {
  it("places a BO in VRAM or GTT and refuses bad arguments without creating anything", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = host.containerOf(dev) && dev.files.values().next().value!;
      const v = await amdgpuBoAlloc(app, fd, { allocSize: 1 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const g = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      expect((f.gem.peek(v) as AmdgpuBo).domain).toBe("vram");
      expect((f.gem.peek(g) as AmdgpuBo).domain).toBe("gtt");
      expect(adev.mman.vram.avail).toBe(adev.config.vramSize - (1 << 20));
      const bad = (a: DrmAmdgpuGemCreate["in"]) =>
        errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, { in: a }));
      expect(await bad({ bo_size: 0, domains: AMDGPU_GEM_DOMAIN_VRAM })).toBe("EINVAL");
      expect(await bad({ bo_size: 4096, domains: 0x100 })).toBe("EINVAL");
      // GDS, GWS, OA and MMIO_REMAP are not modelled; TMZ does not exist here.
      for (const domains of [AMDGPU_GEM_DOMAIN_GDS, AMDGPU_GEM_DOMAIN_OA, AMDGPU_GEM_DOMAIN_MMIO_REMAP])
        expect(await bad({ bo_size: 4096, domains })).toBe("EINVAL");
      expect(
        await bad({
          bo_size: 4096,
          domains: AMDGPU_GEM_DOMAIN_GTT,
          domain_flags: AMDGPU_GEM_CREATE_ENCRYPTED,
        }),
      ).toBe("EINVAL");
      expect(await bad({ bo_size: 4096, domains: AMDGPU_GEM_DOMAIN_GTT, domain_flags: 1 << 30 })).toBe(
        "EINVAL",
      );
      // CP_MQD_GFX9 "should never be used by user space": not in the accepted mask.
      expect(
        await bad({
          bo_size: 4096,
          domains: AMDGPU_GEM_DOMAIN_GTT,
          domain_flags: AMDGPU_GEM_CREATE_CP_MQD_GFX9,
        }),
      ).toBe("EINVAL");
      expect(f.gem.count).toBe(2);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("accepts the flags Mesa sets, and retries a VRAM-only BO that does not fit in GTT as the kernel does", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 1 << 20 }, { memoryBudget: 16 << 20 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const mesa =
        AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED |
        AMDGPU_GEM_CREATE_CPU_GTT_USWC |
        AMDGPU_GEM_CREATE_VM_ALWAYS_VALID |
        AMDGPU_GEM_CREATE_EXPLICIT_SYNC |
        AMDGPU_GEM_CREATE_DISCARDABLE |
        AMDGPU_GEM_CREATE_GFX12_DCC;
      const h = await amdgpuBoAlloc(app, fd, {
        allocSize: 4096,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM,
        flags: mesa,
      });
      const bo = f.gem.peek(h) as AmdgpuBo;
      // The kernel always clears VRAM.
      expect(bo.flags).toBe(mesa | AMDGPU_GEM_CREATE_VRAM_CLEARED);
      // A per-VM BO lives in the VM's reservation object.
      expect(bo.resv).toBe(amdgpuFprivOf(f).vm.root.resv);
      // VRAM-only and larger than VRAM: the kernel retries with GTT added.
      const big = await amdgpuBoAlloc(app, fd, { allocSize: 2 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const bb = f.gem.peek(big) as AmdgpuBo;
      expect([bb.domain, bb.domains]).toEqual(["gtt", AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT]);
      // Larger than VRAM and system memory together: nowhere to go.
      expect(
        await errno(amdgpuBoAlloc(app, fd, { allocSize: 32 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM })),
      ).toBe("ENOMEM");
      expect(f.gem.count).toBe(2);
      expect(adev.mman.vram.avail).toBe((1 << 20) - 4096);
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
      const a = await amdgpuCsCtxCreate2(app, fd, AMDGPU_CTX_PRIORITY_LOW);
      const b = await amdgpuCsCtxCreate2(app, fd);
      expect([a, b]).toEqual([1, 2]);
      expect(await errno(amdgpuCsCtxCreate2(app, fd, 7))).toBe("EINVAL");
      expect(await errno(amdgpuCsCtxCreate2(app, fd, AMDGPU_CTX_PRIORITY_HIGH))).toBe("EACCES");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { in: { op: 99 } }))).toBe("EINVAL");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_CTX, { in: { op: 1, flags: 1 } }))).toBe("EINVAL");
      expect((await amdgpuCsQueryResetState(app, fd, a)).state).toBe(0);
      await amdgpuCsCtxFree(app, fd, a);
      expect(await errno(amdgpuCsCtxFree(app, fd, a))).toBe("EINVAL");
      const rfd = await root.open("/dev/dri/renderD128");
      expect(await amdgpuCsCtxCreate2(root, rfd, AMDGPU_CTX_PRIORITY_HIGH)).toBe(1);
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
      expect(await errno(amdgpuCsCtxCreate2(app, inApp, AMDGPU_CTX_PRIORITY_HIGH))).toBe("EACCES");
      const afd = await app.open("/dev/dri/renderD128");
      const inRoot = app.sendFd(root, afd);
      expect(await amdgpuCsCtxCreate2(root, inRoot, AMDGPU_CTX_PRIORITY_HIGH)).toBe(1);
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
      const lo = await amdgpuCsCtxCreate2(root, fd);
      const hi = await amdgpuCsCtxCreate2(root, fd, AMDGPU_CTX_PRIORITY_HIGH);
      for (let i = 0; i < 3; i++)
        await amdgpuCsSubmitRaw2(root, fd, lo, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: usecs(100) }),
        ]);
      await amdgpuCsSubmitRaw2(root, fd, hi, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: usecs(100) }),
      ]);
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
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const s1 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(2) }),
      ]);
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(1) }),
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(1) }),
      ]);
      expect([s1, s2]).toEqual([1, 2]);
      expect(
        await amdgpuCsQueryFenceStatus(
          app,
          fd,
          { ctxId: ctx, ipType: AMDGPU_HW_IP_COMPUTE, ring: 1, fence: s2 },
          msecs(1),
        ),
      ).toBe(false);
      expect(
        await amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: ctx,
          ipType: AMDGPU_HW_IP_COMPUTE,
          ring: 1,
          fence: s2,
        }),
      ).toBe(true);
      expect(sim.now).toBe(msecs(4));
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_COMPUTE, ring: 1, fence: 3 }),
        ),
      ).toBe("EINVAL");
      expect(
        await errno(
          amdgpuCsQueryFenceStatus(app, fd, { ctxId: 9, ipType: AMDGPU_HW_IP_COMPUTE, ring: 1, fence: 1 }),
        ),
      ).toBe("EINVAL");
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
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const bo = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const file = [...dev.files][0]!;
      const resv = file.gem.peek(bo)!.resv;
      const good = amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000 });
      const tooMany = Array.from({ length: amdgpuRingMaxIbs(AMDGPU_HW_IP_GFX) + 1 }, () => good);
      const cases: [string, DrmAmdgpuCsChunk[], number?][] = [
        ["ENOENT", [good, amdgpuCsChunkBoList([bo, 77])]],
        ["EINVAL", tooMany],
        [
          "EINVAL",
          [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 1, duration_ns: 1000 }),
            amdgpuCsChunkBoList([bo]),
          ],
        ],
        ["EINVAL", [amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 2, duration_ns: 1000 })]],
        ["EINVAL", [amdgpuCsChunkIb({ ip_type: 9, ring: 0, duration_ns: 1000 })]],
        [
          "EINVAL",
          [amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 1000, ip_instance: 1 })],
        ],
        // The library refuses to write a negative time into an IB.
        ["EINVAL", [amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: -1 })]],
        // A user fence must fit its page-sized BO; an unknown handle is EINVAL there.
        [
          "EINVAL",
          [good, { chunk_id: AMDGPU_CHUNK_ID_FENCE, length_dw: 2, chunk_data: { handle: bo, offset: 4092 } }],
        ],
        ["EINVAL", [good, { chunk_id: AMDGPU_CHUNK_ID_FENCE, length_dw: 2, chunk_data: { handle: 77 } }]],
        ["EINVAL", [good, { chunk_id: 0x77, length_dw: 0, chunk_data: null }]],
        // An IB chunk too short for a drm_amdgpu_cs_chunk_ib.
        ["EINVAL", [{ ...good, length_dw: 4 }]],
        ["EINVAL", [amdgpuCsChunkBoList([bo])]],
        ["EINVAL", []],
        ["ENOENT", [good, amdgpuCsChunkSyncobjIn([5])]],
        // An out syncobj that does not exist is EINVAL (drm_syncobj_find), an in one ENOENT.
        ["EINVAL", [good, amdgpuCsChunkSyncobjOut([5])]],
        ["EINVAL", [good, amdgpuCsChunkDeps([{ ctx_id: ctx, ip_type: 0, ring: 0, handle: 4 }])]],
        ["EINVAL", [good, amdgpuCsChunkDeps([{ ctx_id: 42, ip_type: 0, ring: 0, handle: 1 }])]],
      ];
      for (const [code, chunks] of cases)
        expect(await errno(amdgpuCsSubmitRaw2(app, fd, ctx, chunks!))).toBe(code);
      expect(await errno(amdgpuCsSubmitRaw2(app, fd, 99, [good]))).toBe("EINVAL");
      expect(
        await errno(
          app.ioctl(fd, DRM_IOCTL_AMDGPU_CS, {
            in: { ctx_id: ctx, bo_list_handle: 3, num_chunks: 1, chunks: [good] },
          }),
        ),
      ).toBe("ENOENT");
      expect(resv.numFences).toBe(0);
      await nap(sim, msecs(1));
    });
    // No CS job ran (the library's own page-table updates for its IB pool did, on SDMA).
    for (const r of adev.allRings) expect(r.ran.filter((x) => x.entity.startsWith("ctx"))).toEqual([]);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a gang spans at most four rings", async () => {
    const { sim, host, dev } = rig({ computeRings: 4 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const five = [
        amdgpuCsChunkIb({ ip_type: 0, ring: 0, duration_ns: 1 }),
        amdgpuCsChunkIb({ ip_type: 1, ring: 0, duration_ns: 1 }),
        amdgpuCsChunkIb({ ip_type: 1, ring: 1, duration_ns: 1 }),
        amdgpuCsChunkIb({ ip_type: 1, ring: 2, duration_ns: 1 }),
        amdgpuCsChunkIb({ ip_type: 1, ring: 3, duration_ns: 1 }),
      ];
      expect(await errno(amdgpuCsSubmitRaw2(app, fd, ctx, five))).toBe("EINVAL");
      expect(await amdgpuCsSubmitRaw2(app, fd, ctx, five.slice(0, 4))).toBe(1);
    });
    await sim.run();
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("implicit sync: another process's job on a shared BO waits for the writer; the writer's own VM never does (NE_OWNER)", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    const peer = new Process(sim, "peer");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const pfd = await peer.open("/dev/dri/renderD128");
      const c1 = await amdgpuCsCtxCreate2(app, fd);
      const c2 = await amdgpuCsCtxCreate2(app, fd);
      const pc = await amdgpuCsCtxCreate2(peer, pfd);
      const bo = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const shared = await drmPrimeFDToHandle(
        peer,
        pfd,
        app.sendFd(peer, await drmPrimeHandleToFD(app, fd, bo)),
      );
      await amdgpuCsSubmitRaw2(app, fd, c1, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(3) }),
        amdgpuCsChunkBoList([bo]),
      ]);
      // The same process on another ring: its own fences are skipped.
      await amdgpuCsSubmitRaw2(app, fd, c2, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_DMA, ring: 0, duration_ns: msecs(1) }),
        amdgpuCsChunkBoList([bo]),
      ]);
      // Another process: it waits for both writers.
      await amdgpuCsSubmitRaw2(peer, pfd, pc, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(1) }),
        amdgpuCsChunkBoList([shared]),
      ]);
      const resv = [...dev.files][0]!.gem.peek(bo)!.resv;
      const writers = resv.getFences(DmaResvUsage.WRITE);
      expect(writers.length).toBe(3);
      for (const f of writers) f.put();
    });
    await sim.run();
    expect(adev.rings[AMDGPU_HW_IP_DMA][0]!.ran[0]!.at).toBe(0);
    expect(adev.rings[AMDGPU_HW_IP_COMPUTE][0]!.ran[0]!.at).toBe(msecs(3));
    app.exit();
    peer.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("explicit sync: dependencies on other submissions and syncobjs in and out", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const c1 = await amdgpuCsCtxCreate2(app, fd);
      const c2 = await amdgpuCsCtxCreate2(app, fd);
      const so = await drmSyncobjCreate(app, fd);
      const s1 = await amdgpuCsSubmitRaw2(app, fd, c1, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(2) }),
        amdgpuCsChunkSyncobjOut([so]),
      ]);
      // Waits on c1's submission by sequence number.
      await amdgpuCsSubmitRaw2(app, fd, c2, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 0, duration_ns: msecs(1) }),
        amdgpuCsChunkDeps([{ ctx_id: c1, ip_type: AMDGPU_HW_IP_GFX, ring: 0, handle: s1 }]),
      ]);
      // Waits on the syncobj c1's submission signals.
      await amdgpuCsSubmitRaw2(app, fd, c2, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_COMPUTE, ring: 1, duration_ns: msecs(1) }),
        amdgpuCsChunkSyncobjIn([so]),
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
