// The bundlers' entry: the PRIME scenario with named imports of the published packages, so the
// bundler tree-shakes everything else (and, with a wrong `sideEffects`, would drop what runs).
import { AMDGPU_HW_IP_GFX, amdgpuProbe } from "@drmsim/amdgpu";
import {
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "@drmsim/amdgpu/user";
import { DrmPluginHost, drmModeCreateDumbBuffer, drmPrimeFDToHandle, drmPrimeHandleToFD } from "@drmsim/drm";
import { Process, Simulator } from "@drmsim/runtime";
import {
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  VGEM_FENCE_WRITE,
  vgemProbe,
} from "@drmsim/vgem";
import { primeScenario } from "./prime.mjs";

const result = await primeScenario({
  Simulator,
  Process,
  DrmPluginHost,
  drmModeCreateDumbBuffer,
  drmPrimeHandleToFD,
  drmPrimeFDToHandle,
  vgemProbe,
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  VGEM_FENCE_WRITE,
  amdgpuProbe,
  AMDGPU_HW_IP_GFX,
  amdgpuCsCtxCreate2,
  amdgpuCsChunkIb,
  amdgpuCsChunkBoList,
  amdgpuCsSubmitRaw2,
  amdgpuCsQueryFenceStatus,
});
console.log(`prime: ${result}`);
