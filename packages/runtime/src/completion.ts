/** `struct completion` (`include/linux/completion.h`, `kernel/sched/completion.c`). */
import type { Simulator } from "./simulator.js";
import { type WaitOptions, WaitQueue } from "./waitqueue.js";

const COMPLETE_ALL = Number.MAX_SAFE_INTEGER;

/**
 * `struct completion` (`kernel/sched/completion.c`): a one-shot (or counted) event that sleeping
 * contexts wait for — `wait_for_completion()`, `complete()`, `complete_all()`.
 */
export class Completion {
  private done = 0;
  private readonly wq: WaitQueue;

  constructor(
    sim: Simulator,
    readonly name = "completion",
  ) {
    this.wq = new WaitQueue(sim, name);
  }

  /** `complete()`: lets one waiter (present or future) through. */
  complete(): void {
    if (this.done !== COMPLETE_ALL) this.done++;
    this.wq.wakeUpAll();
  }

  /** `complete_all()`: lets every waiter through until `reinit()`. */
  completeAll(): void {
    this.done = COMPLETE_ALL;
    this.wq.wakeUpAll();
  }

  /** `reinit_completion()`. */
  reinit(): void {
    this.done = 0;
  }

  /** `completion_done()`: true if a wait would not sleep. */
  get isDone(): boolean {
    return this.done > 0;
  }

  /** `try_wait_for_completion()`: consumes a completion without sleeping; false if none. */
  tryWait(): boolean {
    if (this.done === 0) return false;
    if (this.done !== COMPLETE_ALL) this.done--;
    return true;
  }

  /**
   * `wait_for_completion_timeout()` and its interruptible/killable variants. Returns the
   * remaining time (≥ 1) or 0 on timeout; throws `ERESTARTSYS` if interrupted.
   */
  async wait(opts: WaitOptions = {}): Promise<number> {
    // The check and the consume must be one step, as `do_wait_for_common()` does them under the
    // wait-queue lock: every sleeper re-checks after `wakeUpAll()`, and if the count were only
    // decremented after the wait returned, all of them would see `done > 0` and pass on one
    // `complete()`. Every path that sees the condition true returns at once, so nothing is
    // consumed without the wait succeeding.
    return this.wq.waitEvent(() => this.tryWait(), opts, this.name);
  }
}
