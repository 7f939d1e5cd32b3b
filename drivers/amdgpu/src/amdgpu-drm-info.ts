/**
 * `DRM_IOCTL_AMDGPU_INFO` (`include/uapi/drm/amdgpu_drm.h`): the request struct, the query ids
 * and the structs each query writes to `return_pointer` — what every userspace driver reads at
 * start-up (`amdgpu_device_initialize`, Mesa's `ac_query_gpu_info`).
 */
import { DRM_COMMAND_BASE, DRM_IOW } from "@drmsim/drm";
import {
  __u8,
  __u32,
  __u64,
  anonUnion,
  chars,
  fixedArray,
  opaquePtr,
  type UapiArgsOf,
  uapiStruct,
} from "@drmsim/runtime";
import { DRM_AMDGPU_INFO } from "./amdgpu-drm.js";

/** `AMDGPU_INFO_ACCEL_WORKING`: `__u32`, 1 when command submission works. */
export const AMDGPU_INFO_ACCEL_WORKING = 0x00;
/** `AMDGPU_INFO_CRTC_FROM_ID` (display; this device has none). */
export const AMDGPU_INFO_CRTC_FROM_ID = 0x01;
/** `AMDGPU_INFO_HW_IP_INFO`: `drm_amdgpu_info_hw_ip` of `query_hw_ip.type`. */
export const AMDGPU_INFO_HW_IP_INFO = 0x02;
/** `AMDGPU_INFO_HW_IP_COUNT`: `__u32`, instances of `query_hw_ip.type`. */
export const AMDGPU_INFO_HW_IP_COUNT = 0x03;
/** `AMDGPU_INFO_TIMESTAMP`: `__u64` GPU clock counter. */
export const AMDGPU_INFO_TIMESTAMP = 0x05;
/** `AMDGPU_INFO_FW_VERSION`: `drm_amdgpu_info_firmware` of `query_fw`. */
export const AMDGPU_INFO_FW_VERSION = 0x0e;
/** `AMDGPU_INFO_NUM_BYTES_MOVED`: `__u64`. */
export const AMDGPU_INFO_NUM_BYTES_MOVED = 0x0f;
/** `AMDGPU_INFO_VRAM_USAGE`: `__u64`. */
export const AMDGPU_INFO_VRAM_USAGE = 0x10;
/** `AMDGPU_INFO_GTT_USAGE`: `__u64`. */
export const AMDGPU_INFO_GTT_USAGE = 0x11;
/** `AMDGPU_INFO_GDS_CONFIG`: `drm_amdgpu_info_gds`. */
export const AMDGPU_INFO_GDS_CONFIG = 0x13;
/** `AMDGPU_INFO_VRAM_GTT`: `drm_amdgpu_info_vram_gtt`. */
export const AMDGPU_INFO_VRAM_GTT = 0x14;
/** `AMDGPU_INFO_READ_MMR_REG`: `__u32[count]` register values. */
export const AMDGPU_INFO_READ_MMR_REG = 0x15;
/** `AMDGPU_INFO_DEV_INFO`: `drm_amdgpu_info_device`. */
export const AMDGPU_INFO_DEV_INFO = 0x16;
/** `AMDGPU_INFO_VIS_VRAM_USAGE`: `__u64`. */
export const AMDGPU_INFO_VIS_VRAM_USAGE = 0x17;
/** `AMDGPU_INFO_NUM_EVICTIONS`: `__u64`. */
export const AMDGPU_INFO_NUM_EVICTIONS = 0x18;
/** `AMDGPU_INFO_MEMORY`: `drm_amdgpu_memory_info`. */
export const AMDGPU_INFO_MEMORY = 0x19;
/** `AMDGPU_INFO_VCE_CLOCK_TABLE`: `drm_amdgpu_info_vce_clock_table`. */
export const AMDGPU_INFO_VCE_CLOCK_TABLE = 0x1a;
/** `AMDGPU_INFO_VBIOS`: by `vbios_info.type`. */
export const AMDGPU_INFO_VBIOS = 0x1b;
/** `AMDGPU_INFO_NUM_HANDLES`: `drm_amdgpu_info_num_handles` (UVD). */
export const AMDGPU_INFO_NUM_HANDLES = 0x1c;
/** `AMDGPU_INFO_SENSOR`: `__u32` of `sensor_info.type`. */
export const AMDGPU_INFO_SENSOR = 0x1d;
/** `AMDGPU_INFO_NUM_VRAM_CPU_PAGE_FAULTS`: `__u64`. */
export const AMDGPU_INFO_NUM_VRAM_CPU_PAGE_FAULTS = 0x1e;
/** `AMDGPU_INFO_VRAM_LOST_COUNTER`: `__u32`. */
export const AMDGPU_INFO_VRAM_LOST_COUNTER = 0x1f;
/** `AMDGPU_INFO_RAS_ENABLED_FEATURES`: `__u64` mask. */
export const AMDGPU_INFO_RAS_ENABLED_FEATURES = 0x20;
/** `AMDGPU_INFO_VIDEO_CAPS`: `drm_amdgpu_info_video_caps`. */
export const AMDGPU_INFO_VIDEO_CAPS = 0x21;
/** `AMDGPU_INFO_MAX_IBS`: `__u32[AMDGPU_HW_IP_NUM]`. */
export const AMDGPU_INFO_MAX_IBS = 0x22;
/** `AMDGPU_INFO_GPUVM_FAULT`: `drm_amdgpu_info_gpuvm_fault`, the caller's VM's last fault. */
export const AMDGPU_INFO_GPUVM_FAULT = 0x23;
/** `AMDGPU_INFO_UQ_FW_AREAS`: `drm_amdgpu_info_uq_metadata` of `query_hw_ip.type`. */
export const AMDGPU_INFO_UQ_FW_AREAS = 0x24;

/** `AMDGPU_INFO_FW_VCE`. */
export const AMDGPU_INFO_FW_VCE = 0x1;
/** `AMDGPU_INFO_FW_UVD`. */
export const AMDGPU_INFO_FW_UVD = 0x2;
/** `AMDGPU_INFO_FW_GMC`. */
export const AMDGPU_INFO_FW_GMC = 0x3;
/** `AMDGPU_INFO_FW_GFX_ME`. */
export const AMDGPU_INFO_FW_GFX_ME = 0x4;
/** `AMDGPU_INFO_FW_GFX_PFP`. */
export const AMDGPU_INFO_FW_GFX_PFP = 0x5;
/** `AMDGPU_INFO_FW_GFX_CE`. */
export const AMDGPU_INFO_FW_GFX_CE = 0x6;
/** `AMDGPU_INFO_FW_GFX_RLC`. */
export const AMDGPU_INFO_FW_GFX_RLC = 0x7;
/** `AMDGPU_INFO_FW_GFX_MEC`. */
export const AMDGPU_INFO_FW_GFX_MEC = 0x8;
/** `AMDGPU_INFO_FW_SMC`. */
export const AMDGPU_INFO_FW_SMC = 0xa;
/** `AMDGPU_INFO_FW_SDMA`. */
export const AMDGPU_INFO_FW_SDMA = 0xb;
/** `AMDGPU_INFO_FW_SOS`. */
export const AMDGPU_INFO_FW_SOS = 0xc;
/** `AMDGPU_INFO_FW_ASD`. */
export const AMDGPU_INFO_FW_ASD = 0xd;
/** `AMDGPU_INFO_FW_VCN`. */
export const AMDGPU_INFO_FW_VCN = 0xe;
/** `AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_CNTL`. */
export const AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_CNTL = 0xf;
/** `AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_GPM_MEM`. */
export const AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_GPM_MEM = 0x10;
/** `AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_SRM_MEM`. */
export const AMDGPU_INFO_FW_GFX_RLC_RESTORE_LIST_SRM_MEM = 0x11;
/** `AMDGPU_INFO_FW_DMCU`. */
export const AMDGPU_INFO_FW_DMCU = 0x12;
/** `AMDGPU_INFO_FW_TA`. */
export const AMDGPU_INFO_FW_TA = 0x13;
/** `AMDGPU_INFO_FW_DMCUB`. */
export const AMDGPU_INFO_FW_DMCUB = 0x14;
/** `AMDGPU_INFO_FW_TOC`. */
export const AMDGPU_INFO_FW_TOC = 0x15;
/** `AMDGPU_INFO_FW_CAP`. */
export const AMDGPU_INFO_FW_CAP = 0x16;
/** `AMDGPU_INFO_FW_GFX_RLCP`. */
export const AMDGPU_INFO_FW_GFX_RLCP = 0x17;
/** `AMDGPU_INFO_FW_GFX_RLCV`. */
export const AMDGPU_INFO_FW_GFX_RLCV = 0x18;
/** `AMDGPU_INFO_FW_MES_KIQ`. */
export const AMDGPU_INFO_FW_MES_KIQ = 0x19;
/** `AMDGPU_INFO_FW_MES`. */
export const AMDGPU_INFO_FW_MES = 0x1a;
/** `AMDGPU_INFO_FW_IMU`. */
export const AMDGPU_INFO_FW_IMU = 0x1b;
/** `AMDGPU_INFO_FW_VPE`. */
export const AMDGPU_INFO_FW_VPE = 0x1c;

/** `AMDGPU_INFO_VBIOS_SIZE`. */
export const AMDGPU_INFO_VBIOS_SIZE = 0x1;
/** `AMDGPU_INFO_VBIOS_IMAGE`. */
export const AMDGPU_INFO_VBIOS_IMAGE = 0x2;
/** `AMDGPU_INFO_VBIOS_INFO`. */
export const AMDGPU_INFO_VBIOS_INFO = 0x3;

/** `AMDGPU_INFO_SENSOR_GFX_SCLK` (MHz). */
export const AMDGPU_INFO_SENSOR_GFX_SCLK = 0x1;
/** `AMDGPU_INFO_SENSOR_GFX_MCLK` (MHz). */
export const AMDGPU_INFO_SENSOR_GFX_MCLK = 0x2;
/** `AMDGPU_INFO_SENSOR_GPU_TEMP` (millidegrees C). */
export const AMDGPU_INFO_SENSOR_GPU_TEMP = 0x3;
/** `AMDGPU_INFO_SENSOR_GPU_LOAD` (percent). */
export const AMDGPU_INFO_SENSOR_GPU_LOAD = 0x4;
/** `AMDGPU_INFO_SENSOR_GPU_AVG_POWER` (W). */
export const AMDGPU_INFO_SENSOR_GPU_AVG_POWER = 0x5;
/** `AMDGPU_INFO_SENSOR_VDDNB` (mV). */
export const AMDGPU_INFO_SENSOR_VDDNB = 0x6;
/** `AMDGPU_INFO_SENSOR_VDDGFX` (mV). */
export const AMDGPU_INFO_SENSOR_VDDGFX = 0x7;
/** `AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_SCLK`. */
export const AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_SCLK = 0x8;
/** `AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_MCLK`. */
export const AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_MCLK = 0x9;
/** `AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_SCLK`. */
export const AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_SCLK = 0xa;
/** `AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_MCLK`. */
export const AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_MCLK = 0xb;
/** `AMDGPU_INFO_SENSOR_GPU_INPUT_POWER` (W). */
export const AMDGPU_INFO_SENSOR_GPU_INPUT_POWER = 0xc;

/** `AMDGPU_INFO_VIDEO_CAPS_DECODE`. */
export const AMDGPU_INFO_VIDEO_CAPS_DECODE = 0;
/** `AMDGPU_INFO_VIDEO_CAPS_ENCODE`. */
export const AMDGPU_INFO_VIDEO_CAPS_ENCODE = 1;
/** `AMDGPU_INFO_VIDEO_CAPS_CODEC_IDX_COUNT`. */
export const AMDGPU_INFO_VIDEO_CAPS_CODEC_IDX_COUNT = 8;
/** `AMDGPU_VCE_CLOCK_TABLE_ENTRIES`. */
export const AMDGPU_VCE_CLOCK_TABLE_ENTRIES = 6;

/** `AMDGPU_INFO_MMR_SE_INDEX_SHIFT`. */
export const AMDGPU_INFO_MMR_SE_INDEX_SHIFT = 0;
/** `AMDGPU_INFO_MMR_SE_INDEX_MASK`. */
export const AMDGPU_INFO_MMR_SE_INDEX_MASK = 0xff;
/** `AMDGPU_INFO_MMR_SH_INDEX_SHIFT`. */
export const AMDGPU_INFO_MMR_SH_INDEX_SHIFT = 8;
/** `AMDGPU_INFO_MMR_SH_INDEX_MASK`. */
export const AMDGPU_INFO_MMR_SH_INDEX_MASK = 0xff;

/** `AMDGPU_IDS_FLAGS_FUSION`: an APU. */
export const AMDGPU_IDS_FLAGS_FUSION = 0x1;
/** `AMDGPU_IDS_FLAGS_PREEMPTION`. */
export const AMDGPU_IDS_FLAGS_PREEMPTION = 0x2;
/** `AMDGPU_IDS_FLAGS_TMZ`. */
export const AMDGPU_IDS_FLAGS_TMZ = 0x4;
/** `AMDGPU_IDS_FLAGS_CONFORMANT_TRUNC_COORD`. */
export const AMDGPU_IDS_FLAGS_CONFORMANT_TRUNC_COORD = 0x8;
/** `AMDGPU_IDS_FLAGS_GANG_SUBMIT`: CS accepts IBs for several rings in one submission. */
export const AMDGPU_IDS_FLAGS_GANG_SUBMIT = 0x10;

/** `AMDGPU_VRAM_TYPE_GDDR6`. */
export const AMDGPU_VRAM_TYPE_GDDR6 = 9;
/** `AMDGPU_FAMILY_GC_11_0_0` (RDNA3, "gfx1100"). */
export const AMDGPU_FAMILY_GC_11_0_0 = 145;
/** `AMDGPU_VMHUB_TYPE_GFX`. */
export const AMDGPU_VMHUB_TYPE_GFX = 0;

/** `struct drm_amdgpu_query_fw`: which firmware FW_VERSION reports. */
export const drm_amdgpu_query_fw = uapiStruct(
  "drm_amdgpu_query_fw",
  { fw_type: __u32, ip_instance: __u32, index: __u32, _pad: __u32 },
  { size: 16 },
);

/**
 * `struct drm_amdgpu_info` (`DRM_IOW`: nothing is copied back into it): `query` writes at most
 * `return_size` bytes to `return_pointer`; the anonymous union holds the query's parameters.
 */
export const drm_amdgpu_info = uapiStruct(
  "drm_amdgpu_info",
  {
    return_pointer: opaquePtr(__u8, "return_size"),
    return_size: __u32,
    query: __u32,
    params: anonUnion(
      { mode_crtc: uapiStruct("drm_amdgpu_info.mode_crtc", { id: __u32, _pad: __u32 }, { size: 8 }) },
      {
        query_hw_ip: uapiStruct(
          "drm_amdgpu_info.query_hw_ip",
          { type: __u32, ip_instance: __u32 },
          { size: 8 },
        ),
      },
      {
        read_mmr_reg: uapiStruct(
          "drm_amdgpu_info.read_mmr_reg",
          { dword_offset: __u32, count: __u32, instance: __u32, flags: __u32 },
          { size: 16 },
        ),
      },
      { query_fw: drm_amdgpu_query_fw },
      { vbios_info: uapiStruct("drm_amdgpu_info.vbios_info", { type: __u32, offset: __u32 }, { size: 8 }) },
      { sensor_info: uapiStruct("drm_amdgpu_info.sensor_info", { type: __u32 }, { size: 4 }) },
      { video_cap: uapiStruct("drm_amdgpu_info.video_cap", { type: __u32 }, { size: 4 }) },
    ),
  },
  { size: 32 },
);
/** `struct drm_amdgpu_info` as a caller passes it. */
export type DrmAmdgpuInfo = UapiArgsOf<typeof drm_amdgpu_info>;

/** `struct drm_amdgpu_info_gds`. */
export const drm_amdgpu_info_gds = uapiStruct(
  "drm_amdgpu_info_gds",
  {
    gds_gfx_partition_size: __u32,
    compute_partition_size: __u32,
    gds_total_size: __u32,
    gws_per_gfx_partition: __u32,
    gws_per_compute_partition: __u32,
    oa_per_gfx_partition: __u32,
    oa_per_compute_partition: __u32,
    _pad: __u32,
  },
  { size: 32 },
);

/** `struct drm_amdgpu_info_vram_gtt`. */
export const drm_amdgpu_info_vram_gtt = uapiStruct(
  "drm_amdgpu_info_vram_gtt",
  { vram_size: __u64, vram_cpu_accessible_size: __u64, gtt_size: __u64 },
  { size: 24 },
);

/** `struct drm_amdgpu_heap_info`. */
export const drm_amdgpu_heap_info = uapiStruct(
  "drm_amdgpu_heap_info",
  { total_heap_size: __u64, usable_heap_size: __u64, heap_usage: __u64, max_allocation: __u64 },
  { size: 32 },
);

/** `struct drm_amdgpu_memory_info`: VRAM, its CPU-visible part and GTT. */
export const drm_amdgpu_memory_info = uapiStruct(
  "drm_amdgpu_memory_info",
  { vram: drm_amdgpu_heap_info, cpu_accessible_vram: drm_amdgpu_heap_info, gtt: drm_amdgpu_heap_info },
  { size: 96 },
);

/** `struct drm_amdgpu_info_firmware`. */
export const drm_amdgpu_info_firmware = uapiStruct(
  "drm_amdgpu_info_firmware",
  { ver: __u32, feature: __u32 },
  { size: 8 },
);

/** `struct drm_amdgpu_info_vbios`. */
export const drm_amdgpu_info_vbios = uapiStruct(
  "drm_amdgpu_info_vbios",
  {
    name: chars(64),
    vbios_pn: chars(64),
    version: __u32,
    pad: __u32,
    vbios_ver_str: chars(32),
    date: chars(32),
  },
  { size: 200 },
);

/** `struct drm_amdgpu_info_device`: the GPU's identity, shader layout, VA space and limits. */
export const drm_amdgpu_info_device = uapiStruct(
  "drm_amdgpu_info_device",
  {
    device_id: __u32,
    chip_rev: __u32,
    external_rev: __u32,
    pci_rev: __u32,
    family: __u32,
    num_shader_engines: __u32,
    num_shader_arrays_per_engine: __u32,
    gpu_counter_freq: __u32,
    max_engine_clock: __u64,
    max_memory_clock: __u64,
    cu_active_number: __u32,
    cu_ao_mask: __u32,
    cu_bitmap: fixedArray(__u32, 16),
    enabled_rb_pipes_mask: __u32,
    num_rb_pipes: __u32,
    num_hw_gfx_contexts: __u32,
    pcie_gen: __u32,
    ids_flags: __u64,
    virtual_address_offset: __u64,
    virtual_address_max: __u64,
    virtual_address_alignment: __u32,
    pte_fragment_size: __u32,
    gart_page_size: __u32,
    ce_ram_size: __u32,
    vram_type: __u32,
    vram_bit_width: __u32,
    vce_harvest_config: __u32,
    gc_double_offchip_lds_buf: __u32,
    prim_buf_gpu_addr: __u64,
    pos_buf_gpu_addr: __u64,
    cntl_sb_buf_gpu_addr: __u64,
    param_buf_gpu_addr: __u64,
    prim_buf_size: __u32,
    pos_buf_size: __u32,
    cntl_sb_buf_size: __u32,
    param_buf_size: __u32,
    wave_front_size: __u32,
    num_shader_visible_vgprs: __u32,
    num_cu_per_sh: __u32,
    num_tcc_blocks: __u32,
    gs_vgt_table_depth: __u32,
    gs_prim_buffer_depth: __u32,
    max_gs_waves_per_vgt: __u32,
    pcie_num_lanes: __u32,
    cu_ao_bitmap: fixedArray(__u32, 16),
    high_va_offset: __u64,
    high_va_max: __u64,
    pa_sc_tile_steering_override: __u32,
    tcc_disabled_mask: __u64,
    min_engine_clock: __u64,
    min_memory_clock: __u64,
    tcp_cache_size: __u32,
    num_sqc_per_wgp: __u32,
    sqc_data_cache_size: __u32,
    sqc_inst_cache_size: __u32,
    gl1c_cache_size: __u32,
    gl2c_cache_size: __u32,
    mall_size: __u64,
    enabled_rb_pipes_mask_hi: __u32,
    shadow_size: __u32,
    shadow_alignment: __u32,
    csa_size: __u32,
    csa_alignment: __u32,
    userq_ip_mask: __u32,
    pad: __u32,
  },
  { size: 448 },
);

/** `struct drm_amdgpu_info_hw_ip`: one IP's version, IB alignment and ring mask. */
export const drm_amdgpu_info_hw_ip = uapiStruct(
  "drm_amdgpu_info_hw_ip",
  {
    hw_ip_version_major: __u32,
    hw_ip_version_minor: __u32,
    capabilities_flags: __u64,
    ib_start_alignment: __u32,
    ib_size_alignment: __u32,
    available_rings: __u32,
    ip_discovery_version: __u32,
    userq_num_slots: __u32,
  },
  { size: 40 },
);

/** `struct drm_amdgpu_info_num_handles`. */
export const drm_amdgpu_info_num_handles = uapiStruct(
  "drm_amdgpu_info_num_handles",
  { uvd_max_handles: __u32, uvd_used_handles: __u32 },
  { size: 8 },
);

/** `struct drm_amdgpu_info_vce_clock_table_entry`. */
export const drm_amdgpu_info_vce_clock_table_entry = uapiStruct(
  "drm_amdgpu_info_vce_clock_table_entry",
  { sclk: __u32, mclk: __u32, eclk: __u32, pad: __u32 },
  { size: 16 },
);

/** `struct drm_amdgpu_info_vce_clock_table`. */
export const drm_amdgpu_info_vce_clock_table = uapiStruct(
  "drm_amdgpu_info_vce_clock_table",
  {
    entries: fixedArray(drm_amdgpu_info_vce_clock_table_entry, AMDGPU_VCE_CLOCK_TABLE_ENTRIES),
    num_valid_entries: __u32,
    pad: __u32,
  },
  { size: 104 },
);

/** `struct drm_amdgpu_info_video_codec_info`. */
export const drm_amdgpu_info_video_codec_info = uapiStruct(
  "drm_amdgpu_info_video_codec_info",
  {
    valid: __u32,
    max_width: __u32,
    max_height: __u32,
    max_pixels_per_frame: __u32,
    max_level: __u32,
    pad: __u32,
  },
  { size: 24 },
);

/** `struct drm_amdgpu_info_video_caps`. */
export const drm_amdgpu_info_video_caps = uapiStruct(
  "drm_amdgpu_info_video_caps",
  { codec_info: fixedArray(drm_amdgpu_info_video_codec_info, AMDGPU_INFO_VIDEO_CAPS_CODEC_IDX_COUNT) },
  { size: 192 },
);

/** `struct drm_amdgpu_info_gpuvm_fault`: the address, status and VM hub of the VM's last fault. */
export const drm_amdgpu_info_gpuvm_fault = uapiStruct(
  "drm_amdgpu_info_gpuvm_fault",
  { addr: __u64, status: __u32, vmhub: __u32 },
  { size: 16 },
);

/** `struct drm_amdgpu_info_uq_metadata_gfx`. */
export const drm_amdgpu_info_uq_metadata_gfx = uapiStruct(
  "drm_amdgpu_info_uq_metadata_gfx",
  { shadow_size: __u32, shadow_alignment: __u32, csa_size: __u32, csa_alignment: __u32 },
  { size: 16 },
);
/** `struct drm_amdgpu_info_uq_metadata_compute`. */
export const drm_amdgpu_info_uq_metadata_compute = uapiStruct(
  "drm_amdgpu_info_uq_metadata_compute",
  { eop_size: __u32, eop_alignment: __u32 },
  { size: 8 },
);
/** `struct drm_amdgpu_info_uq_metadata_sdma`. */
export const drm_amdgpu_info_uq_metadata_sdma = uapiStruct(
  "drm_amdgpu_info_uq_metadata_sdma",
  { csa_size: __u32, csa_alignment: __u32 },
  { size: 8 },
);
/** `struct drm_amdgpu_info_uq_metadata`: a union of the three by `query_hw_ip.type`. */
export const drm_amdgpu_info_uq_metadata = uapiStruct(
  "drm_amdgpu_info_uq_metadata",
  {
    u: anonUnion(
      { gfx: drm_amdgpu_info_uq_metadata_gfx },
      { compute: drm_amdgpu_info_uq_metadata_compute },
      { sdma: drm_amdgpu_info_uq_metadata_sdma },
    ),
  },
  { size: 16 },
);

/** `DRM_IOCTL_AMDGPU_INFO` (`DRM_IOW`: results go only through `return_pointer`). */
export const DRM_IOCTL_AMDGPU_INFO = DRM_IOW(DRM_COMMAND_BASE + DRM_AMDGPU_INFO, drm_amdgpu_info);
