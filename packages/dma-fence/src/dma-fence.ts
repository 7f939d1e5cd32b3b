/**
 * `struct dma_fence` (`include/linux/dma-fence.h`, `drivers/dma-buf/dma-fence.c`), with Linux 7.1
 * semantics.
 *
 * DOC: the DMA fence cross-driver contract. A dma_fence is a promise, made by a driver to every
 * other driver and to memory management, that some work will complete in bounded time. Because
 * shrinkers, mmu notifiers and other drivers wait on fences, the code on the way to `signal()`
 * must never wait for anything that could itself wait on a fence: no reclaim allocations, no
 * dma_resv locks, no waits on other fences, no locks held elsewhere across fence waits. drmsim
 * checks this with the validator: `signal()` runs inside a signalling section, `wait()` tells the
 * validator it may wait, and callbacks run atomically (under the fence lock, maybe in irq).
 *
 * What changed against older kernels (the seeds' era): `signal()` returns nothing and a repeat
 * signal is a no-op (≤ 6.19 returned -EINVAL) — use `checkAndSignal()` to learn whether it was
 * already signalled; ops are detached at signal time when the fence has no `release` op, so the
 * driver may go away; `wait(0)` returns 0 or 1 (it never returns -ETIME).
 */
import {
  contextTrack,
  ERRNO,
  type ErrnoName,
  frameList,
  KernelError,
  MAX_ERRNO,
  MAX_SCHEDULE_TIMEOUT,
  type ProgressStep,
  RefCounted,
  reportProgressRoots,
  type Simulator,
  type SpinLock,
  subsystemMemo,
  type TrackRef,
} from "@drmsim/runtime";
import { dmaFenceLockBrief, dmaFenceLockIrqsave, dmaFenceUnlockIrqrestore } from "./dma-fence-lock.js";
import { installDmaFenceProgress } from "./dma-fence-progress.js";
import { FENCE_TRACK_PROCESS, fenceTraceState, notePendingFences } from "./fence-trace-state.js";
import { fenceTimelineThread, traceDmaFence, traceDmaFenceEnableSignal, traceDmaFenceWait } from "./trace.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** `dma_fence_set_error()` after the fence signalled. */
    "fence-error-after-signal": true;
    /** The last reference to an unsignalled fence with pending callbacks was dropped. */
    "fence-released-unsignalled": true;
    /** A fence was still unsignalled, and referenced, when the simulation ended. */
    "fence-never-signalled": true;
    /** Fences of different contexts compared by seqno. */
    "fence-context-mismatch": true;
  }
}

/** `DMA_FENCE_FLAG_*_BIT`, as bit masks. */
export const DmaFenceFlag = {
  /** `DMA_FENCE_FLAG_INITIALIZED_BIT` (7.1). */
  INITIALIZED: 1 << 0,
  /** `DMA_FENCE_FLAG_SEQNO64_BIT`: 64-bit seqno ordering (`dma_fence_init64`). */
  SEQNO64: 1 << 1,
  /** `DMA_FENCE_FLAG_SIGNALED_BIT`. */
  SIGNALED: 1 << 2,
  /** `DMA_FENCE_FLAG_TIMESTAMP_BIT`: `timestamp` is valid. */
  TIMESTAMP: 1 << 3,
  /** `DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT`: `enableSignaling` was called. */
  ENABLE_SIGNAL: 1 << 4,
  /** `DMA_FENCE_FLAG_USER_BITS`: the first bit drivers may use for their own flags. */
  USER_BITS: 1 << 8,
} as const;

/**
 * `struct dma_fence_ops`. `getDriverName` and `getTimelineName` are mandatory; everything else
 * is optional and gets the kernel's default behaviour when absent.
 */
export interface DmaFenceOps<F extends DmaFence = DmaFence> {
  /** `get_driver_name`. */
  getDriverName(fence: F): string;
  /** `get_timeline_name`. */
  getTimelineName(fence: F): string;
  /**
   * `enable_signaling`: called once, lazily, on the first callback or wait; runs atomically
   * (under the fence lock). Return false if the fence already signalled — it is then signalled.
   */
  enableSignaling?(fence: F): boolean;
  /** `signaled`: a poll; returning true signals the fence (lazy fences such as sw_sync). */
  signaled?(fence: F): boolean;
  /** `release`: called when the last reference is dropped. Keeps ops attached after signal. */
  release?(fence: F): void;
  /** `set_deadline`: a hint that someone needs the fence by `deadlineNs`. */
  setDeadline?(fence: F, deadlineNs: number): void;
}

/** `struct dma_fence_cb`: a callback registration the caller owns (so it can be removed). */
export interface DmaFenceCb {
  /** `dma_fence_func_t`: runs atomically under the fence lock when the fence signals. */
  func(fence: DmaFence, cb: DmaFenceCb): void;
}

/** Options of `fence.wait()`. */
export interface DmaFenceWaitOptions {
  /** A simulated signal ends the wait with `ERESTARTSYS`. */
  interruptible?: boolean;
  /** Give up after this long (ns); undefined waits forever; negative is `EINVAL`. */
  timeoutNs?: number;
}

/** `dma_fence_init64`-style options. */
export interface DmaFenceInitOptions {
  /** The fence lock (`spinlock_t *lock`). Omitted: an inline lock (7.1 `INLINE_LOCK`). */
  lock?: SpinLock;
  /** `dma_fence_init64`: order seqnos as 64-bit values instead of wrapping 32-bit ones. */
  seqno64?: boolean;
}

// The hot paths test these as plain numbers: smaller bytecode keeps signal/put/addCallback
// within V8's inlining budget, which decides whether creating a fence allocates inline.
const SIGNALED = DmaFenceFlag.SIGNALED;
const ENABLE_SIGNAL = DmaFenceFlag.ENABLE_SIGNAL;
const SIGNALED_TIMESTAMP = DmaFenceFlag.SIGNALED | DmaFenceFlag.TIMESTAMP;
/**
 * drmsim's own flag (below `USER_BITS`, so no driver's bit): the fence lock is taken for real —
 * the fence has an external lock, or the validator is on (see `dma-fence-lock.ts`). Set once at
 * init; the hot paths test it together with SIGNALED, at no cost when it is clear.
 */
const LOCK_TAKEN = 1 << 7;
const SIGNALED_OR_LOCK_TAKEN = SIGNALED | LOCK_TAKEN;
/** drmsim's own flag: the fence has an external lock (in `externalLocks`). */
const EXTERNAL_LOCK = 1 << 6;
/** drmsim's own flag: the fence has an error (in `fenceErrors`). */
const HAS_ERROR = 1 << 5;
/** The errors of the fences that have one: few do, so it is no field of every fence. */
const fenceErrors = new WeakMap<DmaFence, number>();
/** The external locks of the fences created with one (`DmaFenceInitOptions.lock`). */
const externalLocks = new WeakMap<DmaFence, SpinLock>();
const ENOENT = -ERRNO.ENOENT;
const EINVAL = -ERRNO.EINVAL;

/**
 * `struct dma_fence`. Create with `new DmaFence(sim, ops, context, seqno)` (`dma_fence_init`);
 * the creator holds the first reference.
 */
export class DmaFence extends RefCounted {
  // Fields are `declare`d and assigned in the constructor, every one with its final type, rather
  // than written as class fields: V8 does not inline a base constructor with field initializers,
  // and DmaFence is the base of every driver's fence. (This halves the cost of creating a fence.)
  //
  // A pending fence is seven words (with the two of RefCounted): what a fence always needs. The
  // simulator is RefCounted's host; what few fences have — an error, an external lock — lives in
  // side tables behind a flag bit; the timestamp takes the callback list's slot once the fence has
  // signalled and the list is gone. (80 bytes per pending fence instead of 112.)
  /** `dma_fence.context`: the timeline; fences of one context signal in seqno order. */
  declare readonly context: number;
  /** `dma_fence.seqno`. */
  declare readonly seqno: number;
  /** `dma_fence.flags` (see `DmaFenceFlag`). */
  declare flags: number;
  /** The ops, or null once detached at signal (7.1: fences without a `release` op). */
  declare ops: DmaFenceOps | null;
  /**
   * `dma_fence.cb_list` while pending: the callbacks in the order added. One callback — by far the
   * common case — is stored as itself, so waiting on a fence allocates no list. Once signalled
   * (the list is spent): `dma_fence.timestamp`, in virtual ns.
   */
  declare private cbs: DmaFenceCb | DmaFenceCb[] | number | null;

  constructor(sim: Simulator, ops: DmaFenceOps, context: number, seqno: number, opts?: DmaFenceInitOptions) {
    // Checked before anything exists, so a rejected init leaves nothing behind.
    assertFenceOps(ops);
    super(sim);
    this.context = context;
    this.seqno = seqno;
    this.flags = DmaFenceFlag.INITIALIZED;
    this.ops = ops;
    this.cbs = null;
    if (opts !== undefined) this.applyInitOptions(opts);
    if (sim.validator.enabled || sim.tracer.on) this.initChecked();
  }

  /** The simulator this fence lives in. */
  get sim(): Simulator {
    return this.refHost as Simulator;
  }

  /** `dma_fence.error`: 0, or a negative errno once set (`setError`). */
  get error(): number {
    return (this.flags & HAS_ERROR) === 0 ? 0 : (fenceErrors.get(this) ?? 0);
  }

  set error(e: number) {
    if (e !== 0) {
      fenceErrors.set(this, e);
      this.flags |= HAS_ERROR;
    } else if ((this.flags & HAS_ERROR) !== 0) {
      fenceErrors.delete(this);
      this.flags &= ~HAS_ERROR;
    }
  }

  /** `dma_fence.timestamp` (virtual ns), valid once `TIMESTAMP` is set (0 before). */
  get timestampNs(): number {
    return (this.flags & DmaFenceFlag.TIMESTAMP) !== 0 ? (this.cbs as number) : 0;
  }

  /** The external fence lock, if the driver gave one (`dma_fence.extern_lock`); null for the inline lock. */
  get lock(): SpinLock | null {
    return (this.flags & EXTERNAL_LOCK) === 0 ? null : (externalLocks.get(this) ?? null);
  }

  /**
   * `dma_fence_driver_name()`: "detached-driver" once the fence has signalled, whatever its ops
   * (6.17+, and 7.1 tests the SIGNALED bit, not the ops pointer): a signalled fence owes its driver
   * nothing, so the name must not depend on the driver still being there. What `SYNC_IOC_FILE_INFO`
   * and `sync_file_get_name` report.
   */
  get driverName(): string {
    const ops = this.ops;
    return (this.flags & SIGNALED) !== 0 || ops === null ? "detached-driver" : ops.getDriverName(this);
  }

  /** `dma_fence_timeline_name()`: "signaled-timeline" once the fence has signalled (see `driverName`). */
  get timelineName(): string {
    const ops = this.ops;
    return (this.flags & SIGNALED) !== 0 || ops === null ? "signaled-timeline" : ops.getTimelineName(this);
  }

  /**
   * For the forward-progress verdicts: what this fence itself waits for, if it is a container
   * (an array waits for its members, a chain link for the fences it contains); undefined for a
   * fence some driver, job or command signals.
   */
  progressWaitsFor(): ProgressStep | undefined {
    return undefined;
  }

  /** For reports: the driver's own names while its ops are attached (even after signal), so a finding still says whose fence it was. */
  describe(): string {
    const ops = this.ops;
    const names =
      ops === null
        ? "detached-driver:signaled-timeline"
        : `${ops.getDriverName(this)}:${ops.getTimelineName(this)}`;
    return `dma_fence ${names} ctx ${this.context}#${this.seqno}${this.signaled ? " (signaled)" : ""}`;
  }

  /**
   * The trace track of this fence's timeline: one per fence context, named `timeline fences
   * (driver)` the first time the names can be read, in the process of the context's device
   * (`setDmaFenceContextDevice`) or `dma_fence`. All events of the context share the track
   * object, so a span opened before the name was known (a subclass's init) is still drawn on the
   * named track: spans are placed when they close.
   */
  get track(): TrackRef {
    const st = fenceTraceState(this.sim);
    let t = st.tracks.get(this.context);
    if (t === undefined) {
      t = {
        process: st.devices.get(this.context) ?? FENCE_TRACK_PROCESS,
        thread: `ctx ${this.context}`,
        named: false,
      };
      st.tracks.set(this.context, t);
    }
    if (!t.named && this.ops !== null) {
      try {
        t.thread = fenceTimelineThread(this.ops.getDriverName(this), this.ops.getTimelineName(this));
        t.named = true;
      } catch {
        // A subclass still in its constructor: named on the next event.
      }
    }
    return t;
  }

  /** `dma_fence_test_signaled_flag()`: the SIGNALED bit, without polling the driver. */
  get signaled(): boolean {
    return (this.flags & DmaFenceFlag.SIGNALED) !== 0;
  }

  /** `dma_fence_is_signaled()`: true if signalled; otherwise polls `ops.signaled`, signalling on true. */
  isSignaled(): boolean {
    if ((this.flags & DmaFenceFlag.SIGNALED) !== 0) return true;
    const ops = this.ops;
    if (ops?.signaled?.(this)) {
      this.signal();
      return true;
    }
    return false;
  }

  /** `dma_fence_test_signaled_flag()`. */
  testSignaledFlag(): boolean {
    return this.signaled;
  }

  /**
   * `dma_fence_signal()`: marks the fence signalled at the current virtual time and runs its
   * callbacks in the order they were added. A repeat signal changes nothing (7.1).
   */
  signal(): void {
    this.signalTimestamp(this.sim.now);
  }

  /** `dma_fence_signal_timestamp()`: as `signal()`, with an explicit timestamp. */
  signalTimestamp(timestampNs: number): void {
    const flags = this.flags;
    if ((flags & SIGNALED) !== 0) return;
    // The common case — inline lock, validator off — needs no lock, no signalling annotation and
    // nothing to undo if a callback throws, so it skips all of that.
    if ((flags & LOCK_TAKEN) === 0) this.markSignaled(timestampNs);
    else this.signalAnnotated(timestampNs);
  }

  /**
   * `dma_fence_check_and_signal()` (7.1): signals the fence and returns whether it was *already*
   * signalled.
   */
  checkAndSignal(): boolean {
    if ((this.flags & DmaFenceFlag.SIGNALED) !== 0) return true;
    this.signal();
    return false;
  }

  /**
   * `dma_fence_set_error()`: records an error to be reported when the fence signals. Takes a
   * negative errno (`-5`) or its name (`'EIO'`). After the fence signalled this is a bug the kernel
   * only WARNs about and then stores the error anyway, so drmsim reports it
   * (`fence-error-after-signal`; in `throw` mode that report is the exception) and stores it. An
   * error outside `-MAX_ERRNO..-1` is refused with `EINVAL` (the kernel WARNs and stores even
   * that, but a positive "error" would make `getStatus()` lie about success).
   */
  setError(err: number | ErrnoName): void {
    const e = typeof err === "string" ? -ERRNO[err] : err;
    if (!Number.isInteger(e) || e >= 0 || e < -MAX_ERRNO)
      throw new KernelError(
        "EINVAL",
        `dma_fence_set_error: error must be a negative errno in [-${MAX_ERRNO}, -1], got ${err}`,
      );
    if (this.signaled) {
      const ctx = this.sim.current;
      this.sim.validator.report({
        kind: "fence-error-after-signal",
        title: `dma_fence_set_error(${e}) on ${this.describe()}, which already signalled`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation:
          "Waiters may already have seen the fence complete without an error. Set the error before signalling.",
      });
    }
    this.error = e;
  }

  /** The error as a name (`'EIO'`), or undefined when there is none. */
  get errorCode(): ErrnoName | undefined {
    if (this.error === 0) return undefined;
    for (const [name, v] of Object.entries(ERRNO) as [ErrnoName, number][])
      if (v === -this.error) return name;
    return undefined;
  }

  /** `dma_fence_get_status()`: 0 while pending, 1 when signalled without error, else the negative error. */
  getStatus(): number {
    if (!this.isSignaled()) return 0;
    return this.error !== 0 ? this.error : 1;
  }

  /** `dma_fence_timestamp()`: the signal time; only meaningful once signalled. */
  get timestamp(): number {
    return (this.flags & DmaFenceFlag.TIMESTAMP) !== 0 ? this.timestampNs : this.sim.now;
  }

  /**
   * `dma_fence_enable_sw_signaling()`: asks the driver (once) to signal this fence when it
   * completes. Called implicitly by `addCallback` and `wait`.
   */
  enableSwSignaling(): void {
    if ((this.flags & LOCK_TAKEN) === 0) this.enableSignalingLocked();
    else this.enableSwSignalingChecked();
  }

  /**
   * `dma_fence_add_callback()`: runs `cb.func` when the fence signals. Returns 0 when queued, or
   * `-ENOENT` — without calling it — if the fence already signalled (a status, not an exception:
   * callers branch on it in the hot path). `-EINVAL` for a callback without `func`.
   */
  addCallback(cb: DmaFenceCb): number {
    if (typeof cb?.func !== "function") return EINVAL;
    // Signalled, or the fence lock is taken for real: the cold path, in a method of its own so
    // this one stays small enough for V8 to inline.
    if ((this.flags & SIGNALED_OR_LOCK_TAKEN) !== 0) return this.addCallbackChecked(cb);
    if (!this.enableSignalingLocked()) return ENOENT;
    if (this.cbs === null) this.cbs = cb;
    else this.appendCallback(cb);
    return 0;
  }

  /** `addCallback` under the fence lock, irqs off (`dma_fence_add_callback`'s locked part). */
  private addCallbackChecked(cb: DmaFenceCb): number {
    // As the kernel: a signalled fence is answered without taking the lock.
    if ((this.flags & SIGNALED) !== 0) return ENOENT;
    // No driver code runs under the lock unless enable_signaling is called now.
    if (!this.enableWouldCallDriver() && dmaFenceLockBrief(this, "dma_fence_add_callback")) {
      this.enableSignalingLocked();
      if (this.cbs === null) this.cbs = cb;
      else this.appendCallback(cb);
      return 0;
    }
    const flags = dmaFenceLockIrqsave(this, "dma_fence_add_callback");
    try {
      if (!this.enableSignalingLocked()) return ENOENT;
      if (this.cbs === null) this.cbs = cb;
      else this.appendCallback(cb);
      return 0;
    } finally {
      dmaFenceUnlockIrqrestore(this, flags, "dma_fence_add_callback");
    }
  }

  /** True if enabling signalling now would call the driver's `enable_signaling`. */
  private enableWouldCallDriver(): boolean {
    const ops = this.ops;
    return (this.flags & ENABLE_SIGNAL) === 0 && ops !== null && ops.enableSignaling !== undefined;
  }

  /** `enableSwSignaling` under the fence lock, irqs off. */
  private enableSwSignalingChecked(): void {
    if (!this.enableWouldCallDriver() && dmaFenceLockBrief(this, "dma_fence_enable_sw_signaling")) {
      this.enableSignalingLocked();
      return;
    }
    const flags = dmaFenceLockIrqsave(this, "dma_fence_enable_sw_signaling");
    try {
      this.enableSignalingLocked();
    } finally {
      dmaFenceUnlockIrqrestore(this, flags, "dma_fence_enable_sw_signaling");
    }
  }

  /** Adds a second or later callback to a pending fence (its slot holds callbacks, not a timestamp). */
  private appendCallback(cb: DmaFenceCb): void {
    const cbs = this.cbs as DmaFenceCb | DmaFenceCb[];
    if (Array.isArray(cbs)) cbs.push(cb);
    else this.cbs = [cbs, cb];
  }

  /** `dma_fence_remove_callback()`: true if `cb` was still pending (and now never runs). */
  removeCallback(cb: DmaFenceCb): boolean {
    if ((this.flags & LOCK_TAKEN) === 0 || dmaFenceLockBrief(this, "dma_fence_remove_callback"))
      return this.removeCallbackLocked(cb);
    const flags = dmaFenceLockIrqsave(this, "dma_fence_remove_callback");
    try {
      return this.removeCallbackLocked(cb);
    } finally {
      dmaFenceUnlockIrqrestore(this, flags, "dma_fence_remove_callback");
    }
  }

  private removeCallbackLocked(cb: DmaFenceCb): boolean {
    if ((this.flags & SIGNALED) !== 0) return false;
    const cbs = this.cbs;
    if (cbs === null) return false;
    if (!Array.isArray(cbs)) {
      if (cbs !== cb) return false;
      this.cbs = null;
      return true;
    }
    const i = cbs.indexOf(cb);
    if (i < 0) return false;
    cbs.splice(i, 1);
    return true;
  }

  /** Number of callbacks still pending (for tests and debugfs-style dumps). */
  get pendingCallbacks(): number {
    if ((this.flags & SIGNALED) !== 0) return 0;
    const cbs = this.cbs;
    return cbs === null ? 0 : Array.isArray(cbs) ? cbs.length : 1;
  }

  /**
   * `dma_fence_wait_timeout()` / `dma_fence_wait()`. Sleeps until the fence signals. Returns the
   * remaining time (> 0; `MAX_SCHEDULE_TIMEOUT` without a timeout), **1** for a zero timeout on a
   * signalled fence, **0** on timeout. Throws `ERESTARTSYS` when interrupted and `EINVAL` for a
   * negative timeout. Tells the validator it may wait: inside a signalling section that is a bug.
   */
  async wait(opts: DmaFenceWaitOptions = {}): Promise<number> {
    const timeout = opts.timeoutNs ?? MAX_SCHEDULE_TIMEOUT;
    if (!(timeout >= 0))
      throw new KernelError("EINVAL", `dma_fence_wait_timeout: negative timeout ${timeout}`);
    const sim = this.sim;
    const v = sim.validator;
    const names = this.traceArgs();
    const op = `dma_fence_wait(${names.driver}:${names.timeline}#${this.seqno})`;
    v.mightSleep(op);
    v.mightWaitFence(op);
    this.enableSwSignaling();
    if (!sim.tracer.on) return this.defaultWait(opts.interruptible === true, timeout);
    const span = {};
    sim.tracer.begin(traceDmaFenceWait, contextTrack(sim.current), span, this.traceArgs());
    if (sim.tracer.isOpen(this)) sim.tracer.flow("wait", this, span);
    try {
      const ret = await this.defaultWait(opts.interruptible === true, timeout);
      sim.tracer.end(span, { ret });
      return ret;
    } catch (e) {
      sim.tracer.end(span, { ret: (e as { errno?: number }).errno ?? 0 });
      throw e;
    }
  }

  /** `dma_fence_set_deadline()`: forwards the hint to the driver while the fence is pending. */
  setDeadline(deadlineNs: number): void {
    if (this.signaled) return;
    this.ops?.setDeadline?.(this, deadlineNs);
  }

  /** Whether seqnos of this fence's context are ordered as 64-bit values. */
  get seqno64(): boolean {
    return (this.flags & DmaFenceFlag.SEQNO64) !== 0;
  }

  /**
   * Trace arguments of this fence. Like the kernel's `dma_fence_unsignaled` event class, the names
   * come from the ops while they are attached (the `signaled` event is emitted on the signalling
   * path, where the driver is still there), not from the detaching accessors.
   */
  traceArgs(): { driver: string; timeline: string; context: number; seqno: number } {
    const ops = this.ops;
    return {
      driver: ops === null ? "detached-driver" : ops.getDriverName(this),
      timeline: ops === null ? "signaled-timeline" : ops.getTimelineName(this),
      context: this.context,
      seqno: this.seqno,
    };
  }

  /**
   * Called at the last `put()` (`dma_fence_release`): an unsignalled fence that still has
   * callbacks would leave its waiters stuck, so — like the kernel — it is reported, given
   * `-EDEADLK` and signalled. Then `ops.release` runs.
   */
  protected release(): void {
    if ((this.flags & SIGNALED) === 0 && this.cbs !== null) this.releaseChecked();
    const ops = this.ops;
    if (ops !== null && ops.release !== undefined) ops.release(this);
  }

  /** The uncommon part of `release()`: a fence dropped with waiters. */
  private releaseChecked(): void {
    const pending = this.pendingCallbacks;
    if (!this.signaled && pending > 0) {
      const ctx = this.sim.current;
      if (this.sim.validator.enabled)
        this.sim.validator.report({
          kind: "fence-released-unsignalled",
          title: `last reference to ${this.describe()} dropped while unsignalled with ${pending} callback(s) pending`,
          context: ctx.label,
          backtrace: frameList(ctx.frame),
          explanation:
            "Whoever is expected to signal a fence must hold a reference until it has. The fence is signalled with -EDEADLK so waiters wake.",
        });
      this.error = -ERRNO.EDEADLK;
      this.signal();
    }
  }

  private applyInitOptions(opts: DmaFenceInitOptions): void {
    if (opts.seqno64 === true) this.flags |= DmaFenceFlag.SEQNO64;
    const lock = opts.lock;
    if (lock !== undefined) {
      externalLocks.set(this, lock);
      this.flags |= LOCK_TAKEN | EXTERNAL_LOCK;
    }
  }

  /** The checked part of init: the teardown check and the init tracepoint. */
  private initChecked(): void {
    const sim = this.sim;
    if (sim.validator.enabled) {
      this.flags |= LOCK_TAKEN;
      fenceTeardownCheck(sim);
    }
    if (sim.tracer.on) this.traceInit();
  }

  private traceInit(): void {
    // A subclass's fields are not initialised yet while this base constructor runs, and its ops
    // may read them: fall back to the numbers alone rather than fail the init.
    let args: { driver: string; timeline: string; context: number; seqno: number };
    try {
      args = this.traceArgs();
    } catch {
      args = { driver: "?", timeline: `ctx ${this.context}`, context: this.context, seqno: this.seqno };
    }
    this.sim.tracer.begin(traceDmaFence, this.track, this, args);
    notePendingFences(this.sim, 1);
  }

  /**
   * Signals inside a fence-signalling section (when the validator is on), under the fence lock,
   * with callbacks counted as atomic context: the checked path.
   */
  private signalAnnotated(timestampNs: number): void {
    const sim = this.sim;
    const v = sim.validator;
    const cookie = v.enabled ? v.beginSignalling() : null;
    // Without callbacks nothing runs under the lock: record it as taken and dropped.
    if (this.cbs === null && dmaFenceLockBrief(this, "dma_fence_signal")) {
      try {
        this.markSignaled(timestampNs);
      } finally {
        if (cookie !== null) v.endSignalling(cookie);
      }
      return;
    }
    // dma_fence_signal takes the fence lock with irqs off (fences are signalled from interrupt
    // handlers and from process context alike); the callbacks run under it, atomically.
    let flags: number;
    try {
      flags = dmaFenceLockIrqsave(this, "dma_fence_signal");
    } catch (e) {
      if (cookie !== null) v.endSignalling(cookie);
      throw e;
    }
    try {
      // A callback of another fence may have signalled this one meanwhile.
      if ((this.flags & SIGNALED) === 0) this.markSignaled(timestampNs);
    } finally {
      dmaFenceUnlockIrqrestore(this, flags, "dma_fence_signal");
      if (cookie !== null) v.endSignalling(cookie);
    }
  }

  /** Sets SIGNALED and the timestamp, detaches the ops (7.1) and runs the callbacks in order. */
  private markSignaled(timestampNs: number): void {
    // The callback list is spent: its slot holds the timestamp from now on.
    const cbs = this.cbs as DmaFenceCb | DmaFenceCb[] | null;
    this.cbs = timestampNs;
    this.flags |= SIGNALED_TIMESTAMP;
    if (this.sim.tracer.on) this.traceSignaled();
    const ops = this.ops;
    if (ops !== null && ops.release === undefined) this.ops = null;
    if (cbs === null) return;
    if (!Array.isArray(cbs)) cbs.func(this, cbs);
    else this.runCallbacks(cbs);
  }

  private runCallbacks(cbs: DmaFenceCb[]): void {
    for (let i = 0; i < cbs.length; i++) {
      const cb = cbs[i]!;
      cb.func(this, cb);
    }
  }

  private traceSignaled(): void {
    const tracer = this.sim.tracer;
    if (!tracer.isOpen(this)) return;
    // Names the track and the arguments if the init could not (a subclass still in its
    // constructor then); the ops are still attached here.
    void this.track;
    let names: { driver: string; timeline: string } | null = null;
    try {
      const { driver, timeline } = this.traceArgs();
      names = { driver, timeline };
    } catch {
      // Keep what init recorded.
    }
    tracer.end(this, names === null ? { error: this.error } : { ...names, error: this.error });
    notePendingFences(this.sim, -1);
  }

  /** Sets ENABLE_SIGNAL once and asks the driver; false if the fence is (now) signalled. */
  private enableSignalingLocked(): boolean {
    const flags = this.flags;
    if ((flags & SIGNALED) !== 0) return false;
    if ((flags & ENABLE_SIGNAL) !== 0) return true;
    this.flags = flags | ENABLE_SIGNAL;
    const ops = this.ops;
    return ops === null || ops.enableSignaling === undefined || this.callEnableSignaling(ops.enableSignaling);
  }

  /** `ops.enable_signaling`, atomically; a false return means "already done" and signals. */
  private callEnableSignaling(enable: (fence: DmaFence) => boolean): boolean {
    if (this.sim.tracer.on)
      this.sim.tracer.instant(traceDmaFenceEnableSignal, contextTrack(this.sim.current), this.traceArgs());
    const ctx = this.sim.current;
    ctx.atomicDepth++;
    let ok: boolean;
    try {
      ok = enable.call(this.ops, this);
    } finally {
      ctx.atomicDepth--;
    }
    if (!ok) {
      // dma_fence_signal_locked: the caller holds the fence lock (taking it again would deadlock).
      if ((this.flags & SIGNALED) === 0) this.markSignaled(this.sim.now);
      return false;
    }
    return true;
  }

  private async defaultWait(intr: boolean, timeout: number): Promise<number> {
    const sim = this.sim;
    if (this.isSignaled()) return timeout === 0 ? 1 : timeout;
    const ctx = sim.current;
    if (intr && ctx.signalPending) {
      ctx.signalPending = false;
      throw new KernelError("ERESTARTSYS", `wait on ${this.describe()} interrupted by a signal`);
    }
    if (timeout === 0) return 0;
    const deadline = timeout >= MAX_SCHEDULE_TIMEOUT ? Number.POSITIVE_INFINITY : sim.now + timeout;
    const sleeper = sim.sleep(
      { kind: "dma_fence", what: this.describe(), object: this },
      { op: "dma_fence_default_wait", deadlineNs: deadline, wakeOn: intr ? "interruptible" : "none" },
    );
    const cb: DmaFenceCb = { func: () => sleeper.wake("woken") };
    if (this.addCallback(cb) !== 0) sleeper.wake("woken");
    const why = await sleeper.promise;
    if (why !== "woken") this.removeCallback(cb);
    if (why === "signal") {
      ctx.signalPending = false;
      throw new KernelError("ERESTARTSYS", `wait on ${this.describe()} interrupted by a signal`);
    }
    if (!this.signaled) return 0;
    return deadline === Number.POSITIVE_INFINITY ? MAX_SCHEDULE_TIMEOUT : Math.max(1, deadline - sim.now);
  }
}

/** The mandatory ops of `dma_fence_init`, checked before anything is created. */
function assertFenceOps(ops: DmaFenceOps): void {
  if (typeof ops?.getDriverName !== "function" || typeof ops.getTimelineName !== "function")
    throw new KernelError(
      "EINVAL",
      "dma_fence_init: ops.getDriverName and ops.getTimelineName are mandatory",
    );
}

const TEARDOWN_CHECK = {};

/**
 * Registers (once per simulator) the teardown check that reports every fence still referenced
 * and unsignalled when the simulation ends (`fence-never-signalled`): a promise of completion
 * that was never kept. Asked at every fence's creation, so memoized for the last simulator.
 */
const fenceTeardownCheck = subsystemMemo(TEARDOWN_CHECK, (sim) => {
  installDmaFenceProgress(sim, DmaFence);
  sim.onTeardown(() => {
    const fences: DmaFence[] = [];
    for (const obj of sim.liveRefs) if (obj instanceof DmaFence && !obj.signaled) fences.push(obj);
    if (fences.length === 0) return;
    const stuck = fences.map((f) => f.describe());
    sim.validator.report({
      kind: "fence-never-signalled",
      title: `${stuck.length} dma_fence${stuck.length === 1 ? "" : "s"} never signalled before teardown`,
      context: sim.mainContext.label,
      details: stuck.slice(0, 20).concat(stuck.length > 20 ? [`… and ${stuck.length - 20} more`] : []),
      explanation:
        "A dma_fence must signal in bounded time. One still pending when the world ends means its signalling path depends on something that never happened: userspace, a lost wake-up, or a hang without a timeout.",
    });
    // Why each one cannot signal: its chain back to the root, each root reported once — only
    // when nothing was left to run (a run cut short by a time bound still had its answer coming).
    if (sim.pendingEvents === 0) reportProgressRoots(sim, fences);
  });
  return true;
});
