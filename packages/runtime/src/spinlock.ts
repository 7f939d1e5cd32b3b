/**
 * `spinlock_t` (`include/linux/spinlock.h`). Holding one makes the context atomic: any sleep
 * while held is reported (`sleep-in-atomic`). drmsim is single-threaded, so a spinlock can only be
 * found taken by another context if that context went to sleep holding it — itself a bug, and
 * reported as a deadlock at once.
 */
import type { ExecutionContext } from "./context.js";
import { frameList } from "./context.js";
import { KernelError } from "./errno.js";
import type { LockClass } from "./lockdep/lock-class.js";
import type { Simulator } from "./simulator.js";

const TRYLOCK = { trylock: true } as const;

export class SpinLock {
  owner: ExecutionContext | null = null;
  readonly cls: LockClass;
  // Operation names for the validator, built once: a template string per lock/unlock is most of
  // the cost of an uncontended spinlock.
  private readonly opLock: string;
  private readonly opTrylock: string;
  private readonly opUnlock: string;

  constructor(
    private readonly sim: Simulator,
    /** The lock class name, e.g. `&fence->lock`. */
    readonly name: string,
  ) {
    this.cls = sim.validator.lockClass(name, "spinlock");
    this.opLock = `spin_lock(${name})`;
    this.opTrylock = `spin_trylock(${name})`;
    this.opUnlock = `spin_unlock(${name})`;
  }

  /** `spin_lock()` / `spin_lock_irqsave()`. */
  lock(): void {
    const sim = this.sim;
    const ctx = sim.current;
    sim.validator.acquire(this.cls, this, this.opLock);
    if (this.owner !== null) {
      sim.validator.report({
        kind: "deadlock",
        title: `spin_lock(${this.name}) spins forever: held by ${this.owner.label}${this.owner === ctx ? " (itself)" : ", which is not running"}`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        held: sim.validator.describeHeld(ctx),
      });
      sim.validator.release(this.cls, this, "spin_lock failed");
      throw new KernelError("EDEADLK", `spin_lock(${this.name}): already held by ${this.owner.label}`);
    }
    this.owner = ctx;
    ctx.atomicDepth++;
  }

  /** `spin_trylock()`. */
  trylock(): boolean {
    if (this.owner !== null) return false;
    const ctx = this.sim.current;
    this.sim.validator.acquire(this.cls, this, this.opTrylock, TRYLOCK);
    this.owner = ctx;
    ctx.atomicDepth++;
    return true;
  }

  /** `spin_unlock()`. Unlocking a spinlock the context does not hold is reported and refused (`EPERM`). */
  unlock(): void {
    const ctx = this.sim.current;
    if (this.owner !== ctx) {
      this.sim.validator.release(this.cls, this, this.opUnlock);
      throw new KernelError("EPERM", `spin_unlock(${this.name}) by ${ctx.label}, which does not hold it`);
    }
    this.sim.validator.release(this.cls, this, this.opUnlock);
    this.owner = null;
    ctx.atomicDepth--;
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
}
