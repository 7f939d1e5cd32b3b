/**
 * `amdgpu_info_ioctl` (`amdgpu_kms.c`): what the device tells userspace about itself. The
 * simulated GPU presents itself as an RDNA3 board (family `GC_11_0_0`, a Navi 31 layout) with
 * the device's real ring counts, VRAM size and usage, VA space and reset counters; firmware
 * versions, clocks and sensors are plausible constants. Every query writes at most `return_size`
 * bytes to `return_pointer`, as the kernel's `copy_to_user(out, &x, min(size, sizeof(x)))`.
 */
import type { DrmFile } from "@drmsim/drm";
import { KernelError, type UapiLayout, type UapiValue, uapiCopyFromJs, uapiEncode } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import {
  AMDGPU_HW_IP_COMPUTE,
  AMDGPU_HW_IP_DMA,
  AMDGPU_HW_IP_GFX,
  AMDGPU_HW_IP_INSTANCE_MAX_COUNT,
  AMDGPU_HW_IP_NUM,
  type AmdgpuHwIp,
} from "./amdgpu-drm.js";
import {
  AMDGPU_FAMILY_GC_11_0_0,
  AMDGPU_IDS_FLAGS_GANG_SUBMIT,
  AMDGPU_IDS_FLAGS_PREEMPTION,
  AMDGPU_INFO_ACCEL_WORKING,
  AMDGPU_INFO_CRTC_FROM_ID,
  AMDGPU_INFO_DEV_INFO,
  AMDGPU_INFO_FW_VERSION,
  AMDGPU_INFO_GDS_CONFIG,
  AMDGPU_INFO_GPUVM_FAULT,
  AMDGPU_INFO_GTT_USAGE,
  AMDGPU_INFO_HW_IP_COUNT,
  AMDGPU_INFO_HW_IP_INFO,
  AMDGPU_INFO_MAX_IBS,
  AMDGPU_INFO_MEMORY,
  AMDGPU_INFO_NUM_BYTES_MOVED,
  AMDGPU_INFO_NUM_EVICTIONS,
  AMDGPU_INFO_NUM_HANDLES,
  AMDGPU_INFO_NUM_VRAM_CPU_PAGE_FAULTS,
  AMDGPU_INFO_RAS_ENABLED_FEATURES,
  AMDGPU_INFO_READ_MMR_REG,
  AMDGPU_INFO_SENSOR,
  AMDGPU_INFO_SENSOR_GFX_MCLK,
  AMDGPU_INFO_SENSOR_GFX_SCLK,
  AMDGPU_INFO_SENSOR_GPU_AVG_POWER,
  AMDGPU_INFO_SENSOR_GPU_INPUT_POWER,
  AMDGPU_INFO_SENSOR_GPU_LOAD,
  AMDGPU_INFO_SENSOR_GPU_TEMP,
  AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_MCLK,
  AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_SCLK,
  AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_MCLK,
  AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_SCLK,
  AMDGPU_INFO_SENSOR_VDDGFX,
  AMDGPU_INFO_SENSOR_VDDNB,
  AMDGPU_INFO_TIMESTAMP,
  AMDGPU_INFO_UQ_FW_AREAS,
  AMDGPU_INFO_VBIOS,
  AMDGPU_INFO_VBIOS_IMAGE,
  AMDGPU_INFO_VBIOS_INFO,
  AMDGPU_INFO_VBIOS_SIZE,
  AMDGPU_INFO_VCE_CLOCK_TABLE,
  AMDGPU_INFO_VIDEO_CAPS,
  AMDGPU_INFO_VIDEO_CAPS_DECODE,
  AMDGPU_INFO_VIDEO_CAPS_ENCODE,
  AMDGPU_INFO_VIS_VRAM_USAGE,
  AMDGPU_INFO_VRAM_GTT,
  AMDGPU_INFO_VRAM_LOST_COUNTER,
  AMDGPU_INFO_VRAM_USAGE,
  AMDGPU_VMHUB_TYPE_GFX,
  AMDGPU_VRAM_TYPE_GDDR6,
  type drm_amdgpu_info,
  drm_amdgpu_info_device,
  drm_amdgpu_info_firmware,
  drm_amdgpu_info_gds,
  drm_amdgpu_info_gpuvm_fault,
  drm_amdgpu_info_hw_ip,
  drm_amdgpu_info_uq_metadata_compute,
  drm_amdgpu_info_uq_metadata_gfx,
  drm_amdgpu_info_uq_metadata_sdma,
  drm_amdgpu_info_vbios,
  drm_amdgpu_info_vce_clock_table,
  drm_amdgpu_info_video_caps,
  drm_amdgpu_info_vram_gtt,
  drm_amdgpu_memory_info,
} from "./amdgpu-drm-info.js";
import { amdgpuFprivOf } from "./amdgpu-fpriv.js";
import {
  AMDGPU_GMC_HOLE_END,
  AMDGPU_GMC_HOLE_START,
  AMDGPU_VA_RESERVED_BOTTOM,
  AMDGPU_VA_RESERVED_TOP,
  AMDGPU_VM_SIZE,
} from "./amdgpu-vm.js";

/** The board the simulated device presents (a Navi 31, RDNA3). */
export const AMDGPU_SIM_BOARD = {
  deviceId: 0x744c,
  chipRev: 0xc8,
  externalRev: 0x1,
  pciRev: 0xc8,
  family: AMDGPU_FAMILY_GC_11_0_0,
  shaderEngines: 6,
  shaderArraysPerEngine: 2,
  cuPerSh: 8,
  /** kHz: 100 MHz reference clock. */
  gpuCounterFreqKhz: 100_000,
  maxEngineClockKhz: 2_500_000,
  maxMemoryClockKhz: 1_250_000,
  vramBitWidth: 384,
  /** GB_ADDR_CONFIG, the one register READ_MMR_REG serves. */
  gbAddrConfig: 0x545,
} as const;

/** `mmGB_ADDR_CONFIG` (gfx11), in dwords. */
export const AMDGPU_MMR_GB_ADDR_CONFIG = 0x263e;

/** `amdgpu_ring_max_ibs`: IBs one job of an IP may carry (the ring frame must hold them all). */
export function amdgpuRingMaxIbs(ip: number): number {
  return ip === AMDGPU_HW_IP_GFX ? 192 : ip === AMDGPU_HW_IP_COMPUTE ? 125 : 49;
}

/** Sizes userspace allocates for a user queue's firmware areas (`AMDGPU_INFO_UQ_FW_AREAS`). */
export const AMDGPU_USERQ_FW_AREAS = {
  shadowSize: 4096,
  shadowAlignment: 4096,
  csaSize: 4096,
  csaAlignment: 4096,
  eopSize: 2048,
  eopAlignment: 256,
  sdmaCsaSize: 32,
  sdmaCsaAlignment: 4,
} as const;

/** IP versions (`hw_ip_version_major/minor`): gfx and compute 11.0, SDMA 6.0. */
function ipVersion(ip: AmdgpuHwIp): [number, number] {
  return ip === AMDGPU_HW_IP_DMA ? [6, 0] : [11, 0];
}

/** Firmware versions `FW_VERSION` reports (`ver`, `feature`) by `fw_type`; others are `EINVAL`. */
const FIRMWARE: Record<number, [number, number]> = {
  3: [0x0, 0], // GMC
  4: [0x6b0, 35], // GFX_ME
  5: [0x6b0, 35], // GFX_PFP
  6: [0x0, 0], // GFX_CE (none on gfx11)
  7: [0x65, 1], // GFX_RLC
  8: [0x1f4, 35], // GFX_MEC
  10: [0x004e4000, 0], // SMC
  11: [0x15, 0], // SDMA
  12: [0x21005e, 0], // SOS
  13: [0x21000065, 0], // ASD
  14: [0x0411f009, 0], // VCN
  19: [0x27000300, 0], // TA
  20: [0x07002300, 0], // DMCUB
  21: [0x0, 0], // TOC
  22: [0x0, 0], // CAP
  25: [0x6b, 0], // MES_KIQ
  26: [0x6b, 0x58], // MES
  27: [0x0b352300, 0], // IMU
};

/** `AMDGPU_INFO_DEV_INFO`'s struct for this device. */
export function amdgpuDevInfo(): UapiValue<typeof drm_amdgpu_info_device> {
  const b = AMDGPU_SIM_BOARD;
  const cus = b.shaderEngines * b.shaderArraysPerEngine * b.cuPerSh;
  const bitmap = Array.from({ length: 16 }, (_, i) =>
    Math.floor(i / 4) < b.shaderEngines && i % 4 < b.shaderArraysPerEngine ? (1 << b.cuPerSh) - 1 : 0,
  );
  const fw = AMDGPU_USERQ_FW_AREAS;
  const vaMax = Math.min(AMDGPU_VM_SIZE, Number(AMDGPU_GMC_HOLE_START)) - AMDGPU_VA_RESERVED_TOP;
  return {
    device_id: b.deviceId,
    chip_rev: b.chipRev,
    external_rev: b.externalRev,
    pci_rev: b.pciRev,
    family: b.family,
    num_shader_engines: b.shaderEngines,
    num_shader_arrays_per_engine: b.shaderArraysPerEngine,
    gpu_counter_freq: b.gpuCounterFreqKhz,
    max_engine_clock: BigInt(b.maxEngineClockKhz),
    max_memory_clock: BigInt(b.maxMemoryClockKhz),
    cu_active_number: cus,
    cu_ao_mask: 0,
    cu_bitmap: bitmap,
    enabled_rb_pipes_mask: 0xffff,
    num_rb_pipes: 16,
    num_hw_gfx_contexts: 8,
    pcie_gen: 4,
    ids_flags: BigInt(AMDGPU_IDS_FLAGS_PREEMPTION | AMDGPU_IDS_FLAGS_GANG_SUBMIT),
    virtual_address_offset: BigInt(AMDGPU_VA_RESERVED_BOTTOM),
    virtual_address_max: BigInt(vaMax),
    virtual_address_alignment: 4096,
    pte_fragment_size: 2 * 1024 * 1024,
    gart_page_size: 4096,
    ce_ram_size: 0,
    vram_type: AMDGPU_VRAM_TYPE_GDDR6,
    vram_bit_width: b.vramBitWidth,
    vce_harvest_config: 0,
    gc_double_offchip_lds_buf: 1,
    prim_buf_gpu_addr: 0n,
    pos_buf_gpu_addr: 0n,
    cntl_sb_buf_gpu_addr: 0n,
    param_buf_gpu_addr: 0n,
    prim_buf_size: 0,
    pos_buf_size: 0,
    cntl_sb_buf_size: 0,
    param_buf_size: 0,
    wave_front_size: 32,
    num_shader_visible_vgprs: 1536,
    num_cu_per_sh: b.cuPerSh,
    num_tcc_blocks: 24,
    gs_vgt_table_depth: 32,
    gs_prim_buffer_depth: 1792,
    max_gs_waves_per_vgt: 32,
    pcie_num_lanes: 16,
    cu_ao_bitmap: bitmap,
    high_va_offset: AMDGPU_GMC_HOLE_END,
    high_va_max: AMDGPU_GMC_HOLE_END | BigInt(vaMax),
    pa_sc_tile_steering_override: 0,
    tcc_disabled_mask: 0n,
    min_engine_clock: 500_000n,
    min_memory_clock: 96_000n,
    tcp_cache_size: 16,
    num_sqc_per_wgp: 1,
    sqc_data_cache_size: 16,
    sqc_inst_cache_size: 32,
    gl1c_cache_size: 256,
    gl2c_cache_size: 6144,
    mall_size: 96n * 1024n * 1024n,
    enabled_rb_pipes_mask_hi: 0,
    shadow_size: fw.shadowSize,
    shadow_alignment: fw.shadowAlignment,
    csa_size: fw.csaSize,
    csa_alignment: fw.csaAlignment,
    userq_ip_mask: (1 << AMDGPU_HW_IP_GFX) | (1 << AMDGPU_HW_IP_COMPUTE) | (1 << AMDGPU_HW_IP_DMA),
    pad: 0,
  };
}

/** The rings of an IP this device has (none for the multimedia IPs it does not model). */
function ringsOf(adev: AmdgpuDevice, ip: number): number {
  return ip === AMDGPU_HW_IP_GFX || ip === AMDGPU_HW_IP_COMPUTE || ip === AMDGPU_HW_IP_DMA
    ? adev.rings[ip].length
    : 0;
}

function vramUsed(adev: AmdgpuDevice): number {
  const b = adev.mman.vram.buddy;
  return b.size - b.avail;
}

function gttUsed(adev: AmdgpuDevice): number {
  let n = 0;
  for (const bo of adev.mman.gttLru) n += bo.gttPages?.size ?? 0;
  return n;
}

/**
 * `amdgpu_info_ioctl`. `EINVAL` for a zero `return_size` or a NULL `return_pointer`, an unknown
 * query, and a query's bad parameter (an IP type past `AMDGPU_HW_IP_NUM`, an instance past the
 * IP's, an unknown firmware, sensor or VBIOS sub-query, a register READ_MMR_REG does not serve).
 */
export function amdgpuInfoIoctl(
  adev: AmdgpuDevice,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_info>,
): void {
  const out = args.return_pointer;
  const size = args.return_size;
  if (size === 0 || out.isNull)
    throw new KernelError("EINVAL", "AMDGPU_INFO: return_size and return_pointer must be set");
  const bytes = amdgpuInfoBytes(adev, file, args);
  if (bytes.length > 0) out.write(Array.from(bytes.subarray(0, Math.min(size, bytes.length))));
}

/** What INFO `args.query` answers, as the bytes of its struct (`amdgpu_info_ioctl`'s `copy_to_user` source). */
function amdgpuInfoBytes(
  adev: AmdgpuDevice,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_info>,
): Uint8Array {
  const N = "AMDGPU_INFO";
  const copy = (layout: UapiLayout, value: unknown) =>
    uapiEncode(layout, uapiCopyFromJs(layout, value, { sim: adev.sim, what: N }));
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return b;
  };
  const u64 = (v: number | bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return b;
  };
  const ipCheck = (type: number, instance: number) => {
    if (type >= AMDGPU_HW_IP_NUM) throw new KernelError("EINVAL", `${N}: unknown IP type ${type}`);
    if (instance >= AMDGPU_HW_IP_INSTANCE_MAX_COUNT)
      throw new KernelError("EINVAL", `${N}: IP instance ${instance} does not exist`);
  };
  const vram = adev.config.vramSize;
  switch (args.query) {
    case AMDGPU_INFO_ACCEL_WORKING:
      return u32(1);
    case AMDGPU_INFO_CRTC_FROM_ID:
      throw new KernelError("ENOENT", `${N}: this device has no CRTC ${args.mode_crtc.id}`);
    case AMDGPU_INFO_HW_IP_INFO: {
      const { type, ip_instance } = args.query_hw_ip;
      ipCheck(type, ip_instance);
      const n = ringsOf(adev, type);
      const [major, minor] = n > 0 ? ipVersion(type as AmdgpuHwIp) : [0, 0];
      const sdma = type === AMDGPU_HW_IP_DMA;
      return copy(drm_amdgpu_info_hw_ip, {
        hw_ip_version_major: major,
        hw_ip_version_minor: minor,
        capabilities_flags: 0n,
        ib_start_alignment: sdma ? 256 : 32,
        ib_size_alignment: sdma ? 4 : 32,
        available_rings: (1 << n) - 1,
        ip_discovery_version: n > 0 ? (major << 16) | (minor << 8) : 0,
        userq_num_slots: n > 0 ? 8 : 0,
      });
    }
    case AMDGPU_INFO_HW_IP_COUNT: {
      const { type } = args.query_hw_ip;
      if (type >= AMDGPU_HW_IP_NUM) throw new KernelError("EINVAL", `${N}: unknown IP type ${type}`);
      return u32(ringsOf(adev, type) > 0 ? 1 : 0);
    }
    case AMDGPU_INFO_TIMESTAMP:
      return u64(BigInt(Math.floor((adev.sim.now * AMDGPU_SIM_BOARD.gpuCounterFreqKhz) / 1_000_000)));
    case AMDGPU_INFO_FW_VERSION: {
      const fw = FIRMWARE[args.query_fw.fw_type];
      if (fw === undefined)
        throw new KernelError("EINVAL", `${N}: unknown firmware type ${args.query_fw.fw_type}`);
      return copy(drm_amdgpu_info_firmware, { ver: fw[0], feature: fw[1] });
    }
    case AMDGPU_INFO_NUM_BYTES_MOVED:
      return u64(adev.mman.stats.bytesMoved);
    case AMDGPU_INFO_VRAM_USAGE:
    case AMDGPU_INFO_VIS_VRAM_USAGE:
      return u64(vramUsed(adev));
    case AMDGPU_INFO_GTT_USAGE:
      return u64(gttUsed(adev));
    case AMDGPU_INFO_GDS_CONFIG:
      return copy(drm_amdgpu_info_gds, {});
    case AMDGPU_INFO_VRAM_GTT:
      return copy(drm_amdgpu_info_vram_gtt, {
        vram_size: BigInt(vram),
        vram_cpu_accessible_size: BigInt(vram),
        gtt_size: BigInt(adev.config.gttSize),
      });
    case AMDGPU_INFO_READ_MMR_REG: {
      const { dword_offset, count } = args.read_mmr_reg;
      if (count === 0 || count > 128) throw new KernelError("EINVAL", `${N}: cannot read ${count} registers`);
      const vals: number[] = [];
      for (let i = 0; i < count; i++) {
        if (dword_offset + i !== AMDGPU_MMR_GB_ADDR_CONFIG)
          throw new KernelError(
            "EINVAL",
            `${N}: register 0x${(dword_offset + i).toString(16)} is not readable`,
          );
        vals.push(AMDGPU_SIM_BOARD.gbAddrConfig);
      }
      const b = new Uint8Array(vals.length * 4);
      vals.forEach((v, i) => {
        new DataView(b.buffer).setUint32(i * 4, v, true);
      });
      return b;
    }
    case AMDGPU_INFO_DEV_INFO:
      return copy(drm_amdgpu_info_device, amdgpuDevInfo());
    case AMDGPU_INFO_NUM_EVICTIONS:
      return u64(adev.mman.stats.evictions);
    case AMDGPU_INFO_NUM_VRAM_CPU_PAGE_FAULTS:
      return u64(0);
    case AMDGPU_INFO_MEMORY: {
      const used = vramUsed(adev);
      const heap = (total: number, u: number) => ({
        total_heap_size: BigInt(total),
        usable_heap_size: BigInt(total),
        heap_usage: BigInt(u),
        max_allocation: BigInt(Math.floor((total * 3) / 4)),
      });
      return copy(drm_amdgpu_memory_info, {
        vram: heap(vram, used),
        cpu_accessible_vram: heap(vram, used),
        gtt: heap(adev.config.gttSize, gttUsed(adev)),
      });
    }
    case AMDGPU_INFO_VCE_CLOCK_TABLE:
      return copy(drm_amdgpu_info_vce_clock_table, {});
    case AMDGPU_INFO_VBIOS: {
      const { type } = args.vbios_info;
      if (type === AMDGPU_INFO_VBIOS_SIZE) return u32(0);
      if (type === AMDGPU_INFO_VBIOS_IMAGE) return new Uint8Array(0);
      if (type === AMDGPU_INFO_VBIOS_INFO)
        return copy(drm_amdgpu_info_vbios, {
          name: "drmsim NAVI31",
          vbios_pn: "113-D7020100-102",
          version: 0x0200,
          vbios_ver_str: "022.001.002.008.000001",
          date: "2026/01/01 00:00",
        });
      throw new KernelError("EINVAL", `${N}: unknown VBIOS query ${type}`);
    }
    case AMDGPU_INFO_NUM_HANDLES:
      throw new KernelError("EINVAL", `${N}: this device has no UVD`);
    case AMDGPU_INFO_SENSOR: {
      const sensors: Record<number, number> = {
        [AMDGPU_INFO_SENSOR_GFX_SCLK]: 2500,
        [AMDGPU_INFO_SENSOR_GFX_MCLK]: 1250,
        [AMDGPU_INFO_SENSOR_GPU_TEMP]: 45_000,
        [AMDGPU_INFO_SENSOR_GPU_LOAD]: adev.allRings.some((r) => r.engine.busy > 0) ? 100 : 0,
        [AMDGPU_INFO_SENSOR_GPU_AVG_POWER]: 60,
        [AMDGPU_INFO_SENSOR_VDDNB]: 0,
        [AMDGPU_INFO_SENSOR_VDDGFX]: 1000,
        [AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_SCLK]: 1500,
        [AMDGPU_INFO_SENSOR_STABLE_PSTATE_GFX_MCLK]: 1250,
        [AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_SCLK]: 2500,
        [AMDGPU_INFO_SENSOR_PEAK_PSTATE_GFX_MCLK]: 1250,
        [AMDGPU_INFO_SENSOR_GPU_INPUT_POWER]: 60,
      };
      const v = sensors[args.sensor_info.type];
      if (v === undefined) throw new KernelError("EINVAL", `${N}: unknown sensor ${args.sensor_info.type}`);
      return u32(v);
    }
    case AMDGPU_INFO_VRAM_LOST_COUNTER:
      return u32(adev.vramLostCounter);
    case AMDGPU_INFO_RAS_ENABLED_FEATURES:
      return u64(0);
    case AMDGPU_INFO_VIDEO_CAPS: {
      const t = args.video_cap.type;
      if (t !== AMDGPU_INFO_VIDEO_CAPS_DECODE && t !== AMDGPU_INFO_VIDEO_CAPS_ENCODE)
        throw new KernelError("EINVAL", `${N}: unknown video caps type ${t}`);
      return copy(drm_amdgpu_info_video_caps, {});
    }
    case AMDGPU_INFO_MAX_IBS: {
      const b = new Uint8Array(AMDGPU_HW_IP_NUM * 4);
      for (let ip = 0; ip < AMDGPU_HW_IP_NUM; ip++)
        new DataView(b.buffer).setUint32(ip * 4, amdgpuRingMaxIbs(ip), true);
      return b;
    }
    case AMDGPU_INFO_GPUVM_FAULT: {
      const f = amdgpuFprivOf(file).vm.fault;
      return copy(drm_amdgpu_info_gpuvm_fault, {
        addr: BigInt(f?.addr ?? 0),
        status: f?.status ?? 0,
        vmhub: f?.vmhub ?? AMDGPU_VMHUB_TYPE_GFX,
      });
    }
    case AMDGPU_INFO_UQ_FW_AREAS: {
      const fw = AMDGPU_USERQ_FW_AREAS;
      switch (args.query_hw_ip.type) {
        case AMDGPU_HW_IP_GFX:
          return copy(drm_amdgpu_info_uq_metadata_gfx, {
            shadow_size: fw.shadowSize,
            shadow_alignment: fw.shadowAlignment,
            csa_size: fw.csaSize,
            csa_alignment: fw.csaAlignment,
          });
        case AMDGPU_HW_IP_COMPUTE:
          return copy(drm_amdgpu_info_uq_metadata_compute, {
            eop_size: fw.eopSize,
            eop_alignment: fw.eopAlignment,
          });
        case AMDGPU_HW_IP_DMA:
          return copy(drm_amdgpu_info_uq_metadata_sdma, {
            csa_size: fw.sdmaCsaSize,
            csa_alignment: fw.sdmaCsaAlignment,
          });
        default:
          throw new KernelError("EINVAL", `${N}: IP type ${args.query_hw_ip.type} has no user queues`);
      }
    }
    default:
      throw new KernelError("EINVAL", `${N}: unknown query 0x${args.query.toString(16)}`);
  }
}
