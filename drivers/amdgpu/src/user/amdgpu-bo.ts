/**
 * libdrm_amdgpu's buffer functions (`amdgpu_bo.c`): what a userspace driver calls to get BOs.
 * Every call is the ioctl the real library makes, with the same struct.
 */
import type { Process } from "@drmsim/runtime";
import {
  AMDGPU_GEM_USERPTR_ANONONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_GEM_USERPTR_VALIDATE,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  type DrmAmdgpuGemCreate,
  type DrmAmdgpuGemUserptr,
} from "../amdgpu-drm.js";

/** What `amdgpuBoAlloc` asks for (`struct amdgpu_bo_alloc_request`). */
export interface AmdgpuBoAllocRequest {
  /** Bytes; the kernel rounds up to pages. */
  allocSize: number | bigint;
  /** `AMDGPU_GEM_DOMAIN_*` bits. */
  preferredHeap: number;
  /** Power of two, or 0. */
  physAlignment?: number | bigint;
  /** `AMDGPU_GEM_CREATE_*` bits. */
  flags?: number | bigint;
}

/** `amdgpu_bo_alloc`: `DRM_IOCTL_AMDGPU_GEM_CREATE`; returns the GEM handle. */
export async function amdgpuBoAlloc(p: Process, fd: number, req: AmdgpuBoAllocRequest): Promise<number> {
  const args: DrmAmdgpuGemCreate = {
    in: {
      bo_size: req.allocSize,
      alignment: req.physAlignment ?? 0,
      domains: req.preferredHeap,
      domain_flags: req.flags ?? 0,
    },
  };
  const r = await p.ioctl<DrmAmdgpuGemCreate>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, args);
  return r.out?.handle ?? 0;
}

/**
 * `amdgpu_create_bo_from_user_mem`: `DRM_IOCTL_AMDGPU_GEM_USERPTR` over `[addr, addr + size)` of
 * the calling process; returns the GEM handle. `flags` defaults to what libdrm passes
 * (`ANONONLY | REGISTER | VALIDATE`).
 */
export async function amdgpuCreateBoFromUserMem(
  p: Process,
  fd: number,
  addr: number | bigint,
  size: number | bigint,
  flags = AMDGPU_GEM_USERPTR_ANONONLY | AMDGPU_GEM_USERPTR_REGISTER | AMDGPU_GEM_USERPTR_VALIDATE,
): Promise<number> {
  const args: DrmAmdgpuGemUserptr = { addr, size, flags };
  const r = await p.ioctl<DrmAmdgpuGemUserptr>(fd, DRM_IOCTL_AMDGPU_GEM_USERPTR, args);
  return r.handle ?? 0;
}
