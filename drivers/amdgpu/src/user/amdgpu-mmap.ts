/**
 * CPU access to a BO for the userspace library: `DRM_IOCTL_AMDGPU_GEM_MMAP` for the offset, then
 * `mmap()` of that offset on the DRM fd (`Process.mmap`, which the kernel's `drm_gem_mmap` serves:
 * only a file holding a handle to the BO may map it).
 */
import { PROT_READ, PROT_WRITE, type Process, type VmMapping } from "@drmsim/runtime";
import { DRM_IOCTL_AMDGPU_GEM_MMAP, type DrmAmdgpuGemMmap } from "../amdgpu-drm.js";
import { amdgpuBoQueryInfo } from "./amdgpu-bo.js";

/** A CPU mapping of a BO (what `amdgpu_bo_cpu_map` returns a pointer to). */
export type AmdgpuCpuMapping = VmMapping;

/** `amdgpu_bo_cpu_map`: GEM_MMAP, then a shared read-write `mmap` of the whole BO. */
export async function amdgpuBoCpuMap(p: Process, fd: number, handle: number): Promise<AmdgpuCpuMapping> {
  const r = await p.ioctl<DrmAmdgpuGemMmap>(fd, DRM_IOCTL_AMDGPU_GEM_MMAP, { in: { handle } });
  const { allocSize } = await amdgpuBoQueryInfo(p, fd, handle);
  return p.mmap(fd, r.out?.addr_ptr ?? 0n, Number(allocSize), PROT_READ | PROT_WRITE);
}
