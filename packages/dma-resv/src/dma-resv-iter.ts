/**
 * `struct dma_resv_iter` (`include/linux/dma-resv.h`, `drivers/dma-buf/dma-resv.c`): a cursor
 * over the fences of a reservation object, in the kernel's two flavours.
 *
 * - **Locked** (`first`/`next`, `dma_resv_for_each_fence`): the caller holds the lock, so the
 *   list cannot change. Slot order, every fence with usage ≤ the cursor's — signalled ones too —
 *   and no references taken.
 * - **Unlocked** (`firstUnlocked`/`nextUnlocked`, `dma_resv_for_each_fence_unlocked`): no lock,
 *   so the list may change between two steps (the kernel reads it under RCU). The cursor skips
 *   signalled fences, holds a reference to the fence it returned until the next step or `end()`,
 *   and starts over when the object changed underneath (its sequence count moved): whatever the
 *   caller gathered so far must then be thrown away — `isRestarted()` says so.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import type { DmaResv } from "./dma-resv.js";
import type { DmaResvUsage } from "./dma-resv-usage.js";

/**
 * `struct dma_resv_iter`. `new DmaResvIter(resv, usage)` is `dma_resv_iter_begin`; call `end()`
 * after an unlocked walk to drop the reference to the last fence.
 */
export class DmaResvIter {
  /** The current fence, or null before the first step and after the last. */
  fence: DmaFence | null = null;
  private fenceUsage: DmaResvUsage = 0;
  private index = 0;
  private seq = -1;
  private numFences = 0;
  private restarted = false;
  private unlocked = false;

  constructor(
    /** `dma_resv_iter.obj`. */
    readonly obj: DmaResv,
    /** `dma_resv_iter.usage`: return fences with usage ≤ this. */
    readonly usage: DmaResvUsage,
  ) {}

  /** `dma_resv_iter_usage()`: the usage of the current fence. */
  get currentUsage(): DmaResvUsage {
    return this.fenceUsage;
  }

  /** `dma_resv_iter_is_restarted()`: true on the first fence after the walk (re)started. */
  isRestarted(): boolean {
    return this.restarted;
  }

  /** `dma_resv_iter_first()`: the first fence, with the lock held. No reference is taken. */
  first(): DmaFence | null {
    this.assertHeld("dma_resv_iter_first");
    this.index = 0;
    this.restarted = true;
    return this.walkLocked();
  }

  /** `dma_resv_iter_next()`: the next fence, with the lock held. */
  next(): DmaFence | null {
    this.assertHeld("dma_resv_iter_next");
    this.restarted = false;
    return this.walkLocked();
  }

  /** `dma_resv_iter_first_unlocked()`: the first unsignalled fence, with a reference held by the cursor. */
  firstUnlocked(): DmaFence | null {
    this.unlocked = true;
    do {
      this.restartUnlocked();
      this.walkUnlocked();
    } while (this.obj.seq !== this.seq);
    return this.fence;
  }

  /**
   * `dma_resv_iter_next_unlocked()`: the next unsignalled fence. Starts over (and sets
   * `isRestarted()`) if the object changed since the previous step.
   */
  nextUnlocked(): DmaFence | null {
    this.restarted = false;
    let restart = this.obj.seq !== this.seq;
    do {
      if (restart) this.restartUnlocked();
      this.walkUnlocked();
      restart = true;
    } while (this.obj.seq !== this.seq);
    return this.fence;
  }

  /** `dma_resv_iter_end()`: drops the reference an unlocked walk holds to its current fence. */
  end(): void {
    if (this.unlocked && this.fence !== null) this.fence.put();
    this.fence = null;
    this.unlocked = false;
  }

  private assertHeld(op: string): void {
    const obj = this.obj;
    if (!obj.mutex.isHeldByCurrent) obj.reportNotLocked(op);
  }

  private walkLocked(): DmaFence | null {
    const obj = this.obj;
    const n = obj.numFences;
    while (this.index < n) {
      const i = this.index++;
      const u = obj.usages[i]! as DmaResvUsage;
      if (u <= this.usage) {
        this.fenceUsage = u;
        this.fence = obj.fences[i]!;
        return this.fence;
      }
    }
    this.fence = null;
    return null;
  }

  private restartUnlocked(): void {
    this.index = 0;
    this.seq = this.obj.seq;
    this.numFences = this.obj.numFences;
    this.restarted = true;
  }

  private walkUnlocked(): void {
    const obj = this.obj;
    for (;;) {
      if (this.fence !== null) this.fence.put();
      this.fence = null;
      if (this.index >= this.numFences) return;
      const i = this.index++;
      const f = obj.fences[i];
      if (f === undefined || obj.seq !== this.seq) {
        // The list changed while we walked (a callback ran); the caller's loop starts over.
        return;
      }
      if (!f.getUnlessZero()) {
        this.restartUnlocked();
        continue;
      }
      this.fence = f;
      this.fenceUsage = obj.usages[i]! as DmaResvUsage;
      if (this.fenceUsage <= this.usage && !f.isSignaled()) return;
    }
  }
}

/**
 * `dma_resv_for_each_fence(cursor, obj, usage, fence)`: the locked walk as a generator. The lock
 * must be held for the whole loop.
 */
export function* dmaResvForEachFence(cursor: DmaResvIter): Generator<DmaFence, void, undefined> {
  for (let f = cursor.first(); f !== null; f = cursor.next()) yield f;
}

/**
 * `dma_resv_for_each_fence_unlocked(cursor, fence)`: the unlocked walk as a generator. Check
 * `cursor.isRestarted()` in the body and discard what was gathered when it is true; call
 * `cursor.end()` after the loop (also after a `break`).
 */
export function* dmaResvForEachFenceUnlocked(cursor: DmaResvIter): Generator<DmaFence, void, undefined> {
  for (let f = cursor.firstUnlocked(); f !== null; f = cursor.nextUnlocked()) yield f;
}
