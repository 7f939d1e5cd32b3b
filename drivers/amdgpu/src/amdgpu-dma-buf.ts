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
  type DmaBufOps,
  DmaDataDirection,
  dmaBufAttachP2pCheck,
  dmaBufExport,
  dmaBufMapPlacement,
} from "@drmsim/dma-buf";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import { AMDGPU_GEM_DOMAIN_GTT } from "./amdgpu-drm.js";
import { AmdgpuBo } from "./amdgpu-object.js";

function boOf(buf: DmaBuf): AmdgpuBo {
  return buf.priv as AmdgpuBo;
}

/** Moves a BO somewhere `att` can reach (resv held): GTT unless the attachment does p2p. */
function makeReachable(bo: AmdgpuBo, att: DmaBufAttachment): void {
  if (bo.domain === "vram" && !att.peer2peer) bo.adev.mman.moveToGttLocked(bo);
  else if (bo.domain === "cpu") bo.adev.mman.swapInLocked(bo);
}

/** `amdgpu_dmabuf_ops`. */
export const amdgpuDmaBufOps: DmaBufOps = {
  attach: (buf, att) => {
    dmaBufAttachP2pCheck(att, boOf(buf).adev.dmaDev);
  },
  pin: (att) => {
    const bo = boOf(att.dmabuf);
    makeReachable(bo, att);
    bo.pinCount++;
  },
  unpin: (att) => {
    boOf(att.dmabuf).pinCount--;
  },
  mapDmaBuf: (att, _dir) => {
    const bo = boOf(att.dmabuf);
    if (bo.pinCount === 0) makeReachable(bo, att);
    return dmaBufMapPlacement(att, bo.adev.dmaDev, bo.store.placement);
  },
  unmapDmaBuf: () => {},
  release: (buf) => {
    boOf(buf).put();
  },
};

/** `amdgpu_gem_prime_export`: a dma-buf sharing the BO's resv; holds a BO reference. */
export function amdgpuGemPrimeExport(bo: AmdgpuBo, flags: number): DmaBuf {
  const buf = dmaBufExport(bo.sim, {
    ops: amdgpuDmaBufOps,
    size: bo.size,
    priv: bo,
    resv: bo.resv,
    flags,
    name: "amdgpu",
  });
  bo.get();
  return buf;
}

/**
 * `amdgpu_gem_prime_import`: our own export comes back as the same BO; a foreign buffer is
 * attached dynamically and wrapped in a BO sharing its resv (mapped at first CS).
 */
export function amdgpuGemPrimeImport(adev: AmdgpuDevice, buf: DmaBuf): AmdgpuBo {
  if (buf.ops === amdgpuDmaBufOps && boOf(buf).adev === adev) {
    const bo = boOf(buf);
    bo.get();
    return bo;
  }
  const bo = new AmdgpuBo(adev, buf.size, {
    domains: AMDGPU_GEM_DOMAIN_GTT,
    resv: buf.resv,
    label: `import:${buf.expName}`,
  });
  adev.drm.initGemObject(bo);
  try {
    const att = buf.dynamicAttach(
      adev.dmaDev,
      { allowPeer2peer: true, invalidateMappings: (a) => amdgpuDmaBufInvalidateMappings(bo, a) },
      bo,
    );
    bo.importAttach = att;
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

/** CS-time validation of an import (resv held): map again if the mapping was invalidated. */
export async function amdgpuDmaBufValidate(bo: AmdgpuBo): Promise<void> {
  const att = bo.importAttach;
  if (att === null || bo.importSgt !== null) return;
  bo.importSgt = await att.map(DmaDataDirection.BIDIRECTIONAL);
  bo.remaps++;
}
