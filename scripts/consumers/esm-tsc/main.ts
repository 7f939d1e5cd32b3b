// The PRIME scenario from TypeScript: the shared module's declaration names the exports it needs
// with their types, so each resolution mode must find them in the published .d.ts files.
import {
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CTX_OP_ALLOC_CTX,
  AMDGPU_HW_IP_GFX,
  amdgpuProbe,
  DRM_IOCTL_AMDGPU_CS,
  DRM_IOCTL_AMDGPU_CTX,
  DRM_IOCTL_AMDGPU_WAIT_CS,
} from "@drmsim/amdgpu";
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
  DRM_IOCTL_AMDGPU_CTX,
  AMDGPU_CTX_OP_ALLOC_CTX,
  DRM_IOCTL_AMDGPU_CS,
  AMDGPU_CHUNK_ID_IB,
  AMDGPU_CHUNK_ID_BO_HANDLES,
  AMDGPU_HW_IP_GFX,
  DRM_IOCTL_AMDGPU_WAIT_CS,
});
console.log(`typed prime: ${result}`);
