/**
 * The core GEM ioctls (`drm_gem.c`, `drm_dumb_buffers.c`): GEM_CLOSE, GEM_FLINK, GEM_OPEN and the
 * dumb-buffer trio. Each validates its whole argument before it changes anything, so a refused
 * call leaves the file's handles, the names and the objects as they were.
 */
import { KernelError } from "@drmsim/runtime";
import { DrmDriverFeature } from "./drm-drv.js";
import type { DrmFile } from "./drm-file.js";
import { drmArgU, drmCheckZero } from "./drm-ioctl-args.js";
import type { DrmModeCreateDumb } from "./plugin/hooks.js";

function needGem(file: DrmFile, ioctl: string): void {
  // drm_gem_*_ioctl: a driver without DRIVER_GEM answers EOPNOTSUPP.
  if (!file.device.checkFeature(DrmDriverFeature.GEM))
    throw new KernelError("EOPNOTSUPP", `${ioctl}: ${file.device.driver.name} has no GEM (DRIVER_GEM)`);
}

/** `struct drm_gem_close`. */
export interface DrmGemClose {
  handle: number;
  pad?: number;
}

/** `DRM_IOCTL_GEM_CLOSE` (`drm_gem_close_ioctl`). */
export function drmGemCloseIoctl(file: DrmFile, args: DrmGemClose): void {
  needGem(file, "GEM_CLOSE");
  // drm_gem_close_ioctl never looks at `pad`: userspace that leaves garbage there still closes
  // its handle, so refusing it here would break programs the kernel accepts.
  const handle = drmArgU(args as never, "handle", "GEM_CLOSE");
  // drm_gem_handle_delete: an unknown handle is EINVAL (not ENOENT, unlike lookups).
  file.gem.handleDelete(handle);
}

/** `struct drm_gem_flink`: in `handle`, out `name`. */
export interface DrmGemFlink {
  handle: number;
  name?: number;
}

/** `DRM_IOCTL_GEM_FLINK` (`drm_gem_flink_ioctl`). */
export function drmGemFlinkIoctl(file: DrmFile, args: DrmGemFlink): void {
  needGem(file, "GEM_FLINK");
  const handle = drmArgU(args as never, "handle", "GEM_FLINK");
  const obj = file.gem.lookup(handle);
  try {
    args.name = file.device.names.flink(obj);
  } finally {
    obj.put();
  }
}

/** `struct drm_gem_change_handle`: in `handle` and `new_handle`. */
export interface DrmGemChangeHandle {
  handle: number;
  new_handle: number;
}

/** `DRM_IOCTL_GEM_CHANGE_HANDLE` (`drm_gem_change_handle_ioctl`). */
export function drmGemChangeHandleIoctl(file: DrmFile, args: DrmGemChangeHandle): void {
  needGem(file, "GEM_CHANGE_HANDLE");
  const handle = drmArgU(args as never, "handle", "GEM_CHANGE_HANDLE");
  const newHandle = drmArgU(args as never, "new_handle", "GEM_CHANGE_HANDLE");
  file.gem.changeHandle(handle, newHandle);
}

/** `struct drm_gem_open`: in `name`, out `handle` and `size`. */
export interface DrmGemOpen {
  name: number;
  handle?: number;
  size?: number;
}

/** `DRM_IOCTL_GEM_OPEN` (`drm_gem_open_ioctl`). */
export function drmGemOpenIoctl(file: DrmFile, args: DrmGemOpen): void {
  needGem(file, "GEM_OPEN");
  const name = drmArgU(args as never, "name", "GEM_OPEN");
  const r = file.device.names.open(name, file.gem);
  args.handle = r.handle;
  args.size = r.size;
}

/** `DRM_IOCTL_MODE_CREATE_DUMB` (`drm_mode_create_dumb_ioctl`). */
export async function drmModeCreateDumbIoctl(file: DrmFile, args: DrmModeCreateDumb): Promise<void> {
  const dev = file.device;
  if (dev.hooks.driver.dumbCreate.taps.length === 0)
    throw new KernelError("ENOSYS", `${dev.driver.name} has no dumb buffers (no dumb_create)`);
  const a = args as unknown as Record<string, unknown>;
  const width = drmArgU(a, "width", "MODE_CREATE_DUMB");
  const height = drmArgU(a, "height", "MODE_CREATE_DUMB");
  const bpp = drmArgU(a, "bpp", "MODE_CREATE_DUMB");
  drmCheckZero(a, "flags", "MODE_CREATE_DUMB");
  // drm_mode_create_dumb: zero sizes and 32-bit overflow of pitch * height are EINVAL.
  if (width === 0 || height === 0 || bpp === 0)
    throw new KernelError("EINVAL", "MODE_CREATE_DUMB: width, height and bpp must be non-zero");
  const cpp = Math.ceil(bpp / 8);
  if (cpp > 0xffffffff / width || cpp * width > 0xffffffff / height)
    throw new KernelError("EINVAL", `MODE_CREATE_DUMB: ${width}x${height}x${bpp} overflows 32 bits`);
  const out = { width, height, bpp, flags: 0, handle: 0, pitch: 0, size: 0 };
  const done = await dev.hooks.driver.dumbCreate.promise(file, out);
  if (done !== true) throw new KernelError("ENOSYS", `${dev.driver.name}'s dumb_create declined`);
  args.handle = out.handle;
  args.pitch = out.pitch;
  args.size = out.size;
}

/** `struct drm_mode_map_dumb`: in `handle`, out `offset` (the fake mmap offset). */
export interface DrmModeMapDumb {
  handle: number;
  pad?: number;
  offset?: number;
}

/** `DRM_IOCTL_MODE_MAP_DUMB` (`drm_mode_mmap_dumb_ioctl`). */
export function drmModeMmapDumbIoctl(file: DrmFile, args: DrmModeMapDumb): void {
  needGem(file, "MODE_MAP_DUMB");
  drmCheckZero(args as never, "pad", "MODE_MAP_DUMB");
  const obj = file.gem.lookup(drmArgU(args as never, "handle", "MODE_MAP_DUMB"));
  try {
    // drm_gem_dumb_map_offset: imported objects cannot be mapped through the importer.
    if (obj.isImported) throw new KernelError("EINVAL", `MODE_MAP_DUMB: ${obj.label} is imported`);
    args.offset = drmGemMmapOffset(obj.id);
  } finally {
    obj.put();
  }
}

/** `struct drm_mode_destroy_dumb`. */
export interface DrmModeDestroyDumb {
  handle: number;
}

/** `DRM_IOCTL_MODE_DESTROY_DUMB` (`drm_mode_destroy_dumb_ioctl`). */
export function drmModeDestroyDumbIoctl(file: DrmFile, args: DrmModeDestroyDumb): void {
  needGem(file, "MODE_DESTROY_DUMB");
  // drm_mode_destroy_dumb is drm_gem_handle_delete: EINVAL for an unknown handle.
  file.gem.handleDelete(drmArgU(args as never, "handle", "MODE_DESTROY_DUMB"));
}

/**
 * `drm_vma_node_offset_addr`: the fake offset userspace passes to `mmap()` for a GEM object. The
 * kernel allocates page ranges from `DRM_FILE_PAGE_OFFSET_START`; here it is derived from the
 * object id, stable per object and never 0.
 */
export function drmGemMmapOffset(objId: number): number {
  return (0x100000 + objId * 0x1000) * 4096;
}
