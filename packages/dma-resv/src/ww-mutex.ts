/**
 * `struct ww_mutex` (`include/linux/ww_mutex.h`, `kernel/locking/ww_mutex.h`), Wait-Die flavour.
 *
 * The rules, as the kernel's `__ww_mutex_add_waiter` / `__ww_mutex_check_kill` /
 * `__ww_mutex_check_waiters` apply them:
 * - a context that holds nothing never backs off: it just waits;
 * - a context that holds at least one lock dies (`-EDEADLK`) when the lock it wants is owned by
 *   an older context, or an older context already waits for it;
 * - waiters with a context queue in ticket order (context-less waiters are left where they are);
 *   when an older context joins the queue or takes the lock, younger waiters that hold locks are
 *   woken to die, since they could otherwise wait on an older context.
 * An unlock hands the mutex to the first waiter, so the simulation is fair and repeatable.
 *
 * Uncontended, `lock()` has taken the mutex before it returns its (already settled) promise.
 */
import { ERRNO, type ExecutionContext, KernelError, type Simulator, type Sleeper } from "@drmsim/runtime";
import { type WwAcquireCtx, wwMisuse } from "./ww-acquire-ctx.js";
import type { WwClass } from "./ww-class.js";

const EALREADY = -ERRNO.EALREADY;
const EDEADLK = -ERRNO.EDEADLK;
const resolved0 = Promise.resolve(0);
const resolvedAlready = Promise.resolve(EALREADY);

/** Options of `WwMutex.lock` and `WwMutex.lockSlow`. */
export interface WwMutexLockOptions {
  /** `ww_mutex_lock_interruptible`: a signal aborts the wait with `EINTR`. */
  interruptible?: boolean;
}

interface WwWaiter {
  readonly task: ExecutionContext;
  readonly actx: WwAcquireCtx | null;
  readonly sleeper: Sleeper;
  /** Set when the waiter was woken to back off with `-EDEADLK`. */
  die: boolean;
}

const RETRY_WHY =
  "After -EDEADLK the acquire context must unlock every ww_mutex it holds, then take the " +
  "contended one with ww_mutex_lock_slow() before anything else; only then is it guaranteed " +
  "to make progress (it now holds nothing but the lock it lost, so it can never die again).";

/**
 * `struct ww_mutex`. `new WwMutex(sim, wwClass, name)` is `ww_mutex_init`; `name` only labels
 * reports (`dma_resv#3`).
 */
export class WwMutex {
  /** The owning task, or null (`__mutex_owner(&ww->base)`). */
  owner: ExecutionContext | null = null;
  /** `ww_mutex.ctx`: the acquire context that holds it, or null (unlocked, or locked without one). */
  ctx: WwAcquireCtx | null = null;
  private readonly waiters: WwWaiter[] = [];

  constructor(
    readonly sim: Simulator,
    readonly wwClass: WwClass,
    readonly name: string = wwClass.name,
  ) {}

  /** `ww_mutex_is_locked()`. */
  get isLocked(): boolean {
    return this.owner !== null;
  }

  /** Number of tasks waiting for it (for tests and dumps). */
  get waiterCount(): number {
    return this.waiters.length;
  }

  /**
   * `ww_mutex_lock(lock, ctx)` / `ww_mutex_lock_interruptible`. Resolves to a status, as callers
   * branch on it every time:
   * - `0`: the current task owns the mutex;
   * - `-EALREADY`: `ctx` already holds it (nothing changes);
   * - `-EDEADLK`: back off — `ctx` holds other locks and an older context owns or waits for this
   *   one. Unlock everything, then `lockSlow` this mutex first.
   *
   * With `ctx` null it is a plain mutex: it waits and never returns `-EDEADLK`. Interruptible
   * waits throw `EINTR` on a signal. Misuse (see `ww-mutex-misuse`) is reported and refused with
   * `EINVAL`.
   */
  lock(ctx: WwAcquireCtx | null, opts?: WwMutexLockOptions): Promise<number> {
    const sim = this.sim;
    const op = `ww_mutex_lock(${this.name})`;
    try {
      sim.validator.mightSleep(op);
      if (ctx !== null) {
        if (this.ctx === ctx) return resolvedAlready;
        this.checkCtx(ctx, op, false);
      }
      return this.lockCommon(ctx, op, opts?.interruptible === true);
    } catch (e) {
      // Errors arrive as rejections, whether found before or after blocking.
      return Promise.reject(e);
    }
  }

  /**
   * `ww_mutex_lock_slow()` / `_slow_interruptible`: takes the mutex that returned `-EDEADLK`,
   * after every other lock of `ctx` was dropped. It sleeps until it gets the mutex and cannot
   * back off; the interruptible variant throws `EINTR` on a signal. Calling it without a preceding
   * `-EDEADLK`, for another mutex, or with locks still held is reported (`ww-mutex-misuse`).
   */
  async lockSlow(ctx: WwAcquireCtx, opts?: WwMutexLockOptions): Promise<void> {
    const sim = this.sim;
    const op = `ww_mutex_lock_slow(${this.name})`;
    sim.validator.mightSleep(op);
    this.checkCtx(ctx, op, true);
    const ret = await this.lockCommon(ctx, op, opts?.interruptible === true);
    // Holding nothing, a context never dies: anything else is a bug in this model.
    if (ret !== 0) throw new Error(`${op}: unexpected status ${ret}`);
  }

  /**
   * `ww_mutex_trylock(lock, ctx)`: takes the mutex if it is free; never sleeps, never backs off.
   * False if it is held (also by `ctx` itself).
   */
  trylock(ctx: WwAcquireCtx | null = null): boolean {
    if (this.owner !== null) return false;
    const op = `ww_mutex_trylock(${this.name})`;
    if (ctx !== null) this.checkCtx(ctx, op, false);
    this.sim.validator.acquire(this.wwClass.mutexClass, this, op, { trylock: true, nestKey: ctx });
    this.take(this.sim.current, ctx);
    return true;
  }

  /**
   * `ww_mutex_unlock()`. Hands the mutex to the first waiter. Unlocking a mutex the current task
   * does not own is reported (`unbalanced-unlock`) and refused with `EPERM`, changing nothing.
   */
  unlock(): void {
    const sim = this.sim;
    const task = sim.current;
    const op = `ww_mutex_unlock(${this.name})`;
    if (this.owner !== task) {
      sim.validator.release(this.wwClass.mutexClass, this, op);
      throw new KernelError(
        "EPERM",
        `${op} by ${task.label}, but ${this.owner === null ? "it is not locked" : `it is owned by ${this.owner.label}`}`,
      );
    }
    sim.validator.release(this.wwClass.mutexClass, this, op);
    const ctx = this.ctx;
    if (ctx !== null && ctx.acquired > 0) ctx.acquired--;
    this.ctx = null;
    this.owner = null;
    const next = this.waiters.shift();
    if (next === undefined) return;
    this.take(next.task, next.actx);
    next.sleeper.wake("woken");
  }

  /** True if the current task owns the mutex (`lockdep_is_held`). */
  get isHeldByCurrent(): boolean {
    return this.owner === this.sim.current;
  }

  // --- internals ------------------------------------------------------------------------------

  /** The debug checks of `ww_mutex_lock` / `ww_mutex_lock_slow` (`DEBUG_WW_MUTEXES`). */
  private checkCtx(ctx: WwAcquireCtx, op: string, slow: boolean): void {
    const sim = this.sim;
    if (ctx.isFinished)
      wwMisuse(sim, `${op} with ${ctx}, which was already finished (ww_acquire_fini)`, RETRY_WHY);
    if (ctx.wwClass !== this.wwClass)
      wwMisuse(
        sim,
        `${op}: ${ctx} belongs to ww class ${ctx.wwClass.name}, the mutex to ${this.wwClass.name}`,
        "An acquire context orders only the mutexes of its own ww class.",
      );
    if (ctx.isDone)
      wwMisuse(
        sim,
        `${op} after ww_acquire_done(${ctx})`,
        "ww_acquire_done() declares that the acquire phase is over; taking more locks afterwards defeats the deadlock avoidance bookkeeping.",
      );
    const contending = ctx.contendingLock;
    if (contending !== null && contending !== this)
      wwMisuse(
        sim,
        `${op} after -EDEADLK on ${contending.name}: the contended lock must be taken first`,
        RETRY_WHY,
      );
    if (contending !== null && ctx.acquired > 0)
      wwMisuse(sim, `${op} after -EDEADLK while ${ctx} still holds ${ctx.acquired} lock(s)`, RETRY_WHY);
    if (slow && contending === null) wwMisuse(sim, `${op} without a preceding -EDEADLK on ${ctx}`, RETRY_WHY);
  }

  private lockCommon(ctx: WwAcquireCtx | null, op: string, interruptible: boolean): Promise<number> {
    const sim = this.sim;
    const task = sim.current;
    sim.validator.acquire(this.wwClass.mutexClass, this, op, { nestKey: ctx });
    if (this.owner === null) {
      this.take(task, ctx);
      return resolved0;
    }
    if (this.owner === task && ctx === null) {
      // Recursive locking of a plain mutex: the validator reported it (or is off); waiting would hang.
      sim.validator.release(this.wwClass.mutexClass, this, `${op} (recursive)`);
      throw new KernelError("EDEADLK", `${op}: ${task.label} already owns it`);
    }
    return this.wait(task, ctx, op, interruptible);
  }

  private async wait(
    task: ExecutionContext,
    ctx: WwAcquireCtx | null,
    op: string,
    interruptible: boolean,
  ): Promise<number> {
    const sim = this.sim;
    if (interruptible && task.signalPending) return this.interrupted(task, op);
    let pos = this.waiters.length;
    if (ctx !== null) {
      // __ww_mutex_add_waiter: before the first younger context; an older one waiting means death.
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const cur = this.waiters[i]!.actx;
        if (cur === null) continue;
        if (cur.stamp < ctx.stamp) {
          if (ctx.acquired > 0) return this.die(ctx, op);
          break;
        }
        pos = i;
      }
      // __ww_mutex_check_kill against the holder.
      const holder = this.ctx;
      if (ctx.acquired > 0 && holder !== null && holder.stamp < ctx.stamp) return this.die(ctx, op);
    }
    const sleeper = sim.sleep(
      { kind: "ww_mutex", what: this.name, blockedBy: () => this.owner },
      { op, wakeOn: interruptible ? "interruptible" : "none" },
    );
    const w: WwWaiter = { task, actx: ctx, sleeper, die: false };
    this.waiters.splice(pos, 0, w);
    if (ctx !== null) this.checkWaiters();
    const why = await sleeper.promise;
    if (w.die) return this.die(ctx!, op);
    if (why === "signal") {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
      return this.interrupted(task, op);
    }
    return 0;
  }

  private interrupted(task: ExecutionContext, op: string): never {
    this.sim.validator.release(this.wwClass.mutexClass, this, `${op} interrupted`);
    task.signalPending = false;
    throw new KernelError("EINTR", `${op} was interrupted by a signal`);
  }

  private die(ctx: WwAcquireCtx, op: string): number {
    this.sim.validator.release(this.wwClass.mutexClass, this, `${op} -EDEADLK`);
    ctx.contendingLock = this;
    return EDEADLK;
  }

  private take(task: ExecutionContext, ctx: WwAcquireCtx | null): void {
    this.owner = task;
    this.ctx = ctx;
    if (ctx !== null) {
      ctx.acquired++;
      if (ctx.contendingLock === this) ctx.contendingLock = null;
      if (this.waiters.length > 0) this.checkWaiters();
    }
  }

  /**
   * `__ww_mutex_check_waiters` / `__ww_mutex_die`: wakes, to back off, every waiting context that
   * holds locks and would otherwise wait for an older context — the holder or a waiter ahead.
   */
  private checkWaiters(): void {
    const holder = this.ctx;
    let olderAhead = false;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      const c = w.actx;
      if (c === null) continue;
      if (c.acquired > 0 && (olderAhead || (holder !== null && holder.stamp < c.stamp))) {
        w.die = true;
        this.waiters.splice(i--, 1);
        w.sleeper.wake("woken");
      }
      olderAhead = true;
    }
  }
}
