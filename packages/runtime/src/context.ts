/**
 * Execution contexts: who is running. Every piece of simulated code runs in one, as kernel code
 * runs in a task (process or kthread/kworker) or in interrupt context, and the validator keys all
 * of its per-"thread" state (held locks, signalling sections, the simulated backtrace) on it.
 */
import type { HeldLock } from "./lockdep/held-lock.js";

/**
 * - `process`: a user process in a system call (an ioctl). May sleep and allocate with reclaim.
 * - `worker`: a kworker or kthread running a work item. May sleep.
 * - `irq`: hardware interrupt (or timer) context. May not sleep, may not reclaim.
 */
export type ContextKind = "process" | "worker" | "irq";

/**
 * One frame of a simulated backtrace. Frames form a persistent linked list, so snapshotting a
 * backtrace (for a lock-dependency edge) is taking a pointer, not copying an array.
 */
export interface Frame {
  readonly name: string;
  readonly parent: Frame | null;
}

/** What a sleeping context is blocked on, for the deadlock-at-quiescence report. */
export interface WaitTarget {
  /** e.g. `'dma_fence'`, `'mutex'`, `'wait_queue'`, `'completion'`, `'workqueue flush'`. */
  readonly kind: string;
  /** A human description: `fence amdgpu:gfx#12`, `mutex &vm->lock`. */
  readonly what: string;
  /** The context that would have to act for the wait to end, when known (a mutex owner). */
  readonly blockedBy?: () => ExecutionContext | null;
  /**
   * The object waited on (a fence, a syncobj wait, a work item), for forward-progress verdicts
   * that follow it to the root of a hang (`explainProgress`).
   */
  readonly object?: object;
}

/**
 * `struct task_struct` (for process and worker contexts) or an interrupt line's context.
 *
 * Created by the simulator: `sim.spawn()` for processes, workqueues for their workers, hardware
 * models for irq contexts. Read the current one with `sim.current`.
 */
export class ExecutionContext {
  /** Locks held, innermost last (`current->held_locks`). */
  readonly held: HeldLock[] = [];
  /** Top of the simulated call stack. */
  frame: Frame | null = null;
  /** Non-zero while a spinlock is held or irqs are disabled (`in_atomic()`). */
  atomicDepth = 0;
  /**
   * Non-zero while hard interrupts are disabled in this process/worker context
   * (`local_irq_save()`, `spin_lock_irqsave()`; `irqs_disabled()`). Interrupt contexts always run
   * with them off, whatever this says.
   */
  hardirqsOff = 0;
  /** What the context sleeps on, while it sleeps. */
  waiting: WaitTarget | null = null;
  /**
   * `signal_pending(current)`: the context was woken by a signal it has not handled yet
   * (`TIF_SIGPENDING`, which an interrupted wait clears), or a signal is queued for it (a
   * `Process.kill`; it stays pending until the system call returns and delivers it).
   */
  get signalPending(): boolean {
    return this.tifSigpending || this.queuedSignals > 0;
  }
  set signalPending(v: boolean) {
    if (v) this.sigpendingRaised++;
    this.tifSigpending = v;
  }
  /** @internal How often `signalPending` was raised: tells a system call whether a signal came at all. */
  sigpendingRaised = 0;
  private tifSigpending = false;
  /** @internal Signals queued for this thread by `Process.kill` (`vfs/signal.ts`), not yet delivered. */
  queuedSignals = 0;
  /** A fatal signal (SIGKILL) is pending (`fatal_signal_pending(current)`). */
  fatalSignalPending = false;
  /** `memalloc_nofs_save()` / `memalloc_noio_save()` scope flags (GFP bits masked off allocations). */
  memallocMask = 0;
  /**
   * `PF_MEMALLOC`: the context is performing reclaim (`memalloc_noreclaim_save()`). Its
   * allocations do not enter reclaim again and take no reclaim annotation (`__need_reclaim()`).
   */
  pfMemalloc = false;
  /** The simulated userspace process this task belongs to (`current->mm` owner), if any. */
  process: object | null = null;
  /** Set once the context has finished (its task returned, its worker was destroyed). */
  exited = false;
  /** Woken by a signal: set by the runtime so an interruptible wait can return -ERESTARTSYS. */
  onSignal: (() => void) | null = null;

  constructor(
    readonly name: string,
    readonly kind: ContextKind,
    /** Unique within its simulator, in creation order, so labels are the same run after run. */
    readonly id: number,
  ) {
    if (kind === "irq") this.hardirqUsage = 1;
  }

  /**
   * @internal The lockdep usage bit a spinlock acquisition here records while hardirqs are on:
   * `LOCK_USED_IN_HARDIRQ` (1) in an irq context, `LOCK_ENABLED_HARDIRQ` (2) elsewhere. A number
   * fixed at creation, so the validator's per-acquisition check compares no strings. (Initialized
   * with a number, not declared bare: a field that starts out undefined is stored untyped, and
   * every read of it pays a type check.)
   */
  readonly hardirqUsage: 1 | 2 = 2;

  /** `in_atomic()`: irq context, a spinlock held, or irqs disabled. */
  get inAtomic(): boolean {
    return this.kind === "irq" || this.atomicDepth > 0 || this.hardirqsOff > 0;
  }

  /** `irqs_disabled()`: in irq context, or hard interrupts disabled by this context. */
  get irqsDisabled(): boolean {
    return this.kind === "irq" || this.hardirqsOff > 0;
  }

  /** Pushes a frame on the simulated backtrace; pair with `popFrame()`. */
  pushFrame(name: string): void {
    this.frame = { name, parent: this.frame };
  }

  /** Pops the innermost frame. */
  popFrame(): void {
    if (this.frame !== null) this.frame = this.frame.parent;
  }

  /** The simulated backtrace, innermost first. */
  backtrace(): string[] {
    return frameList(this.frame);
  }

  /** `comm/pid`-style label for reports: `process:compositor/3`. */
  get label(): string {
    return `${this.kind}:${this.name}/${this.id}`;
  }

  toString(): string {
    return this.label;
  }
}

/** Frames of a backtrace, innermost first. */
export function frameList(frame: Frame | null): string[] {
  const out: string[] = [];
  for (let f = frame; f !== null; f = f.parent) out.push(f.name);
  return out;
}
