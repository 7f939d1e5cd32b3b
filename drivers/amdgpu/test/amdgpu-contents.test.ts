/**
 * Buffer contents on amdgpu: IB fills and copies between BOs, CPU access to exports (vmap, mmap of
 * the dma-buf fd with DMA_BUF_IOCTL_SYNC, which moves a VRAM BO to GTT), the fake mmap offset,
 * userptr BOs over the process's own pages, and a reset that loses VRAM.
 */
import {
  DMA_BUF_IOCTL_SYNC,
  DMA_BUF_SYNC_END,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_START,
  DMA_BUF_SYNC_WRITE,
  type DmaBuf,
} from "@drmsim/dma-buf";
import { drmPrimeHandleToFD } from "@drmsim/drm";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_CLOEXEC,
  O_RDWR,
  PROT_READ,
  PROT_WRITE,
  type Simulator,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_GEM_USERPTR_READONLY,
  AMDGPU_HW_IP_GFX,
  type AmdgpuBo,
  amdgpuFprivOf,
  amdgpuGemMmapOffset,
} from "../src/index.js";
import {
  type AmdgpuCsChunkIbArgs,
  amdgpuBoAlloc,
  amdgpuCreateBoFromUserMem,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsQueryResetState2,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, Process, rig } from "./helpers.js";

const PRIME_RW = O_RDWR | O_CLOEXEC;
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** One gfx IB with `ext` (fill / copy) over `bos`, waited for; returns whether it completed. */
async function run(
  p: Process,
  fd: number,
  ctx: number,
  bos: number[],
  ext: Omit<AmdgpuCsChunkIbArgs, "ip_type">,
): Promise<boolean> {
  const seq = await amdgpuCsSubmitRaw2(p, fd, ctx, [
    amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: 20_000, ...ext }),
    amdgpuCsChunkBoList(bos),
  ]);
  return amdgpuCsQueryFenceStatus(p, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: seq });
}

function boOf(dev: ReturnType<typeof rig>["dev"], p: Process, h: number): AmdgpuBo {
  return [...dev.files].find((f) => f.proc === p)!.gem.peek(h) as AmdgpuBo;
}

async function finish(sim: Simulator, r: ReturnType<typeof rig>, ...procs: Process[]) {
  await sim.run();
  for (const p of procs) p.exit();
  r.host.remove(r.dev);
  expect(sim.teardown().findings).toEqual([]);
}

describe("amdgpu: what IBs write and copy", () => {
  it("a copy reads one BO of the list and writes another at completion; bad copies are EINVAL", async () => {
    const r = rig();
    const { sim, dev } = r;
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const vram = await amdgpuBoAlloc(app, fd, { allocSize: 65536, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const gtt = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const data = bytes(300, 3);
      expect(await run(app, fd, ctx, [vram], { fill: { bo_handle: vram, offset: 4000, data } })).toBe(true);
      expect(
        await run(app, fd, ctx, [vram, gtt], {
          copy: { src_handle: vram, src_offset: 4000, dst_handle: gtt, dst_offset: 100, size: 300 },
        }),
      ).toBe(true);
      expect(Array.from(boOf(dev, app, gtt).store.read(100, 300))).toEqual(Array.from(data));
      for (const copy of [
        { src_handle: vram, dst_handle: gtt, dst_offset: 8000, size: 300 }, // past the end
        { src_handle: vram, dst_handle: 99, size: 4 }, // not a BO of the list
      ])
        expect(
          await errno(
            amdgpuCsSubmitRaw2(app, fd, ctx, [
              amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, copy }),
              amdgpuCsChunkBoList([vram, gtt]),
            ]),
          ),
        ).toBe("EINVAL");
    });
    await finish(sim, r, app);
  });

  it("a reset that loses VRAM clears what was there; GTT keeps its bytes; the context learns VRAM was lost", async () => {
    const r = rig({ vramLostOnReset: true, timeoutNs: 1_000_000 });
    const { sim, dev } = r;
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const vram = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const gtt = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await run(app, fd, ctx, [vram], { fill: { bo_handle: vram, data: [1, 2] } });
      await run(app, fd, ctx, [gtt], { fill: { bo_handle: gtt, data: [3, 4] } });
      const hungCtx = await amdgpuCsCtxCreate2(app, fd);
      // A hang: its fill never lands, and the reset takes VRAM with it; WAIT_CS returns the job's error.
      expect(
        await errno(run(app, fd, hungCtx, [gtt], { hang: true, fill: { bo_handle: gtt, data: [9, 9] } })),
      ).toBe("ECANCELED");
      expect(Array.from(boOf(dev, app, vram).store.read(0, 2))).toEqual([0, 0]);
      expect(Array.from(boOf(dev, app, gtt).store.read(0, 2))).toEqual([3, 4]);
      expect((await amdgpuCsQueryResetState2(app, fd, ctx)) & AMDGPU_CTX_QUERY2_FLAGS_VRAMLOST).not.toBe(0);
    });
    await finish(sim, r, app);
  });
});

describe("amdgpu: CPU access", () => {
  it("an export can be vmapped; the dma-buf fd maps the BO, and SYNC START moves it out of VRAM first", async () => {
    const r = rig();
    const { sim, dev, adev } = r;
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const h = await amdgpuBoAlloc(app, fd, {
        allocSize: 16384,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      const bo = boOf(dev, app, h);
      expect(bo.domain).toBe("vram");
      await run(app, fd, ctx, [h], { fill: { bo_handle: h, offset: 8, data: [5, 6, 7] } });
      const bufFd = await drmPrimeHandleToFD(app, fd, h, PRIME_RW);
      const buf = app.file(bufFd).priv as DmaBuf;
      const map = await buf.vmapUnlocked();
      expect(Array.from(map.read(8, 3))).toEqual([5, 6, 7]);
      expect(bo.pinCount).toBe(1);
      await buf.vunmapUnlocked(map);
      expect(bo.pinCount).toBe(0);

      const cpu = await app.mmap(bufFd, 0, 16384, PROT_READ | PROT_WRITE);
      const moves = adev.mman.stats.moves;
      await app.ioctl(bufFd, DMA_BUF_IOCTL_SYNC, {
        flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE,
      });
      expect(bo.domain).toBe("gtt"); // amdgpu_dma_buf_begin_cpu_access
      expect(adev.mman.stats.moves).toBe(moves + 1);
      expect(Array.from(cpu.read(8, 3))).toEqual([5, 6, 7]);
      cpu.write(16380, Uint8Array.of(1, 2, 3, 4));
      await app.ioctl(bufFd, DMA_BUF_IOCTL_SYNC, {
        flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE,
      });
      const dst = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await run(app, fd, ctx, [h, dst], {
        copy: { src_handle: h, src_offset: 16380, dst_handle: dst, size: 4 },
      });
      expect(Array.from(boOf(dev, app, dst).store.read(0, 4))).toEqual([1, 2, 3, 4]);
      app.munmap(cpu);
      app.close(bufFd);
      // A dma-buf exported without DRM_RDWR is read-only: no shared writable mapping.
      const other = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const ro = await drmPrimeHandleToFD(app, fd, other);
      expect(await errno(app.mmap(ro, 0, 4096, PROT_READ | PROT_WRITE))).toBe("EACCES");
      app.close(ro);
    });
    await finish(sim, r, app);
  });

  it("AMDGPU_GEM_MMAP's offset maps the BO for its file only; a userptr BO has none (EPERM)", async () => {
    const r = rig();
    const { sim, dev } = r;
    const app = new Process(sim, "app");
    const spy = new Process(sim, "spy");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const file = [...dev.files].find((f) => f.proc === app)!;
      const off = amdgpuGemMmapOffset(file, h);
      const map = await app.mmap(fd, off, 8192, PROT_READ | PROT_WRITE);
      map.write(0, Uint8Array.of(42));
      expect(Array.from(boOf(dev, app, h).store.read(0, 1))).toEqual([42]);
      app.munmap(map);
      const theirs = await spy.run(async () => {
        const sfd = await spy.open("/dev/dri/renderD128");
        return errno(spy.mmap(sfd, off, 8192, PROT_READ));
      }).result;
      expect(theirs).toBe("EACCES");
      const mem = await app.mmap(-1, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const u = await amdgpuCreateBoFromUserMem(app, fd, mem.addr, 8192);
      expect(() => amdgpuGemMmapOffset(file, u)).toThrow(/EPERM/);
    });
    await finish(sim, r, app, spy);
  });
});

describe("amdgpu: userptr BOs are the process's pages", () => {
  it("the GPU reads what the process wrote after the BO was created, and the process sees what the GPU wrote", async () => {
    const r = rig();
    const { sim } = r;
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const mem = await app.mmap(-1, 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const u = await amdgpuCreateBoFromUserMem(app, fd, mem.addr, 2 * 4096);
      const vram = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      app.writeMemory(mem.addr + 4094, Uint8Array.of(11, 12, 13, 14)); // after GEM_USERPTR
      await run(app, fd, ctx, [u, vram], {
        copy: { src_handle: u, src_offset: 4094, dst_handle: vram, size: 4 },
      });
      await run(app, fd, ctx, [vram, u], {
        copy: { src_handle: vram, dst_handle: u, dst_offset: 8190, size: 2 },
      });
      expect(Array.from(app.readMemory(mem.addr + 8190, 2))).toEqual([11, 12]);
      // A read-only userptr cannot be written by the GPU: its page-table entries are not writeable,
      // so the store is a GPU VM fault (recorded, dropped) and the job still completes.
      const ro = await amdgpuCreateBoFromUserMem(app, fd, mem.addr, 4096, AMDGPU_GEM_USERPTR_READONLY);
      expect(await run(app, fd, ctx, [ro], { fill: { bo_handle: ro, data: [1] } })).toBe(true);
      expect(Array.from(app.readMemory(mem.addr, 1))).toEqual([0]);
      const vm = amdgpuFprivOf([...r.dev.files].find((f) => f.proc === app)!).vm;
      expect(vm.fault?.status).toBe(2); // a write
      // Unmapped pages cannot be faulted in.
      app.munmap(mem);
      expect(
        await errno(
          amdgpuCsSubmitRaw2(app, fd, ctx, [
            amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0 }),
            amdgpuCsChunkBoList([u]),
          ]),
        ),
      ).toBe("EFAULT");
    });
    await finish(sim, r, app);
  });
});
