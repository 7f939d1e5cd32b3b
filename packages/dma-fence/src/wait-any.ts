/** `dma_fence_wait_any_timeout()`. */
import { KernelError, MAX_SCHEDULE_TIMEOUT } from "@drmsim/runtime";
import type { DmaFence, DmaFenceCb, DmaFenceWaitOptions } from "./dma-fence.js";

/** What `dmaFenceWaitAny` returns. */
export interface WaitAnyResult {
  /** Remaining time (> 0), 1 for a zero timeout when one had signalled, 0 on timeout. */
  ret: number;
  /** Index of the first signalled fence, when `ret > 0`. */
  index: number;
}

/**
 * `dma_fence_wait_any_timeout(fences, count, intr, timeout, &idx)`: sleeps until any fence
 * signals. `EINVAL` for an empty list or a negative timeout; `ERESTARTSYS` when interrupted.
 */
export async function dmaFenceWaitAny(
  fences: readonly DmaFence[],
  opts: DmaFenceWaitOptions = {},
): Promise<WaitAnyResult> {
  const timeout = opts.timeoutNs ?? MAX_SCHEDULE_TIMEOUT;
  if (fences.length === 0) throw new KernelError("EINVAL", "dma_fence_wait_any_timeout: no fences");
  if (!(timeout >= 0))
    throw new KernelError("EINVAL", `dma_fence_wait_any_timeout: negative timeout ${timeout}`);
  const sim = fences[0]!.sim;
  const first = (): number => fences.findIndex((f) => f.isSignaled());
  const op = "dma_fence_wait_any_timeout";
  sim.validator.mightSleep(op);
  sim.validator.mightWaitFence(op);
  let idx = first();
  if (timeout === 0) return idx >= 0 ? { ret: 1, index: idx } : { ret: 0, index: -1 };
  if (idx >= 0) return { ret: timeout, index: idx };
  const intr = opts.interruptible === true;
  const ctx = sim.current;
  if (intr && ctx.signalPending) {
    ctx.signalPending = false;
    throw new KernelError("ERESTARTSYS", `${op} interrupted by a signal`);
  }
  const deadline = timeout >= MAX_SCHEDULE_TIMEOUT ? Number.POSITIVE_INFINITY : sim.now + timeout;
  const sleeper = sim.sleep(
    { kind: "dma_fence", what: `any of ${fences.length} fences`, object: [...fences] },
    { op, deadlineNs: deadline, wakeOn: intr ? "interruptible" : "none" },
  );
  const cbs: [DmaFence, DmaFenceCb][] = [];
  for (const f of fences) {
    const cb: DmaFenceCb = { func: () => sleeper.wake("woken") };
    if (f.addCallback(cb) === 0) cbs.push([f, cb]);
    else sleeper.wake("woken");
  }
  const why = await sleeper.promise;
  for (const [f, cb] of cbs) f.removeCallback(cb);
  if (why === "signal") {
    ctx.signalPending = false;
    throw new KernelError("ERESTARTSYS", `${op} interrupted by a signal`);
  }
  idx = first();
  if (idx < 0) return { ret: 0, index: -1 };
  return {
    ret: deadline === Number.POSITIVE_INFINITY ? MAX_SCHEDULE_TIMEOUT : Math.max(1, deadline - sim.now),
    index: idx,
  };
}
