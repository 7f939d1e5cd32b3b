/**
 * Dynamic dma-buf import for asahi: the importer side of `dma_buf_attach_ops`, the way amdgpu
 * (`amdgpu_dma_buf_attach_ops`) and xe do it, built on the DRM core's dynamic PRIME import.
 *
 * Why dynamic: a static import maps the buffer once and keeps it mapped, which pins it in place
 * at the exporter for as long as asahi holds it — a discrete GPU sharing a frame with us could
 * then never evict or swap that buffer. A dynamic importer maps only when it uses the buffer,
 * under the reservation lock (so no move can run between map and use), and drops the mapping
 * when the exporter announces a move. asahi uses every buffer in exactly one place, the submit
 * ioctl, which already locks every named buffer's resv for implicit sync; that is where it maps.
 */
import type { DmaBuf, DmaBufAttachment } from "@drmsim/dma-buf";
import { type DrmDevice, DrmGemPrimeDynamicObject, type DrmHooks } from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError } from "@drmsim/runtime";

/** Counters of asahi's dynamic imports on one device (not a kernel struct: what a tracer would count). */
export interface AsahiPrimeStats {
  /** `invalidate_mappings` calls that dropped a live mapping. */
  invalidations: number;
  /** Mappings made at submit (first use, and every use after an invalidation). */
  maps: number;
  /** Submit-time uses that found the mapping still valid and reused it. */
  reuses: number;
}

const STATS = new WeakMap<DrmDevice, AsahiPrimeStats>();

/** The dynamic-import counters of an Asahi device (`ENODEV` for another device). */
export function asahiPrimeStats(device: DrmDevice): Readonly<AsahiPrimeStats> {
  const s = STATS.get(device);
  if (s === undefined) throw new KernelError("ENODEV", `${device} is not an asahi device`);
  return s;
}

/**
 * Taps `dma_buf_attach_ops` on `hooks` (asahi's own ops table; the kernel driver would pass it to
 * `dma_buf_dynamic_attach`). Tapping `invalidateMappings` is what makes the core's PRIME import
 * attach foreign buffers dynamically and hand back `DrmGemPrimeDynamicObject`s.
 */
export function asahiPrimeApply(hooks: DrmHooks, device: DrmDevice, name: string): void {
  const stats: AsahiPrimeStats = { invalidations: 0, maps: 0, reuses: 0 };
  STATS.set(device, stats);
  // `allow_peer2peer = true`: asahi accepts device memory when the exporter and the PCI topology
  // allow it; the exporter's attach clears `peer2peer` where they do not (and then migrates to
  // system memory at map time instead).
  hooks.dmaBufAttach.allowPeer2peer.tap(name, (_buf: DmaBuf) => true);
  hooks.dmaBufAttach.invalidateMappings.tap(name, (att: DmaBufAttachment) =>
    asahiGemPrimeInvalidateMappings(stats, att),
  );
}

/**
 * `invalidate_mappings` (≤ 6.19 `move_notify`), exporter holds the resv: drop the object's
 * mapping so the next submit maps the new placement. Jobs already queued keep working: the
 * exporter's move fence is in the resv, and they were ordered against it by implicit sync.
 */
function asahiGemPrimeInvalidateMappings(stats: AsahiPrimeStats, att: DmaBufAttachment): void {
  const obj = att.importerPriv;
  if (obj instanceof DrmGemPrimeDynamicObject && obj.unmapLocked()) stats.invalidations++;
}

/**
 * The submit-time validate step of one buffer (amdgpu's `amdgpu_dma_buf_validate` during CS):
 * with `obj`'s resv held, make sure a dynamically imported object is mapped at its current
 * placement, reusing a mapping that is still valid. Other objects need nothing. The exporter may
 * move the buffer to make it reachable (a KERNEL fence in the resv), which the job then waits for
 * through its implicit dependencies — so call this before `addImplicitDependencies`. That move
 * may also have used the fence slot the caller reserved: reserve again before adding the job's
 * fence. Returns true if `obj` is a dynamic import (and is now mapped); `ENOMEM`/`EPERM` from
 * the exporter's map propagate, leaving the object unmapped.
 */
export async function asahiGemPrimeMapLocked(device: DrmDevice, obj: DrmGemObject): Promise<boolean> {
  if (!(obj instanceof DrmGemPrimeDynamicObject)) return false;
  const stats = STATS.get(device);
  const mapped = obj.sgt !== null;
  await obj.mapLocked();
  if (stats !== undefined) {
    if (mapped) stats.reuses++;
    else stats.maps++;
  }
  return true;
}
