/**
 * The uAPI as `amdgpu_drm.h` defines it: every struct and union of the header with its size,
 * some offsets where the ABI has holes or odd members, and every ioctl with its request code —
 * the header's values (compiled with gcc for x86_64), not ours — and the driver's ioctl table is
 * exactly the header's, with its permission flags, plus drmsim's doorbell past the header's range.
 */
import { DRM_AUTH, DRM_MASTER, DRM_RENDER_ALLOW, DrmPluginHost } from "@drmsim/drm";
import { iocSize, Simulator, type UapiStruct } from "@drmsim/runtime";
import { expect, it } from "vitest";
import * as amdgpu from "../src/index.js";

/** `sizeof` of every struct and union of `amdgpu_drm.h`. */
const HEADER_SIZES: Record<string, number> = {
  drm_amdgpu_gem_create_in: 32,
  drm_amdgpu_gem_create_out: 8,
  drm_amdgpu_gem_create: 32,
  drm_amdgpu_bo_list_in: 24,
  drm_amdgpu_bo_list_entry: 8,
  drm_amdgpu_bo_list_out: 8,
  drm_amdgpu_bo_list: 24,
  drm_amdgpu_ctx_in: 16,
  drm_amdgpu_ctx_out: 16,
  drm_amdgpu_ctx: 16,
  drm_amdgpu_userq_in: 72,
  drm_amdgpu_userq_out: 8,
  drm_amdgpu_userq: 72,
  drm_amdgpu_userq_mqd_gfx11: 16,
  drm_amdgpu_userq_mqd_sdma_gfx11: 8,
  drm_amdgpu_userq_mqd_compute_gfx11: 8,
  drm_amdgpu_userq_signal: 48,
  drm_amdgpu_userq_fence_info: 16,
  drm_amdgpu_userq_wait: 72,
  drm_amdgpu_vm_in: 8,
  drm_amdgpu_vm_out: 8,
  drm_amdgpu_vm: 8,
  drm_amdgpu_sched_in: 16,
  drm_amdgpu_sched: 16,
  drm_amdgpu_gem_userptr: 24,
  drm_amdgpu_gem_metadata: 288,
  drm_amdgpu_gem_mmap_in: 8,
  drm_amdgpu_gem_mmap_out: 8,
  drm_amdgpu_gem_mmap: 8,
  drm_amdgpu_gem_wait_idle_in: 16,
  drm_amdgpu_gem_wait_idle_out: 8,
  drm_amdgpu_gem_wait_idle: 16,
  drm_amdgpu_wait_cs_in: 32,
  drm_amdgpu_wait_cs_out: 8,
  drm_amdgpu_wait_cs: 32,
  drm_amdgpu_fence: 24,
  drm_amdgpu_wait_fences_in: 24,
  drm_amdgpu_wait_fences_out: 8,
  drm_amdgpu_wait_fences: 24,
  drm_amdgpu_gem_vm_entry: 32,
  drm_amdgpu_gem_op: 24,
  drm_amdgpu_gem_list_handles: 16,
  drm_amdgpu_gem_list_handles_entry: 40,
  drm_amdgpu_gem_va: 64,
  drm_amdgpu_cs_chunk: 16,
  drm_amdgpu_cs_in: 24,
  drm_amdgpu_cs_out: 8,
  drm_amdgpu_cs: 24,
  drm_amdgpu_cs_chunk_ib: 32,
  drm_amdgpu_cs_chunk_dep: 24,
  drm_amdgpu_cs_chunk_fence: 8,
  drm_amdgpu_cs_chunk_sem: 4,
  drm_amdgpu_cs_chunk_syncobj: 16,
  drm_amdgpu_fence_to_handle: 32,
  drm_amdgpu_cs_chunk_data: 32,
  drm_amdgpu_cs_chunk_cp_gfx_shadow: 32,
  drm_amdgpu_query_fw: 16,
  drm_amdgpu_info: 32,
  drm_amdgpu_info_gds: 32,
  drm_amdgpu_info_vram_gtt: 24,
  drm_amdgpu_heap_info: 32,
  drm_amdgpu_memory_info: 96,
  drm_amdgpu_info_firmware: 8,
  drm_amdgpu_info_vbios: 200,
  drm_amdgpu_info_device: 448,
  drm_amdgpu_info_hw_ip: 40,
  drm_amdgpu_info_num_handles: 8,
  drm_amdgpu_info_vce_clock_table_entry: 16,
  drm_amdgpu_info_vce_clock_table: 104,
  drm_amdgpu_info_video_codec_info: 24,
  drm_amdgpu_info_video_caps: 192,
  drm_amdgpu_info_gpuvm_fault: 16,
  drm_amdgpu_info_uq_metadata_gfx: 16,
  drm_amdgpu_info_uq_metadata_compute: 8,
  drm_amdgpu_info_uq_metadata_sdma: 8,
  drm_amdgpu_info_uq_metadata: 16,
};

/** Every ioctl of `amdgpu_drm.h`: [request code, argument size]. */
const HEADER_IOCTLS: Record<string, [number, number]> = {
  AMDGPU_GEM_CREATE: [0xc0206440, 32],
  AMDGPU_GEM_MMAP: [0xc0086441, 8],
  AMDGPU_CTX: [0xc0106442, 16],
  AMDGPU_BO_LIST: [0xc0186443, 24],
  AMDGPU_CS: [0xc0186444, 24],
  AMDGPU_INFO: [0x40206445, 32],
  AMDGPU_GEM_METADATA: [0xc1206446, 288],
  AMDGPU_GEM_WAIT_IDLE: [0xc0106447, 16],
  AMDGPU_GEM_VA: [0x40406448, 64],
  AMDGPU_WAIT_CS: [0xc0206449, 32],
  AMDGPU_GEM_OP: [0xc0186450, 24],
  AMDGPU_GEM_USERPTR: [0xc0186451, 24],
  AMDGPU_WAIT_FENCES: [0xc0186452, 24],
  AMDGPU_VM: [0xc0086453, 8],
  AMDGPU_FENCE_TO_HANDLE: [0xc0206454, 32],
  AMDGPU_SCHED: [0x40106455, 16],
  AMDGPU_USERQ: [0xc0486456, 72],
  AMDGPU_USERQ_SIGNAL: [0xc0306457, 48],
  AMDGPU_USERQ_WAIT: [0xc0486458, 72],
  AMDGPU_GEM_LIST_HANDLES: [0xc0106459, 16],
};

function isStruct(v: unknown): v is UapiStruct {
  return typeof v === "object" && v !== null && (v as UapiStruct).type === "struct" && "offsets" in v;
}

/** Every struct declared by the package, with the structs nested in them. */
function declaredStructs(): Map<string, UapiStruct> {
  const out = new Map<string, UapiStruct>();
  const visit = (s: UapiStruct) => {
    if (out.has(s.name)) return;
    out.set(s.name, s);
    for (const f of Object.values(s.fields)) if (isStruct(f)) visit(f);
  };
  for (const v of Object.values(amdgpu)) if (isStruct(v)) visit(v);
  return out;
}

it("declares every struct and union of the header, each the size the header gives it", () => {
  const declared = declaredStructs();
  const got = Object.fromEntries(Object.keys(HEADER_SIZES).map((n) => [n, declared.get(n)?.size]));
  expect(got).toEqual(HEADER_SIZES);
});

it("puts the members the ABI is particular about where the header does", () => {
  const o = (s: UapiStruct, m: string) => s.offsets[m];
  // A 4-byte hole before tcc_disabled_mask, and tail padding after the last pad.
  expect(o(amdgpu.drm_amdgpu_info_device, "tcc_disabled_mask")).toBe(360);
  expect(o(amdgpu.drm_amdgpu_info_device, "userq_ip_mask")).toBe(436);
  expect(o(amdgpu.drm_amdgpu_info_hw_ip, "userq_num_slots")).toBe(32);
  // The INFO query's parameters are an anonymous union at 16.
  expect([o(amdgpu.drm_amdgpu_info, "query"), o(amdgpu.drm_amdgpu_info, "query_fw")]).toEqual([12, 16]);
  expect(o(amdgpu.drm_amdgpu_gem_metadata, "data")).toBe(8);
  expect(o(amdgpu.drm_amdgpu_gem_metadata_data, "data")).toBe(20);
  // GEM_VA grew to 64 bytes; the new members follow the 40 an older caller sends.
  expect(o(amdgpu.drm_amdgpu_gem_va, "vm_timeline_point")).toBe(40);
  expect(o(amdgpu.drm_amdgpu_gem_va, "input_fence_syncobj_handles")).toBe(56);
  expect([
    o(amdgpu.drm_amdgpu_userq_wait, "num_fences"),
    o(amdgpu.drm_amdgpu_userq_wait, "out_fences"),
  ]).toEqual([50, 64]);
  expect(o(amdgpu.drm_amdgpu_cs_chunk_ib, "va_start")).toBe(8);
});

it("names every ioctl of the header with its request code", () => {
  const got = Object.fromEntries(
    Object.keys(HEADER_IOCTLS).map((n) => {
      const code = (amdgpu as Record<string, unknown>)[`DRM_IOCTL_${n}`] as number;
      return [n, [code, iocSize(code)]];
    }),
  );
  expect(got).toEqual(HEADER_IOCTLS);
});

it("the driver's ioctl table is the header's (amdgpu_ioctls_kms[] flags) plus drmsim's doorbell", () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = amdgpu.amdgpuProbe(host);
  const table = Object.fromEntries(dev.driverIoctls().map((d) => [d.name, [d.cmd, d.flags]]));
  const expected: Record<string, [number, number]> = {};
  for (const [n, [code]] of Object.entries(HEADER_IOCTLS))
    expected[n] = [code, n === "AMDGPU_SCHED" ? DRM_MASTER : DRM_AUTH | DRM_RENDER_ALLOW];
  expected.AMDGPU_SIM_DOORBELL = [amdgpu.DRM_IOCTL_AMDGPU_SIM_DOORBELL, DRM_AUTH | DRM_RENDER_ALLOW];
  expect(table).toEqual(expected);
  // drmsim's ioctl is numbered past the header's last (GEM_LIST_HANDLES, 0x19).
  expect(amdgpu.DRM_AMDGPU_SIM_DOORBELL).toBeGreaterThan(amdgpu.DRM_AMDGPU_GEM_LIST_HANDLES);
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
