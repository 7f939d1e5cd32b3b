/**
 * libdrm_amdgpu's device functions (`amdgpu_device.c`, `amdgpu_gpu_info.c`, `amdgpu_vamgr.c`):
 * the device handle a userspace driver opens first, the INFO queries it makes at start-up, and
 * the GPU virtual address allocator it carves its VM with.
 */
import { type Process, type UapiLayout, type UapiValue, uapiDecode } from "@drmsim/runtime";
import {
  AMDGPU_INFO_DEV_INFO,
  AMDGPU_INFO_FW_VERSION,
  AMDGPU_INFO_HW_IP_COUNT,
  AMDGPU_INFO_HW_IP_INFO,
  AMDGPU_INFO_MEMORY,
  DRM_IOCTL_AMDGPU_INFO,
  type DrmAmdgpuInfo,
  drm_amdgpu_info_device,
  drm_amdgpu_info_firmware,
  drm_amdgpu_info_hw_ip,
  drm_amdgpu_memory_info,
} from "../amdgpu-drm-info.js";

/** `amdgpu_query_info`: INFO `query` (with its parameters) into `size` bytes. */
export async function amdgpuQueryInfoRaw(
  p: Process,
  fd: number,
  query: number,
  size: number,
  params: Omit<DrmAmdgpuInfo, "return_pointer" | "return_size" | "query"> = {},
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_INFO, { return_pointer: out, return_size: size, query, ...params });
  return out;
}

/** An INFO query decoded as `layout`. */
async function queryStruct<L extends UapiLayout>(
  p: Process,
  fd: number,
  query: number,
  layout: L,
  params: Omit<DrmAmdgpuInfo, "return_pointer" | "return_size" | "query"> = {},
): Promise<UapiValue<L>> {
  const bytes = await amdgpuQueryInfoRaw(p, fd, query, layout.size, params);
  return uapiDecode(layout, bytes, { sim: p.sim, what: "AMDGPU_INFO" });
}

/** `amdgpu_query_info` of a `__u32` answer. */
export async function amdgpuQueryInfoU32(
  p: Process,
  fd: number,
  query: number,
  params: Omit<DrmAmdgpuInfo, "return_pointer" | "return_size" | "query"> = {},
): Promise<number> {
  const b = await amdgpuQueryInfoRaw(p, fd, query, 4, params);
  return new DataView(b.buffer).getUint32(0, true);
}

/** `amdgpu_query_info` of a `__u64` answer. */
export async function amdgpuQueryInfoU64(p: Process, fd: number, query: number): Promise<bigint> {
  const b = await amdgpuQueryInfoRaw(p, fd, query, 8);
  return new DataView(b.buffer).getBigUint64(0, true);
}

/** `amdgpu_query_gpu_info`'s source: `AMDGPU_INFO_DEV_INFO`. */
export function amdgpuQueryDevInfo(
  p: Process,
  fd: number,
): Promise<UapiValue<typeof drm_amdgpu_info_device>> {
  return queryStruct(p, fd, AMDGPU_INFO_DEV_INFO, drm_amdgpu_info_device);
}

/** `amdgpu_query_hw_ip_info`. */
export function amdgpuQueryHwIpInfo(
  p: Process,
  fd: number,
  type: number,
  ipInstance = 0,
): Promise<UapiValue<typeof drm_amdgpu_info_hw_ip>> {
  return queryStruct(p, fd, AMDGPU_INFO_HW_IP_INFO, drm_amdgpu_info_hw_ip, {
    query_hw_ip: { type, ip_instance: ipInstance },
  });
}

/** `amdgpu_query_hw_ip_count`. */
export function amdgpuQueryHwIpCount(p: Process, fd: number, type: number): Promise<number> {
  return amdgpuQueryInfoU32(p, fd, AMDGPU_INFO_HW_IP_COUNT, { query_hw_ip: { type } });
}

/** `amdgpu_query_firmware_version`: `{ ver, feature }`. */
export function amdgpuQueryFirmwareVersion(
  p: Process,
  fd: number,
  fwType: number,
  ipInstance = 0,
  index = 0,
): Promise<UapiValue<typeof drm_amdgpu_info_firmware>> {
  return queryStruct(p, fd, AMDGPU_INFO_FW_VERSION, drm_amdgpu_info_firmware, {
    query_fw: { fw_type: fwType, ip_instance: ipInstance, index },
  });
}

/** `amdgpu_query_info(AMDGPU_INFO_MEMORY)`: the VRAM, visible VRAM and GTT heaps. */
export function amdgpuQueryMemoryInfo(
  p: Process,
  fd: number,
): Promise<UapiValue<typeof drm_amdgpu_memory_info>> {
  return queryStruct(p, fd, AMDGPU_INFO_MEMORY, drm_amdgpu_memory_info);
}

/**
 * `struct amdgpu_device` (libdrm's `amdgpu_device_handle`): one per process and fd, as libdrm
 * keeps one per device file — the device info and the VA allocator.
 */
export interface AmdgpuUserDevice {
  readonly proc: Process;
  readonly fd: number;
  /** `dev->dev_info`. */
  readonly info: UapiValue<typeof drm_amdgpu_info_device>;
  /** `dev->va_mgr`'s next free address (a bump allocator: ranges are never given back). */
  vaNext: bigint;
  /** The end of the low VA range. */
  readonly vaMax: bigint;
}

const DEVICES = new WeakMap<Process, Map<number, Promise<AmdgpuUserDevice>>>();

/**
 * `amdgpu_device_initialize`: queries the device (`AMDGPU_INFO_DEV_INFO`) and sets up the VA
 * allocator over `[virtual_address_offset, virtual_address_max)`. The same handle for the same
 * process and fd.
 */
export function amdgpuDeviceInitialize(p: Process, fd: number): Promise<AmdgpuUserDevice> {
  let m = DEVICES.get(p);
  if (m === undefined) {
    m = new Map();
    DEVICES.set(p, m);
  }
  let dev = m.get(fd);
  if (dev === undefined) {
    dev = (async () => {
      const info = await amdgpuQueryDevInfo(p, fd);
      return { proc: p, fd, info, vaNext: info.virtual_address_offset, vaMax: info.virtual_address_max };
    })();
    m.set(fd, dev);
    dev.catch(() => m!.delete(fd));
  }
  return dev;
}

/** `amdgpu_device_deinitialize`: forgets the handle (the fd stays open). */
export function amdgpuDeviceDeinitialize(p: Process, fd: number): void {
  DEVICES.get(p)?.delete(fd);
}

/**
 * `amdgpu_va_range_alloc`: `size` bytes of GPU VA, aligned to `alignment` (at least the device's
 * `virtual_address_alignment`). Throws when the range is exhausted.
 */
export function amdgpuVaRangeAlloc(dev: AmdgpuUserDevice, size: number | bigint, alignment = 0): bigint {
  const align = BigInt(Math.max(alignment, dev.info.virtual_address_alignment, 4096));
  const start = ((dev.vaNext + align - 1n) / align) * align;
  const bytes = ((BigInt(size) + 4095n) / 4096n) * 4096n;
  if (start + bytes > dev.vaMax) throw new RangeError("amdgpu_va_range_alloc: the VA range is exhausted");
  dev.vaNext = start + bytes;
  return start;
}
