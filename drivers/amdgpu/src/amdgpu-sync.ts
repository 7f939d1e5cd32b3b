/**
 * `amdgpu_sync` (`amdgpu_sync.c`): the set of fences a submission or page-table update must wait
 * for, one per fence context (the later one kept), and the rules for which fences of a
 * reservation object count.
 *
 * Those rules are amdgpu's implicit sync. Each scheduler fence carries its job's *owner* — the
 * VM of the file that submitted it, `AMDGPU_FENCE_OWNER_VM` for page-table updates, nobody
 * (`AMDGPU_FENCE_OWNER_UNDEFINED`) for the kernel's buffer moves. A CS syncs to a BO's KERNEL,
 * WRITE and READ fences in mode `NE_OWNER`: every fence except those of its *own* VM on this
 * device (the process orders its own work explicitly) and page-table updates; a BO created with
 * `AMDGPU_GEM_CREATE_EXPLICIT_SYNC` is `EXPLICIT`: only fences with no owner (moves, other
 * drivers' plain fences) count. Moves are always waited for.
 */
import { type DmaFence, dmaFenceIsLater } from "@drmsim/dma-fence";
import { type DmaResv, DmaResvIter, DmaResvUsage, dmaResvForEachFence } from "@drmsim/dma-resv";
import { type DrmSchedJob, toDrmSchedFence } from "@drmsim/drm-sched";
import type { AmdgpuDevice } from "./amdgpu-device.js";

/** `AMDGPU_FENCE_OWNER_UNDEFINED`: a fence nobody in particular owns (a move); always synced to. */
export const AMDGPU_FENCE_OWNER_UNDEFINED = null;
/** `AMDGPU_FENCE_OWNER_VM`: the owner of page-table updates, which CS never syncs to implicitly. */
export const AMDGPU_FENCE_OWNER_VM: unique symbol = Symbol("AMDGPU_FENCE_OWNER_VM");

/** `enum amdgpu_sync_mode`. */
export const AmdgpuSyncMode = {
  /** `AMDGPU_SYNC_ALWAYS`. */
  ALWAYS: 0,
  /** `AMDGPU_SYNC_NE_OWNER`: skip this device's fences of the same owner. */
  NE_OWNER: 1,
  /** `AMDGPU_SYNC_EQ_OWNER`: only this device's fences of the same owner (and ownerless ones). */
  EQ_OWNER: 2,
  /** `AMDGPU_SYNC_EXPLICIT`: only ownerless fences. */
  EXPLICIT: 3,
} as const;
/** An `AmdgpuSyncMode` value. */
export type AmdgpuSyncMode = (typeof AmdgpuSyncMode)[keyof typeof AmdgpuSyncMode];

/** `amdgpu_sync_get_owner`: a scheduler fence's owner, else undefined-owner. */
export function amdgpuSyncGetOwner(f: DmaFence): unknown {
  return toDrmSchedFence(f)?.owner ?? AMDGPU_FENCE_OWNER_UNDEFINED;
}

/** `amdgpu_sync_same_dev`: a scheduler fence of one of `adev`'s rings. */
export function amdgpuSyncSameDev(adev: AmdgpuDevice, f: DmaFence): boolean {
  const s = toDrmSchedFence(f);
  return s !== null && adev.ownsSched(s.sched);
}

/** `amdgpu_sync_test_fence`: whether a submission owned by `owner` syncs to `f` in `mode`. */
export function amdgpuSyncTestFence(
  adev: AmdgpuDevice,
  mode: AmdgpuSyncMode,
  owner: unknown,
  f: DmaFence,
): boolean {
  const fenceOwner = amdgpuSyncGetOwner(f);
  if (fenceOwner === AMDGPU_FENCE_OWNER_UNDEFINED) return true;
  if (fenceOwner === AMDGPU_FENCE_OWNER_VM && owner !== AMDGPU_FENCE_OWNER_UNDEFINED) return false;
  switch (mode) {
    case AmdgpuSyncMode.ALWAYS:
      return true;
    case AmdgpuSyncMode.NE_OWNER:
      return !(amdgpuSyncSameDev(adev, f) && fenceOwner === owner);
    case AmdgpuSyncMode.EQ_OWNER:
      return !(amdgpuSyncSameDev(adev, f) && fenceOwner !== owner);
    default:
      return false;
  }
}

/** `struct amdgpu_sync`: fences to wait for, the latest per context (each a reference). */
export class AmdgpuSync {
  private readonly fences = new Map<number, DmaFence>();

  /** `amdgpu_sync_fence`: remember `f` (a new reference), keeping the later fence of its context. */
  add(f: DmaFence | null): void {
    if (f === null) return;
    const prev = this.fences.get(f.context);
    if (prev !== undefined && (prev === f || !dmaFenceIsLater(f, prev))) return;
    this.fences.set(f.context, f.get());
    prev?.put();
  }

  /**
   * `amdgpu_sync_resv`: the fences of `resv` up to `usage` (default READ: KERNEL, WRITE and READ —
   * never BOOKKEEP) that `mode` keeps for `owner`. The reservation lock must be held.
   */
  addResv(
    adev: AmdgpuDevice,
    resv: DmaResv,
    mode: AmdgpuSyncMode,
    owner: unknown,
    usage: DmaResvUsage = DmaResvUsage.READ,
  ): void {
    for (const f of dmaResvForEachFence(new DmaResvIter(resv, usage)))
      if (amdgpuSyncTestFence(adev, mode, owner, f)) this.add(f);
  }

  /** The fences not signalled yet. */
  pending(): DmaFence[] {
    return [...this.fences.values()].filter((f) => !f.isSignaled());
  }

  /** `amdgpu_sync_push_to_job`: every unsignalled fence becomes a dependency of `job`. */
  pushTo(job: DrmSchedJob): void {
    for (const f of this.pending()) job.addDependency(f.get());
  }

  /** `amdgpu_sync_free`. */
  free(): void {
    for (const f of this.fences.values()) f.put();
    this.fences.clear();
  }
}
