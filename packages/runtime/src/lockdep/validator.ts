/**
 * The lockdep-style validator (`kernel/locking/lockdep.c`, plus the dma-fence annotations of
 * `drivers/dma-buf/dma-fence.c`).
 *
 * Model: lock *classes*; a held-lock stack per execution context; an edge A → B the first time B
 * is taken while A is held; a cycle check on every new edge. A cycle is reported the first time
 * the *ordering* is seen, whether or not this run deadlocks — that is the point of lockdep.
 *
 * The dma-fence rules fall out of the same graph, as in the kernel:
 * - `dma_fence_map` is a fake lock. `beginSignalling()` takes it as a read trylock (no edges into
 *   it, but every lock taken inside the section gets an edge from it); every fence wait takes it
 *   exclusively and drops it at once, so locks held across a wait get an edge to it.
 * - `fs_reclaim` is taken by every allocation that may reclaim; shrinkers run inside it and wait
 *   on fences, so allocating with reclaim inside a section closes a cycle.
 * - The graph is primed at boot with the kernel's `dma_resv_lockdep()` order
 *   (mmap_lock → dma_resv → fs_reclaim → mmu_notifier → dma_fence_map), so the first violation is
 *   caught before both halves of a cycle have ever run.
 *
 * Beyond lockdep, a wait inside a signalling section is reported directly (`wait-in-signalling`):
 * the fence waited on may depend on the one this section must signal.
 */

import { ExecutionContext, frameList } from "../context.js";
import { KernelError } from "../errno.js";
import type { DependencyLink, FindingInit, FindingKind } from "./finding.js";
import { Finding, ValidatorError } from "./finding.js";
import { type HeldLock, HeldLockEntry, LockChain, type LockMode } from "./held-lock.js";
import {
  LOCK_ENABLED_HARDIRQ,
  LOCK_USED_IN_HARDIRQ,
  LockClass,
  type LockKind,
  type UsageWitness,
} from "./lock-class.js";

declare module "./finding.js" {
  interface FindingKinds {
    /**
     * A spinlock class taken in hardirq context and also in process context with hardirqs
     * enabled (lockdep's "inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage").
     */
    "inconsistent-lock-state": true;
  }
}

/** `throw`: a finding throws a `ValidatorError` at the faulty call (tests). `collect`: findings are kept in `validator.findings` and the run goes on (tools, reports). `off`: nothing is checked, at no cost (benchmarks). */
export type ValidatorMode = "throw" | "collect" | "off";

/** What the validator needs from the simulator. */
export interface ValidatorHost {
  readonly current: ExecutionContext;
  readonly now: number;
  /** Called with the error a finding throws, so the simulator can fail the run even if a task swallowed it. */
  noteFatal(err: ValidatorError): void;
}

interface Edge {
  readonly to: LockClass;
  link: DependencyLink;
  /** Recorded by boot-time priming; replaced by the first real path that takes the same order. */
  primed: boolean;
}

/** Options for `Validator.acquire`. */
export interface AcquireOptions {
  mode?: LockMode;
  /** A trylock adds no edges into the class (it cannot block), only out of it. */
  trylock?: boolean;
  /** Same-class nesting is allowed between holders that pass the same key (ww acquire contexts, `mutex_lock_nest_lock`). */
  nestKey?: object | null;
}

const FENCE_SIGNALLING_WHY =
  "Code between dma_fence_begin_signalling() and the fence's signal is on the path that " +
  "completes a dma_fence. Memory reclaim (shrinkers, mmu notifiers) and other drivers wait on " +
  "fences, so nothing on that path may allocate with reclaim (use GFP_NOWAIT/GFP_ATOMIC and " +
  "preallocate), take a dma_resv lock, fault on user memory, wait on another fence, or take a lock " +
  "that is held elsewhere while waiting on a fence. See the DMA fence cross-driver contract.";

/**
 * The lock validator: lockdep (`kernel/locking/lockdep.c`) — lock classes, the dependency graph,
 * the chain cache and irq usage — plus the dma-fence, reclaim and sleep annotations built on it.
 * One per simulator (`sim.validator`).
 */
export class Validator {
  /** Findings recorded so far (all modes but `off`), in order. */
  readonly findings: Finding[] = [];
  private readonly classes = new Map<string, LockClass>();
  private readonly edges = new Map<number, Map<number, Edge>>();
  private readonly seen = new Map<string, Finding>();
  private priming = false;
  /** The chain cache's root: the empty held stack. */
  private readonly chainRoot: LockChain;
  /**
   * Released held-lock entries, reused by the next acquisition: what the kernel's per-task
   * `held_locks[]` array gives it (no allocation per lock). An entry is recycled only when it
   * leaves a stack by a release — nothing keeps a reference to it past that point.
   */
  private freeHeld: HeldLockEntry | null = null;
  /** The site `beginSignalling` pushes: the read trylock of `dma_fence_map`. */
  private readonly sectionSite: HeldLockEntry;

  /** `dma_fence_lockdep_map`: held (read) inside fence-signalling critical sections. */
  readonly dmaFenceMap: LockClass;
  /** `__fs_reclaim_map`: taken by allocations that may enter filesystem reclaim; shrinkers run inside it. */
  readonly fsReclaim: LockClass;
  /** `__mmu_notifier_invalidate_range_start_map`: held across mmu-notifier invalidation callbacks. */
  readonly mmuNotifier: LockClass;
  /** `&mm->mmap_lock`: taken (read) by a simulated page fault or user copy. */
  readonly mmapLock: LockClass;
  /** `reservation_ww_class_mutex`: the class of every `dma_resv` lock. */
  readonly reservation: LockClass;
  /** `&mapping->i_mmap_rwsem`. */
  readonly iMmapRwsem: LockClass;

  /**
   * True unless the mode is `off`. Fixed when the validator is created: a plain field, because
   * every fence, lock and reference tests it on its fast path.
   */
  readonly enabled: boolean;
  private modeValue: ValidatorMode;

  constructor(
    private readonly host: ValidatorHost,
    mode: ValidatorMode = "throw",
  ) {
    this.modeValue = mode;
    this.enabled = mode !== "off";
    this.dmaFenceMap = this.lockClass("dma_fence_map", "map");
    this.fsReclaim = this.lockClass("fs_reclaim", "map");
    this.mmuNotifier = this.lockClass("mmu_notifier_invalidate_range_start", "map");
    this.mmapLock = this.lockClass("&mm->mmap_lock", "rwsem");
    this.reservation = this.lockClass("reservation_ww_class_mutex", "ww_mutex");
    this.iMmapRwsem = this.lockClass("&mapping->i_mmap_rwsem", "rwsem");
    this.chainRoot = new LockChain(this.dmaFenceMap, null, null);
    this.sectionSite = this.lockSite(
      this.dmaFenceMap,
      this.dmaFenceMap,
      "dma_fence_begin_signalling",
      true,
      "read",
    );
    this.prime();
  }

  /**
   * `throw`, `collect` or `off`. A validator may move between `throw` and `collect` (teardown
   * collects everything before it throws); whether it is on at all is decided at creation.
   */
  get mode(): ValidatorMode {
    return this.modeValue;
  }

  set mode(mode: ValidatorMode) {
    if ((mode === "off") === this.enabled)
      throw new KernelError(
        "EINVAL",
        `validator: cannot switch from ${this.modeValue} to ${mode}; create the simulator with the validator on or off`,
      );
    this.modeValue = mode;
  }

  /**
   * The lock class with this name, created on first use (`lockdep_register_key` /
   * `__mutex_init`'s static key). Two locks created with the same name share a class.
   */
  lockClass(name: string, kind: LockKind): LockClass {
    let cls = this.classes.get(name);
    if (cls === undefined) {
      cls = new LockClass(name, kind);
      this.classes.set(name, cls);
    }
    return cls;
  }

  /**
   * `lock_acquire()`: records that the current context takes `cls` (for `instance`), adding
   * dependency edges from every lock it holds and checking them for cycles.
   */
  acquire(cls: LockClass, instance: object, op: string, opts?: AcquireOptions): void {
    if (!this.enabled) return;
    if (opts === undefined) this.acquireIn(this.host.current, cls, instance, op, "write", false, null);
    else
      this.acquireIn(
        this.host.current,
        cls,
        instance,
        op,
        opts.mode ?? "write",
        opts.trylock ?? false,
        opts.nestKey ?? null,
      );
  }

  /**
   * `lock_acquire(lock, subclass, trylock, read, check, nest_lock, ip)` with positional
   * arguments, as the kernel's own hot path calls it: what `acquire` does without an options
   * object to read (locks call this on every acquisition).
   */
  lockAcquire(
    cls: LockClass,
    instance: object,
    op: string,
    trylock: boolean,
    mode: LockMode = "write",
    nestKey: object | null = null,
  ): void {
    if (!this.enabled) return;
    this.acquireIn(this.host.current, cls, instance, op, mode, trylock, nestKey);
  }

  /** @internal `lockAcquire` for a caller that already knows it runs as `ctx` (`sim.current`). */
  lockAcquireIn(
    ctx: ExecutionContext,
    cls: LockClass,
    instance: object,
    op: string,
    trylock: boolean,
    mode: LockMode,
    nestKey: object | null,
  ): void {
    if (!this.enabled) return;
    this.acquireIn(ctx, cls, instance, op, mode, trylock, nestKey);
  }

  /**
   * @internal A prebuilt held-lock entry for one operation of one lock (`spin_lock(&ring->lock)`
   * on that ring), for `acquireSite`. Everything an acquisition records but the backtrace, the time
   * and the chain is the same each time the operation runs, so it is written once here.
   */
  lockSite(
    cls: LockClass,
    instance: object,
    op: string,
    trylock: boolean,
    mode: LockMode = "write",
  ): HeldLockEntry {
    return new HeldLockEntry(cls, instance, mode, trylock, op, null, 0, null, null, true);
  }

  /**
   * @internal `lockAcquireIn` of a plain write lock whose instances are not objects of their own
   * with a site each — a fence's inline lock, keyed by the fence — through one site per class:
   * while that site is free it is lent to this acquisition (its instance and op rewritten, neither
   * of which the site's cached check depends on) and taken through `acquireSite`; while it is on a
   * stack, the acquisition takes a pooled entry as `lockAcquireIn` would. Called only while the
   * validator is enabled; released with `releaseIn`, as any lock.
   */
  acquireInstance(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): void {
    const site = cls.instanceSite;
    if (site === null || site.onStack === true) {
      this.acquireInstanceSlow(ctx, cls, instance, op);
      return;
    }
    site.instance = instance;
    site.op = op;
    this.acquireSite(ctx, site);
  }

  private acquireInstanceSlow(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): void {
    if (cls.instanceSite === null) {
      cls.instanceSite = this.lockSite(cls, instance, op, false);
      this.acquireInstance(ctx, cls, instance, op);
      return;
    }
    this.acquireIn(ctx, cls, instance, op, "write", false, null);
  }

  /**
   * @internal `lockAcquireIn` for a site from `lockSite`, called only while the validator is
   * enabled: the same checks, the same findings in the same order. A site remembers the last held
   * stack (chain node) it was found clean on; taking it again on that stack — the site free, the
   * usage bit already recorded — pushes the site itself with three stores and no lookup.
   */
  acquireSite(ctx: ExecutionContext, site: HeldLockEntry): void {
    // Booleans are compared with `=== true`: a bare `if (flag)` on a field compiles to a full
    // truthiness test (false, "", 0, NaN, 0n…) because the JIT does not track that the field only
    // ever holds a boolean — several per acquisition were a measurable part of its cost.
    const held = ctx.held;
    const depth = held.length;
    const parent = depth === 0 ? this.chainRoot : (held[depth - 1] as HeldLockEntry).chain!;
    if (site.cleanOn !== parent || site.onStack === true) {
      this.acquireSiteSlow(ctx, site, parent);
      return;
    }
    if (site.irqTracked === true) {
      // mark_usage()'s test, inline: the bit this acquisition sets (in an irq context the
      // in-hardirq one whatever the irq-disable depth says; 2 is LOCK_ENABLED_HARDIRQ) must
      // already be recorded on the class.
      const on = ctx.hardirqUsage;
      const bit = on === 2 && ctx.hardirqsOff !== 0 ? 0 : on;
      // `usageSeen`: bits the class was seen to have, kept on the site (one load fewer than the
      // class's own mask). A class never loses a usage bit, so what the site saw is still set.
      if ((site.usageSeen & bit) !== bit) {
        this.acquireSiteSlow(ctx, site, parent);
        return;
      }
    }
    // `site.chain` is still the node it was found clean with: only `rechain` moves it, and that
    // forgets `cleanOn`.
    site.onStack = true;
    // A repeated acquisition from the same place stores nothing: no write barrier.
    const frame = ctx.frame;
    if (site.frame !== frame) site.frame = frame;
    site.timeNs = this.host.now;
    held.push(site);
  }

  /** `acquireSite` on a stack the site has not been found clean on, or with work to do. */
  private acquireSiteSlow(ctx: ExecutionContext, site: HeldLockEntry, parent: LockChain): void {
    const cls = site.cls;
    const chain = parent.child(cls);
    if (
      site.onStack === true ||
      (chain.validated === false && site.unchecked === false) ||
      (cls.irqTracked === true && this.usageUnrecorded(ctx, cls))
    ) {
      this.acquireIn(ctx, cls, site.instance, site.op, site.mode, site.trylock, site.nestKey);
      return;
    }
    // Nothing to check on this stack, now or later: a chain never stops being validated.
    site.cleanOn = parent;
    site.usageSeen = cls.usage;
    site.onStack = true;
    site.frame = ctx.frame;
    site.timeNs = this.host.now;
    site.chain = chain;
    ctx.held.push(site);
  }

  /** True if taking `cls` in `ctx` now would set a usage bit the class does not have yet. */
  private usageUnrecorded(ctx: ExecutionContext, cls: LockClass): boolean {
    // In an irq context the bit is in-hardirq whatever the irq-disable depth says. The literal 2
    // is LOCK_ENABLED_HARDIRQ: an imported constant costs a load and a type check per use here.
    const on = ctx.hardirqUsage;
    const bit = on === 2 && ctx.hardirqsOff !== 0 ? 0 : on;
    return (cls.usage & bit) !== bit;
  }

  /**
   * `lock_release()`. Returns false — after reporting `unbalanced-unlock` — if the current
   * context does not hold `instance`.
   */
  release(cls: LockClass, instance: object, op: string): boolean {
    if (this.enabled === false) return true;
    return this.releaseIn(this.host.current, cls, instance, op);
  }

  /**
   * @internal `release` for a caller that already knows it runs as `ctx` (`sim.current`): the
   * locks' own unlock paths, which look the context up anyway.
   */
  releaseIn(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): boolean {
    if (this.enabled === false) return true;
    const held = ctx.held;
    const top = held.length - 1;
    // Fast path: a lock site released innermost first, which is what nearly every unlock is. Kept
    // this small so the JIT inlines it into every unlock: what it inlines there is budgeted by
    // size, and a lock loop has more to inline than the budget allows.
    if (top >= 0) {
      const h = held[top] as HeldLockEntry;
      if (h.instance === instance && h.site === true && h.cls === cls) {
        held.pop();
        h.onStack = false;
        return true;
      }
    }
    return this.releaseSlow(ctx, cls, instance, op);
  }

  /** `releaseIn` of anything but a site on top: a pooled entry on top, or one further down. */
  private releaseSlow(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): boolean {
    const held = ctx.held;
    const top = held.length - 1;
    if (top >= 0) {
      const h = held[top] as HeldLockEntry;
      if (h.instance === instance && h.cls === cls) {
        held.pop();
        this.recycle(h);
        return true;
      }
    }
    return this.releaseOutOfOrder(ctx, cls, instance, op);
  }

  /** `release` of a lock that is not the innermost one held, or not held at all. */
  private releaseOutOfOrder(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): boolean {
    const held = ctx.held;
    for (let i = held.length - 2; i >= 0; i--) {
      const h = held[i]!;
      if (h.instance === instance && h.cls === cls) {
        held.splice(i, 1);
        this.rechain(held, i);
        this.recycle(h as HeldLockEntry);
        return true;
      }
    }
    const isMap = cls === this.dmaFenceMap;
    this.report({
      kind: isMap ? "signalling-mismatch" : "unbalanced-unlock",
      title: isMap
        ? `${op} without a matching dma_fence_begin_signalling()`
        : `bad unlock balance: ${op} releases ${cls.name}, which ${ctx.label} does not hold`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: this.describeHeld(ctx),
      explanation: isMap
        ? "dma_fence_end_signalling() must get the cookie its own dma_fence_begin_signalling() returned, in the same context."
        : "A lock may only be released by the context that holds it, once per acquisition.",
    });
    return false;
  }

  /** Acquire and release at once: records the dependency without holding (`lock_map_acquire` + `lock_map_release`, `might_lock`). */
  acquireRelease(cls: LockClass, op: string, mode: LockMode = "write"): void {
    if (!this.enabled) return;
    const ctx = this.host.current;
    this.acquireIn(ctx, cls, cls, op, mode, false, null);
    // It went on top of the stack: nothing above it to re-chain.
    ctx.held.pop();
  }

  /**
   * `might_lock()` for a spinlock taken with irqs off and dropped before anything else is taken
   * under it (`spin_lock_irqsave` + `spin_unlock_irqrestore` around plain data): the dependencies
   * and usage the acquisition implies, without a held-lock entry. Costs a chain-cache lookup when
   * the same stack took the class before.
   */
  mightLockIrqsave(ctx: ExecutionContext, cls: LockClass, instance: object, op: string): void {
    if (!this.enabled) return;
    const held = ctx.held;
    const depth = held.length;
    // Irqs are off while it is held: in process context no usage bit is set, in irq context the
    // in-hardirq one.
    if (cls.irqTracked && ctx.kind === "irq" && (cls.usage & LOCK_USED_IN_HARDIRQ) === 0)
      this.markUsage(ctx, cls, op, LOCK_USED_IN_HARDIRQ);
    if (depth === 0 || held[depth - 1]!.chain!.child(cls).validated) return;
    const saved = ctx.hardirqsOff;
    ctx.hardirqsOff = saved + 1;
    try {
      this.acquireIn(ctx, cls, instance, op, "write", false, null);
      held.pop();
    } finally {
      ctx.hardirqsOff = saved;
    }
  }

  /** True if the current context holds `instance` (or any lock of `cls` when no instance is given). */
  isHeld(cls: LockClass, instance?: object): boolean {
    const held = this.host.current.held;
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i]!;
      if (h.cls === cls && (instance === undefined || h.instance === instance)) return true;
    }
    return false;
  }

  /**
   * `might_sleep()`: reports `sleep-in-atomic` when the current context is an interrupt or holds
   * a spinlock.
   */
  mightSleep(op: string): void {
    if (!this.enabled) return;
    const ctx = this.host.current;
    if (!ctx.inAtomic) return;
    const spin = ctx.held.filter((h) => h.cls.kind === "spinlock").map((h) => h.cls.name);
    this.report({
      kind: "sleep-in-atomic",
      title:
        ctx.kind === "irq"
          ? `sleeping function called from irq context: ${op}`
          : `sleeping function called with a spinlock held: ${op} under ${spin.join(", ") || "irqs disabled"}`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: this.describeHeld(ctx),
      explanation:
        "Interrupt handlers, fence callbacks and code holding a spinlock run atomically: they may not " +
        "sleep — no mutex, no wait, no GFP_KERNEL allocation. Defer the work to a workqueue, or use a " +
        "non-blocking variant (trylock, GFP_ATOMIC).",
    });
  }

  // --- dma-fence signalling annotations -------------------------------------------------------

  /**
   * `dma_fence_begin_signalling()`: marks the start of a fence-signalling critical section and
   * returns the cookie to pass to `endSignalling`. Nested sections and atomic context are no-ops
   * (cookie `true`), as in the kernel.
   */
  beginSignalling(): boolean {
    if (this.enabled === false) return true;
    const ctx = this.host.current;
    // `ctx.inAtomic`, without the getter's string comparison.
    if (ctx.hardirqUsage === 1 || ctx.atomicDepth !== 0 || ctx.hardirqsOff !== 0) return true;
    // Whether the map is held already is a property of the held stack's chain node.
    const held = ctx.held;
    const depth = held.length;
    const parent = depth === 0 ? this.chainRoot : (held[depth - 1] as HeldLockEntry).chain!;
    if (parent.inSection === true) return true;
    // A read trylock, as the kernel takes it: no edges into the map, only out of it. That and the
    // map's kind (no irq usage) leave `acquireSite`'s fast path two tests.
    const site = this.sectionSite;
    if (site.cleanOn !== parent || site.onStack === true) this.acquireSiteSlow(ctx, site, parent);
    else {
      site.onStack = true;
      site.frame = ctx.frame;
      site.timeNs = this.host.now;
      held.push(site);
    }
    return false;
  }

  /** `dma_fence_end_signalling(cookie)`. */
  endSignalling(cookie: boolean): void {
    if (cookie === true || this.enabled === false) return;
    this.releaseIn(this.host.current, this.dmaFenceMap, this.dmaFenceMap, "dma_fence_end_signalling");
  }

  /** True while the current context is inside a fence-signalling critical section. */
  get inSignalling(): boolean {
    return this.enabled && this.holdsIn(this.host.current, this.dmaFenceMap);
  }

  /**
   * `__dma_fence_might_wait()`: called by every fence wait. Reports a wait inside a signalling
   * section, then — as the kernel does — drops the section's read hold, takes the map exclusively
   * and releases it (so every lock held across the wait gets an edge to `dma_fence_map`), and
   * restores the read hold.
   */
  mightWaitFence(op: string): void {
    if (!this.enabled) return;
    const ctx = this.host.current;
    const held = ctx.held;
    let idx = -1;
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i]!.cls === this.dmaFenceMap) {
        idx = i;
        break;
      }
    }
    const section = idx >= 0 ? held[idx]! : null;
    if (section !== null) {
      this.report({
        kind: "wait-in-signalling",
        title: `${op} inside a dma-fence signalling section`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        held: this.describeHeld(ctx),
        details: [`the section began at: ${frameList(section.frame).join(" <- ") || section.op}`],
        explanation: FENCE_SIGNALLING_WHY,
      });
      held.splice(idx, 1);
      this.rechain(held, idx);
    }
    try {
      this.acquireIn(ctx, this.dmaFenceMap, this.dmaFenceMap, op, "write", false, null);
      held.pop();
    } finally {
      // Even when the exclusive acquisition throws a finding, the section stays open: the
      // caller's dma_fence_end_signalling() must still find it.
      if (section !== null) {
        const at = Math.min(idx, held.length);
        held.splice(at, 0, section);
        this.rechain(held, at);
      }
    }
  }

  // --- context rules --------------------------------------------------------------------------

  /**
   * Reports `held-at-exit` if `ctx` still holds locks when `where` (a work item, task or ioctl)
   * returns — or `signalling-mismatch` if all it still holds is an open signalling section.
   */
  checkExit(ctx: ExecutionContext, where: string): void {
    if (!this.enabled || ctx.held.length === 0) return;
    const onlySection = ctx.held.every((h) => h.cls === this.dmaFenceMap);
    this.report({
      kind: onlySection ? "signalling-mismatch" : "held-at-exit",
      title: onlySection
        ? `${where} returned inside a dma-fence signalling section (missing dma_fence_end_signalling)`
        : `${where} returned with ${ctx.held.length} lock${ctx.held.length === 1 ? "" : "s"} held`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: this.describeHeld(ctx),
      explanation:
        "Work items, system calls and tasks must release every lock they take before returning " +
        "(lockdep: 'lock held when returning to user space!').",
    });
    for (const h of ctx.held) this.recycle(h as HeldLockEntry);
    ctx.held.length = 0;
  }

  /** Locks held by `ctx`, outermost first, for reports. */
  describeHeld(ctx: ExecutionContext): string[] {
    return ctx.held.map((h) => `${h.cls.name} (${h.mode}${h.trylock ? ", trylock" : ""}) — ${h.op}`);
  }

  /**
   * Records a finding. In `throw` mode this throws a `ValidatorError`. A finding with the same
   * kind and title as an earlier one is counted on that one (`repeats`) instead, as lockdep
   * reports a dependency once.
   */
  report(init: Omit<FindingInit, "timeNs"> & { timeNs?: number }): Finding | undefined {
    if (!this.enabled) return undefined;
    const key = `${init.kind}\u0000${init.title}`;
    const earlier = this.seen.get(key);
    if (earlier !== undefined) {
      earlier.repeats++;
      return earlier;
    }
    const finding = new Finding({ ...init, timeNs: init.timeNs ?? this.host.now });
    this.seen.set(key, finding);
    this.findings.push(finding);
    if (this.modeValue === "throw") {
      const err = new ValidatorError(finding);
      this.host.noteFatal(err);
      throw err;
    }
    return finding;
  }

  /** Findings of one kind. */
  findingsOf(kind: FindingKind): Finding[] {
    return this.findings.filter((f) => f.kind === kind);
  }

  /** Number of distinct dependency edges recorded (lockdep's "direct dependencies"). */
  get edgeCount(): number {
    let n = 0;
    for (const m of this.edges.values()) n += m.size;
    return n;
  }

  /** True if the graph has an edge `from` → `to` (for tests and tools). */
  hasEdge(from: LockClass, to: LockClass): boolean {
    return this.edges.get(from.id)?.has(to.id) ?? false;
  }

  // --- internals ------------------------------------------------------------------------------

  private holdsIn(ctx: ExecutionContext, cls: LockClass): boolean {
    const held = ctx.held;
    for (let i = held.length - 1; i >= 0; i--) if (held[i]!.cls === cls) return true;
    return false;
  }

  private acquireIn(
    ctx: ExecutionContext,
    cls: LockClass,
    instance: object,
    op: string,
    mode: LockMode,
    trylock: boolean,
    nestKey: object | null,
  ): void {
    // mark_usage(): on every acquisition, chain-cached or not — the chain says nothing about
    // whether irqs were on.
    if (cls.irqTracked) {
      const bit =
        ctx.kind === "irq" ? LOCK_USED_IN_HARDIRQ : ctx.hardirqsOff === 0 ? LOCK_ENABLED_HARDIRQ : 0;
      if ((cls.usage & bit) !== bit) this.markUsage(ctx, cls, op, bit);
    }
    const held = ctx.held;
    const depth = held.length;
    const chain = (depth === 0 ? this.chainRoot : held[depth - 1]!.chain!).child(cls);
    // The fast path is a cached chain: every edge this stack implies is already in the graph.
    if (depth > 0 && !chain.validated && !trylock && mode !== "recursive-read")
      this.validateChain(ctx, chain, cls, op, nestKey);
    const entry = this.freeHeld;
    if (entry === null) {
      held.push(
        new HeldLockEntry(cls, instance, mode, trylock, op, ctx.frame, this.host.now, nestKey, chain, false),
      );
      return;
    }
    this.freeHeld = entry.nextFree;
    entry.nextFree = null;
    entry.cls = cls;
    entry.instance = instance;
    entry.mode = mode;
    entry.trylock = trylock;
    entry.op = op;
    entry.frame = ctx.frame;
    entry.timeNs = this.host.now;
    entry.nestKey = nestKey;
    entry.chain = chain;
    held.push(entry);
  }

  /**
   * `check_prevs_add()` for a chain not in the cache: adds and checks the edges from every held
   * lock, and caches the chain if that was clean.
   */
  private validateChain(
    ctx: ExecutionContext,
    chain: LockChain,
    cls: LockClass,
    op: string,
    nestKey: object | null,
  ): void {
    const clean = this.addEdges(ctx, cls, op, nestKey);
    // Priming never validates a chain: the first real path must still replace the primed witnesses.
    if (clean && !this.priming) chain.validated = true;
  }

  /**
   * `mark_lock()` for the hardirq pair: records the first acquisition with `bit` and reports
   * `inconsistent-lock-state` if the class already has the opposite usage.
   */
  private markUsage(ctx: ExecutionContext, cls: LockClass, op: string, bit: number): void {
    const witness: UsageWitness = { context: ctx.label, op, frame: ctx.frame, timeNs: this.host.now };
    const inIrq = bit === LOCK_USED_IN_HARDIRQ;
    const other = inIrq ? cls.enabledIrq : cls.usedInIrq;
    if (other !== null) {
      const describe = (w: UsageWitness): string =>
        `${w.op} in ${w.context} at ${frameList(w.frame).join(" <- ") || "(top level)"}`;
      this.report({
        kind: "inconsistent-lock-state",
        title: inIrq
          ? `inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage: ${cls.name} taken in irq context, and with irqs enabled elsewhere`
          : `inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage: ${cls.name} taken with irqs enabled, and in irq context elsewhere`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        held: this.describeHeld(ctx),
        details: [
          `taken in irq context (IN-HARDIRQ-W): ${describe(inIrq ? witness : other)}`,
          `taken with irqs enabled (HARDIRQ-ON-W): ${describe(inIrq ? other : witness)}`,
        ],
        explanation:
          "If the interrupt arrives on the CPU whose task holds this lock with irqs enabled, the " +
          "handler spins on it forever: the task cannot run again to release it. Take it with " +
          "spin_lock_irqsave()/spin_lock_irq() outside interrupt context.",
      });
    }
    if (inIrq) cls.usedInIrq = witness;
    else cls.enabledIrq = witness;
    cls.usage |= bit;
  }

  /** Puts an entry that just left a held stack on the free list. */
  private recycle(entry: HeldLockEntry): void {
    if (entry.site) {
      entry.onStack = false;
      return;
    }
    entry.nextFree = this.freeHeld;
    this.freeHeld = entry;
  }

  /** Recomputes the chain-cache nodes of `held[from..]` after an entry below them was removed or inserted. */
  private rechain(held: HeldLock[], from: number): void {
    for (let i = from; i < held.length; i++) {
      const h = held[i] as HeldLockEntry;
      const parent = i === 0 ? this.chainRoot : held[i - 1]!.chain;
      h.chain = parent === null ? null : parent.child(h.cls);
      // A site's fast path reuses `chain` as the node of the stack it was found clean on.
      h.cleanOn = null;
    }
  }

  /**
   * Adds the edges held → `cls` and checks each new one for a cycle. Returns true if the
   * acquisition was clean — no lock of the same class held, no cycle — so its chain may be cached.
   */
  private addEdges(ctx: ExecutionContext, cls: LockClass, op: string, nestKey: object | null): boolean {
    const held = ctx.held;
    let fresh: HeldLock[] | null = null;
    let clean = true;
    for (let i = 0; i < held.length; i++) {
      const h = held[i]!;
      if (h.cls === cls) {
        clean = false;
        if (nestKey !== null && h.nestKey === nestKey) continue;
        if (h.mode === "recursive-read") continue;
        this.report({
          kind: "recursive-locking",
          title: `possible recursive locking: ${op} takes ${cls.name}, already held by ${ctx.label}`,
          context: ctx.label,
          backtrace: frameList(ctx.frame),
          held: this.describeHeld(ctx),
          details: [`first taken by ${h.op} at ${frameList(h.frame).join(" <- ") || "(top level)"}`],
          explanation:
            cls.rule ??
            "Taking a second lock of the same class deadlocks if both are the same object, and " +
              "lockdep cannot order two locks of one class. Nest them under an acquire context " +
              "(ww_mutex) or give the inner one its own subclass.",
        });
        continue;
      }
      const existing = this.edges.get(h.cls.id)?.get(cls.id);
      if (existing !== undefined) {
        // Keep a real witness for reports: the path that actually does this, not just the priming.
        if (existing.primed && !this.priming) {
          existing.primed = false;
          existing.link = this.linkFor(ctx, h, cls, op);
        }
        continue;
      }
      if (fresh === null) fresh = [];
      fresh.push(h);
    }
    if (fresh === null) return clean;
    for (const h of fresh) {
      const link = this.linkFor(ctx, h, cls, op);
      const path = this.findPath(cls, h.cls);
      if (path !== null) {
        clean = false;
        this.reportCycle(ctx, link, path);
        continue;
      }
      let out = this.edges.get(h.cls.id);
      if (out === undefined) {
        out = new Map();
        this.edges.set(h.cls.id, out);
      }
      out.set(cls.id, { to: cls, link, primed: this.priming });
    }
    return clean;
  }

  private linkFor(ctx: ExecutionContext, h: HeldLock, cls: LockClass, op: string): DependencyLink {
    return {
      from: h.cls.name,
      to: cls.name,
      context: ctx.label,
      op,
      heldOp: h.op,
      backtrace: frameList(ctx.frame),
      timeNs: this.host.now,
    };
  }

  /** Breadth-first search for a path of edges from `from` to `to`. */
  private findPath(from: LockClass, to: LockClass): DependencyLink[] | null {
    if (!this.edges.has(from.id)) return null;
    const prev = new Map<number, { node: number; link: DependencyLink }>();
    const queue: number[] = [from.id];
    const visited = new Set<number>([from.id]);
    for (let qi = 0; qi < queue.length; qi++) {
      const node = queue[qi]!;
      const out = this.edges.get(node);
      if (out === undefined) continue;
      for (const [next, edge] of out) {
        if (visited.has(next)) continue;
        visited.add(next);
        prev.set(next, { node, link: edge.link });
        if (next === to.id) {
          const path: DependencyLink[] = [];
          for (let n = next; n !== from.id; ) {
            const p = prev.get(n)!;
            path.push(p.link);
            n = p.node;
          }
          return path.reverse();
        }
        queue.push(next);
      }
    }
    return null;
  }

  private reportCycle(ctx: ExecutionContext, link: DependencyLink, path: DependencyLink[]): void {
    const chain = [link, ...path];
    // Classify by what the cycle does inside a signalling section: the edge leaving dma_fence_map.
    const fromMap = chain.find((l) => l.from === this.dmaFenceMap.name);
    let kind: FindingKind = "circular-dependency";
    let title = `possible circular locking dependency: ${link.op} takes ${link.to} while holding ${link.from}`;
    let explanation =
      "These locks are taken in opposite orders on different paths. Two contexts running those " +
      "paths at once deadlock. Pick one order and use it everywhere.";
    if (fromMap !== undefined) {
      explanation = FENCE_SIGNALLING_WHY;
      const inner = fromMap.to;
      if (inner === this.fsReclaim.name || inner === this.mmuNotifier.name) {
        kind = "alloc-in-signalling";
        title = `possible circular locking dependency: allocation that may reclaim (${fromMap.op}) inside a dma-fence signalling section`;
      } else if (inner === this.mmapLock.name) {
        kind = "fault-in-signalling";
        title = `possible circular locking dependency: user-memory fault (${fromMap.op}) inside a dma-fence signalling section`;
      } else if (inner === this.reservation.name) {
        kind = "lock-in-signalling";
        title = `possible circular locking dependency: dma_resv lock (${fromMap.op}) inside a dma-fence signalling section`;
      } else {
        title = `possible circular locking dependency: ${inner} is taken inside a dma-fence signalling section and held across a fence wait`;
      }
    }
    // What the classes of the cycle add (a fence lock: its callbacks run under it), once each.
    const rules: string[] = [];
    for (const l of chain) {
      const rule = this.classes.get(l.to)?.rule;
      if (rule !== undefined && rule !== null && !rules.includes(rule)) rules.push(rule);
    }
    if (rules.length > 0) explanation = [explanation, ...rules].join("\n\n");
    this.report({
      kind,
      title,
      context: ctx.label,
      backtrace: link.backtrace,
      held: this.describeHeld(ctx),
      chain,
      explanation,
    });
  }

  /**
   * Replays the kernel's boot-time `dma_resv_lockdep()` in a pseudo-context, so the graph knows
   * mmap_lock → dma_resv → fs_reclaim → {i_mmap_rwsem, mmu_notifier → dma_fence_map} from the start.
   */
  private prime(): void {
    if (!this.enabled) return;
    const saved = this.modeValue;
    this.modeValue = "collect";
    this.priming = true;
    const boot = new ExecutionContext("boot", "process", 0);
    boot.pushFrame("dma_resv_lockdep (subsys_initcall)");
    const acq = (cls: LockClass, op: string, mode: LockMode = "write") =>
      this.acquireIn(boot, cls, cls, op, mode, false, null);
    acq(this.mmapLock, "mmap_read_lock", "read");
    acq(this.reservation, "dma_resv_lock");
    acq(this.fsReclaim, "fs_reclaim_acquire(GFP_KERNEL)");
    acq(this.iMmapRwsem, "i_mmap_lock_write");
    boot.held.pop();
    acq(this.mmuNotifier, "lock_map_acquire(mmu_notifier)");
    acq(this.dmaFenceMap, "__dma_fence_might_wait");
    boot.held.length = 0;
    this.priming = false;
    this.modeValue = saved;
  }
}
