/**
 * The core GEM ioctls (`drm_gem.c`, `drm_dumb_buffers.c`): GEM_CLOSE, GEM_FLINK, GEM_OPEN,
 * GEM_CHANGE_HANDLE and the dumb-buffer trio. A driver without `DRIVER_GEM` answers `EOPNOTSUPP`
 * (the table declares it). Each validates its whole argument before it changes anything, so a
 * refused call leaves the file's handles, the names and the objects as they were.
 */
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError, type UapiValue } from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";
import type {
  drm_gem_change_handle,
  drm_gem_close,
  drm_gem_flink,
  drm_gem_open,
  drm_mode_create_dumb,
  drm_mode_destroy_dumb,
  drm_mode_map_dumb,
} from "./drm-uapi.js";

const U32_MAX = 0xffff_ffff;
const PAGE_SIZE = 4096;

/**
 * `DRM_IOCTL_GEM_CLOSE` (`drm_gem_close_ioctl`). `pad` is never looked at: userspace that leaves
 * garbage there still closes its handle. An unknown handle is `EINVAL` (`drm_gem_handle_delete`),
 * not `ENOENT` as for lookups.
 */
export function drmGemCloseIoctl(file: DrmFile, args: UapiValue<typeof drm_gem_close>): void {
  file.gem.handleDelete(args.handle);
}

/** `DRM_IOCTL_GEM_FLINK` (`drm_gem_flink_ioctl`): the object's global name, made on first flink. */
export function drmGemFlinkIoctl(file: DrmFile, args: UapiValue<typeof drm_gem_flink>): void {
  const obj = file.gem.lookup(args.handle);
  try {
    args.name = file.device.names.flink(obj);
  } finally {
    obj.put();
  }
}

/** `DRM_IOCTL_GEM_CHANGE_HANDLE` (`drm_gem_change_handle_ioctl`). */
export function drmGemChangeHandleIoctl(file: DrmFile, args: UapiValue<typeof drm_gem_change_handle>): void {
  file.gem.changeHandle(args.handle, args.new_handle);
}

/** `DRM_IOCTL_GEM_OPEN` (`drm_gem_open_ioctl`): a handle in this file for a global name. */
export function drmGemOpenIoctl(file: DrmFile, args: UapiValue<typeof drm_gem_open>): void {
  const r = file.device.names.open(args.name, file.gem);
  args.handle = r.handle;
  args.size = BigInt(r.size);
}

/**
 * `DRM_IOCTL_MODE_CREATE_DUMB` (`drm_mode_create_dumb`): `ENOSYS` without a `dumb_create`; zero
 * dimensions and sizes that overflow 32 bits are `EINVAL`; the outputs are zeroed (garbage there
 * is tolerated, as the kernel does) and the driver's `dumbCreate` fills them in. `flags` is not
 * checked.
 */
export async function drmModeCreateDumbIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_mode_create_dumb>,
): Promise<void> {
  const dev = file.device;
  if (dev.hooks.driver.dumbCreate.taps.length === 0)
    throw new KernelError("ENOSYS", `${dev.driver.name} has no dumb buffers (no dumb_create)`);
  const { width, height, bpp } = args;
  if (width === 0 || height === 0 || bpp === 0)
    throw new KernelError("EINVAL", "MODE_CREATE_DUMB: width, height and bpp must be non-zero");
  if (bpp > U32_MAX - 8) throw new KernelError("EINVAL", `MODE_CREATE_DUMB: bpp ${bpp} overflows`);
  const cpp = Math.ceil(bpp / 8);
  if (cpp > Math.floor(U32_MAX / width) || height > Math.floor(U32_MAX / (cpp * width)))
    throw new KernelError("EINVAL", `MODE_CREATE_DUMB: ${width}x${height}x${bpp} overflows 32 bits`);
  if (Math.ceil((height * cpp * width) / PAGE_SIZE) * PAGE_SIZE > U32_MAX)
    throw new KernelError(
      "EINVAL",
      `MODE_CREATE_DUMB: ${width}x${height}x${bpp} wraps around when page-aligned`,
    );
  args.handle = 0;
  args.pitch = 0;
  args.size = 0n;
  const done = await dev.hooks.driver.dumbCreate.promise(file, args);
  if (done !== true) throw new KernelError("ENOSYS", `${dev.driver.name}'s dumb_create declined`);
}

/**
 * `DRM_IOCTL_MODE_MAP_DUMB` (`drm_mode_mmap_dumb_ioctl` → `drm_gem_dumb_map_offset`): the fake
 * offset to `mmap()` the object at, from the device's offset manager; only files holding a handle
 * to the object may map it (`drm_vma_node_allow`). `ENOSYS` for a driver without dumb buffers;
 * imported objects are `EINVAL`: they are mapped through their exporter.
 */
export function drmModeMmapDumbIoctl(file: DrmFile, args: UapiValue<typeof drm_mode_map_dumb>): void {
  const dev = file.device;
  if (dev.hooks.driver.dumbCreate.taps.length === 0)
    throw new KernelError("ENOSYS", `${dev.driver.name} has no dumb buffers (no dumb_create)`);
  args.offset = drmGemMmapOffset(file, args.handle, (obj) => {
    if (obj.isImported) throw new KernelError("EINVAL", `MODE_MAP_DUMB: ${obj.label} is imported`);
  });
}

/**
 * The fake mmap offset of the object behind `handle` in `file` (`drm_gem_create_mmap_offset` +
 * `drm_vma_node_offset_addr`), made once per object in the device's offset manager: what a
 * driver's MMAP ioctl (`AMDGPU_GEM_MMAP`, `ASAHI_GEM_MMAP_OFFSET`) returns. `check` may refuse the
 * object first (a userptr BO, an imported one). `ENOENT` for an unknown handle, `ENOSPC` when the
 * offset space is full.
 */
export function drmGemMmapOffset(file: DrmFile, handle: number, check?: (obj: DrmGemObject) => void): bigint {
  const obj = file.gem.lookup(handle);
  try {
    check?.(obj);
    return obj.createMmapOffset(file.device.vmaOffsetManager);
  } finally {
    obj.put();
  }
}

/** `DRM_IOCTL_MODE_DESTROY_DUMB` (`drm_mode_destroy_dumb_ioctl`): `drm_gem_handle_delete`, `EINVAL` for an unknown handle. */
export function drmModeDestroyDumbIoctl(file: DrmFile, args: UapiValue<typeof drm_mode_destroy_dumb>): void {
  file.gem.handleDelete(args.handle);
}
