/**
 * The fence lock (`include/linux/dma-fence.h`, 7.1: `dma_fence_spinlock()`,
 * `dma_fence_lock_irqsave()`, `dma_fence_unlock_irqrestore()`), as the validator sees it.
 *
 * DOC: fence locks are locks. `dma_fence_add_callback`, `dma_fence_remove_callback`,
 * `dma_fence_signal` and `dma_fence_enable_sw_signaling` take the fence's lock with interrupts
 * disabled, and callbacks run under it. So a callback that takes a lock L orders the fence lock
 * before L, and any path that holds L while signalling, or while adding a callback to, a fence of
 * the same class closes a cycle — reported, with both paths, like any lockdep inversion. A
 * callback that takes its own fence's lock (removing a callback, adding one, signalling it again)
 * is recursive locking: a real deadlock on a real spinlock.
 *
 * Which lock: the external `SpinLock` a driver passed to `dma_fence_init` (its class is its name,
 * as for every spinlock), or — 7.1's default when the driver passes none — the lock inside the
 * fence. lockdep keys an inline lock by its `spin_lock_init` call site; drmsim keys it by the
 * fence's ops table (one table per driver fence type, the nearest thing to an init site), in a
 * side table, so a fence carries no extra field. `dmaFenceSetLockClass(ops, name)` gives an ops
 * table a class of its own name (`lockdep_set_class`): the array and chain containers use it, as
 * 7.1 does, so container → member nesting (a container's `enable_signaling` adds callbacks to its
 * members under its own lock) is legal.
 *
 * With the validator off an inline lock costs nothing: there is nothing to contend with in a
 * single-threaded simulation, so only the validator's bookkeeping would be left.
 */
import { type IrqFlags, type LockClass, subsystemMemo } from "@drmsim/runtime";
import type { DmaFence, DmaFenceOps } from "./dma-fence.js";

/** What a report involving a fence lock class adds to its explanation (`LockClass.rule`). */
export const DMA_FENCE_LOCK_RULE =
  "A dma_fence's lock is taken, with interrupts off, by dma_fence_signal (whose callbacks run " +
  "under it), dma_fence_add_callback, dma_fence_remove_callback and dma_fence_enable_sw_signaling. " +
  "A lock that a fence callback takes must therefore never be held while signalling a fence of " +
  "that class or adding a callback to one, and a callback must not signal, add callbacks to or " +
  "remove callbacks from a fence whose lock class it already holds (on its own fence that is a " +
  "deadlock). Move that work out of the callback, to an irq_work or a workqueue, as " +
  "dma_fence_array and dma_fence_chain do.";

/** Class names given with `dmaFenceSetLockClass`, per ops table (process-wide: ops tables are module constants). */
const explicitNames = new WeakMap<object, string>();

const INLINE_LOCK_CLASSES = {};

/** The per-simulator side tables: the inline lock class of each ops table, and of each context. */
interface InlineLockClasses {
  readonly byOps: WeakMap<object, LockClass>;
  /**
   * Classes by fence context, for fences whose ops are detached at signal (7.1: ops without a
   * `release` lose them): the class a lock was initialised with does not change when the ops go.
   * Recorded when such a fence's lock is taken with its ops still there.
   */
  readonly byContext: Map<number, LockClass>;
  // A few recent ops tables in front of the WeakMap: a scheduler alternates between its hardware,
  // scheduled and finished fences on every job.
  o0: object | null;
  c0: LockClass | null;
  o1: object | null;
  c1: LockClass | null;
  o2: object | null;
  c2: LockClass | null;
  o3: object | null;
  c3: LockClass | null;
  /** The last context recorded in `byContext`, and its class. */
  lastContext: number;
  lastContextCls: LockClass | null;
}

/**
 * `lockdep_set_class(&fence->inline_lock, &key)` for every fence created with `ops` and no
 * external lock: their inline locks form the class `name` (e.g. `&dma_fence_array_lock_key`).
 * Call it once, where the ops table is defined.
 */
// biome-ignore lint/suspicious/noExplicitAny: any fence subclass's ops table
export function dmaFenceSetLockClass(ops: DmaFenceOps<any>, name: string): void {
  explicitNames.set(ops, name);
}

/**
 * `dma_fence_spinlock()` for the validator: the lock class of `fence`'s lock — the external
 * lock's class, or the inline lock's class (see the module comment).
 */
export function dmaFenceLockClass(fence: DmaFence): LockClass {
  return fence.lock !== null ? fence.lock.cls : inlineLockClass(fence);
}

/**
 * `dma_fence_lock_irqsave(fence, flags)`: disables interrupts and takes the fence's lock. Returns
 * the irq state for `dmaFenceUnlockIrqrestore`. `op` names the caller in reports.
 */
export function dmaFenceLockIrqsave(fence: DmaFence, op = "dma_fence_lock_irqsave"): IrqFlags {
  const lock = fence.lock;
  if (lock !== null) {
    // The driver's own lock, used as a fence lock: reports involving it say so.
    if (lock.cls.rule === null) lock.cls.rule = DMA_FENCE_LOCK_RULE;
    return lock.lockIrqsave();
  }
  const sim = fence.sim;
  const v = sim.validator;
  if (!v.enabled) return 0;
  const ctx = sim.current;
  const flags = ctx.hardirqsOff;
  ctx.hardirqsOff = flags + 1;
  try {
    v.acquireInstance(ctx, inlineLockClass(fence), fence, op);
  } catch (e) {
    ctx.hardirqsOff = flags;
    throw e;
  }
  ctx.atomicDepth++;
  return flags;
}

/** `dma_fence_unlock_irqrestore(fence, flags)`: drops the fence's lock and restores the irq state. */
export function dmaFenceUnlockIrqrestore(
  fence: DmaFence,
  flags: IrqFlags,
  op = "dma_fence_unlock_irqrestore",
): void {
  const lock = fence.lock;
  if (lock !== null) {
    lock.unlockIrqrestore(flags);
    return;
  }
  const sim = fence.sim;
  const v = sim.validator;
  if (!v.enabled) return;
  const ctx = sim.current;
  // The class is the one the lock was taken with: the ops may have been detached since (signal).
  const held = ctx.held;
  let cls: LockClass | null = null;
  for (let i = held.length - 1; i >= 0; i--) {
    const h = held[i]!;
    if (h.instance === fence) {
      cls = h.cls;
      break;
    }
  }
  if (!v.releaseIn(ctx, cls ?? inlineLockClass(fence), fence, op)) return;
  ctx.atomicDepth--;
  ctx.hardirqsOff = flags;
}

/**
 * @internal For an operation that runs no driver code under the fence lock (adding or removing a
 * callback, enabling an already-enabled fence, signalling one without callbacks): with an inline
 * lock and the validator on, records the lock as taken and dropped (`might_lock`) — the same
 * dependencies, no held-lock entry — and returns true. False: take the lock for real.
 */
export function dmaFenceLockBrief(fence: DmaFence, op: string): boolean {
  if (fence.lock !== null) return false;
  const sim = fence.sim;
  sim.validator.mightLockIrqsave(sim.current, inlineLockClass(fence), fence, op);
  return true;
}

/** Runs `fn` with the fence's lock held and interrupts off (`scoped_guard(dma_fence_lock, …)`). */
export function dmaFenceWithLock<T>(fence: DmaFence, fn: () => T, op?: string): T {
  const flags = dmaFenceLockIrqsave(fence, op);
  try {
    return fn();
  } finally {
    dmaFenceUnlockIrqrestore(fence, flags, op);
  }
}

/** The simulator's inline-lock class tables (asked on every fence lock: memoized for the last simulator). */
const classTables = subsystemMemo(
  INLINE_LOCK_CLASSES,
  (): InlineLockClasses => ({
    byOps: new WeakMap(),
    byContext: new Map(),
    o0: null,
    c0: null,
    o1: null,
    c1: null,
    o2: null,
    c2: null,
    o3: null,
    c3: null,
    lastContext: -1,
    lastContextCls: null,
  }),
);

function tablesOf(fence: DmaFence): InlineLockClasses {
  return classTables(fence.sim);
}

/** The inline lock's class: by ops table, or by context once the ops are gone. */
function inlineLockClass(fence: DmaFence): LockClass {
  const t = tablesOf(fence);
  const ops = fence.ops;
  if (ops === null)
    return t.byContext.get(fence.context) ?? fence.sim.validator.lockClass("&fence->inline_lock", "spinlock");
  const cls = classOfOps(t, ops, fence);
  // Ops without a release are detached at signal — before the callbacks run under the lock.
  if (ops.release === undefined) rememberDetached(t, fence, cls);
  return cls;
}

function classOfOps(t: InlineLockClasses, ops: DmaFenceOps, fence: DmaFence): LockClass {
  if (t.o0 === ops) return t.c0!;
  if (t.o1 === ops) return t.c1!;
  if (t.o2 === ops) return t.c2!;
  if (t.o3 === ops) return t.c3!;
  let cls = t.byOps.get(ops);
  if (cls === undefined) {
    cls = fence.sim.validator.lockClass(inlineLockName(ops, fence), "spinlock");
    cls.rule = DMA_FENCE_LOCK_RULE;
    t.byOps.set(ops, cls);
  }
  t.o3 = t.o2;
  t.c3 = t.c2;
  t.o2 = t.o1;
  t.c2 = t.c1;
  t.o1 = t.o0;
  t.c1 = t.c0;
  t.o0 = ops;
  t.c0 = cls;
  return cls;
}

/** Remembers the class of a fence whose ops will be detached (signal), by its context. */
function rememberDetached(t: InlineLockClasses, fence: DmaFence, cls: LockClass): void {
  if (t.lastContext === fence.context && t.lastContextCls === cls) return;
  t.byContext.set(fence.context, cls);
  t.lastContext = fence.context;
  t.lastContextCls = cls;
}

function inlineLockName(ops: DmaFenceOps, fence: DmaFence): string {
  const name = explicitNames.get(ops);
  if (name !== undefined) return name;
  let driver: string;
  try {
    driver = ops.getDriverName(fence);
  } catch {
    driver = `ctx ${fence.context}`;
  }
  return `&fence->inline_lock (${driver})`;
}
