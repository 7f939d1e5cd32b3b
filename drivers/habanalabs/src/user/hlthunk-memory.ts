/**
 * hl-thunk's device-memory calls (`hlthunk_device_memory_*`): allocate HBM, map it into the
 * context's device VA space, export a mapped range as a dma-buf. Each is the `HL_MEMORY` ioctl
 * hl-thunk makes, with `union hl_mem_args`.
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_IOCTL_HL_MEMORY,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_EXPORT_DMABUF_FD,
  HL_MEM_OP_FREE,
  HL_MEM_OP_MAP,
  HL_MEM_OP_UNMAP,
  type HlMemArgs,
} from "../habanalabs-accel.js";

/** `HL_MEMORY` with `in` as given: the whole answer (for callers that check `out` themselves). */
export function hlthunkMemoryIoctl(
  p: Process,
  fd: number,
  input: NonNullable<HlMemArgs["in"]>,
): Promise<HlMemArgs> {
  return p.ioctl<HlMemArgs>(fd, DRM_IOCTL_HL_MEMORY, { in: input });
}

/** `hlthunk_device_memory_alloc`: `size` bytes of device memory; its handle. */
export async function hlthunkDeviceMemoryAlloc(
  p: Process,
  fd: number,
  size: number,
  flags = 0,
): Promise<number> {
  const r = await hlthunkMemoryIoctl(p, fd, { op: HL_MEM_OP_ALLOC, flags, alloc: { mem_size: size } });
  return Number(r.out?.handle ?? 0);
}

/** `hlthunk_device_memory_free`. */
export async function hlthunkDeviceMemoryFree(p: Process, fd: number, handle: number): Promise<void> {
  await hlthunkMemoryIoctl(p, fd, { op: HL_MEM_OP_FREE, free: { handle } });
}

/** `hlthunk_device_memory_map`: maps the allocation into the device VA space; the address it got. */
export async function hlthunkDeviceMemoryMap(
  p: Process,
  fd: number,
  handle: number,
  hintAddr = 0,
  flags = 0,
): Promise<number> {
  const r = await hlthunkMemoryIoctl(p, fd, {
    op: HL_MEM_OP_MAP,
    flags,
    map_device: { handle, hint_addr: hintAddr },
  });
  return Number(r.out?.device_virt_addr ?? 0);
}

/** `hlthunk_memory_unmap`. */
export async function hlthunkMemoryUnmap(p: Process, fd: number, deviceVirtAddr: number): Promise<void> {
  await hlthunkMemoryIoctl(p, fd, { op: HL_MEM_OP_UNMAP, unmap: { device_virt_addr: deviceVirtAddr } });
}

/**
 * `hlthunk_device_mapped_memory_export_dmabuf_fd`: `size` bytes from `offset` into the mapping at
 * device address `addr`, as a dma-buf; its fd.
 */
export async function hlthunkDeviceMappedMemoryExportDmabufFd(
  p: Process,
  fd: number,
  addr: number,
  size: number,
  offset = 0,
  flags = 0,
): Promise<number> {
  const r = await hlthunkMemoryIoctl(p, fd, {
    op: HL_MEM_OP_EXPORT_DMABUF_FD,
    flags,
    export_dmabuf_fd: { addr, mem_size: size, offset },
  });
  return Number(r.out?.fd ?? -1);
}
