/**
 * `drm_gem_mmap()` (`drivers/gpu/drm/drm_gem.c`): `mmap()` on a DRM device node. The offset is a
 * fake one from the device's offset manager (`MODE_MAP_DUMB`, a driver's MMAP ioctl); it names a
 * GEM object, which is mapped through its `mmap` func.
 *
 * - An offset that names no object (or a range beyond it) is `EINVAL`; a file that holds no handle
 *   to the object is `EACCES` (`drm_vma_node_is_allowed`): knowing another client's offset is not
 *   enough to map its buffer.
 * - `vma.pgoff` is rebased to the object (`drm_gem_mmap_obj`), so the object's `mmap` sees pages of
 *   itself, and sets `vma.vmOps`. The mapping holds an object reference until it is unmapped
 *   (`drm_gem_vm_open`/`close`).
 * - Every access of a mapping of a native object is checked against the object's fences
 *   (`cpu-access-during-dma`; an imported object's mapping is the exporter's, checked by dma-buf);
 *   after the device is unplugged a new mmap is `ENODEV` and an access faults (`EFAULT`, SIGBUS).
 */
import { vmOpsCheckingFences } from "@drmsim/dma-buf";
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError, type VmArea } from "@drmsim/runtime";
import type { DrmFile } from "./drm-file.js";

const PAGE = 4096;

/** `drm_gem_mmap(filp, vma)`. See the module comment. */
export function drmGemMmap(file: DrmFile, vma: VmArea): void {
  const dev = file.device;
  if (dev.unplugged) throw new KernelError("ENODEV", `mmap: ${dev} was unplugged`);
  const pages = Math.ceil(vma.length / PAGE);
  const hit = dev.vmaOffsetManager.lookup(vma.pgoff, pages);
  if (hit === undefined)
    throw new KernelError(
      "EINVAL",
      `mmap: no GEM object of ${dev.driver.name} at fake offset 0x${(vma.pgoff * PAGE).toString(16)} (+${vma.length})`,
    );
  const obj = hit.owner as DrmGemObject;
  if (!hit.node.isAllowed(file))
    throw new KernelError(
      "EACCES",
      `mmap: this file holds no handle to ${obj.label}, so it may not map its offset 0x${hit.node.offsetAddr.toString(16)}`,
    );
  // drm_gem_mmap_obj: the object's mmap works in pages of the object.
  vma.pgoff -= hit.node.start;
  const op = obj.funcs.mmap;
  if (op === undefined) throw new KernelError("EINVAL", `mmap: ${obj.label} cannot be mapped (no mmap op)`);
  obj.get();
  try {
    op(obj, vma);
  } catch (e) {
    obj.put();
    throw e;
  }
  const inner = vma.vmOps;
  if (inner === undefined) {
    obj.put();
    throw new KernelError("EINVAL", `mmap: ${obj.label}'s mmap op set up no accessors`);
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    inner.close?.();
    obj.put();
  };
  // An import's mapping was set up by dma_buf_mmap, which checks fences and revocation itself.
  if (obj.isImported) {
    vma.vmOps = { read: (o, l) => inner.read(o, l), write: (o, b) => inner.write(o, b), close };
    return;
  }
  vma.vmOps = vmOpsCheckingFences(
    dev.sim,
    obj.resv,
    () => obj.describe(),
    { read: (o, l) => inner.read(o, l), write: (o, b) => inner.write(o, b), close },
    () => {
      if (dev.unplugged)
        throw new KernelError(
          "EFAULT",
          `access to a mapping of ${obj.label} after ${dev} was unplugged (SIGBUS)`,
        );
    },
  );
}
