/**
 * `struct dma_resv` (`include/linux/dma-resv.h`, `drivers/dma-buf/dma-resv.c`): the reservation
 * object of a buffer — its ww_mutex and the fences of everyone who uses it, each tagged with a
 * usage (`DmaResvUsage`).
 *
 * DOC: the contract. Fences are added after a submission's point of no return, where nothing may
 * fail any more, so `addFence` never fails: the memory for it is reserved beforehand with
 * `reserveFences`, under the same lock hold. Reservations are lost on unlock (the kernel's
 * `DEBUG_MUTEXES` build resets them; drmsim always does), so a driver that reserves, unlocks and
 * adds later is caught on the first run. Writers of the fence list hold the lock; readers may
 * walk it without the lock (`DmaResvIter` unlocked) and start over when it changes.
 *
 * Adding a fence from the same context replaces the older one when the old usage is at least the
 * new one (usage can be promoted, BOOKKEEP → READ, never degraded: a WRITE fence stays a WRITE
 * fence, a READ re-add of its context takes another slot); a signalled fence's slot is reused by
 * anyone.
 */
import {
  type DmaFence,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  dmaFenceIsContainer,
  dmaFenceIsLaterOrSame,
} from "@drmsim/dma-fence";
import {
  type Allocation,
  frameList,
  GFP_KERNEL,
  KernelError,
  MAX_SCHEDULE_TIMEOUT,
  type Simulator,
} from "@drmsim/runtime";
import { DmaResvIter } from "./dma-resv-iter.js";
import { DmaResvUsage, dmaResvUsageName, isDmaResvUsage } from "./dma-resv-usage.js";
import type { WwAcquireCtx } from "./ww-acquire-ctx.js";
import { reservationWwClass } from "./ww-class.js";
import { WwMutex, type WwMutexLockOptions } from "./ww-mutex.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A dma_resv operation that needs the reservation lock was called without holding it. */
    "resv-not-locked": true;
    /** `dma_resv_add_fence` with no reserved slot left (the kernel BUGs). */
    "resv-no-slot": true;
    /** A container fence (array or chain) added to a dma_resv (the kernel WARNs). */
    "resv-container-fence": true;
  }
}

/** Options of `DmaResv.waitTimeout`. */
export interface DmaResvWaitOptions {
  /** A signal ends the wait with `ERESTARTSYS`. */
  interruptible?: boolean;
  /** How long to wait at most (ns). Undefined waits forever; 0 only tests. */
  timeoutNs?: number;
}

/** Size accounted per fence slot and per list header (`struct dma_resv_list`). */
const SLOT_BYTES = 8;
const LIST_HEADER_BYTES = 16;
const IDS = {};

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * `struct dma_resv`. `new DmaResv(sim)` is `dma_resv_init`; `fini()` is `dma_resv_fini`. Locking
 * goes through `reservation_ww_class`, so the validator knows the kernel's dma_resv lock order.
 */
export class DmaResv {
  /** `dma_resv.lock`: the ww_mutex. */
  readonly mutex: WwMutex;
  /** @internal The fence slots, `numFences` of them (`dma_resv_list.table`). Read through `DmaResvIter`. */
  readonly fences: DmaFence[] = [];
  /** @internal The usage of each slot. */
  readonly usages: DmaResvUsage[] = [];
  /** `dma_resv_list.max_fences`: slots available before `addFence` runs out. */
  maxFences = 0;
  /**
   * Sequence count: bumped on every change to the fence list, so an unlocked walk can notice and
   * start over (the kernel compares its RCU list pointer).
   */
  seq = 0;
  private allocation: Allocation | null = null;
  private finished = false;

  constructor(
    readonly sim: Simulator,
    /** A label for reports and `describe()`; default `dma_resv#<n>`. */
    readonly name: string = `dma_resv#${sim.subsystem(IDS, () => ({ n: 0 })).n++}`,
  ) {
    this.mutex = new WwMutex(sim, reservationWwClass(sim), name);
  }

  /** `dma_resv_list.num_fences`. */
  get numFences(): number {
    return this.fences.length;
  }

  // --- locking --------------------------------------------------------------------------------

  /**
   * `dma_resv_lock(obj, ctx)`: 0, `-EALREADY` (this ctx holds it) or `-EDEADLK` (back off; see
   * `WwMutex.lock`). `ctx` null locks it as a plain mutex.
   */
  lock(ctx: WwAcquireCtx | null, opts?: WwMutexLockOptions): Promise<number> {
    return this.mutex.lock(ctx, opts);
  }

  /** `dma_resv_lock_interruptible(obj, ctx)`: as `lock`, and a signal throws `EINTR`. */
  lockInterruptible(ctx: WwAcquireCtx | null): Promise<number> {
    return this.mutex.lock(ctx, { interruptible: true });
  }

  /** `dma_resv_lock_slow(obj, ctx)`: takes the lock that returned `-EDEADLK`; cannot back off. */
  lockSlow(ctx: WwAcquireCtx, opts?: WwMutexLockOptions): Promise<void> {
    return this.mutex.lockSlow(ctx, opts);
  }

  /** `dma_resv_lock_slow_interruptible(obj, ctx)`: throws `EINTR` on a signal. */
  lockSlowInterruptible(ctx: WwAcquireCtx): Promise<void> {
    return this.mutex.lockSlow(ctx, { interruptible: true });
  }

  /** `dma_resv_trylock(obj)`: takes the lock without a context if it is free. */
  trylock(): boolean {
    return this.mutex.trylock(null);
  }

  /**
   * `dma_resv_unlock(obj)`: forgets unused reservations (`dma_resv_reset_max_fences`), then
   * unlocks. Unlocking a resv the current task does not hold is reported and refused (`EPERM`).
   */
  unlock(): void {
    if (this.mutex.isHeldByCurrent) this.maxFences = this.fences.length;
    this.mutex.unlock();
  }

  /** `dma_resv_is_locked(obj)`. */
  get isLocked(): boolean {
    return this.mutex.isLocked;
  }

  /** True if the current task holds the lock (`lockdep_is_held(&obj->lock.base)`). */
  get isLockedByCurrent(): boolean {
    return this.mutex.isHeldByCurrent;
  }

  /** `dma_resv_locking_ctx(obj)`: the acquire context holding the lock, or null. */
  get lockingCtx(): WwAcquireCtx | null {
    return this.mutex.ctx;
  }

  /** `dma_resv_assert_held(obj)`: reports `resv-not-locked` and throws `EINVAL` unless the current task holds the lock. */
  assertHeld(op = "dma_resv_assert_held"): void {
    if (!this.mutex.isHeldByCurrent) this.reportNotLocked(op);
  }

  /** @internal Reports `resv-not-locked` for `op` and throws `EINVAL`. */
  reportNotLocked(op: string): never {
    const sim = this.sim;
    const ctx = sim.current;
    sim.validator.report({
      kind: "resv-not-locked",
      title: `${op}(${this.name}) without holding its reservation lock`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: sim.validator.describeHeld(ctx),
      explanation:
        "The fence list of a dma_resv is changed only under its ww_mutex (dma_resv_lock), and " +
        "locked iteration relies on it not changing. Take the lock, or use the unlocked iterator.",
    });
    throw new KernelError("EINVAL", `${op}(${this.name}): the reservation lock is not held by ${ctx.label}`);
  }

  // --- fences ---------------------------------------------------------------------------------

  /**
   * `dma_resv_reserve_fences(obj, num)`: makes sure `num` more fences can be added without
   * failing. Needs the lock. The list grows to max(4, next power of two of `num`) the first time,
   * then to max(num + used, twice the old size); signalled fences are dropped when it does.
   * Throws `EINVAL` for `num` < 1 and `ENOMEM` if the allocation (`GFP_KERNEL`, site
   * `dma_resv_reserve_fences`) fails, leaving the object as it was.
   */
  reserveFences(num: number): void {
    if (!this.mutex.isHeldByCurrent) this.reportNotLocked("dma_resv_reserve_fences");
    if (!Number.isInteger(num) || num < 1)
      throw new KernelError("EINVAL", `dma_resv_reserve_fences(${this.name}, ${num}): num must be >= 1`);
    const n = this.fences.length;
    let max: number;
    if (this.maxFences > 0) {
      if (n + num <= this.maxFences) return;
      max = Math.max(n + num, this.maxFences * 2);
    } else {
      max = Math.max(4, nextPow2(num));
    }
    const alloc = this.sim.mm.kmalloc(
      LIST_HEADER_BYTES + SLOT_BYTES * max,
      GFP_KERNEL,
      "dma_resv_reserve_fences",
    );
    // Keep the unsignalled fences in order; drop the signalled ones while the list is rebuilt.
    const fences = this.fences;
    const usages = this.usages;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const f = fences[i]!;
      if (f.isSignaled()) {
        f.put();
        continue;
      }
      fences[j] = f;
      usages[j] = usages[i]!;
      j++;
    }
    fences.length = j;
    usages.length = j;
    this.allocation?.free();
    this.allocation = alloc;
    this.maxFences = max;
    this.seq++;
  }

  /**
   * `dma_resv_add_fence(obj, fence, usage)`: adds `fence` (taking a reference). Needs the lock
   * and, unless it replaces a slot, a reserved one. It cannot fail otherwise — it is meant for
   * after the point of no return. Replaces the slot of a fence of the same context when
   * `fence` is later or the same and the old usage ≥ `usage`, or any signalled fence's slot;
   * otherwise appends. Without the lock (`resv-not-locked`) or a slot (`resv-no-slot`) — the
   * kernel BUGs — it is reported and refused with `EINVAL`. A container fence is reported
   * (`resv-container-fence`, the kernel WARNs) and, as in the kernel, still added.
   */
  addFence(fence: DmaFence, usage: DmaResvUsage): void {
    if (!this.mutex.isHeldByCurrent) this.reportNotLocked("dma_resv_add_fence");
    if (!isDmaResvUsage(usage)) throw new KernelError("EINVAL", `dma_resv_add_fence: bad usage ${usage}`);
    if (dmaFenceIsContainer(fence)) this.reportContainer(fence);
    const fences = this.fences;
    const usages = this.usages;
    const n = fences.length;
    const context = fence.context;
    for (let i = 0; i < n; i++) {
      const old = fences[i]!;
      if (
        (old.context === context && usages[i]! >= usage && dmaFenceIsLaterOrSame(fence, old)) ||
        old.isSignaled()
      ) {
        fences[i] = fence.get();
        usages[i] = usage;
        this.seq++;
        old.put();
        return;
      }
    }
    if (n >= this.maxFences) this.reportNoSlot(fence);
    fences.push(fence.get());
    usages.push(usage);
    this.seq++;
  }

  /**
   * `dma_resv_replace_fences(obj, context, replacement, usage)`: puts `replacement` (a new
   * reference each) with `usage` into every slot holding a fence of `context`. Needs the lock.
   * Used when a context's fences are known to be covered by another (preemption fences).
   */
  replaceFences(context: number, replacement: DmaFence, usage: DmaResvUsage): void {
    if (!this.mutex.isHeldByCurrent) this.reportNotLocked("dma_resv_replace_fences");
    if (!isDmaResvUsage(usage))
      throw new KernelError("EINVAL", `dma_resv_replace_fences: bad usage ${usage}`);
    const fences = this.fences;
    let changed = false;
    for (let i = 0; i < fences.length; i++) {
      const old = fences[i]!;
      if (old.context !== context) continue;
      fences[i] = replacement.get();
      this.usages[i] = usage;
      old.put();
      changed = true;
    }
    if (changed) this.seq++;
  }

  /**
   * `dma_resv_get_fences(obj, usage)`: a snapshot of the unsignalled fences with usage ≤ `usage`,
   * each with a new reference the caller must put. No lock needed. Throws `ENOMEM` if the array
   * allocation (`GFP_KERNEL`, site `dma_resv_get_fences`) fails.
   */
  getFences(usage: DmaResvUsage): DmaFence[] {
    let out: DmaFence[] = [];
    const cursor = new DmaResvIter(this, usage);
    try {
      for (let f = cursor.firstUnlocked(); f !== null; f = cursor.nextUnlocked()) {
        if (cursor.isRestarted()) {
          for (const g of out) g.put();
          out = [];
          // The kernel (re)allocates the array for the list it now walks.
          this.sim.mm.kmalloc(SLOT_BYTES * this.fences.length, GFP_KERNEL, "dma_resv_get_fences").free();
        }
        out.push(f.get());
      }
    } catch (e) {
      for (const g of out) g.put();
      throw e;
    } finally {
      cursor.end();
    }
    return out;
  }

  /**
   * `dma_resv_get_singleton(obj, usage)`: null when nothing is pending, the one fence (with a new
   * reference), or a new `DmaFenceArray` of all of them on a fresh context. Throws `ENOMEM` if
   * the array cannot be allocated.
   */
  getSingleton(usage: DmaResvUsage): DmaFence | null {
    const fences = this.getFences(usage);
    if (fences.length === 0) return null;
    if (fences.length === 1) return fences[0]!;
    const array = dmaFenceArrayCreate(this.sim, fences, dmaFenceContextAlloc(this.sim), 1, false);
    if (array === null) {
      for (const f of fences) f.put();
      throw new KernelError(
        "ENOMEM",
        `dma_resv_get_singleton(${this.name}): could not allocate a fence array`,
      );
    }
    return array;
  }

  /**
   * `dma_resv_copy_fences(dst, src)`: replaces this object's fences with the unsignalled fences
   * of `src` (with their usages). Needs this object's lock, not `src`'s. Throws `ENOMEM` (site
   * `dma_resv_copy_fences`), leaving this object unchanged. The copy has no spare slots.
   */
  copyFences(src: DmaResv): void {
    if (!this.mutex.isHeldByCurrent) this.reportNotLocked("dma_resv_copy_fences");
    let fences: DmaFence[] = [];
    let usages: DmaResvUsage[] = [];
    let alloc: Allocation | null = null;
    let max = 0;
    const cursor = new DmaResvIter(src, DmaResvUsage.BOOKKEEP);
    try {
      for (let f = cursor.firstUnlocked(); f !== null; f = cursor.nextUnlocked()) {
        if (cursor.isRestarted()) {
          for (const g of fences) g.put();
          fences = [];
          usages = [];
          alloc?.free();
          alloc = null;
          max = src.numFences;
          alloc = this.sim.mm.kmalloc(
            LIST_HEADER_BYTES + SLOT_BYTES * max,
            GFP_KERNEL,
            "dma_resv_copy_fences",
          );
        }
        fences.push(f.get());
        usages.push(cursor.currentUsage);
      }
    } catch (e) {
      for (const g of fences) g.put();
      alloc?.free();
      throw e;
    } finally {
      cursor.end();
    }
    for (const old of this.fences) old.put();
    this.fences.length = 0;
    this.usages.length = 0;
    this.fences.push(...fences);
    this.usages.push(...usages);
    this.allocation?.free();
    this.allocation = alloc;
    this.maxFences = max;
    this.seq++;
  }

  /**
   * `dma_resv_test_signaled(obj, usage)`: true when every fence with usage ≤ `usage` has
   * signalled (polling the drivers, which may signal them). No lock needed.
   */
  testSignaled(usage: DmaResvUsage): boolean {
    const fences = this.fences;
    const usages = this.usages;
    for (let i = 0; i < fences.length; i++) {
      if (usages[i]! <= usage && !fences[i]!.isSignaled()) return false;
    }
    return true;
  }

  /**
   * `dma_resv_wait_timeout(obj, usage, intr, timeout)`: waits for every fence with usage ≤
   * `usage`, with the fence-wait conventions: the time left (> 0; `MAX_SCHEDULE_TIMEOUT` without
   * a timeout), 0 on timeout, and with a zero timeout 1 if everything has signalled, else 0
   * (drmsim does not wait the kernel's extra jiffy). Throws `ERESTARTSYS` when interrupted. The
   * lock is not needed (and holding it is allowed: waiting with a resv held is the documented
   * direction).
   */
  async waitTimeout(usage: DmaResvUsage, opts: DmaResvWaitOptions = {}): Promise<number> {
    const timeout = opts.timeoutNs ?? MAX_SCHEDULE_TIMEOUT;
    if (!(timeout >= 0))
      throw new KernelError("EINVAL", `dma_resv_wait_timeout: negative timeout ${timeout}`);
    if (timeout === 0) return this.testSignaled(usage) ? 1 : 0;
    let ret = timeout;
    const cursor = new DmaResvIter(this, usage);
    try {
      for (let f = cursor.firstUnlocked(); f !== null; f = cursor.nextUnlocked()) {
        const left = await f.wait({
          interruptible: opts.interruptible === true,
          timeoutNs: ret >= MAX_SCHEDULE_TIMEOUT ? undefined : ret,
        });
        if (left <= 0) return 0;
        ret = left;
      }
    } finally {
      cursor.end();
    }
    return ret;
  }

  /** `dma_resv_set_deadline(obj, usage, deadline)`: passes the deadline hint to every pending fence with usage ≤ `usage`. */
  setDeadline(usage: DmaResvUsage, deadlineNs: number): void {
    const cursor = new DmaResvIter(this, usage);
    for (let f = cursor.firstUnlocked(); f !== null; f = cursor.nextUnlocked()) f.setDeadline(deadlineNs);
    cursor.end();
  }

  /**
   * `dma_resv_describe(obj, seq)`: a debugfs-style dump, one line per fence in slot order:
   * `\t<usage> fence: <driver> <timeline> seq <n> [un]signalled`.
   */
  describe(): string {
    const lines: string[] = [];
    for (let i = 0; i < this.fences.length; i++) {
      const f = this.fences[i]!;
      const err = f.error !== 0 ? ` err=${f.error}` : "";
      lines.push(
        `\t${dmaResvUsageName(this.usages[i]!)} fence: ${f.driverName} ${f.timelineName} seq ${f.seqno} ${f.signaled ? "" : "un"}signalled${err}`,
      );
    }
    return lines.join("\n");
  }

  /**
   * `dma_resv_fini(obj)`: drops every fence. The object must be unlocked (`EBUSY` otherwise,
   * changing nothing); calling it twice does nothing more.
   */
  fini(): void {
    if (this.finished) return;
    if (this.mutex.isLocked) throw new KernelError("EBUSY", `dma_resv_fini(${this.name}) while it is locked`);
    this.finished = true;
    for (const f of this.fences) f.put();
    this.fences.length = 0;
    this.usages.length = 0;
    this.maxFences = 0;
    this.allocation?.free();
    this.allocation = null;
    this.seq++;
  }

  toString(): string {
    return this.name;
  }

  private reportNoSlot(fence: DmaFence): never {
    const sim = this.sim;
    const ctx = sim.current;
    sim.validator.report({
      kind: "resv-no-slot",
      title: `dma_resv_add_fence(${this.name}) with no reserved slot (${this.fences.length}/${this.maxFences} used)`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      details: [`adding ${fence.describe()}`],
      explanation:
        "dma_resv_add_fence() runs after the point of no return and must not fail, so the slot " +
        "has to be reserved with dma_resv_reserve_fences() first — in the same lock hold: " +
        "reservations are dropped when the object is unlocked.",
    });
    throw new KernelError("EINVAL", `dma_resv_add_fence(${this.name}): no fence slot reserved`);
  }

  private reportContainer(fence: DmaFence): void {
    const ctx = this.sim.current;
    this.sim.validator.report({
      kind: "resv-container-fence",
      title: `dma_resv_add_fence(${this.name}) with a container fence (${fence.describe()})`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation:
        "A dma_resv holds individual fences so that replacement by context works; add each " +
        "member of a dma_fence_array or dma_fence_chain instead (dma_fence_unwrap).",
    });
  }
}
