/**
 * `struct hl_fence` (`drivers/accel/habanalabs/common/habanalabs.h`): what userspace waits on
 * for one command submission — a completion, a reference count, the CS sequence number, the
 * error the CS ended with and the time it ended.
 *
 * Why not a `DmaFence`: seed 000. dma_fence is a cross-driver contract (bounded signalling, no
 * allocation or fence waits in the signalling path, error ladders), and habanalabs never shares
 * its CS completions with another driver — no dma-resv, no sync_file, no syncobj. The 2020 patch
 * "habanalabs: Replace dma-fence mechanism with completions" followed the review's advice: a
 * completion that can never block a dma_fence is "just another wait_queue somewhere". So this
 * is a runtime `Completion`; waits show up in deadlock reports as waits on it, and nothing here
 * is subject to (or pretends to follow) the dma_fence rules.
 */
import { Completion, RefCounted, type Simulator } from "@drmsim/runtime";
import type { HlHwSob } from "./sync-stream.js";

/** `enum hl_cs_type`, the kinds drmsim models. */
export type HlCsType = "default" | "signal" | "wait";

/** `struct hl_fence`. Created with one reference, owned by the context's `cs_pending` ring. */
export class HlFence extends RefCounted {
  /**
   * `hl_cs_compl->hw_sob` / `sob_val` of a signal CS: the sync object its job increments and the
   * value that brings it to — what a wait CS on it watches for. Null for other CSs.
   */
  sobSignal: { readonly sob: HlHwSob; readonly val: number } | null = null;
  /** `fence->completion`: completed (for all waiters) once the CS finished or failed. */
  readonly completion: Completion;
  /** `fence->error`: 0, `-ETIMEDOUT` (timeout detection), `-EIO` (aborted by a reset) or `-EBUSY` (never submitted). */
  error = 0;
  /** `fence->timestamp`: virtual ns at completion, -1 before. */
  timestamp = -1;

  constructor(
    sim: Simulator,
    /** `fence->cs_sequence`. */
    readonly csSequence: number,
    /** The owning context's id (`ctx->asid`), for reports. */
    readonly asid: number,
    /** `hl_cs_compl->type`. */
    readonly csType: HlCsType = "default",
  ) {
    super(sim);
    this.completion = new Completion(sim, `hl_fence ${asid}.${csSequence}`);
  }

  /** `completion_done(&fence->completion)`. */
  get done(): boolean {
    return this.completion.isDone;
  }

  /**
   * `complete_all()` with the error and timestamp set first (the kernel orders the stores before
   * the completion, so a woken waiter always reads the final error). Completing twice is a
   * driver bug and is refused silently: the first answer stands.
   */
  signal(sim: Simulator, error = 0): void {
    if (this.done) return;
    this.error = error;
    this.timestamp = sim.now;
    this.completion.completeAll();
  }

  describe(): string {
    return `hl_fence ${this.asid}.${this.csSequence}`;
  }

  protected release(): void {}
}
