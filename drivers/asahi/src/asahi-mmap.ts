/**
 * `ASAHI_GEM_MMAP_OFFSET`'s body (the driver's `gem_mmap_offset`): the fake offset at which
 * userspace maps a buffer with `mmap()` on the device node, from the device's offset manager. Only
 * files holding a handle to the object may map it (`drm_gem_mmap`: `EACCES` otherwise). The ioctl
 * is declared in `asahi-drm.ts`; its registration belongs with the driver's ioctl table.
 */
import { type DrmFile, drmGemMmapOffset } from "@drmsim/drm";
import { KernelError } from "@drmsim/runtime";

/** The fake mmap offset of the object behind `handle`. `EINVAL` for non-zero `flags`, `ENOENT` for an unknown handle. */
export function asahiGemMmapOffset(file: DrmFile, handle: number, flags = 0): bigint {
  if (flags !== 0) throw new KernelError("EINVAL", `ASAHI_GEM_MMAP_OFFSET: flags must be 0, got ${flags}`);
  return drmGemMmapOffset(file, handle);
}
