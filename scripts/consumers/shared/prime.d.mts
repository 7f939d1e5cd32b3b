// The types of ./prime.mjs: what the scenario needs from the packages, by their published types.
import type * as amdgpu from "@drmsim/amdgpu";
import type * as libdrmAmdgpu from "@drmsim/amdgpu/user";
import type * as drm from "@drmsim/drm";
import type * as runtime from "@drmsim/runtime";
import type * as vgem from "@drmsim/vgem";

export interface PrimeModules {
  Simulator: typeof runtime.Simulator;
  Process: typeof runtime.Process;
  DrmPluginHost: typeof drm.DrmPluginHost;
  drmModeCreateDumbBuffer: typeof drm.drmModeCreateDumbBuffer;
  drmPrimeHandleToFD: typeof drm.drmPrimeHandleToFD;
  drmPrimeFDToHandle: typeof drm.drmPrimeFDToHandle;
  vgemProbe: (host: drm.DrmPluginHost) => drm.DrmDevice;
  DRM_IOCTL_VGEM_FENCE_ATTACH: typeof vgem.DRM_IOCTL_VGEM_FENCE_ATTACH;
  DRM_IOCTL_VGEM_FENCE_SIGNAL: typeof vgem.DRM_IOCTL_VGEM_FENCE_SIGNAL;
  VGEM_FENCE_WRITE: typeof vgem.VGEM_FENCE_WRITE;
  amdgpuProbe: typeof amdgpu.amdgpuProbe;
  AMDGPU_HW_IP_GFX: typeof amdgpu.AMDGPU_HW_IP_GFX;
  amdgpuCsCtxCreate2: typeof libdrmAmdgpu.amdgpuCsCtxCreate2;
  amdgpuCsChunkIb: typeof libdrmAmdgpu.amdgpuCsChunkIb;
  amdgpuCsChunkBoList: typeof libdrmAmdgpu.amdgpuCsChunkBoList;
  amdgpuCsSubmitRaw2: typeof libdrmAmdgpu.amdgpuCsSubmitRaw2;
  amdgpuCsQueryFenceStatus: typeof libdrmAmdgpu.amdgpuCsQueryFenceStatus;
}

/** Runs the scenario; resolves with a one-line description, rejects on any difference. */
export function primeScenario(m: PrimeModules): Promise<string>;
