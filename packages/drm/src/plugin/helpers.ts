/**
 * The kernel's default helpers as plugins, applied before the driver: the shmem GEM helper
 * (`drm_gem_shmem_helper.c`: objects, their funcs, sg-table import) and the default PRIME paths
 * (`drm_prime.c`: handle ↔ dma-buf with the per-file cache, `drm_gem_prime_import`). They tap at
 * `DrmHookStage.HELPER`, so a driver that taps the same bail hook at the default stage answers
 * first; a driver that wants none of a helper passes its own `helpers` list to `probe`.
 */

import {
  type DrmGemObject,
  DrmGemShmemObject,
  drmGemPrimeDmaBufToHandle,
  drmGemPrimeHandleToDmaBuf,
  drmGemPrimeImport,
  drmGemShmemFuncs,
} from "@drmsim/gem";
import { KernelError } from "@drmsim/runtime";
import type { DrmDevice } from "../drm-device.js";
import { drmGemPrimeImportDynamic, drmIsDynamicImporter } from "../drm-prime-dynamic.js";
import { DrmHookStage, type DrmHooks } from "./hooks.js";

const HELPER = { stage: DrmHookStage.HELPER };

function shmemOf(obj: DrmGemObject): DrmGemShmemObject | undefined {
  return obj instanceof DrmGemShmemObject ? obj : undefined;
}

/** `drm_gem_shmem_helper`: shmem-backed objects for `gemCreateObject`, their `drm_gem_object_funcs`, and `gem_prime_import_sg_table`. */
export class DrmGemShmemHelper {
  apply(hooks: DrmHooks, device: DrmDevice): void {
    const sim = device.sim;
    const name = "drm_gem_shmem";
    hooks.driver.gemCreateObject.tap({ name, ...HELPER }, (size) =>
      DrmGemShmemObject.create(sim, size, { dev: device, dmaDev: device.dmaDev }),
    );
    hooks.driver.gemPrimeImportSgTable.tap({ name, ...HELPER }, (attach, sgt) =>
      DrmGemShmemObject.primeImportSgTable(sim, attach, sgt, { dev: device, dmaDev: device.dmaDev }),
    );
    const f = drmGemShmemFuncs;
    // Each op only acts on shmem objects, so a driver mixing its own object types with the helper's keeps working.
    hooks.gem.free.tap({ name, ...HELPER }, (o) => {
      const s = shmemOf(o);
      if (s) f.free!(s);
    });
    hooks.gem.pin.tap({ name, ...HELPER }, (o) => {
      const s = shmemOf(o);
      if (s) f.pin!(s);
    });
    hooks.gem.unpin.tap({ name, ...HELPER }, (o) => {
      const s = shmemOf(o);
      if (s) f.unpin!(s);
    });
    hooks.gem.getSgTable.tap({ name, ...HELPER }, (o, dev) => {
      const s = shmemOf(o);
      return s ? f.getSgTable!(s, dev) : undefined;
    });
    hooks.gem.vmap.tap({ name, ...HELPER }, (o) => {
      const s = shmemOf(o);
      return s ? f.vmap!(s) : undefined;
    });
    hooks.gem.vunmap.tap({ name, ...HELPER }, (o, map) => {
      const s = shmemOf(o);
      if (s) f.vunmap!(s, map);
    });
    hooks.gem.mmap.tap({ name, ...HELPER }, (o, vma) => {
      const s = shmemOf(o);
      if (s) f.mmap!(s, vma);
    });
  }
}

/**
 * `drm_prime.c`'s defaults: `drm_gem_prime_handle_to_dmabuf`, `drm_gem_prime_fd_to_handle`,
 * `drm_gem_prime_import`. A device that taps `hooks.dmaBufAttach.invalidateMappings` gets the
 * dynamic import instead (`drmGemPrimeImportDynamic`: attach, no map).
 */
export class DrmPrimeHelper {
  apply(hooks: DrmHooks, device: DrmDevice): void {
    const name = "drm_prime";
    hooks.driver.primeHandleToFd.tap({ name, ...HELPER }, (file, handle, flags) =>
      drmGemPrimeHandleToDmaBuf(file.gem, handle, flags),
    );
    hooks.driver.primeFdToHandle.tapPromise({ name, ...HELPER }, (file, buf) =>
      drmGemPrimeDmaBufToHandle(file.gem, buf, async (b) => {
        const obj = await hooks.driver.gemPrimeImport.promise(b);
        if (obj === undefined)
          throw new KernelError("EINVAL", `${device.driver.name} cannot import dma-bufs`);
        return obj;
      }),
    );
    hooks.driver.gemPrimeImport.tapPromise({ name, ...HELPER }, async (buf) => {
      // A buffer this device exported with its own dma_buf_ops: the original object, like
      // amdgpu_gem_prime_import's own-ops check (the GEM default ops are checked by GEM itself).
      if (device.ownsDmaBuf(buf)) return (buf.priv as DrmGemObject).get();
      // Checked per import, not at apply(): the driver taps after the helpers.
      if (drmIsDynamicImporter(device)) return drmGemPrimeImportDynamic(device, buf);
      return drmGemPrimeImport(device, buf, {
        dmaDev: device.dmaDev,
        importSgTable: (attach, sgt) => {
          const obj = hooks.driver.gemPrimeImportSgTable.call(attach, sgt);
          if (obj === undefined)
            throw new KernelError("EINVAL", `${device.driver.name} has no gem_prime_import_sg_table`);
          device.initGemObject(obj);
          return obj;
        },
      });
    });
  }
}

/** The helpers `probe` applies when the driver passes none: shmem GEM and default PRIME. */
export function defaultDrmHelpers(): (DrmGemShmemHelper | DrmPrimeHelper)[] {
  return [new DrmGemShmemHelper(), new DrmPrimeHelper()];
}
