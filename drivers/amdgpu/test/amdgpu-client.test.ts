/**
 * A libdrm_amdgpu client as a real program runs it, through `@drmsim/amdgpu/user` and nothing
 * drmsim-only: device init and INFO queries, BO creation, GEM_VA, IBs written as PM4/SDMA bytes
 * into a mapped BO, CS with a BO list and timeline syncobj chunks, WAIT_CS — and what the engines
 * do with IBs they cannot execute (the kernel does not parse gfx, compute or SDMA IBs: the
 * hardware stops on the bad packet and its fault interrupt resets the GPU at once).
 */

import {
  AMDGPU_CTX_QUERY2_FLAGS_GUILTY,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_IB_DEFAULT_NS,
  AMDGPU_INFO_FW_GFX_ME,
  AMDGPU_VA_OP_MAP,
  AMDGPU_VA_OP_UNMAP,
  type AmdgpuHwIp,
  amdgpuDeviceOf,
  amdgpuProbe,
  copyPacket,
  pm4Header,
  SDMA_OP_CONST_FILL,
  SDMA_OP_FENCE,
  sdmaHeader,
  writeDataPacket,
} from "@drmsim/amdgpu";
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
  amdgpuCsQueryResetState2,
  amdgpuCsSubmitRaw2,
  amdgpuDeviceInitialize,
  amdgpuQueryFirmwareVersion,
  amdgpuQueryHwIpCount,
  amdgpuQueryHwIpInfo,
  amdgpuQueryMemoryInfo,
  amdgpuVaRangeAlloc,
} from "@drmsim/amdgpu/user";
import { DrmPluginHost, drmSyncobjCreate, drmSyncobjQuery, drmSyncobjTimelineSignal } from "@drmsim/drm";
import { Process, Simulator, secs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { errno } from "./helpers.js";

const KiB = 1024;

/** The client's setup: a device handle, a target BO in VRAM and an IB BO in GTT, both mapped. */
async function client(app: Process, fd: number) {
  const gpu = await amdgpuDeviceInitialize(app, fd);
  const target = await amdgpuBoAlloc(app, fd, { allocSize: 64 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_VRAM });
  const ib = await amdgpuBoAlloc(app, fd, { allocSize: 4 * KiB, preferredHeap: AMDGPU_GEM_DOMAIN_GTT });
  const targetVa = amdgpuVaRangeAlloc(gpu, 64 * KiB);
  const ibVa = amdgpuVaRangeAlloc(gpu, 4 * KiB);
  await amdgpuBoVaOpRaw(app, fd, target, 0, 64 * KiB, targetVa, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
  await amdgpuBoVaOpRaw(app, fd, ib, 0, 4 * KiB, ibVa, AMDGPU_VM_PAGE_RWX, AMDGPU_VA_OP_MAP);
  const ibCpu = await amdgpuBoCpuMap(app, fd, ib);
  const targetCpu = await amdgpuBoCpuMap(app, fd, target);
  const ctx = await amdgpuCsCtxCreate2(app, fd);
  /** Writes `dwords` at `at` bytes into the IB BO and submits them as one IB on `ip`. */
  const submit = (
    ip: number,
    dwords: readonly number[],
    at = 0,
    extra: ReturnType<typeof amdgpuCsChunkIb>[] = [],
  ) => {
    ibCpu.write(at, new Uint8Array(Uint32Array.from(dwords).buffer));
    return amdgpuCsSubmitRaw2(app, fd, ctx, [
      amdgpuCsChunkIb({ ip_type: ip, ring: 0, va_start: ibVa + BigInt(at), ib_bytes: dwords.length * 4 }),
      amdgpuCsChunkBoList([target, ib]),
      ...extra,
    ]);
  };
  const wait = (ip: number, fence: number) =>
    amdgpuCsQueryFenceStatus(app, fd, { ctxId: ctx, ipType: ip, ring: 0, fence });
  const u32 = (off: number) => new DataView(targetCpu.read(off, 4).buffer).getUint32(0, true);
  return { gpu, target, targetVa, ib, ibVa, ctx, submit, wait, u32, targetCpu };
}

describe("a libdrm_amdgpu client", () => {
  it("queries the device, maps BOs, and runs byte IBs on gfx and SDMA with timeline chunks", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = amdgpuProbe(host, {});
    const app = new Process(sim, "app");
    await sim.execUntilIdle("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const c = await client(app, fd);
      // What radeonsi/RADV ask before anything else.
      expect(c.gpu.info.family).toBe(145);
      expect(await amdgpuQueryHwIpCount(app, fd, AMDGPU_HW_IP_GFX)).toBe(1);
      expect((await amdgpuQueryHwIpInfo(app, fd, AMDGPU_HW_IP_DMA)).available_rings).toBeGreaterThan(0);
      expect((await amdgpuQueryFirmwareVersion(app, fd, AMDGPU_INFO_FW_GFX_ME)).ver).toBeGreaterThan(0);
      expect((await amdgpuQueryMemoryInfo(app, fd)).vram.total_heap_size).toBeGreaterThan(0n);

      // gfx: WRITE_DATA two dwords, then DMA_DATA copies them 4 KiB further; after point 1, signals 2.
      const timeline = await drmSyncobjCreate(app, fd);
      await drmSyncobjTimelineSignal(app, fd, [timeline], [1]);
      const gfx = [
        ...writeDataPacket("pm4", c.targetVa, [0x1234_5678, 0x9abc_def0]),
        ...copyPacket("pm4", c.targetVa, c.targetVa + 4096n, 8),
      ];
      const seq = await c.submit(AMDGPU_HW_IP_GFX, gfx, 0, [
        amdgpuCsChunkSyncobjTimelineWait([{ handle: timeline, point: 1 }]),
        amdgpuCsChunkSyncobjTimelineSignal([{ handle: timeline, point: 2 }]),
      ]);
      expect(await c.wait(AMDGPU_HW_IP_GFX, seq)).toBe(true);
      // No drmsim marker in the IB: the hardware model's default time.
      expect(sim.now).toBe(AMDGPU_IB_DEFAULT_NS);
      expect((await drmSyncobjQuery(app, fd, [timeline]))[0]).toBe(2);
      expect([c.u32(0), c.u32(4), c.u32(4096), c.u32(4100)]).toEqual([
        0x1234_5678, 0x9abc_def0, 0x1234_5678, 0x9abc_def0,
      ]);

      // SDMA: CONST_FILL 16 bytes, COPY linear 8 of them further on, FENCE a dword.
      const va = c.targetVa + 8192n;
      const lo = (v: bigint) => Number(v & 0xffff_ffffn);
      const hi = (v: bigint) => Number(v >> 32n);
      const sdma = [
        sdmaHeader(SDMA_OP_CONST_FILL, 0) | (2 << 30),
        lo(va),
        hi(va),
        0xa5a5_a5a5,
        15,
        ...copyPacket("sdma", va, va + 64n, 8),
        sdmaHeader(SDMA_OP_FENCE, 0),
        lo(va + 128n),
        hi(va + 128n),
        42,
      ];
      const s2 = await c.submit(AMDGPU_HW_IP_DMA, sdma, 1024);
      expect(await c.wait(AMDGPU_HW_IP_DMA, s2)).toBe(true);
      expect([
        c.u32(8192 + 12),
        c.u32(8192 + 16),
        c.u32(8192 + 64),
        c.u32(8192 + 68),
        c.u32(8192 + 72),
      ]).toEqual([0xa5a5_a5a5, 0, 0xa5a5_a5a5, 0xa5a5_a5a5, 0]);
      expect(c.u32(8192 + 128)).toBe(42);

      // The kernel does check where the IB is: inside one mapping of the caller's VM.
      await amdgpuBoVaOpRaw(app, fd, c.ib, 0, 0, c.ibVa, 0, AMDGPU_VA_OP_UNMAP);
      expect(await errno(c.submit(AMDGPU_HW_IP_GFX, gfx))).toBe("EINVAL");
      expect(amdgpuDeviceOf(dev).rings[AMDGPU_HW_IP_GFX][0]!.faults).toEqual([]);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  const BAD: [string, AmdgpuHwIp, (va: bigint) => number[], string][] = [
    ["a type-1 PM4 packet", AMDGPU_HW_IP_GFX, () => [1 << 30], "illegal-opcode"],
    ["a type-0 register write", AMDGPU_HW_IP_GFX, () => [0x0000_2000, 0], "illegal-register"],
    [
      "a PM4 packet running past the IB",
      AMDGPU_HW_IP_GFX,
      () => [pm4Header(0x37, 8), 0x500, 0],
      "illegal-opcode",
    ],
    ["WRITE_DATA without its address", AMDGPU_HW_IP_GFX, () => [pm4Header(0x37, 1), 0x500], "illegal-opcode"],
    [
      "an SDMA opcode the engine does not execute",
      AMDGPU_HW_IP_DMA,
      () => [0x0000_00ee],
      "illegal-instruction",
    ],
    [
      "an SDMA COPY cut short",
      AMDGPU_HW_IP_DMA,
      (va) => copyPacket("sdma", va, va + 64n, 8).slice(0, 4),
      "illegal-instruction",
    ],
  ];
  for (const [what, ip, bad, kind] of BAD)
    it(`${what}: CS accepts it, the engine stops on it and its fault resets the GPU at once; nothing the IB wrote lands`, async () => {
      const sim = new Simulator();
      const host = new DrmPluginHost(sim);
      const dev = amdgpuProbe(host, { timeoutNs: secs(10) });
      const app = new Process(sim, "app");
      await sim.execUntilIdle("app", async () => {
        const fd = await app.open("/dev/dri/renderD128");
        const c = await client(app, fd);
        // A good store first in the same IB: it never lands, the job does not complete.
        const dwords = [
          ...writeDataPacket(ip === AMDGPU_HW_IP_DMA ? "sdma" : "pm4", c.targetVa, [7]),
          ...bad(c.targetVa),
        ];
        const seq = await c.submit(ip, dwords);
        // The guilty job's fence carries -ECANCELED (the reset's error for the context's work).
        expect(await errno(c.wait(ip, seq))).toBe("ECANCELED");
        // The fault interrupt, not the 10 s lockup timeout, ended it.
        expect(sim.now).toBeLessThan(secs(1));
        const ring = amdgpuDeviceOf(dev).rings[ip][0]!;
        expect(ring.faults.map((f) => [f.kind, f.va, f.dword])).toEqual([
          [kind, Number(c.ibVa), dwords.length - bad(c.targetVa).length],
        ]);
        expect(c.u32(0)).toBe(0);
        expect((await amdgpuCsQueryResetState2(app, fd, c.ctx)) & AMDGPU_CTX_QUERY2_FLAGS_GUILTY).not.toBe(0);
      });
      app.exit();
      host.remove(dev);
      expect(sim.teardown().findings).toEqual([]);
    });
});
