/** The uAPI as `amdgpu_drm.h` defines it: every struct's size and every ioctl's request code. */
import { expect, it } from "vitest";
import {
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_WAIT_CS,
  drm_amdgpu_bo_list_entry,
  drm_amdgpu_bo_list_in,
  drm_amdgpu_cs,
  drm_amdgpu_cs_chunk,
  drm_amdgpu_cs_chunk_dep,
  drm_amdgpu_cs_chunk_fence,
  drm_amdgpu_cs_chunk_ib,
  drm_amdgpu_cs_chunk_sem,
  drm_amdgpu_cs_in,
  drm_amdgpu_ctx,
  drm_amdgpu_ctx_in,
  drm_amdgpu_ctx_out,
  drm_amdgpu_gem_create,
  drm_amdgpu_gem_create_in,
  drm_amdgpu_gem_userptr,
  drm_amdgpu_userq,
  drm_amdgpu_wait_cs,
} from "../src/index.js";

it("each struct is the size the header gives it", () => {
  const sizes = Object.fromEntries(
    [
      drm_amdgpu_gem_create_in,
      drm_amdgpu_gem_create,
      drm_amdgpu_ctx_in,
      drm_amdgpu_ctx_out,
      drm_amdgpu_ctx,
      drm_amdgpu_cs_in,
      drm_amdgpu_cs,
      drm_amdgpu_cs_chunk,
      drm_amdgpu_cs_chunk_ib,
      drm_amdgpu_cs_chunk_dep,
      drm_amdgpu_cs_chunk_sem,
      drm_amdgpu_cs_chunk_fence,
      drm_amdgpu_bo_list_in,
      drm_amdgpu_bo_list_entry,
      drm_amdgpu_wait_cs,
      drm_amdgpu_gem_userptr,
      drm_amdgpu_userq,
    ].map((s) => [s.name, s.size]),
  );
  expect(sizes).toEqual({
    drm_amdgpu_gem_create_in: 32,
    drm_amdgpu_gem_create: 32,
    drm_amdgpu_ctx_in: 16,
    drm_amdgpu_ctx_out: 16,
    drm_amdgpu_ctx: 16,
    drm_amdgpu_cs_in: 24,
    drm_amdgpu_cs: 24,
    drm_amdgpu_cs_chunk: 16,
    drm_amdgpu_cs_chunk_ib: 32,
    drm_amdgpu_cs_chunk_dep: 24,
    drm_amdgpu_cs_chunk_sem: 4,
    drm_amdgpu_cs_chunk_fence: 8,
    drm_amdgpu_bo_list_in: 24,
    drm_amdgpu_bo_list_entry: 8,
    drm_amdgpu_wait_cs: 32,
    drm_amdgpu_gem_userptr: 24,
    drm_amdgpu_userq: 72,
  });
});

it("each ioctl has the header's request code", () => {
  expect(
    [
      DRM_IOCTL_AMDGPU_GEM_CREATE,
      DRM_IOCTL_AMDGPU_CTX,
      DRM_IOCTL_AMDGPU_CS,
      DRM_IOCTL_AMDGPU_WAIT_CS,
      DRM_IOCTL_AMDGPU_GEM_USERPTR,
      DRM_IOCTL_AMDGPU_USERQ,
    ].map((c) => `0x${(c >>> 0).toString(16)}`),
  ).toEqual(["0xc0206440", "0xc0106442", "0xc0186444", "0xc0206449", "0xc0186451", "0xc0486456"]);
});
