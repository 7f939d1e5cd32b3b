/** The GPU VM of a file: GEM_VA's operations and checks, page-table updates, and IB addresses resolved in it. */
import { DmaResvUsage } from "@drmsim/dma-resv";
import { DRM_IOCTL_GEM_CLOSE, drmSyncobjCreate, drmSyncobjQuery, drmSyncobjTimelineWait } from "@drmsim/drm";
import { msecs, Process, S64_MAX, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  AMDGPU_VA_OP_CLEAR,
  AMDGPU_VA_OP_MAP,
  AMDGPU_VA_OP_REPLACE,
  AMDGPU_VA_OP_UNMAP,
  AMDGPU_VM_DELAY_UPDATE,
  AMDGPU_VM_PAGE_PRT,
  AMDGPU_VM_PAGE_READABLE,
  type AmdgpuBo,
  amdgpuFprivOf,
  DRM_IOCTL_AMDGPU_GEM_VA,
  simRunPacket,
} from "../src/index.js";
import {
  AMDGPU_VM_PAGE_RWX,
  amdgpuBoAlloc,
  amdgpuBoCpuMap,
  amdgpuBoQueryMappings,
  amdgpuBoVaOpRaw,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjOut,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "../src/user/index.js";
import { errno, rig } from "./helpers.js";

const KiB = 1024;
const VA = 0x1_0000_0000;

describe("GEM_VA", () => {
  it("maps, unmaps, clears and replaces ranges; GET_MAPPING_INFO shows them", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const a = await amdgpuBoAlloc(app, fd, { allocSize: 64 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const b = await amdgpuBoAlloc(app, fd, { allocSize: 64 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const va = (h: number, off: number, size: number, at: number, op = AMDGPU_VA_OP_MAP) =>
        amdgpuBoVaOpRaw(app, fd, h, off, size, at, AMDGPU_VM_PAGE_RWX, op);
      await va(a, 0, 64 * KiB, VA);
      await va(a, 16 * KiB, 16 * KiB, VA + 0x10_0000);
      const maps = async (h: number) =>
        (await amdgpuBoQueryMappings(app, fd, h)).map((m) => [
          Number(m.addr),
          Number(m.size),
          Number(m.offset),
        ]);
      expect(await maps(a)).toEqual([
        [VA, 64 * KiB, 0],
        [VA + 0x10_0000, 16 * KiB, 16 * KiB],
      ]);
      // Overlapping another mapping (of any BO) is refused.
      expect(await errno(va(b, 0, 4096, VA + 60 * KiB))).toBe("EINVAL");
      // REPLACE clears what is in the way (the middle of a's first mapping) and maps.
      await va(b, 0, 8 * KiB, VA + 8 * KiB, AMDGPU_VA_OP_REPLACE);
      expect(await maps(a)).toEqual([
        [VA, 8 * KiB, 0],
        [VA + 16 * KiB, 48 * KiB, 16 * KiB],
        [VA + 0x10_0000, 16 * KiB, 16 * KiB],
      ]);
      expect(await maps(b)).toEqual([[VA + 8 * KiB, 8 * KiB, 0]]);
      // UNMAP names the mapping by where it starts; nothing starts here any more.
      await va(a, 0, 0, VA + 0x10_0000, AMDGPU_VA_OP_UNMAP);
      expect(await errno(va(a, 0, 0, VA + 0x10_0000, AMDGPU_VA_OP_UNMAP))).toBe("ENOENT");
      // CLEAR takes every mapping of the range, of any BO, trimming the ones that stick out.
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, {
        operation: AMDGPU_VA_OP_CLEAR,
        va_address: VA + 4 * KiB,
        map_size: 16 * KiB,
      });
      expect(await maps(a)).toEqual([
        [VA, 4 * KiB, 0],
        [VA + 20 * KiB, 44 * KiB, 20 * KiB],
      ]);
      expect(await maps(b)).toEqual([]);
      // A PRT range needs no BO.
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, {
        operation: AMDGPU_VA_OP_MAP,
        flags: AMDGPU_VM_PAGE_PRT,
        va_address: VA + 0x20_0000,
        map_size: 64 * KiB,
      });
      expect(amdgpuFprivOf([...dev.files][0]!).vm.lookupPage((VA + 0x20_0000) / 4096)?.boVa?.bo).toBeNull();
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses, in the kernel's order, the reserved bottom, the VA hole, the top, bad flags and ops, unknown BOs and bad ranges", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const bad = (a: Record<string, unknown>) =>
        errno(
          app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, {
            handle: h,
            operation: AMDGPU_VA_OP_MAP,
            flags: AMDGPU_VM_PAGE_RWX,
            va_address: VA,
            map_size: 8 * KiB,
            ...a,
          }),
        );
      expect(await bad({ va_address: 0x1000 })).toBe("EINVAL"); // below AMDGPU_VA_RESERVED_BOTTOM
      expect(await bad({ va_address: 0x0000_8000_0000_0000n })).toBe("EINVAL"); // in the hole
      expect(await bad({ va_address: 0x0000_ffff_ffff_0000n })).toBe("EINVAL"); // the reserved top
      expect(await bad({ flags: 1 << 12 })).toBe("EINVAL");
      expect(await bad({ flags: AMDGPU_VM_PAGE_PRT | AMDGPU_VM_PAGE_READABLE })).toBe("EINVAL");
      expect(await bad({ operation: 9 })).toBe("EINVAL");
      expect(await bad({ handle: 99 })).toBe("ENOENT");
      expect(await bad({ va_address: VA + 1 })).toBe("EINVAL"); // not page aligned
      expect(await bad({ map_size: 16 * KiB })).toBe("EINVAL"); // past the BO
      expect(await bad({ offset_in_bo: 8 * KiB, map_size: 4 * KiB })).toBe("EINVAL");
      expect(await bad({ map_size: 0 })).toBe("EINVAL");
      // An input syncobj handle of 0 is refused before anything is mapped.
      expect(await bad({ num_syncobj_handles: 1, input_fence_syncobj_handles: [0] })).toBe("EINVAL");
      expect(await amdgpuBoQueryMappings(app, fd, h)).toEqual([]);
      // An address in the high half is the same page tables (the hole folded away).
      await amdgpuBoVaOpRaw(
        app,
        fd,
        h,
        0,
        8 * KiB,
        0xffff_8000_0010_0000n,
        AMDGPU_VM_PAGE_RWX,
        AMDGPU_VA_OP_MAP,
      );
      expect((await amdgpuBoQueryMappings(app, fd, h)).map((m) => m.addr)).toEqual([0x0000_8000_0010_0000n]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a page-table update is a job on SDMA whose fence every CS waits for; DELAY_UPDATE leaves it to the CS", async () => {
    const { sim, host, dev, adev } = rig({ ptUpdateNs: usecs(50) });
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const vm = amdgpuFprivOf([...dev.files][0]!).vm;
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      // The library maps its IB pool (one update), and the CS waits for it.
      const s1 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: usecs(10) }),
      ]);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s1 });
      const gfx = adev.rings[AMDGPU_HW_IP_GFX][0]!;
      expect(gfx.ran[0]!.at).toBe(usecs(50));
      const updates = vm.ptUpdates;
      // A mapping with DELAY_UPDATE: no update until a CS that uses the BO, which then waits for it.
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await amdgpuBoVaOpRaw(
        app,
        fd,
        h,
        0,
        8 * KiB,
        VA,
        AMDGPU_VM_PAGE_RWX | AMDGPU_VM_DELAY_UPDATE,
        AMDGPU_VA_OP_MAP,
      );
      expect(vm.ptUpdates).toBe(updates);
      const t = sim.now;
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: usecs(10) }),
        amdgpuCsChunkBoList([h]),
      ]);
      expect(vm.ptUpdates).toBe(updates + 1);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s2 });
      expect(gfx.ran[1]!.at).toBe(t + usecs(50));
      // Page-table updates run on SDMA, owned by the VM, and fence the root as BOOKKEEP.
      expect(adev.sdmaRing.ran.filter((r) => r.entity === `${vm.name}.pt`).length).toBe(updates + 1);
      expect(vm.root.resv.testSignaled(DmaResvUsage.BOOKKEEP)).toBe(true);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the update's fence goes to the timeline syncobj; input syncobjs are waited for first", async () => {
    const { sim, host, dev } = rig({ ptUpdateNs: usecs(30) });
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await amdgpuBoAlloc(app, fd, { allocSize: 8 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const out = await drmSyncobjCreate(app, fd);
      // The input fence: a 1 ms job (after the 30 µs update mapping the library's IB pool).
      const gate = await drmSyncobjCreate(app, fd);
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1) }),
        amdgpuCsChunkSyncobjOut([gate]),
      ]);
      await amdgpuBoVaOpRaw(app, fd, h, 0, 8 * KiB, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP, {
        vm_timeline_syncobj_out: out,
        vm_timeline_point: 5,
        num_syncobj_handles: 1,
        input_fence_syncobj_handles: [gate],
      });
      // The ioctl waited for the input fence; the update ends 30 µs later, at point 5.
      expect(sim.now).toBe(usecs(30) + msecs(1));
      await drmSyncobjTimelineWait(app, fd, [out], [5], S64_MAX, 0);
      expect(sim.now).toBe(usecs(60) + msecs(1));
      expect(await drmSyncobjQuery(app, fd, [out])).toEqual([5]);
      // An unknown out syncobj is ENOENT, checked before the mapping changes.
      expect(
        await errno(
          amdgpuBoVaOpRaw(app, fd, h, 0, 4096, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_UNMAP, {
            vm_timeline_syncobj_out: 77,
          }),
        ),
      ).toBe("ENOENT");
      expect((await amdgpuBoQueryMappings(app, fd, h)).length).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("clearing an unmapped range waits for the VM's own running jobs; a moved BO's entries are updated after the move", async () => {
    const { sim, host, dev, adev } = rig({ vramSize: 512 * KiB, sdmaBytesPerNs: 1, ptUpdateNs: usecs(1) });
    const app = new Process(sim, "app");
    const other = new Process(sim, "other");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const f = [...dev.files][0]!;
      const vm = amdgpuFprivOf(f).vm;
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const h = await amdgpuBoAlloc(app, fd, {
        allocSize: 256 * KiB,
        preferredHeap: AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
      });
      await amdgpuBoVaOpRaw(app, fd, h, 0, 256 * KiB, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
      const s = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(2) }),
        amdgpuCsChunkBoList([h]),
      ]);
      await amdgpuBoVaOpRaw(app, fd, h, 0, 0, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_UNMAP);
      // The clearing update depends on the running job: it ends after it.
      const clear = vm.lastUpdate!.get();
      await clear.wait();
      expect(sim.now).toBeGreaterThanOrEqual(msecs(2));
      clear.put();
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s });
      // Map again; another process's allocation evicts the BO: its entries are invalid until a
      // CS updates them, after the copy.
      await amdgpuBoVaOpRaw(app, fd, h, 0, 256 * KiB, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
      const ofd = await other.open("/dev/dri/renderD128");
      await amdgpuBoAlloc(other, ofd, { allocSize: 512 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      const bo = f.gem.peek(h) as AmdgpuBo;
      expect(bo.domain).toBe("gtt");
      expect(vm.boFind(bo)!.invalid).toBe(true);
      const t = sim.now;
      const s2 = await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: usecs(10) }),
        amdgpuCsChunkBoList([h]),
      ]);
      expect(vm.boFind(bo)!.invalid).toBe(false);
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s2 });
      // The copy (256 KiB at 1 byte/ns), then the update, then the job.
      // SDMA runs the copy (256 KiB at 1 byte/ns), then the re-map's update that was queued
      // behind it, then the CS's update of the moved BO; the job runs after that.
      expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran.at(-1)!.at).toBe(t + 256 * KiB + 2 * usecs(1));
      // Closing the handle takes the BO's mappings out of the VM.
      await app.ioctl(fd, DRM_IOCTL_GEM_CLOSE, { handle: h });
      expect(vm.lookupPage(VA / 4096)).toBeUndefined();
    });
    app.exit();
    other.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("IBs in the VM", () => {
  it("an IB must lie inside one mapping backed by a BO; its bytes are read when it runs", async () => {
    const { sim, host, dev, adev } = rig();
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const ib = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await amdgpuBoVaOpRaw(app, fd, ib, 0, 4096, VA, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
      const submit = (va_start: number, ib_bytes: number) =>
        amdgpuCsSubmitRaw2(app, fd, ctx, [
          amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, va_start, ib_bytes }),
        ]);
      expect(await errno(submit(VA + 0x10_0000, 16))).toBe("EINVAL"); // unmapped
      expect(await errno(submit(VA + 4000, 200))).toBe("EINVAL"); // runs past the mapping
      await app.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, {
        operation: AMDGPU_VA_OP_MAP,
        flags: AMDGPU_VM_PAGE_PRT,
        va_address: VA + 0x20_0000,
        map_size: 4096,
      });
      expect(await errno(submit(VA + 0x20_0000, 16))).toBe("EINVAL"); // PRT: no BO behind it
      // The CPU writes the IB after the submission but before it runs: the CP fetches what is
      // there when the job reaches the hardware (here: behind 1 ms of other work).
      await amdgpuCsSubmitRaw2(app, fd, ctx, [
        amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, duration_ns: msecs(1) }),
      ]);
      const cpu = await amdgpuBoCpuMap(app, fd, ib);
      const packets = simRunPacket("pm4", msecs(3));
      const s = await submit(VA, packets.length * 4);
      cpu.write(0, new Uint8Array(new Uint32Array(packets).buffer));
      await amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: AMDGPU_HW_IP_GFX, ring: 0, fence: s });
      expect(sim.now).toBe(msecs(4));
      expect(adev.rings[AMDGPU_HW_IP_GFX][0]!.ran.length).toBe(2);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
