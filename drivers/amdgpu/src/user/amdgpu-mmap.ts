/**
 * CPU access to a BO for the userspace library: `DRM_IOCTL_AMDGPU_GEM_MMAP` for the offset, then
 * the `mmap()` of that offset on the DRM fd.
 *
 * Simulated processes have no `mmap()` yet (issue #23 brings `Process.mmap` and per-file VMA
 * offsets): until then `amdgpuMmapOffset` plays the kernel's part of `drm_gem_mmap` here, and
 * nowhere else — it finds the object behind the offset among the objects the file holds handles
 * to (`drm_vma_node_allow`: `EACCES` for any other) and reads and writes its backing store.
 */
import { type DrmFile, drmGemMmapOffset } from "@drmsim/drm";
import { KernelError, type Process } from "@drmsim/runtime";
import { DRM_IOCTL_AMDGPU_GEM_MMAP, type DrmAmdgpuGemMmap } from "../amdgpu-drm.js";
import { AmdgpuBo } from "../amdgpu-object.js";

/** A CPU mapping of a BO (what `amdgpu_bo_cpu_map` returns a pointer to). */
export interface AmdgpuCpuMapping {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
}

/** The `mmap(fd, offset)` stand-in; see the module comment. */
export function amdgpuMmapOffset(p: Process, fd: number, offset: bigint): AmdgpuCpuMapping {
  const file = p.file(fd).priv as DrmFile;
  for (const h of file.gem.handles()) {
    const obj = file.gem.peek(h);
    if (obj instanceof AmdgpuBo && BigInt(drmGemMmapOffset(obj.id)) === offset) {
      const check = (o: number, n: number) => {
        if (o < 0 || n < 0 || o + n > obj.size)
          throw new KernelError(
            "EFAULT",
            `access of ${n} bytes at ${o} is outside the ${obj.size}-byte mapping`,
          );
      };
      return {
        size: obj.size,
        read: (o, n) => {
          check(o, n);
          return obj.store.read(o, n);
        },
        write: (o, d) => {
          check(o, d.length);
          obj.store.write(o, d);
        },
      };
    }
  }
  throw new KernelError("EACCES", `mmap offset 0x${offset.toString(16)} is not an object this file may map`);
}

/** `amdgpu_bo_cpu_map`: GEM_MMAP, then map the BO. */
export async function amdgpuBoCpuMap(p: Process, fd: number, handle: number): Promise<AmdgpuCpuMapping> {
  const r = await p.ioctl<DrmAmdgpuGemMmap>(fd, DRM_IOCTL_AMDGPU_GEM_MMAP, { in: { handle } });
  return amdgpuMmapOffset(p, fd, BigInt(r.out?.addr_ptr ?? 0));
}
