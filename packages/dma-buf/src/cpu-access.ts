/**
 * CPU access to a shared buffer against its fences: the implicit-sync rule for the CPU.
 *
 * A CPU read must come after every device write of the buffer (its `WRITE`-usage fences), a CPU
 * write after every device access (`READ` usage: readers and writers) — exactly what
 * `dma_buf_begin_cpu_access` waits for (`dma_resv_usage_rw`), and what `DMA_BUF_IOCTL_SYNC` with
 * `DMA_BUF_SYNC_START` or `poll()` on the dma-buf fd lets userspace wait for. The kernel cannot
 * see a process that skips the wait: its loads and stores go straight to the pages. drmsim owns
 * the device timeline, so every access through a CPU mapping checks it, and one that races a
 * device is reported (`cpu-access-during-dma`) before it happens.
 */
import { type DmaResv, DmaResvIter, dmaResvUsageRw } from "@drmsim/dma-resv";
import { frameList, type Simulator, type VmOperations } from "@drmsim/runtime";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * A CPU load from a buffer a device is still writing, or a CPU store to one a device is still
     * using, without waiting for its fences (`DMA_BUF_IOCTL_SYNC`, poll): a data race the kernel
     * cannot detect.
     */
    "cpu-access-during-dma": true;
  }
}

const USAGE_NAME = ["KERNEL", "WRITE", "READ", "BOOKKEEP"];

/**
 * Reports `cpu-access-during-dma` if a CPU access of `what` (`write` or read) through a mapping
 * would race a fence of `resv` it must wait for. Returns true if it did (in `collect` mode the
 * access then goes ahead, as the racing CPU's would).
 */
export function dmaResvCheckCpuAccess(sim: Simulator, resv: DmaResv, write: boolean, what: string): boolean {
  const usage = dmaResvUsageRw(write);
  if (resv.testSignaled(usage)) return false;
  let pending = "a fence";
  const it = new DmaResvIter(resv, usage);
  try {
    const f = it.firstUnlocked();
    if (f !== null) pending = `${f.describe()} (${USAGE_NAME[it.currentUsage]} usage)`;
  } finally {
    it.end();
  }
  const ctx = sim.current;
  sim.validator.report({
    kind: "cpu-access-during-dma",
    title: `CPU ${write ? "write to" : "read of"} ${what} while ${pending} has not signalled`,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    explanation: write
      ? "A CPU write must wait until no device reads or writes the buffer any more (its READ-usage fences): bracket CPU access with DMA_BUF_IOCTL_SYNC (DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE … DMA_BUF_SYNC_END), or poll the dma-buf fd for EPOLLOUT. Otherwise the device may read half-written data."
      : "A CPU read must wait until the devices writing the buffer are done (its WRITE-usage fences): bracket CPU access with DMA_BUF_IOCTL_SYNC (DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ … DMA_BUF_SYNC_END), or poll the dma-buf fd for EPOLLIN. Otherwise the CPU reads what the device has not written yet.",
  });
  return true;
}

/**
 * `vmOps` that check every access against `resv` first (`dmaResvCheckCpuAccess`) and run
 * `guard` (which throws when the memory is gone), then go to `inner`.
 */
export function vmOpsCheckingFences(
  sim: Simulator,
  resv: DmaResv,
  what: () => string,
  inner: VmOperations,
  guard?: () => void,
): VmOperations {
  return {
    read(offset, length) {
      guard?.();
      dmaResvCheckCpuAccess(sim, resv, false, what());
      return inner.read(offset, length);
    },
    write(offset, bytes) {
      guard?.();
      dmaResvCheckCpuAccess(sim, resv, true, what());
      inner.write(offset, bytes);
    },
    close() {
      inner.close?.();
    },
  };
}
