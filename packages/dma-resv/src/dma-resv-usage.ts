/**
 * `enum dma_resv_usage` (`include/linux/dma-resv.h`): why a fence sits in a reservation object.
 *
 * The values are ordered: a query for usage U sees every fence with usage ≤ U. So a new reader
 * asks for WRITE (it must wait for writers), a new writer for READ (readers and writers), memory
 * management for BOOKKEEP (everything).
 */

/** `enum dma_resv_usage`. */
export const DmaResvUsage = {
  /** `DMA_RESV_USAGE_KERNEL`: kernel memory management (moves, clears); everyone waits for it. */
  KERNEL: 0,
  /** `DMA_RESV_USAGE_WRITE`: implicit-sync writers. */
  WRITE: 1,
  /** `DMA_RESV_USAGE_READ`: implicit-sync readers. */
  READ: 2,
  /** `DMA_RESV_USAGE_BOOKKEEP`: no implicit sync (explicitly synced submissions, preemption fences); only memory management waits. */
  BOOKKEEP: 3,
} as const;

/** A `DmaResvUsage` value. */
export type DmaResvUsage = (typeof DmaResvUsage)[keyof typeof DmaResvUsage];

const NAMES = ["kernel", "write", "read", "bookkeep"] as const;

/** The name `dma_resv_describe()` prints for a usage: `kernel`, `write`, `read`, `bookkeep`. */
export function dmaResvUsageName(usage: DmaResvUsage): string {
  return NAMES[usage] ?? `usage ${usage}`;
}

/**
 * `dma_resv_usage_rw(write)`: the usage to *wait* for before an implicitly synced access. A
 * writer waits for readers and writers (READ); a reader only for writers (WRITE).
 */
export function dmaResvUsageRw(write: boolean): DmaResvUsage {
  return write ? DmaResvUsage.READ : DmaResvUsage.WRITE;
}

/** True for one of the four usages (argument checking). */
export function isDmaResvUsage(u: unknown): u is DmaResvUsage {
  return u === 0 || u === 1 || u === 2 || u === 3;
}
