/** GEM ioctls beyond create: MMAP, WAIT_IDLE, METADATA, OP, LIST_HANDLES; BO lists; per-VM BOs. */
import { DRM_IOCTL_GEM_CLOSE, drmPrimeFDToHandle, drmPrimeHandleToFD } from "@drmsim/drm";
import { msecs, PROT_READ, Process } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_CREATE_NO_CPU_ACCESS,
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
  AMDGPU_GEM_CREATE_VRAM_CLEARED,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT,
  AMDGPU_GEM_USERPTR_READONLY,
  AMDGPU_HW_IP_GFX,
  AMDGPU_VA_OP_MAP,
  type AmdgpuBo,
  DRM_IOCTL_AMDGPU_BO_LIST,
  DRM_IOCTL_AMDGPU_GEM_METADATA,
  DRM_IOCTL_AMDGPU_GEM_MMAP,
  DRM_IOCTL_AMDGPU_GEM_OP,
} from "../src/index.js";
import {
  AMDGPU_VM_PAGE_RWX,
  amdgpuBoAlloc,
  amdgpuBoCpuMap,
  amdgpuBoListCreateRaw,
  amdgpuBoListDestroyRaw,
  amdgpuBoListUpdate,
  amdgpuBoQueryInfo,
  amdgpuBoSetMetadata,
  amdgpuBoSetPlacement,
  amdgpuBoVaOpRaw,
  amdgpuBoWaitForIdle,
  amdgpuCreateBoFromUserMem,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuListHandles,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

describe("GEM ioctls", () => {
  it("GEM_MMAP gives the offset a file may map; NO_CPU_ACCESS and userptr BOs are EPERM", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const other = new Process(sim, "other");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ofd = await other.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const cpu = await amdgpuBoCpuMap(app, fd, h);
      cpu.write(4096, new Uint8Array([5, 6]));
      expect(Array.from(cpu.read(4096, 2))).toEqual([5, 6]);
      const off = (
        await app.ioctl<{ out: { addr_ptr: number } }>(fd, DRM_IOCTL_AMDGPU_GEM_MMAP, { in: { handle: h } })
      ).out.addr_ptr;
      // Another file holds no handle to it: its offset is not one that file may map.
      expect(await other.run(() => errno(other.mmap(ofd, BigInt(off), 8192, PROT_READ))).result).toBe(
        "EACCES",
      );
      const hidden = await amdgpuBoAlloc(app, fd, {
        allocSize: 4096,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM,
        flags: AMDGPU_GEM_CREATE_NO_CPU_ACCESS,
      });
      expect(await errno(amdgpuBoCpuMap(app, fd, hidden))).toBe("EPERM");
      const up = await amdgpuCreateBoFromUserMem(
        app,
        fd,
        0x7f00_0000_0000,
        4096,
        AMDGPU_GEM_USERPTR_READONLY,
      );
      expect(await errno(amdgpuBoCpuMap(app, fd, up))).toBe("EPERM");
      expect(await errno(amdgpuBoCpuMap(app, fd, 99))).toBe("ENOENT");
    });
    app.exit();
    other.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GEM_WAIT_IDLE says busy until the BO's fences signalled, waiting up to the absolute timeout", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(2) }),
        amdgpuCsChunkBoList([h]),
      ]);
      expect(await amdgpuBoWaitForIdle(app, fd, h, 0)).toBe(true);
      expect(await amdgpuBoWaitForIdle(app, fd, h, msecs(1))).toBe(true);
      expect(sim.now).toBe(msecs(1));
      expect(await amdgpuBoWaitForIdle(app, fd, h)).toBe(false);
      expect(sim.now).toBe(msecs(2));
      expect(await errno(amdgpuBoWaitForIdle(app, fd, 99))).toBe("ENOENT");
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GEM_METADATA stores tiling and opaque bytes an importer reads back; more than 256 bytes is EINVAL", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    const peer = new Process(sim, "peer");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const pfd = await peer.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      await amdgpuBoSetMetadata(app, fd, h, {
        tilingInfo: 0x1b,
        flags: 3,
        umdMetadata: new Uint8Array([9, 8, 7]),
      });
      const theirs = await drmPrimeFDToHandle(
        peer,
        pfd,
        app.sendFd(peer, await drmPrimeHandleToFD(app, fd, h)),
      );
      const info = await amdgpuBoQueryInfo(peer, pfd, theirs);
      expect(info.metadata).toEqual({ flags: 3n, tilingInfo: 0x1bn, umdMetadata: new Uint8Array([9, 8, 7]) });
      expect([info.allocSize, info.preferredHeap]).toEqual([4096n, BigInt(AMDGPU_GEM_DOMAIN_VRAM)]);
      expect(info.allocFlags).toBe(BigInt(AMDGPU_GEM_CREATE_VRAM_CLEARED));
      expect(
        await errno(
          app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_METADATA, { handle: h, op: 1, data: { data_size_bytes: 260 } }),
        ),
      ).toBe("EINVAL");
      // Another op is no error and changes nothing, as in the kernel.
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_METADATA, { handle: h, op: 7 });
      expect((await amdgpuBoQueryInfo(app, fd, h)).metadata.tilingInfo).toBe(0x1bn);
    });
    app.exit();
    peer.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GEM_OP SET_PLACEMENT changes the preferred domains (userptrs may not move); GET ops copy out after the unlock", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      await amdgpuBoSetPlacement(app, fd, h, AMDGPU_GEM_DOMAIN_GTT);
      const bo = [...dev.files][0]!.gem.peek(h) as AmdgpuBo;
      expect([bo.domains, bo.allowedDomains]).toEqual([AMDGPU_GEM_DOMAIN_GTT, AMDGPU_GEM_DOMAIN_GTT]);
      await amdgpuBoSetPlacement(app, fd, h, AMDGPU_GEM_DOMAIN_VRAM);
      expect(bo.allowedDomains).toBe(AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT);
      const up = await amdgpuCreateBoFromUserMem(
        app,
        fd,
        0x7f00_0000_0000,
        4096,
        AMDGPU_GEM_USERPTR_READONLY,
      );
      expect(await errno(amdgpuBoSetPlacement(app, fd, up, AMDGPU_GEM_DOMAIN_GTT))).toBe("EPERM");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_OP, { handle: h, op: 9 }))).toBe("EINVAL");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_OP, { handle: 77, op: 0 }))).toBe("ENOENT");
      // The copy to userspace comes after the BO's lock is dropped: a bad pointer is EFAULT
      // (and the validator saw no user copy under a reservation lock).
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_OP, { handle: h, op: 0, value_ptr: null }))).toBe(
        "EFAULT",
      );
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GEM_LIST_HANDLES counts first, then describes every handle", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const a = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const b = await amdgpuBoAlloc(app, fd, { allocSize: 8192, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const list = await amdgpuListHandles(app, fd);
      expect(list.map((e) => [e.gem_handle, Number(e.size), Number(e.preferred_domains), e.flags])).toEqual([
        [a, 4096, AMDGPU_GEM_DOMAIN_VRAM, 0],
        [b, 8192, AMDGPU_GEM_DOMAIN_GTT, 0],
      ]);
      expect(AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("BO lists", () => {
  it("a list made once names the BOs of later submissions; UPDATE replaces it; a list and a chunk together are EINVAL", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const a = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const b = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const list = await amdgpuBoListCreateRaw(app, fd, [a]);
      expect(list).toBe(1);
      const resv = (h: number) => [...dev.files][0]!.gem.peek(h)!.resv;
      const ib = amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1) });
      const s = await amdgpuCsSubmitRaw2(app, fd, ctx, [ib], list);
      expect([resv(a).numFences, resv(b).numFences]).toEqual([1, 0]);
      await amdgpuBoListUpdate(app, fd, list, [a, b]);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [ib], list);
      expect(resv(b).numFences).toBe(1);
      expect(await errno(amdgpuCsSubmitRaw2(app, fd, ctx, [ib, amdgpuCsChunkBoList([a])], list))).toBe(
        "EINVAL",
      );
      expect(await errno(amdgpuBoListUpdate(app, fd, 9, [a]))).toBe("ENOENT");
      expect(await errno(amdgpuBoListCreateRaw(app, fd, [a, 77]))).toBe("ENOENT");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_BO_LIST, { in: { operation: 5 } }))).toBe("EINVAL");
      await amdgpuBoListDestroyRaw(app, fd, list);
      await amdgpuBoListDestroyRaw(app, fd, list); // an unknown list is ignored
      expect(await errno(amdgpuCsSubmitRaw2(app, fd, ctx, [ib], list))).toBe("ENOENT");
      // Entries of a smaller size (older userspace) are zero-extended.
      const l2 = await app.ioctl<{ out: { list_handle: number } }>(fd, DRM_IOCTL_AMDGPU_BO_LIST, {
        in: { operation: 0, bo_number: 2, bo_info_size: 4, bo_info_ptr: new Uint32Array([a, b]) },
      });
      await amdgpuCsSubmitRaw2(app, fd, ctx, [ib], l2.out.list_handle);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("per-VM BOs (VM_ALWAYS_VALID)", () => {
  it("share the VM's reservation object; no other file may open them, and they are not exported", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, {
        allocSize: 4096,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM,
        flags: AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
      });
      expect(await errno(drmPrimeHandleToFD(app, fd, h))).toBe("EPERM");
      // Used by a CS without being in any list: it is in the VM.
      await amdgpuBoVaOpRaw(app, fd, h, 0, 4096, 0x1_0000_0000, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const s = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, fill: { bo_handle: h, data: [4] } }),
      ]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s });
      expect(Array.from((await amdgpuBoCpuMap(app, fd, h)).read(0, 1))).toEqual([4]);
      await app.ioctl(fd, DRM_IOCTL_GEM_CLOSE, { handle: h });
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
