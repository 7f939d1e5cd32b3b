/**
 * CPU access to amdgpu BOs (`amdgpu_gem.c`'s mmap, `amdgpu_dma_buf.c`'s vmap and CPU access):
 * the kernel's `vmap`, userspace `mmap` through a fake offset or the dma-buf fd, and the
 * `begin_cpu_access` that makes an exported buffer CPU-friendly.
 *
 * - `vmap` pins the BO where it is (swapping it in first) for as long as it is mapped, as
 *   `amdgpu_dma_buf_vmap` pins it to GTT or VRAM; `vunmap` unpins.
 * - `mmap` maps the BO's pages wherever they are (VRAM through the BAR, GTT, or brought back
 *   from swap by the fault handler); a userptr BO is `EPERM` (its pages are the process's own),
 *   a private mapping `EINVAL` (TTM refuses copy-on-write); an import is mapped by its exporter.
 * - `begin_cpu_access` on an export moves an unpinned BO out of VRAM to GTT
 *   (`amdgpu_dma_buf_begin_cpu_access`): an exporter move — importers are told
 *   (`invalidate_mappings`) and the dma-buf core then waits for the copy's fence.
 * - `amdgpuGemMmapOffset` is the body of `AMDGPU_GEM_MMAP` (`amdgpu_mode_dumb_mmap`): the BO's
 *   fake offset, `EPERM` for a userptr BO.
 */
import type { DmaBuf, IosysMap } from "@drmsim/dma-buf";
import { type DrmFile, type DrmHooks, drmGemMmapOffset } from "@drmsim/drm";
import { KernelError, MAP_PRIVATE } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_GEM_CREATE_NO_CPU_ACCESS, AMDGPU_GEM_DOMAIN_GTT } from "./amdgpu-drm.js";
import { AmdgpuBo } from "./amdgpu-object.js";

const PAGE = 4096;
const VMAPS = new WeakMap<AmdgpuBo, IosysMap>();

function ours(adev: AmdgpuDevice, obj: unknown): AmdgpuBo | undefined {
  return obj instanceof AmdgpuBo && obj.adev === adev ? obj : undefined;
}

/** Taps `hooks.gem` vmap/vunmap/mmap and `hooks.dmaBuf` begin/end_cpu_access for amdgpu BOs. */
export function amdgpuCpuAccessApply(hooks: DrmHooks, adev: AmdgpuDevice, name: string): void {
  // amdgpu_dma_buf_vmap / drm_gem_ttm_vmap (resv held): pinned while mapped.
  hooks.gem.vmap.tap(name, (obj) => {
    const bo = ours(adev, obj);
    if (bo === undefined) return undefined;
    if (bo.domain === "cpu") adev.mman.swapInLocked(bo);
    bo.pinCount++;
    const store = bo.store;
    const map: IosysMap = {
      read: (o, l) => {
        if (VMAPS.get(bo) !== map)
          throw new KernelError("EFAULT", `read through a stale vmap of ${bo.label}`);
        return store.read(o, l);
      },
      write: (o, b) => {
        if (VMAPS.get(bo) !== map)
          throw new KernelError("EFAULT", `write through a stale vmap of ${bo.label}`);
        store.write(o, b);
      },
    };
    VMAPS.set(bo, map);
    return map;
  });
  hooks.gem.vunmap.tap(name, (obj, map) => {
    const bo = ours(adev, obj);
    if (bo === undefined || VMAPS.get(bo) !== map) return;
    VMAPS.delete(bo);
    bo.pinCount--;
  });
  // amdgpu_gem_object_mmap → ttm_bo_mmap_obj.
  hooks.gem.mmap.tap(name, (obj, vma) => {
    const bo = ours(adev, obj);
    if (bo === undefined) return;
    if (bo.userptr !== null)
      throw new KernelError("EPERM", `mmap of ${bo.label}: a userptr BO's pages are the process's own`);
    if (bo.importAttach !== null) {
      bo.importAttach.dmabuf.mmap(vma);
      return;
    }
    if (((vma.flags ?? 0) & MAP_PRIVATE) !== 0)
      throw new KernelError("EINVAL", `mmap of ${bo.label}: a private (copy-on-write) mapping`);
    if (vma.pgoff * PAGE + vma.length > bo.size)
      throw new KernelError(
        "EINVAL",
        `mmap of ${vma.length} bytes at page ${vma.pgoff} is outside ${bo.label}`,
      );
    const store = bo.store;
    vma.vmOps = { read: (o, l) => store.read(o, l), write: (o, b) => store.write(o, b) };
  });
  // amdgpu_dma_buf_begin_cpu_access: an unpinned BO goes to GTT, where the CPU reaches it cheaply.
  hooks.dmaBuf.beginCpuAccess.tapPromise(name, async (buf: DmaBuf) => {
    const bo = ours(adev, buf.priv);
    if (bo === undefined) return undefined;
    if (bo.domain === "vram" && bo.pinCount === 0 && (bo.domains & AMDGPU_GEM_DOMAIN_GTT) !== 0) {
      await bo.resv.lockInterruptible(null);
      try {
        if (bo.domain === "vram" && bo.pinCount === 0) adev.mman.moveToGttLocked(bo);
      } finally {
        bo.resv.unlock();
      }
    }
    return true;
  });
  hooks.dmaBuf.endCpuAccess.tapPromise(name, async (buf: DmaBuf) =>
    ours(adev, buf.priv) === undefined ? undefined : true,
  );
}

/**
 * `AMDGPU_GEM_MMAP` (`amdgpu_mode_dumb_mmap`): the fake offset to `mmap()` the BO behind
 * `handle` at. `ENOENT` for an unknown handle, `EPERM` for a userptr BO or one created with
 * `NO_CPU_ACCESS`.
 */
export function amdgpuGemMmapOffset(file: DrmFile, handle: number): bigint {
  return drmGemMmapOffset(file, handle, (obj) => {
    if (obj instanceof AmdgpuBo && obj.userptr !== null)
      throw new KernelError("EPERM", `AMDGPU_GEM_MMAP: ${obj.label} is a userptr BO`);
    if (obj instanceof AmdgpuBo && (obj.flags & AMDGPU_GEM_CREATE_NO_CPU_ACCESS) !== 0)
      throw new KernelError("EPERM", `AMDGPU_GEM_MMAP: ${obj.label} was created with NO_CPU_ACCESS`);
  });
}
