/**
 * Kernel-side peeks for tests: what a test that drives userspace through the uAPI looks at on the
 * kernel's side afterwards — the DRM file a process opened, the fence a syncobj holds. Not uAPI:
 * userspace could not see these. There is no kernel counterpart (a kernel selftest reads the
 * structures directly).
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { type DrmDevice, type DrmFile, drmSyncobjTable } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";

/** The `struct drm_file` process `p` has open on `dev` (its first, if several); throws if none. */
export function processFile(dev: DrmDevice, p: Process): DrmFile {
  const f = [...dev.files].find((x) => x.proc === p);
  if (f === undefined) throw new Error(`${p} has no file open on ${dev}`);
  return f;
}

/** The fence syncobj `handle` of `p`'s file on `dev` holds now (`drm_syncobj_fence_get`: a new reference), or null. */
export function syncobjFence(dev: DrmDevice, p: Process, handle: number): DmaFence | null {
  const s = drmSyncobjTable(processFile(dev, p)).find(handle);
  if (s === null) return null;
  const f = s.fenceGet();
  s.put();
  return f;
}
