/** Shared helpers of the drm-sched tests. */
import type { DmaFence } from "@drmsim/dma-fence";
import { HZ, jiffies, type Simulator } from "@drmsim/runtime";

/** One second of virtual time, as the KUnit tests' `HZ` jiffies. */
export const SEC = jiffies(HZ);

/** Sleeps the current task for `ns` (`msleep`). */
export async function sleepNs(sim: Simulator, ns: number): Promise<void> {
  const { WaitQueue } = await import("@drmsim/runtime");
  await new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

/** A fence's error, read through a reference the caller drops. */
export function errorOf(f: DmaFence): number {
  return f.error;
}
