/**
 * `spinlock_t` (`include/linux/spinlock.h`). Holding one makes the context atomic: any sleep
 * while held is reported (`sleep-in-atomic`). drmsim is single-threaded, so a spinlock can only be
 * found taken by another context if that context went to sleep holding it — itself a bug, and
 * reported as a deadlock at once.
 */
import type { ExecutionContext } from "./context.js";
import { frameList } from "./context.js";
import { KernelError } from "./errno.js";
import type { HeldLockEntry } from "./lockdep/held-lock.js";
import type { LockClass } from "./lockdep/lock-class.js";
import type { Simulator } from "./simulator.js";

/**
 * The saved irq state `spin_lock_irqsave()` returns and `spin_unlock_irqrestore()` takes
 * (`unsigned long flags`): here, the context's irq-disable depth before the call.
 */
export type IrqFlags = number;

/** `spinlock_t`: see the module comment. */
export class SpinLock {
  /** The holding context, or null. */
  owner: ExecutionContext | null = null;
  /** The lock class every spinlock of this name shares. */
  readonly cls: LockClass;
  // Operation names for the validator, built once: a template string per lock/unlock is most of
  // the cost of an uncontended spinlock.
  private readonly opLock: string;
  private readonly opLockIrqsave: string;
  private readonly opTrylock: string;
  private readonly opUnlock: string;
  // The validator's prebuilt held-lock entries for lock(), lockIrqsave() and trylock(), made on
  // first use.
  private siteLock: HeldLockEntry | null = null;
  private siteLockIrqsave: HeldLockEntry | null = null;
  private siteTrylock: HeldLockEntry | null = null;

  constructor(
    private readonly sim: Simulator,
    /** The lock class name, e.g. `&fence->lock`. */
    readonly name: string,
  ) {
    this.cls = sim.validator.lockClass(name, "spinlock");
    this.opLock = `spin_lock(${name})`;
    this.opLockIrqsave = `spin_lock_irqsave(${name})`;
    this.opTrylock = `spin_trylock(${name})`;
    this.opUnlock = `spin_unlock(${name})`;
  }

  /**
   * `spin_lock()`: takes the lock, leaving irqs as they are. In process context with irqs
   * enabled, a class also taken from an interrupt handler is reported
   * (`inconsistent-lock-state`): use `lockIrqsave()` there.
   */
  lock(): void {
    const sim = this.sim;
    const ctx = sim.current;
    if (sim.validator.enabled === true) this.checkLock(ctx);
    this.take(ctx, this.opLock);
  }

  // Apart from `lock()`, which stays as small as an unchecked lock where the validator is off.
  private checkLock(ctx: ExecutionContext): void {
    this.sim.validator.acquireSite(ctx, this.siteLock ?? this.newSite(this.opLock));
  }

  /**
   * `spin_lock_irqsave()`: disables hard interrupts in the current context, then takes the lock.
   * Returns the previous irq state for `unlockIrqrestore()`.
   */
  lockIrqsave(): IrqFlags {
    const sim = this.sim;
    const ctx = sim.current;
    const flags = ctx.hardirqsOff;
    ctx.hardirqsOff = flags + 1;
    try {
      const v = sim.validator;
      if (v.enabled === true) v.acquireSite(ctx, this.siteLockIrqsave ?? this.newSite(this.opLockIrqsave));
      this.take(ctx, this.opLockIrqsave);
    } catch (e) {
      ctx.hardirqsOff = flags;
      throw e;
    }
    return flags;
  }

  /** `spin_trylock()`. */
  trylock(): boolean {
    if (this.owner !== null) return false;
    const sim = this.sim;
    const ctx = sim.current;
    const v = sim.validator;
    if (v.enabled === true) v.acquireSite(ctx, this.siteTrylock ?? this.newSite(this.opTrylock));
    this.owner = ctx;
    ctx.atomicDepth++;
    return true;
  }

  /** `spin_unlock()`. Unlocking a spinlock the context does not hold is reported and refused (`EPERM`). */
  unlock(): void {
    const ctx = this.sim.current;
    if (this.owner !== ctx) this.unlockNotHeld(ctx);
    this.sim.validator.releaseIn(ctx, this.cls, this, this.opUnlock);
    this.owner = null;
    ctx.atomicDepth--;
  }

  // Out of line, so `unlock()` stays small enough for the JIT to inline.
  private unlockNotHeld(ctx: ExecutionContext): never {
    this.sim.validator.release(this.cls, this, this.opUnlock);
    throw new KernelError("EPERM", `spin_unlock(${this.name}) by ${ctx.label}, which does not hold it`);
  }

  /**
   * `spin_unlock_irqrestore(flags)`: releases the lock, then restores the irq state
   * `lockIrqsave()` returned. Refused (`EPERM`, irq state untouched) if not held.
   */
  unlockIrqrestore(flags: IrqFlags): void {
    this.unlock();
    this.sim.current.hardirqsOff = flags;
  }

  /** Runs `fn` with the lock held (`scoped_guard(spinlock, …)`). */
  with<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }

  /** Runs `fn` with the lock held and irqs off (`scoped_guard(spinlock_irqsave, …)`). */
  withIrqsave<T>(fn: () => T): T {
    const flags = this.lockIrqsave();
    try {
      return fn();
    } finally {
      this.unlockIrqrestore(flags);
    }
  }

  // Out of line: runs once per lock and operation.
  private newSite(op: string): HeldLockEntry {
    const site = this.sim.validator.lockSite(this.cls, this, op, op === this.opTrylock);
    if (op === this.opLock) this.siteLock = site;
    else if (op === this.opLockIrqsave) this.siteLockIrqsave = site;
    else this.siteTrylock = site;
    return site;
  }

  /** The lock itself, once the validator has recorded the acquisition. */
  private take(ctx: ExecutionContext, op: string): void {
    const owner = this.owner;
    if (owner !== null) this.spinForever(ctx, owner, op);
    this.owner = ctx;
    ctx.atomicDepth++;
  }

  /** `take()` found the lock taken: in a single-threaded simulation it can never be released. */
  private spinForever(ctx: ExecutionContext, owner: ExecutionContext, op: string): never {
    const sim = this.sim;
    // Undo the acquisition before reporting: in throw mode the report throws, and the refused
    // lock must not stay on this context's held stack.
    sim.validator.release(this.cls, this, "spin_lock failed");
    sim.validator.report({
      kind: "deadlock",
      title: `${op} spins forever: held by ${owner.label}${owner === ctx ? " (itself)" : ", which is not running"}`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: sim.validator.describeHeld(ctx),
    });
    throw new KernelError("EDEADLK", `${op}: already held by ${owner.label}`);
  }
}
