/**
 * The host-side wait on several syncobjs (`drm_syncobj_array_wait_timeout`): what
 * `DRM_IOCTL_SYNCOBJ_WAIT` and `DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT` do.
 *
 * Every syncobj is looked at once up front, so a missing fence is `EINVAL` before any sleep
 * (unless the caller asked to wait for submission or availability). Then the calling process
 * sleeps, interruptibly, woken by fence callbacks and — with WAIT_FOR_SUBMIT or WAIT_AVAILABLE —
 * by points appearing on the syncobjs (the kernel watches for new points under either flag since
 * "drm/syncobj: call drm_syncobj_fence_add_wait when WAIT_AVAILABLE flag is set"). The timeout is an absolute time on the simulator clock; 0 polls.
 */
import type { DmaFence, DmaFenceCb } from "@drmsim/dma-fence";
import { KernelError, type Simulator, uapiNsToNumber } from "@drmsim/runtime";
import { assertNoLocksHeld, type DrmSyncobj, PointWaiter, type SyncobjWaitEntry } from "./drm-syncobj.js";
import {
  DRM_SYNCOBJ_NO_INDEX,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
} from "./uapi.js";

/**
 * `drm_timeout_abs_to_jiffies()`, in ns: the absolute deadline of a wait whose uAPI timeout is
 * `timeoutNsec` (a `__s64` on CLOCK_MONOTONIC, the simulator's clock). 0 means "poll" (the
 * deadline is now); a time already past also polls; `INT64_MAX` — what userspace passes for
 * "forever" — and anything else past 2^53 ns is beyond any simulated time: no timer at all.
 */
export function drmTimeoutAbsToDeadline(sim: Simulator, timeoutNsec: bigint): number {
  if (timeoutNsec === 0n) return sim.now;
  return Math.max(sim.now, uapiNsToNumber(timeoutNsec));
}

interface WaitEntry extends SyncobjWaitEntry {
  cb: DmaFenceCb | null;
  cbFence: DmaFence | null;
}

/**
 * `drm_syncobj_array_wait_timeout()`: waits on `syncobjs` at `points` (null: all 0). Returns the
 * index of a signalled syncobj for WAIT_ANY, or the first one found signalled up front, else
 * `DRM_SYNCOBJ_NO_INDEX`. Throws `EINVAL` (a fence/point missing without FOR_SUBMIT/AVAILABLE),
 * `ETIME` (the deadline passed), `ERESTARTSYS` (a signal), `EDEADLK` (FOR_SUBMIT or AVAILABLE
 * with locks held, reported: both wait for userspace to submit). `deadlineHintNs`, if given, is passed to every fence present up front.
 */
export async function drmSyncobjArrayWait(
  sim: Simulator,
  syncobjs: readonly DrmSyncobj[],
  points: readonly bigint[] | null,
  flags: number,
  deadlineNs: number,
  deadlineHintNs?: number,
): Promise<number> {
  const count = syncobjs.length;
  const waitAll = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL) !== 0;
  const forSubmit = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) !== 0;
  const available = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) !== 0;
  // Both flags may wait for another thread to submit, so both must be called with no lock held.
  if (forSubmit || available) assertNoLocksHeld(sim, `drm_syncobj_array_wait(${count} syncobjs)`);
  const waiter = new PointWaiter(
    sim,
    `${waitAll ? "all" : "any"} of ${syncobjs.map((s, i) => `${s.describe()}@${points?.[i] ?? 0}`).join(", ")} ` +
      (available ? "to be available" : forSubmit ? "to be submitted and signal" : "to signal"),
    syncobjs.map((syncobj, i) => ({ syncobj, point: points?.[i] ?? 0n })),
    waitAll,
  );
  const entries: WaitEntry[] = [];
  let idx = DRM_SYNCOBJ_NO_INDEX;
  try {
    let signaledCount = 0;
    for (let i = 0; i < count; i++) {
      const point = points?.[i] ?? 0n;
      const entry: WaitEntry = { point, fence: null, wake: () => waiter.wake(), cb: null, cbFence: null };
      entries.push(entry);
      const f = syncobjs[i]!.lookup(point);
      if (f === null) {
        if (forSubmit || available) continue;
        throw new KernelError(
          "EINVAL",
          `${syncobjs[i]!.describe()} has no fence for point ${point} (and WAIT_FOR_SUBMIT was not set)`,
        );
      }
      entry.fence = f;
      if (available || f.isSignaled()) {
        if (signaledCount === 0) idx = i;
        signaledCount++;
      }
    }
    if (signaledCount === count || (signaledCount > 0 && !waitAll)) return idx;

    if (deadlineHintNs !== undefined)
      for (const e of entries) if (e.fence !== null) e.fence.setDeadline(deadlineHintNs);

    // A point that is not there yet is watched for under either flag; without this an AVAILABLE
    // wait on a future point could only time out.
    if (forSubmit || available) for (let i = 0; i < count; i++) syncobjs[i]!.addWait(entries[i]!);

    for (;;) {
      signaledCount = 0;
      for (let i = 0; i < count; i++) {
        const e = entries[i]!;
        const f = e.fence;
        if (f === null) continue;
        let done = available || f.isSignaled();
        if (!done && e.cb === null) {
          const cb: DmaFenceCb = { func: () => waiter.wake() };
          if (f.addCallback(cb) === 0) {
            e.cb = cb;
            e.cbFence = f;
          } else done = true;
        }
        if (done) {
          if (!waitAll) return i;
          signaledCount++;
        }
      }
      if (signaledCount === count) return idx;
      if (sim.now >= deadlineNs) throw new KernelError("ETIME", `timed out waiting for ${waiter.describe()}`);
      await waiter.sleep(deadlineNs);
    }
  } finally {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      syncobjs[i]!.removeWait(e);
      if (e.cb !== null) e.cbFence!.removeCallback(e.cb);
      e.fence?.put();
    }
  }
}
