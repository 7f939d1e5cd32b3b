/**
 * Userptr BOs and their MMU notifier (`amdgpu_hmm.c`, `amdgpu_ttm.c`'s userptr paths).
 *
 * A userptr BO is a range of a process's own memory the GPU uses. When the kernel's mm is about
 * to take the pages away (munmap, migration, swap), the range's interval notifier runs:
 * `amdgpu_hmm_invalidate_gfx` bumps the range's sequence number and waits for every fence of the
 * BO (BOOKKEEP: all GPU use) — which is why a fence that can take forever must never be on such
 * a BO. A CS that looked the pages up before an invalidation notices the changed sequence at its
 * point of no return and returns `EAGAIN`; userspace resubmits and the pages are looked up again.
 */

import { DmaResvUsage } from "@drmsim/dma-resv";
import type { DrmDevice } from "@drmsim/drm";
import { dmaFenceMightWait, mmuNotifierInvalidate, type Process, WaitQueue } from "@drmsim/runtime";
import { amdgpuDeviceOf } from "./amdgpu-device.js";
import type { AmdgpuBo } from "./amdgpu-object.js";

/** Live userptr BOs per device, for the notifier to find. */
const USERPTRS = new WeakMap<object, Set<AmdgpuBo>>();

/** @internal Registers a userptr BO with its device's notifier list (`mmu_interval_notifier_insert`). */
export function amdgpuHmmRegister(bo: AmdgpuBo): void {
  let set = USERPTRS.get(bo.adev);
  if (set === undefined) {
    set = new Set();
    USERPTRS.set(bo.adev, set);
  }
  set.add(bo);
}

/** @internal `amdgpu_hmm_unregister` (the BO is freed). */
export function amdgpuHmmUnregister(bo: AmdgpuBo): void {
  USERPTRS.get(bo.adev)?.delete(bo);
}

/**
 * `hmm_range_fault` for a userptr BO at CS time: returns the notifier sequence the pages were
 * looked up under (`mmu_interval_read_begin`), after the lookup's (simulated) time. The range
 * must be anonymous memory of the process (writable unless the BO is read-only): `EFAULT`
 * otherwise — nothing mapped there, or a device mapping. The GPU then reads and writes those very
 * pages, so it sees what the process wrote after the BO was created, and the process sees what
 * the GPU wrote.
 */
export async function amdgpuHmmRangeFault(bo: AmdgpuBo): Promise<number> {
  const u = bo.userptr!;
  const seq = u.seq;
  const t = bo.adev.config.userptrFaultNs;
  if (t > 0) await new WaitQueue(bo.adev.sim, "hmm_range_fault").waitEvent(() => false, { timeoutNs: t });
  u.proc.mm.userRegion(u.addr, u.size, !u.readonly);
  return seq;
}

/**
 * The mm side of an invalidation of `[start, start+length)` of `proc`'s address space (munmap,
 * page migration): runs `amdgpu_hmm_invalidate_gfx` for every userptr BO of the device overlapping
 * it. Inside the notifier section the sequence is bumped and the fence wait is announced (so the
 * validator sees mmu_notifier → fence waits, the documented direction); the wait itself then
 * completes before this returns, so the pages go only once the GPU is done with them. Must run in
 * a task. Returns the number of BOs invalidated.
 */
export async function amdgpuHmmInvalidateRange(
  dev: DrmDevice,
  proc: Process,
  start: number,
  length: number,
): Promise<number> {
  const adev = amdgpuDeviceOf(dev);
  const end = start + length;
  const hits = [...(USERPTRS.get(adev) ?? [])].filter((bo) => {
    const u = bo.userptr!;
    return u.proc === proc && u.addr < end && start < u.addr + u.size;
  });
  mmuNotifierInvalidate(adev.sim, () => {
    for (const bo of hits) {
      bo.userptr!.seq++;
      dmaFenceMightWait(adev.sim, "amdgpu_hmm_invalidate_gfx");
    }
  });
  for (const bo of hits) await bo.resv.waitTimeout(DmaResvUsage.BOOKKEEP);
  return hits.length;
}
