// The PRIME scenario from TypeScript: the shared module's declaration names the exports it needs
// with their types, so each resolution mode must find them in the published .d.ts files.
import { AMDGPU_HW_IP_GFX, amdgpuProbe } from "@drmsim/amdgpu";
import {
  amdgpuCsChunkBoList,
  amdgpuCsChunkIb,
  amdgpuCsCtxCreate2,
  amdgpuCsQueryFenceStatus,
  amdgpuCsSubmitRaw2,
} from "@drmsim/amdgpu/user";
import {
  type DrmDevice,
  DrmPluginHost,
  drmModeCreateDumbBuffer,
  drmPrimeFDToHandle,
  drmPrimeHandleToFD,
} from "@drmsim/drm";
import { Process, Simulator } from "@drmsim/runtime";
import {
  DRM_IOCTL_VGEM_FENCE_ATTACH,
  DRM_IOCTL_VGEM_FENCE_SIGNAL,
  VGEM_FENCE_WRITE,
  vgemProbe,
} from "@drmsim/vgem";
import { primeScenario } from "./shared/prime.mjs";

const probe: (host: DrmPluginHost) => DrmDevice = vgemProbe;
const result: string = await primeScenario({
  Simulator,
  Process,
  DrmPluginHost,
  drmModeCreateDumbBuffer,
  drmPrimeHandleToFD,
  drmPrimeFDToHandle,
  vgemProbe: probe,
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
console.log(`typed prime: ${result}`);
