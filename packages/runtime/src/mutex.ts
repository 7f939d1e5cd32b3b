/**
 * `struct mutex` (`kernel/locking/mutex.c`): a sleeping lock with an owner, FIFO hand-off, and
 * lockdep annotations.
 *
 * `lock()` records the dependency before it blocks — as lockdep does — so an inversion is
 * reported the first time the order is seen, even when this run never contends.
 */
import type { ExecutionContext } from "./context.js";
import { KernelError } from "./errno.js";
import type { Sleeper } from "./internal/sleeper.js";
import type { HeldLockEntry } from "./lockdep/held-lock.js";
import type { LockClass } from "./lockdep/lock-class.js";
import type { Simulator } from "./simulator.js";

const resolved = Promise.resolve();

/** Options of `Mutex.lock`. */
export interface MutexLockOptions {
  /** `mutex_lock_interruptible`: a signal aborts the wait with `EINTR`. */
  interruptible?: boolean;
  /** `mutex_lock_killable`: only a fatal signal aborts it. */
  killable?: boolean;
  /** `mutex_lock_nest_lock`: same-class nesting under this key is not recursion. */
  nestKey?: object;
}

/** `struct mutex`: see the module comment. */
export class Mutex {
  /** The owning context, or null (`__mutex_owner`). */
  owner: ExecutionContext | null = null;
  readonly cls: LockClass;
  // Operation names for the validator, built once rather than on every lock/unlock.
  private readonly opLock: string;
  private readonly opTrylock: string;
  private readonly opUnlock: string;
  private readonly waiters: { ctx: ExecutionContext; sleeper: Sleeper }[] = [];
  // The validator's prebuilt held-lock entries for lock() and trylock(), made on first use.
  private siteLock: HeldLockEntry | null = null;
  private siteTrylock: HeldLockEntry | null = null;

  constructor(
    private readonly sim: Simulator,
    /** The lock class name, e.g. `&vm->lock`. Every mutex with this name shares a class. */
    readonly name: string,
  ) {
    this.cls = sim.validator.lockClass(name, "mutex");
    this.opLock = `mutex_lock(${name})`;
    this.opTrylock = `mutex_trylock(${name})`;
    this.opUnlock = `mutex_unlock(${name})`;
  }

  /** `mutex_is_locked()`. */
  get isLocked(): boolean {
    return this.owner !== null;
  }

  /**
   * `mutex_lock()` (+ `_interruptible`, `_killable`, `_nest_lock`). Resolves once the current
   * context owns the mutex. Uncontended, the lock is taken before this returns.
   */
  lock(opts?: MutexLockOptions): Promise<void> {
    const sim = this.sim;
    const op = this.opLock;
    sim.validator.mightSleep(op);
    const ctx = sim.current;
    const nestKey = opts?.nestKey;
    const v = sim.validator;
    if (v.enabled === true) {
      if (nestKey === undefined) v.acquireSite(ctx, this.siteLock ?? this.newSite(op));
      else v.lockAcquireIn(ctx, this.cls, this, op, false, "write", nestKey);
    }
    if (this.owner === null) {
      this.owner = ctx;
      return resolved;
    }
    return this.lockSlow(ctx, op, opts);
  }

  /** `mutex_trylock()`: takes it if free; never sleeps. */
  trylock(): boolean {
    if (this.owner !== null) return false;
    const sim = this.sim;
    const ctx = sim.current;
    const v = sim.validator;
    if (v.enabled === true) v.acquireSite(ctx, this.siteTrylock ?? this.newSite(this.opTrylock));
    this.owner = ctx;
    return true;
  }

  /**
   * `mutex_unlock()`. Releasing a mutex the current context does not own is reported
   * (`unbalanced-unlock`) and refused with `EPERM`; the mutex is left as it was.
   */
  unlock(): void {
    const ctx = this.sim.current;
    if (this.owner !== ctx) this.unlockNotOwned(ctx);
    this.sim.validator.releaseIn(ctx, this.cls, this, this.opUnlock);
    const next = this.waiters.shift();
    if (next === undefined) {
      this.owner = null;
      return;
    }
    this.owner = next.ctx;
    next.sleeper.wake("woken");
  }

  // Out of line: runs once per mutex and operation.
  private newSite(op: string): HeldLockEntry {
    const site = this.sim.validator.lockSite(this.cls, this, op, op === this.opTrylock);
    if (op === this.opTrylock) this.siteTrylock = site;
    else this.siteLock = site;
    return site;
  }

  // Out of line, so `unlock()` stays small enough for the JIT to inline.
  private unlockNotOwned(ctx: ExecutionContext): never {
    this.sim.validator.release(this.cls, this, this.opUnlock);
    throw new KernelError(
      "EPERM",
      `mutex_unlock(${this.name}) by ${ctx.label}, but ${this.owner === null ? "it is not locked" : `it is owned by ${this.owner.label}`}`,
    );
  }

  /** `lockdep_assert_held()`: throws unless the current context owns the mutex. */
  assertHeld(): void {
    if (this.owner !== this.sim.current)
      throw new KernelError("EPERM", `${this.name} must be held by ${this.sim.current.label}`);
  }

  private async lockSlow(ctx: ExecutionContext, op: string, opts?: MutexLockOptions): Promise<void> {
    const wakeOn =
      opts?.interruptible === true ? "interruptible" : opts?.killable === true ? "killable" : "none";
    const sleeper = this.sim.sleep(
      { kind: "mutex", what: this.name, blockedBy: () => this.owner },
      { op, wakeOn },
    );
    const entry = { ctx, sleeper };
    this.waiters.push(entry);
    const why = await sleeper.promise;
    if (why === "signal") {
      const i = this.waiters.indexOf(entry);
      if (i >= 0) this.waiters.splice(i, 1);
      if (this.owner === ctx) this.unlock();
      else this.sim.validator.release(this.cls, this, `${op} interrupted`);
      ctx.signalPending = false;
      throw new KernelError("EINTR", `${op} was interrupted by a signal`);
    }
  }
}
