/**
 * Dynamic PRIME import in the DRM core: what amdgpu and xe each write by hand
 * (`amdgpu_gem_prime_import`, `xe_gem_prime_import`), offered to every driver that taps
 * `hooks.dmaBufAttach.invalidateMappings`.
 *
 * A static import (`drm_gem_prime_import`) maps the buffer once at import time and keeps it
 * mapped — and therefore pinned in place by the exporter — for the object's whole life. A dynamic
 * importer instead attaches with `dma_buf_dynamic_attach`, maps only when it uses the buffer
 * (holding the reservation lock, so no move can run concurrently), and drops the mapping when the
 * exporter announces a move through `invalidate_mappings`; the exporter is then free to migrate
 * (evict VRAM, swap) a buffer someone else still holds. The kernel has no shared helper for this;
 * drmsim's is built on the same primitives so each driver does not reinvent the teardown.
 */
import { type DmaBuf, DmaDataDirection, type SgTable } from "@drmsim/dma-buf";
import { DrmGemObject, drmGemIsPrimeExportedDmaBuf, drmPrimeGemDestroy } from "@drmsim/gem";
import { KernelError, type Simulator } from "@drmsim/runtime";
import type { DrmDevice } from "./drm-device.js";

const PAGE = 4096;

/**
 * The GEM object of a dynamically imported dma-buf: a private object (no backing of its own,
 * `drm_gem_private_object_init`) sharing the exporter's resv, whose table is made lazily. Mirrors
 * the imported BO of amdgpu/xe (a `ttm_bo_type_sg` BO whose `sg` comes from
 * `dma_buf_map_attachment` at validation time). `attachment.importerPriv` is this object.
 */
export class DrmGemPrimeDynamicObject extends DrmGemObject {
  /** The current mapping, null until the first `mapLocked` and after each invalidation. */
  sgt: SgTable | null = null;

  /** @internal Use `drmGemPrimeImportDynamic`. */
  constructor(sim: Simulator, buf: DmaBuf, dev: DrmDevice) {
    super(sim, Math.ceil(buf.size / PAGE) * PAGE, {
      resv: buf.resv,
      dev,
      label: `import:${buf.expName}`,
    });
  }

  /**
   * The buffer's DMA table for this device, mapping it if the previous mapping was invalidated
   * (amdgpu's CS-time `amdgpu_dma_buf_validate`, xe's `xe_bo_validate`). The resv must be held:
   * that is what keeps a move from running between the map and the use (`dma-resv-not-locked`).
   * Dynamic importers wait for the buffer's fences themselves; this does not. `EINVAL` once the
   * object no longer has its attachment.
   */
  async mapLocked(): Promise<SgTable> {
    this.resv.assertHeld("drm_gem_prime_dynamic_map");
    const att = this.importAttach;
    if (att === null) throw new KernelError("EINVAL", `${this.label} is not an attached dma-buf import`);
    if (this.sgt === null) this.sgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
    return this.sgt;
  }

  /**
   * Drops the current mapping, if any (the body of a typical `invalidateMappings` tap). Resv held.
   * Returns true if there was a mapping to drop.
   */
  unmapLocked(): boolean {
    this.resv.assertHeld("drm_gem_prime_dynamic_unmap");
    const att = this.importAttach;
    const sgt = this.sgt;
    if (att === null || sgt === null) return false;
    att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
    this.sgt = null;
    return true;
  }

  /**
   * The last reference: the driver's `free` taps run (`hooks.gem.free`), then
   * `drm_prime_gem_destroy` — unmap what is still mapped, detach, drop the dma-buf reference
   * taken at import. Done here rather than in a `gem.free` tap so a driver that creates objects
   * without implementing `free` is still refused at probe (the mandatory-op check counts taps).
   */
  protected override release(): void {
    super.release();
    const sgt = this.sgt;
    this.sgt = null;
    drmPrimeGemDestroy(this, sgt);
  }
}

/**
 * The core's dynamic `gem_prime_import` (drmsim's; the kernel leaves it to each driver). A buffer
 * this device exported with the GEM default ops comes back as its object (+1 reference). A
 * foreign buffer is attached with `dma_buf_dynamic_attach` and importer ops that call the
 * device's `hooks.dmaBufAttach` (`allowPeer2peer` asked once, now; `invalidateMappings` on every
 * move), and wrapped in a `DrmGemPrimeDynamicObject` with funcs routed through `hooks.gem` — not
 * mapped. The object holds a dma-buf reference until it is freed. If the exporter refuses the
 * attachment, its error propagates and nothing is left behind. Must not hold the buffer's resv.
 */
export function drmGemPrimeImportDynamic(device: DrmDevice, buf: DmaBuf): DrmGemObject {
  if (drmGemIsPrimeExportedDmaBuf(buf, device)) return (buf.priv as DrmGemObject).get();
  const obj = device.initGemObject(new DrmGemPrimeDynamicObject(device.sim, buf, device));
  try {
    obj.importAttach = buf.dynamicAttach(device.dmaDev, device.dmaBufAttachOps(buf), obj);
  } catch (e) {
    obj.put();
    throw e;
  }
  buf.get();
  return obj;
}

/** True if the device imports dynamically: it implements `dma_buf_attach_ops.invalidate_mappings`. */
export function drmIsDynamicImporter(device: DrmDevice): boolean {
  return device.hooks.dmaBufAttach.invalidateMappings.taps.length > 0;
}
