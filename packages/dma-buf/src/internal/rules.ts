/**
 * The dma-buf locking convention and misuse checks, reported to the validator in one place so
 * every entry point words them the same way.
 */
import type { DmaResv } from "@drmsim/dma-resv";
import { type ErrnoName, frameList, KernelError, type Simulator } from "@drmsim/runtime";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A dma-buf entry point called with the reservation lock in the wrong state (the DOC "locking convention"). */
    "dma-buf-locking": true;
    /** A dma-buf API used against its contract: double unmap, detach with live mappings, pin on a static attachment … */
    "dma-buf-misuse": true;
    /**
     * An exporter's `map_dma_buf` returned a scatter list with a segment longer than the
     * importer's `dma_get_max_seg_size()` (seed 003: split by a hard-coded size, not the importer's).
     */
    "dma-buf-sg-exceeds-max-segment": true;
  }
}

export const LOCKING_WHY =
  "dma-buf locking convention (drivers/dma-buf/dma-buf.c): importers hold the reservation lock " +
  "for pin/unpin, map/unmap and vmap/vunmap of an attachment, and must not hold it for " +
  "attach/detach, export/fd/get/put, mmap and begin/end_cpu_access, or the *_unlocked variants — " +
  "those take it themselves. Exporters run their pin/unpin/map/unmap/vmap/vunmap ops and call " +
  "invalidate_mappings with it held.";

/** True if the current context holds `resv`'s lock. */
export function resvHeld(resv: DmaResv): boolean {
  return resv.isLockedByCurrent;
}

/** Reports `dma-buf-locking` and refuses the call unless the lock state is `mustHold`. */
export function checkResvLock(sim: Simulator, resv: DmaResv, op: string, mustHold: boolean): void {
  const held = resvHeld(resv);
  if (held === mustHold) return;
  const ctx = sim.current;
  sim.validator.report({
    kind: "dma-buf-locking",
    title: mustHold
      ? `${op} without the dma-buf's reservation lock held`
      : `${op} with the dma-buf's reservation lock held (it takes the lock itself)`,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    held: sim.validator.describeHeld(ctx),
    explanation: LOCKING_WHY,
  });
  throw new KernelError(
    mustHold ? "EINVAL" : "EDEADLK",
    mustHold
      ? `${op} requires the caller to hold the dma-buf's reservation lock`
      : `${op} must be called without the dma-buf's reservation lock (it would deadlock taking it)`,
  );
}

/** Reports `dma-buf-misuse` and throws `KernelError(code)`; nothing was changed by the caller yet. */
export function misuse(sim: Simulator, code: ErrnoName, title: string, explanation: string): never {
  const ctx = sim.current;
  sim.validator.report({
    kind: "dma-buf-misuse",
    title,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    explanation,
  });
  throw new KernelError(code, title);
}
