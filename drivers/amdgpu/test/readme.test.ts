/** The README example, verbatim (imports adjusted to the package under test), so it cannot rot. */
import { DrmPluginHost, drmSyncobjCreate, drmSyncobjQuery, drmSyncobjTimelineSignal } from "@drmsim/drm";
import { msecs, Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_GFX,
  AMDGPU_INFO_FW_GFX_ME,
  AMDGPU_VA_OP_MAP,
  amdgpuProbe,
  simRunPacket,
  writeDataPacket,
} from "../src/index.js";
import {
  AMDGPU_VM_PAGE_RWX,
  amdgpuBoAlloc,
  amdgpuBoCpuMap,
  amdgpuBoVaOpRaw,
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsChunkSyncobjTimelineSignal,
  amdgpuCsChunkSyncobjTimelineWait,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
  amdgpuDeviceInitialize,
  amdgpuQueryFirmwareVersion,
  amdgpuQueryHwIpInfo,
  amdgpuVaRangeAlloc,
} from "../src/user/index.js";

it("README example", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(host, { vramSize: 64 * 1024 * 1024 });
  const app = new Process(sim, "app");
  const result = await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    // What a userspace driver asks first: the device, its gfx IP, its firmware.
    const gpu = await amdgpuDeviceInitialize(app, fd);
    const gfx = await amdgpuQueryHwIpInfo(app, fd, AMDGPU_HW_IP_GFX);
    const me = await amdgpuQueryFirmwareVersion(app, fd, AMDGPU_INFO_FW_GFX_ME);
    // A VRAM buffer and a buffer for the IB, both mapped in the GPU VM.
    const target = await amdgpuBoAlloc(app, fd, { allocSize: 65536, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
    const ib = await amdgpuBoAlloc(app, fd, { allocSize: 4096, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
    const targetVa = amdgpuVaRangeAlloc(gpu, 65536);
    const ibVa = amdgpuVaRangeAlloc(gpu, 4096);
    await amdgpuBoVaOpRaw(app, fd, target, 0, 65536, targetVa, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
    await amdgpuBoVaOpRaw(app, fd, ib, 0, 4096, ibVa, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
    // The IB's bytes: a WRITE_DATA into the target, and a drmsim marker saying it runs 2 ms.
    const packets = [...writeDataPacket("pm4", targetVa, [0xcafe]), ...simRunPacket("pm4", msecs(2))];
    (await amdgpuBoCpuMap(app, fd, ib)).write(0, new Uint8Array(new Uint32Array(packets).buffer));
    // Submit it after timeline point 1; it signals point 2.
    const timeline = await drmSyncobjCreate(app, fd);
    await drmSyncobjTimelineSignal(app, fd, [timeline], [1]);
    const ctx = await amdgpuCsCtxCreate2(app, fd);
    const seq = await amdgpuCsSubmitRaw2(app, fd, ctx, [
      amdgpuCsChunkIb({ ip_type: AMDGPU_HW_IP_GFX, ring: 0, va_start: ibVa, ib_bytes: packets.length * 4 }),
      amdgpuCsChunkBoList([target, ib]),
      amdgpuCsChunkSyncobjTimelineWait([{ handle: timeline, point: 1 }]),
      amdgpuCsChunkSyncobjTimelineSignal([{ handle: timeline, point: 2 }]),
    ]);
    const done = await amdgpuCsQueryFenceStatus(app, fd, {
      ctxId: ctx,
      ipType: AMDGPU_HW_IP_GFX,
      ring: 0,
      fence: seq,
    });
    const written = (await amdgpuBoCpuMap(app, fd, target)).read(0, 4);
    return {
      family: gpu.info.family,
      gfx: `${gfx.hw_ip_version_major}.${gfx.hw_ip_version_minor}, ${gfx.available_rings} ring`,
      me: me.ver,
      seq,
      done,
      doneAtMs: sim.now / 1e6,
      point: (await drmSyncobjQuery(app, fd, [timeline]))[0],
      written: new DataView(written.buffer, written.byteOffset).getUint32(0, true).toString(16),
    };
  });
  expect(result).toEqual({
    family: 145,
    gfx: "11.0, 1 ring",
    me: 1712,
    seq: 1,
    done: true,
    doneAtMs: 2,
    point: 2,
    written: "cafe",
  });
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
