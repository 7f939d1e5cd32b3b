/**
 * `struct ww_acquire_ctx` (`include/linux/ww_mutex.h`): the ticket a task holds while it takes a
 * set of wound/wait mutexes in any order. The ticket's stamp orders contexts by age: under
 * Wait-Die an older context waits for a younger holder, a younger one that already holds locks
 * must back off (`-EDEADLK`), drop everything and retry — so a lock-order cycle cannot form.
 *
 * The validator sees the context as a held pseudo-lock from `ww_acquire_init` to
 * `ww_acquire_fini`, as lockdep does, and every mutex taken under it nests under it.
 */
import { type ExecutionContext, frameList, KernelError, type Simulator } from "@drmsim/runtime";
import type { WwClass } from "./ww-class.js";
import type { WwMutex } from "./ww-mutex.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * A ww_mutex / ww_acquire_ctx rule broken: locking something else than the contended lock
     * after `-EDEADLK`, locking again before dropping every lock, `lock_slow` without a preceding
     * `-EDEADLK`, locking after `ww_acquire_done`, mixing ww classes, `ww_acquire_fini` with locks
     * still held or twice.
     */
    "ww-mutex-misuse": true;
  }
}

/** Reports a ww_mutex rule violation and refuses the call (the kernel only warns; we keep state intact). */
export function wwMisuse(sim: Simulator, title: string, explanation: string): never {
  const ctx = sim.current;
  sim.validator.report({
    kind: "ww-mutex-misuse",
    title,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    held: sim.validator.describeHeld(ctx),
    explanation,
  });
  throw new KernelError("EINVAL", title);
}

/**
 * `struct ww_acquire_ctx`. `new WwAcquireCtx(sim, wwClass)` is `ww_acquire_init`: it stamps a
 * ticket from the class's counter (per simulator, so runs repeat) — a lower stamp is older and
 * wins. Finish with `done()` (optional) and `fini()`, in the same task.
 */
export class WwAcquireCtx {
  /** `ww_acquire_ctx.stamp`: the ticket. Lower is older. */
  readonly stamp: number;
  /** `ww_acquire_ctx.acquired`: how many mutexes this context holds now. */
  acquired = 0;
  /** `ww_acquire_ctx.done_acquire`: `done()` was called; no more locking. */
  isDone = false;
  /** `ww_acquire_fini` was called. */
  isFinished = false;
  /**
   * `ww_acquire_ctx.contending_lock`: the mutex that returned `-EDEADLK`. Until it is taken again
   * (with `lockSlow`), with nothing else held, taking any other mutex is a bug.
   */
  contendingLock: WwMutex | null = null;
  /** The task that owns the context (`ww_acquire_ctx.task`). */
  readonly task: ExecutionContext;

  constructor(
    readonly sim: Simulator,
    readonly wwClass: WwClass,
  ) {
    this.stamp = ++wwClass.stamp;
    this.task = sim.current;
    sim.validator.acquire(wwClass.acquireClass, this, `ww_acquire_init(${wwClass.name})`);
  }

  /**
   * `ww_acquire_done()`: marks the end of the acquire phase. Taking another mutex with this
   * context afterwards is reported (`ww-mutex-misuse`).
   */
  done(): void {
    this.isDone = true;
  }

  /**
   * `ww_acquire_fini()`: releases the ticket. Every mutex must have been unlocked first: otherwise
   * it is reported (`ww-mutex-misuse`) and refused with `EINVAL`, leaving the context as it was.
   * Calling it twice is reported the same way.
   */
  fini(): void {
    const sim = this.sim;
    if (this.isFinished)
      wwMisuse(sim, `ww_acquire_fini(${this.wwClass.name}) called twice on ticket ${this.stamp}`, FINI_WHY);
    if (this.acquired > 0)
      wwMisuse(
        sim,
        `ww_acquire_fini(${this.wwClass.name}) with ${this.acquired} ww_mutex${this.acquired === 1 ? "" : "es"} still held by ticket ${this.stamp}`,
        FINI_WHY,
      );
    this.isFinished = true;
    sim.validator.release(this.wwClass.acquireClass, this, `ww_acquire_fini(${this.wwClass.name})`);
  }

  toString(): string {
    return `ww_acquire_ctx ${this.wwClass.name}#${this.stamp}`;
  }
}

const FINI_WHY =
  "An acquire context ends once: after every ww_mutex taken with it has been unlocked. A lock " +
  "still held would keep a ticket that no longer exists, and Wait-Die decisions of other tasks " +
  "would be made against it.";
