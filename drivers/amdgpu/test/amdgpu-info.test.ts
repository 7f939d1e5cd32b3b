/** `DRM_IOCTL_AMDGPU_INFO`: what a userspace driver reads at start-up, and the checks on the request. */
import { msecs, Process, uapiDecode } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  AMDGPU_FAMILY_GC_11_0_0,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_HW_IP_NUM,
  AMDGPU_HW_IP_UVD,
  AMDGPU_IDS_FLAGS_GANG_SUBMIT,
  AMDGPU_INFO_ACCEL_WORKING,
  AMDGPU_INFO_CRTC_FROM_ID,
  AMDGPU_INFO_DEV_INFO,
  AMDGPU_INFO_FW_GFX_MEC,
  AMDGPU_INFO_GPUVM_FAULT,
  AMDGPU_INFO_GTT_USAGE,
  AMDGPU_INFO_MAX_IBS,
  AMDGPU_INFO_NUM_HANDLES,
  AMDGPU_INFO_READ_MMR_REG,
  AMDGPU_INFO_SENSOR,
  AMDGPU_INFO_SENSOR_GPU_TEMP,
  AMDGPU_INFO_TIMESTAMP,
  AMDGPU_INFO_UQ_FW_AREAS,
  AMDGPU_INFO_VBIOS,
  AMDGPU_INFO_VBIOS_INFO,
  AMDGPU_INFO_VIDEO_CAPS,
  AMDGPU_INFO_VRAM_GTT,
  AMDGPU_INFO_VRAM_LOST_COUNTER,
  AMDGPU_INFO_VRAM_USAGE,
  AMDGPU_MMR_GB_ADDR_CONFIG,
  AMDGPU_VA_OP_MAP,
  AMDGPU_VM_PAGE_READABLE,
  DRM_IOCTL_AMDGPU_INFO,
  drm_amdgpu_info_gpuvm_fault,
  drm_amdgpu_info_uq_metadata_compute,
  drm_amdgpu_info_vbios,
  drm_amdgpu_info_vram_gtt,
  simWritePacket,
  writeDataPacket,
} from "../src/index.js";
import {
  amdgpuBoAlloc,
  amdgpuBoCpuMap,
  amdgpuBoVaOpRaw,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuDeviceInitialize,
  amdgpuQueryFirmwareVersion,
  amdgpuQueryHwIpCount,
  amdgpuQueryHwIpInfo,
  amdgpuQueryInfoRaw,
  amdgpuQueryInfoU32,
  amdgpuQueryInfoU64,
  amdgpuQueryMemoryInfo,
  amdgpuSimBoVa,
} from "../src/user/index.js";
import { errno, nap, rig } from "./helpers.js";

describe("AMDGPU_INFO", () => {
  it("answers the start-up queries: device, IPs, firmware, memory", async () => {
    const { sim, host, dev } = rig({ vramSize: 64 << 20, computeRings: 4, sdmaRings: 2 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const gpu = await amdgpuDeviceInitialize(app, fd);
      expect(await amdgpuDeviceInitialize(app, fd)).toBe(gpu);
      const info = gpu.info;
      expect(info.family).toBe(AMDGPU_FAMILY_GC_11_0_0);
      expect(info.cu_active_number).toBe(96);
      expect(info.virtual_address_offset).toBe(0x10000n);
      expect(info.ids_flags & BigInt(AMDGPU_IDS_FLAGS_GANG_SUBMIT)).not.toBe(0n);
      expect(info.high_va_offset).toBe(0xffff_8000_0000_0000n);
      // The rings the device was configured with.
      const rings = async (ip: number) => (await amdgpuQueryHwIpInfo(app, fd, ip)).available_rings;
      expect([
        await rings(AMDGPU_HW_IP_GFX),
        await rings(AMDGPU_HW_IP_COMPUTE),
        await rings(AMDGPU_HW_IP_DMA),
      ]).toEqual([0b1, 0b1111, 0b11]);
      expect(await rings(AMDGPU_HW_IP_UVD)).toBe(0);
      expect(await amdgpuQueryHwIpCount(app, fd, AMDGPU_HW_IP_COMPUTE)).toBe(1);
      expect(await amdgpuQueryHwIpCount(app, fd, AMDGPU_HW_IP_UVD)).toBe(0);
      expect((await amdgpuQueryFirmwareVersion(app, fd, AMDGPU_INFO_FW_GFX_MEC)).ver).toBeGreaterThan(0);
      expect(await amdgpuQueryInfoU32(app, fd, AMDGPU_INFO_ACCEL_WORKING)).toBe(1);
      expect(await amdgpuQueryInfoU32(app, fd, AMDGPU_INFO_VRAM_LOST_COUNTER)).toBe(0);
      // Memory: usage follows allocations.
      const before = await amdgpuQueryMemoryInfo(app, fd);
      expect(before.vram.total_heap_size).toBe(64n << 20n);
      await amdgpuBoAlloc(app, fd, { allocSize: 1 << 20, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
      await amdgpuBoAlloc(app, fd, { allocSize: 1 << 16, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      expect((await amdgpuQueryMemoryInfo(app, fd)).vram.heap_usage - before.vram.heap_usage).toBe(1n << 20n);
      expect(await amdgpuQueryInfoU64(app, fd, AMDGPU_INFO_VRAM_USAGE)).toBe(1n << 20n);
      expect(await amdgpuQueryInfoU64(app, fd, AMDGPU_INFO_GTT_USAGE)).toBe(1n << 16n);
      const vg = uapiDecode(
        drm_amdgpu_info_vram_gtt,
        await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_VRAM_GTT, 24),
        {
          sim,
          what: "t",
        },
      );
      expect(vg.vram_size).toBe(64n << 20n);
      // MAX_IBS: what CS enforces per IP.
      const max = new DataView(
        (await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_MAX_IBS, AMDGPU_HW_IP_NUM * 4)).buffer,
      );
      expect([max.getUint32(0, true), max.getUint32(4, true), max.getUint32(8, true)]).toEqual([
        192, 125, 49,
      ]);
      // The GPU clock counter (100 MHz) follows virtual time.
      await nap(sim, msecs(1));
      expect(await amdgpuQueryInfoU64(app, fd, AMDGPU_INFO_TIMESTAMP)).toBe(100_000n);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("writes at most return_size bytes, and refuses what it cannot answer", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      // A 4-byte buffer gets the first 4 bytes of the 448-byte device info (device_id).
      const four = await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_DEV_INFO, 4);
      expect(new DataView(four.buffer).getUint32(0, true)).toBe(0x744c);
      const q = (query: number, extra: Record<string, unknown> = {}, size = 64) =>
        errno(
          app.ioctl(fd, DRM_IOCTL_AMDGPU_INFO, {
            return_pointer: new Uint8Array(size),
            return_size: size,
            query,
            ...extra,
          }),
        );
      expect(
        await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_INFO, { return_pointer: new Uint8Array(4), query: 0 })),
      ).toBe("EINVAL");
      expect(await errno(app.ioctl(fd, DRM_IOCTL_AMDGPU_INFO, { return_size: 4, query: 0 }))).toBe("EINVAL");
      expect(await q(0x7f)).toBe("EINVAL");
      expect(await q(0x02, { query_hw_ip: { type: AMDGPU_HW_IP_NUM } })).toBe("EINVAL");
      expect(await q(0x02, { query_hw_ip: { type: 0, ip_instance: 1 } })).toBe("EINVAL");
      expect(await q(0x0e, { query_fw: { fw_type: 99 } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_SENSOR, { sensor_info: { type: 99 } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_VBIOS, { vbios_info: { type: 9 } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_VIDEO_CAPS, { video_cap: { type: 2 } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_UQ_FW_AREAS, { query_hw_ip: { type: AMDGPU_HW_IP_UVD } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_NUM_HANDLES, { query_hw_ip: { type: AMDGPU_HW_IP_UVD } })).toBe("EINVAL");
      expect(await q(AMDGPU_INFO_CRTC_FROM_ID, { mode_crtc: { id: 1 } })).toBe("ENOENT");
      expect(await q(AMDGPU_INFO_READ_MMR_REG, { read_mmr_reg: { dword_offset: 0x1234, count: 1 } })).toBe(
        "EINVAL",
      );
      // The one register served: GB_ADDR_CONFIG.
      const reg = await amdgpuQueryInfoU32(app, fd, AMDGPU_INFO_READ_MMR_REG, {
        read_mmr_reg: { dword_offset: AMDGPU_MMR_GB_ADDR_CONFIG, count: 1, instance: 0xffffffff },
      });
      expect(reg).toBeGreaterThan(0);
      expect(
        await amdgpuQueryInfoU32(app, fd, AMDGPU_INFO_SENSOR, {
          sensor_info: { type: AMDGPU_INFO_SENSOR_GPU_TEMP },
        }),
      ).toBe(45_000);
      const vbios = uapiDecode(
        drm_amdgpu_info_vbios,
        await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_VBIOS, 200, {
          vbios_info: { type: AMDGPU_INFO_VBIOS_INFO },
        }),
        { sim, what: "t" },
      );
      expect(vbios.name).toBe("drmsim NAVI31");
      const eop = uapiDecode(
        drm_amdgpu_info_uq_metadata_compute,
        await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_UQ_FW_AREAS, 8, {
          query_hw_ip: { type: AMDGPU_HW_IP_COMPUTE },
        }),
        { sim, what: "t" },
      );
      expect(eop.eop_size).toBeGreaterThan(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("GPUVM_FAULT reports the caller's last VM fault: a store to an unmapped or read-only address is dropped", async () => {
    const { sim, host, dev } = rig();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const ctx = await amdgpuCsCtxCreate2(app, fd);
      const fault = async () =>
        uapiDecode(
          drm_amdgpu_info_gpuvm_fault,
          await amdgpuQueryInfoRaw(app, fd, AMDGPU_INFO_GPUVM_FAULT, 16),
          {
            sim,
            what: "t",
          },
        );
      expect((await fault()).addr).toBe(0n);
      // An IB (written by hand) storing to a read-only mapping, then to nowhere.
      const target = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      await amdgpuBoVaOpRaw(
        app,
        fd,
        target,
        0,
        4096,
        0x2_0000_0000,
        AMDGPU_VM_PAGE_READABLE,
        AMDGPU_VA_OP_MAP,
      );
      const ib = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
      const ibVa = (await amdgpuSimBoVa(app, fd, ib)).va;
      const run = async (packets: number[]) => {
        (await amdgpuBoCpuMap(app, fd, ib)).write(0, new Uint8Array(new Uint32Array(packets).buffer));
        const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
          amdgpuCsChunkIb({
            ip_type: AMDGPU_HW_IP_GFX,
            ring: 0,
            va_start: ibVa,
            ib_bytes: packets.length * 4,
          }),
        ]);
        return amdgpuCsQueryFenceStatus(app, fd, {
          ctxId: ctx,
          ipType: AMDGPU_HW_IP_GFX,
          ring: 0,
          fence: seq,
        });
      };
      expect(await run(writeDataPacket("pm4", 0x2_0000_0010, [0xdead]))).toBe(true);
      expect(await fault()).toEqual({ addr: 0x2_0000_0010n, status: 2, vmhub: 0 });
      expect(Array.from((await amdgpuBoCpuMap(app, fd, target)).read(16, 4))).toEqual([0, 0, 0, 0]);
      expect(await run(simWritePacket("pm4", 0x3_0000_0000, new Uint8Array([1])))).toBe(true);
      expect((await fault()).addr).toBe(0x3_0000_0000n);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
