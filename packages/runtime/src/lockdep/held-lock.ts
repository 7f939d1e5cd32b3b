/** An entry of a context's held-lock stack (`struct held_lock` in kernel/locking/lockdep.c). */
import type { Frame } from "../context.js";
import type { LockClass } from "./lock-class.js";

/**
 * - `write`: exclusive (mutex, spinlock, write side of an rwsem).
 * - `read`: shared, not recursive (`down_read`, `dma_fence_begin_signalling`'s read trylock).
 * - `recursive-read`: shared and recursive (`rcu_read_lock`, `lock_map_acquire_read`).
 */
export type LockMode = "write" | "read" | "recursive-read";

/** `struct held_lock`: one lock a context holds, as `ctx.held` lists it (outermost first). */
export interface HeldLock {
  readonly cls: LockClass;
  /** The lock object (a `Mutex`, a `DmaResv`…), or the class itself for fake maps. */
  readonly instance: object;
  readonly mode: LockMode;
  readonly trylock: boolean;
  /** What took it: `mutex_lock(&vm->lock)` style. */
  readonly op: string;
  /** The backtrace when it was taken. */
  readonly frame: Frame | null;
  readonly timeNs: number;
  /** Nesting allowed under this lock for the same class (ww_mutex acquire contexts). */
  readonly nestKey: object | null;
  /** @internal The chain-cache node of the held stack up to and including this entry. */
  chain: LockChain | null;
}

/**
 * @internal The record behind a `HeldLock`: a class with one constructor, so every entry has the
 * same shape and the validator's loads over `ctx.held` stay monomorphic. Its fields are writable
 * because the validator reuses entries — the kernel's `task_struct.held_locks[]` is a fixed array
 * reused in place, not an allocation per lock. An entry is either pooled (recycled through the
 * validator's free list once released) or a lock *site* (`Validator.lockSite`): one lock's
 * operation with everything but the backtrace, time and chain filled in once, pushed as it is
 * whenever that operation is repeated and the entry is not already on a stack.
 */
export class HeldLockEntry implements HeldLock {
  constructor(
    public cls: LockClass,
    public instance: object,
    public mode: LockMode,
    public trylock: boolean,
    public op: string,
    public frame: Frame | null,
    public timeNs: number,
    public nestKey: object | null,
    public chain: LockChain | null,
    /** A lock site: owned by its lock, never put on the free list. */
    readonly site: boolean,
  ) {
    if (site) {
      this.unchecked = trylock || mode === "recursive-read";
      this.irqTracked = cls.irqTracked;
    }
  }

  /** The next free entry while this one is in the validator's pool; null while held. */
  nextFree: HeldLockEntry | null = null;
  /** A site entry is on some context's held stack (a pooled entry: unused). */
  onStack = false;
  /** A site: taking it adds no edges into its class (a trylock, a recursive read), so no chain check. */
  readonly unchecked: boolean = false;
  /** A site: `cls.irqTracked`, read here without loading the class. */
  readonly irqTracked: boolean = false;
  /**
   * A site: the chain node of the last held stack taking it was found to need no check on
   * (`Validator.acquireSite`); `chain` is then the node taking it there leads to.
   */
  cleanOn: LockChain | null = null;
  /** A site: the class's usage bits (`LockClass.usage`) when it was last found clean. */
  usageSeen = 0;
}

/**
 * @internal lockdep's chain cache (`struct lock_chain`, `lookup_chain_cache()`): one node per
 * sequence of held lock classes. Once taking a class on top of a given stack has been checked and
 * found clean, every dependency it implies is already in the graph, so the same sequence is not
 * checked again — one map lookup instead of one per held lock, which is what makes lockdep cheap
 * enough to leave on.
 */
export class LockChain {
  /** The stacks one lock deeper, by the class taken. */
  readonly next = new Map<LockClass, LockChain>();
  /**
   * Taking this node's last class on its parent's stack was checked: no new edge, report or
   * same-class nesting. A lock taken on an empty stack adds no edge, so the root's children start
   * validated.
   */
  validated: boolean;
  /** The stack holds `sectionClass` (the validator's `dma_fence_map`): a signalling section is open. */
  readonly inSection: boolean;
  private readonly isRoot: boolean;

  constructor(
    /** The class whose presence `inSection` tracks, the same in every node of one tree. */
    private readonly sectionClass: LockClass,
    parent: LockChain | null,
    cls: LockClass | null,
  ) {
    this.validated = parent?.isRoot === true;
    this.inSection = parent !== null && (parent.inSection || cls === sectionClass);
    this.isRoot = parent === null;
  }

  // A two-entry memo in front of the map: most stacks are followed by one or two locks (a
  // scheduler's run-job work takes a hardware fence's lock and a scheduler fence's, job after job).
  private lastCls: LockClass | null = null;
  private lastChild: LockChain | null = null;
  private prevCls: LockClass | null = null;
  private prevChild: LockChain | null = null;

  child(cls: LockClass): LockChain {
    // The hit is kept tiny so the JIT inlines it into every acquisition.
    return this.lastCls === cls ? this.lastChild! : this.childMiss(cls);
  }

  private childMiss(cls: LockClass): LockChain {
    let c: LockChain | undefined;
    if (this.prevCls === cls) c = this.prevChild!;
    else {
      c = this.next.get(cls);
      if (c === undefined) {
        c = new LockChain(this.sectionClass, this, cls);
        this.next.set(cls, c);
      }
    }
    this.prevCls = this.lastCls;
    this.prevChild = this.lastChild;
    this.lastCls = cls;
    this.lastChild = c;
    return c;
  }
}
