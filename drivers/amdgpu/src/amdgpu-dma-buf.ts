/**
 * dma-buf export and import (`amdgpu_dma_buf.c`).
 *
 * Exporter: a BO in VRAM is mapped as device memory for importers that allow peer-to-peer and sit
 * where PCI p2p works (`amdgpu_dma_buf_attach` clears `peer2peer` otherwise); for everyone else
 * it is migrated to GTT first (`amdgpu_dma_buf_map` validates to GTT when the importer cannot
 * reach VRAM). Static importers pin: a pin with a non-p2p importer moves the BO to GTT and keeps
 * it there. The migration is an SDMA copy whose fence is a KERNEL fence of the shared resv, so
 * the core's static-import map waits for it and dynamic importers sync with it.
 *
 * Importer: amdgpu imports dynamically (`amdgpu_dma_buf_attach_ops`: `allow_peer2peer`,
 * `invalidate_mappings`). The mapping is made lazily at CS time; when the exporter moves the
 * buffer, `invalidateMappings` drops it and the next CS maps again.
 */
import {
  type DmaBuf,
  type DmaBufAttachment,
  DmaDataDirection,
  dmaBufAttachP2pCheck,
  dmaBufMapPlacement,
} from "@drmsim/dma-buf";
import { DrmHookStage, type DrmHooks } from "@drmsim/drm";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_GEM_DOMAIN_GTT } from "./amdgpu-drm.js";
import { AmdgpuBo } from "./amdgpu-object.js";

/** The BO behind one of this device's exports, or undefined for any other dma-buf. */
function exportedBo(adev: AmdgpuDevice, buf: DmaBuf): AmdgpuBo | undefined {
  const bo = buf.priv;
  return bo instanceof AmdgpuBo && bo.adev === adev ? bo : undefined;
}

/** Moves a BO somewhere `att` can reach (resv held): GTT unless the attachment does p2p. */
function makeReachable(bo: AmdgpuBo, att: DmaBufAttachment): void {
  if (bo.domain === "vram" && !att.peer2peer) bo.adev.mman.moveToGttLocked(bo);
  else if (bo.domain === "cpu") bo.adev.mman.swapInLocked(bo);
}

/**
 * `amdgpu_dmabuf_ops` and `amdgpu_dma_buf_attach_ops` as taps of the device's hooks. Exports
 * are the core's (`drm_gem_prime_export` with these ops: the dma-buf holds a BO reference and
 * shares its resv); each op answers for amdgpu BOs only.
 */
export function amdgpuDmaBufApply(hooks: DrmHooks, adev: AmdgpuDevice, name: string): void {
  const d = hooks.dmaBuf;
  // amdgpu_dma_buf_attach: p2p only where the PCI topology allows it.
  d.attach.tap(name, (buf, att) => {
    if (exportedBo(adev, buf) === undefined) return undefined;
    dmaBufAttachP2pCheck(att, adev.dmaDev);
    return true;
  });
  // amdgpu_dma_buf_pin: a pinned BO must be where the importer can reach it, and stays there.
  d.pin.tap(name, (att) => {
    const bo = exportedBo(adev, att.dmabuf);
    if (bo === undefined) return undefined;
    makeReachable(bo, att);
    bo.pinCount++;
    return true;
  });
  d.unpin.tap(name, (att) => {
    const bo = exportedBo(adev, att.dmabuf);
    if (bo === undefined) return undefined;
    bo.pinCount--;
    return true;
  });
  // amdgpu_dma_buf_map: validated into a reachable domain unless pinned, then mapped as placed.
  d.mapDmaBuf.tap(name, (att) => {
    const bo = exportedBo(adev, att.dmabuf);
    if (bo === undefined) return undefined;
    if (bo.pinCount === 0) makeReachable(bo, att);
    return dmaBufMapPlacement(att, adev.dmaDev, bo.store);
  });
  d.unmapDmaBuf.tap(name, (att) => (exportedBo(adev, att.dmabuf) === undefined ? undefined : true));
  // The importer side: amdgpu imports dynamically and may DMA peer to peer.
  hooks.dmaBufAttach.allowPeer2peer.tap(name, () => true);
  hooks.dmaBufAttach.invalidateMappings.tap({ name, stage: DrmHookStage.DRIVER }, (att) => {
    if (att.importerPriv instanceof AmdgpuBo) amdgpuDmaBufInvalidateMappings(att.importerPriv, att);
  });
}

/**
 * `amdgpu_gem_prime_import`: our own export comes back as the same BO; a foreign buffer is
 * attached dynamically (the device's `dma_buf_attach_ops`) and wrapped in a BO sharing its resv
 * (mapped at first CS).
 */
export function amdgpuGemPrimeImport(adev: AmdgpuDevice, buf: DmaBuf): AmdgpuBo {
  const own = exportedBo(adev, buf);
  if (own !== undefined && adev.drm.ownsDmaBuf(buf)) {
    own.get();
    return own;
  }
  const bo = new AmdgpuBo(adev, buf.size, {
    domains: AMDGPU_GEM_DOMAIN_GTT,
    resv: buf.resv,
    label: `import:${buf.expName}`,
  });
  adev.drm.initGemObject(bo);
  try {
    bo.importAttach = buf.dynamicAttach(adev.dmaDev, adev.drm.dmaBufAttachOps(buf), bo);
    bo.importBuf = buf.get();
  } catch (e) {
    bo.put();
    throw e;
  }
  return bo;
}

/** `amdgpu_dma_buf_move_notify` (7.1: `invalidate_mappings`), resv held: drop the mapping. */
export function amdgpuDmaBufInvalidateMappings(bo: AmdgpuBo, att: DmaBufAttachment): void {
  const sgt = bo.importSgt;
  if (sgt === null) return;
  bo.importSgt = null;
  att.unmap(sgt, DmaDataDirection.BIDIRECTIONAL);
  bo.invalidations++;
}

/**
 * CS-time validation of an import (resv held): map again if the mapping was invalidated.
 * `ENODEV` once the exporter is gone, even with a mapping left: the job must not use it.
 */
export async function amdgpuDmaBufValidate(bo: AmdgpuBo): Promise<void> {
  const att = bo.importAttach;
  if (att === null) return;
  att.dmabuf.checkNotRevoked("AMDGPU_CS");
  if (bo.importSgt !== null) return;
  bo.importSgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
  bo.remaps++;
}
