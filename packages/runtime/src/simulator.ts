/**
 * The simulated machine: one virtual clock, one event queue, the execution contexts, and the
 * per-run state every subsystem hangs off (validator, tracer, memory, reference tracking).
 *
 * Determinism: nothing here reads the wall clock, `Math.random` or real timers. Events at equal
 * virtual times run in the order they were scheduled; randomness comes only from `sim.random`,
 * seeded from `options.seed`. Same seed, same events, same trace — byte for byte.
 *
 * Kernel-style code is synchronous callbacks (timers, interrupts, fence callbacks, work items),
 * run one event at a time. Code that may sleep is `async` and runs in a task (`sim.spawn`) or an
 * async work item; between events the loop lets woken continuations run, so a task resumes at
 * the virtual time it was woken.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { promiseHooks } from "node:v8";
import { type ContextKind, ExecutionContext, frameList, type WaitTarget } from "./context.js";
import { KernelError } from "./errno.js";
import { type Decision, Perturber, type PerturbOptions } from "./explore/perturb.js";
import { EventHeap, type SimEvent } from "./internal/event-heap.js";
import { Sleeper } from "./internal/sleeper.js";
import { LiveRefs } from "./live-refs.js";
import { Finding, ValidatorError, type WaitForEntry } from "./lockdep/finding.js";
import { Validator, type ValidatorMode } from "./lockdep/validator.js";
import { MemoryManager } from "./memory.js";
import { normalizeSeed, Prng } from "./prng.js";
import { explainProgress, reportProgressRoot } from "./progress.js";
import { Task } from "./task.js";
import { formatTimeNs } from "./time.js";
import { contextTrack, defineTracepoint, Tracer, type TraceSink } from "./trace.js";

/** A context asleep (`schedule()` until woken): `kind` and `on` say what it waits for. */
export const traceSleep = defineTracepoint<{ kind: string; on: string }>("sleep", "sched");

/** Options for `new Simulator()`. */
export interface SimulatorOptions {
  /** Seeds `sim.random` (and everything derived from it). Default 1. */
  seed?: number | string;
  /** Validator mode. Default `'throw'`. */
  validator?: ValidatorMode;
  /**
   * Start with tracing on: `true` keeps the events in memory (`sim.tracer.events`); `{ sinks }`
   * sends them elsewhere (a ring buffer, a file streamed as the run goes). Default off.
   */
  trace?: boolean | { sinks: readonly TraceSink[] };
  /** System memory budget for `kmalloc` accounting, in bytes. Default: unlimited. */
  memoryBudget?: number;
  /**
   * Schedule exploration: seeded tie-breaks, hardware/irq jitter, wake order, injected allocation
   * failures and hangs — or an exact replay of recorded decisions. Off when absent (the plain,
   * FIFO schedule, byte for byte). See `PerturbOptions`.
   */
  perturb?: PerturbOptions;
}

/** A scheduled callback (`hrtimer`, a hardware completion). */
export interface TimerHandle {
  /** When it fires (or fired), in virtual nanoseconds. */
  readonly time: number;
  /** True until it fires or is cancelled. */
  readonly pending: boolean;
  /** `hrtimer_try_to_cancel`: true if it was pending and now never fires. */
  cancel(): boolean;
}

/** Options for `run()`. */
export interface RunOptions {
  /** Stop once the next event is later than this absolute virtual time (the clock is advanced to it). */
  untilNs?: number;
  /** Stop after this many events. */
  maxEvents?: number;
}

/** Why `run()` returned and what it did. */
export interface RunResult {
  /**
   * - `idle`: nothing left to do; every task finished.
   * - `until`: the time bound was reached.
   * - `maxEvents`: the event bound was reached.
   * - `deadlock`: nothing left to do but some contexts still sleep (see `finding`).
   */
  reason: "idle" | "until" | "maxEvents" | "deadlock";
  /** How many events this call ran. */
  events: number;
  /** The virtual time when the call returned, in ns. */
  nowNs: number;
  /** The deadlock report, when `reason` is `deadlock`. */
  finding?: Finding;
}

/** What `teardown()` found. */
export interface TeardownReport {
  /** What teardown found (leaks, locks still held, unsignalled fences); empty for a clean run. */
  findings: Finding[];
}

/** What the shared async-local storage holds: a context, and the simulator it belongs to. */
interface AlsFrame {
  readonly sim: Simulator;
  readonly ctx: ExecutionContext;
}

/**
 * One `AsyncLocalStorage` for every simulator in the process. Node propagates each enabled
 * instance to every promise it creates and never forgets an instance, so one per `Simulator`
 * made each new simulator slower than the last (a process that runs thousands of simulations —
 * exploration, property tests — slowed down by 20× after a few hundred). The frame names its
 * simulator, so a simulator never mistakes another one's context for its own.
 */
const als = new AsyncLocalStorage<AlsFrame>();

class SimTimer implements SimEvent, TimerHandle {
  cancelled = false;
  constructor(
    readonly owner: Simulator,
    public time: number,
    public seq: number,
    public fn: ((arg?: unknown) => unknown) | null,
    public ctx: ExecutionContext,
    /** What `fn` is called with (`atWith`); undefined for plain `at`. Cleared when it fires. */
    public arg: unknown = undefined,
  ) {}
  get pending(): boolean {
    return this.fn !== null && !this.cancelled;
  }
  cancel(): boolean {
    if (!this.pending) return false;
    this.cancelled = true;
    this.fn = null;
    this.arg = undefined;
    this.owner.noteCancelled();
    return true;
  }
}

const hop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Set whenever any promise settles. An event callback may resolve a promise the runtime does
 * not know about (a task awaiting `new Promise(r => sim.schedule(d, r))`); its continuation must
 * still run at that virtual time, so the loop drains microtasks after any event that settled a
 * promise. V8's promise hooks cost nothing for code that creates no promises — the kernel-style
 * callback paths.
 */
let promiseSettled = false;
let promiseHookInstalled = false;
function installPromiseHook(): void {
  if (promiseHookInstalled) return;
  promiseHookInstalled = true;
  promiseHooks.onSettled(() => {
    promiseSettled = true;
  });
}

/**
 * The simulated machine: virtual time and the event loop (the kernel's timers and scheduler, with
 * no single kernel counterpart), execution contexts (`current`), and the per-run validator,
 * tracer and memory manager. Everything else takes one as its first constructor argument.
 */
export class Simulator {
  /** The seed as given (normalised to 32 bits). */
  readonly seed: number;
  /** The run's random numbers (xoshiro128**). Framework code uses this and nothing else. */
  readonly random: Prng;
  /** The run's lockdep-style checker; every finding goes through it (`throw`, `collect` or `off`). */
  readonly validator: Validator;
  /** The run's tracepoint sink; off unless the simulator was created with `trace: true`. */
  readonly tracer: Tracer;
  /** The run's memory model: `kmalloc` with GFP flags, reclaim, shrinkers, allocation failures. */
  readonly mm: MemoryManager;
  /**
   * The run's schedule perturbation, or null (the default: plain FIFO schedule). Hardware engines,
   * wait queues and the event loop consult it at their choice points. @internal
   */
  readonly perturber: Perturber | null;
  /** @internal Live reference-counted objects (validator enabled only). */
  readonly liveRefs = new LiveRefs();
  /** @internal The values of `subsystemMemo`s for this simulator, by the memo's slot. */
  readonly memoSlots: unknown[] = [];
  /** @internal The subsystem key each of `memoSlots` holds the value of. */
  readonly memoKeys: object[] = [];

  private nowNs = 0;
  private seq = 0;
  private readonly heap = new EventHeap();
  private readonly alsFrames = new Map<ExecutionContext, AlsFrame>();
  private lastAlsFrame: AlsFrame | null = null;
  private syncCtx: ExecutionContext | null = null;
  private asyncPending = false;
  private running = false;
  private fatal: ValidatorError | null = null;
  private nextCtxId = 1;
  private readonly contexts: ExecutionContext[] = [];
  private readonly irqContexts = new Map<string, ExecutionContext>();
  private readonly sleepers = new Set<ExecutionContext>();
  private readonly liveTasks = new Set<Task<unknown>>();
  private readonly subsystems = new Map<object, unknown>();
  private readonly teardownHooks: (() => void)[] = [];
  /** The context of code not running in any task: the test or the user's script. */
  readonly mainContext: ExecutionContext;
  /** The default context of plain timer callbacks (`hrtimer` softirq). */
  readonly timerContext: ExecutionContext;

  constructor(options: SimulatorOptions = {}) {
    installPromiseHook();
    this.seed = normalizeSeed(options.seed ?? 1);
    this.random = new Prng(this.seed);
    this.validator = new Validator(this, options.validator ?? "throw");
    this.tracer = new Tracer(this);
    const trace = options.trace ?? false;
    if (typeof trace === "object") this.tracer.useSinks(trace.sinks);
    this.tracer.on = trace !== false;
    this.mm = new MemoryManager(this, options.memoryBudget ?? Number.POSITIVE_INFINITY);
    this.tracer.probeCounter(
      { process: "kernel", thread: "memory" },
      "kmalloc",
      "used bytes",
      () => this.mm.used,
    );
    const perturber = options.perturb === undefined ? null : new Perturber(options.perturb, this.seed);
    this.perturber = perturber;
    // Injected allocation failures go through the allocator's own fault-injection rules (first
    // rule, so it sees every attempt; `mm.clearFaults()` removes it like any other rule).
    if (perturber?.injectsFailures === true) this.mm.failWhen(({ site }) => perturber.failAlloc(site));
    this.mainContext = this.createContext("main", "process");
    this.timerContext = this.irqContext("timer");
  }

  /**
   * Every deviation from the unperturbed schedule this run took so far (empty without `perturb`).
   * Pass them as `perturb: { decisions }` to a new simulator to replay the run exactly.
   */
  get decisions(): readonly Decision[] {
    return this.perturber?.decisions ?? [];
  }

  /** The virtual time, in nanoseconds since the simulator started. */
  get now(): number {
    return this.nowNs;
  }

  /** The context running now (`current`). Survives `await` inside tasks and async work items. */
  get current(): ExecutionContext {
    // Tiny, so every lock and fence operation that asks gets it inlined.
    const ctx = this.syncCtx;
    return ctx !== null ? ctx : this.asyncCurrent();
  }

  /** `current` outside a synchronous event: the context of the task or work item that awaited. */
  private asyncCurrent(): ExecutionContext {
    const frame = als.getStore();
    return frame !== undefined && frame.sim === this ? frame.ctx : this.mainContext;
  }

  /** What ends the next `run()` early (`exec`'s task settled), or null. */
  private stopWhen: (() => boolean) | null = null;
  /** True while `run()` is executing. */
  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Per-run state of a subsystem, created on first use: counters and registries that the kernel
   * keeps in globals (fence context numbers, the stub fence) live here, so two simulators never
   * share them and every run starts from the same state.
   */
  subsystem<T>(key: object, init: () => T): T {
    let v = this.subsystems.get(key) as T | undefined;
    if (v === undefined) {
      v = init();
      this.subsystems.set(key, v);
    }
    return v;
  }

  // --- contexts -------------------------------------------------------------------------------

  /** Creates an execution context. Tasks and workqueues call this; so can hardware models. */
  createContext(name: string, kind: ContextKind): ExecutionContext {
    const ctx = new ExecutionContext(name, kind, this.nextCtxId++);
    this.contexts.push(ctx);
    return ctx;
  }

  /** The interrupt context for a named line (one per device/engine), created on first use. */
  irqContext(name: string): ExecutionContext {
    let ctx = this.irqContexts.get(name);
    if (ctx === undefined) {
      ctx = this.createContext(name, "irq");
      this.irqContexts.set(name, ctx);
    }
    return ctx;
  }

  /** All contexts created so far, in creation order. */
  allContexts(): readonly ExecutionContext[] {
    return this.contexts;
  }

  /**
   * Runs `fn` synchronously as `ctx` (with `ctx` as `current`), then restores the previous
   * context. For hardware models and tests that need to act as a given context right now.
   */
  runAs<T>(ctx: ExecutionContext, fn: () => T): T {
    const prev = this.syncCtx;
    this.syncCtx = ctx;
    try {
      return fn();
    } finally {
      this.syncCtx = prev;
    }
  }

  /** Runs `fn` with a frame pushed on the current context's simulated backtrace. */
  withFrame<T>(name: string, fn: () => T): T {
    const ctx = this.current;
    ctx.pushFrame(name);
    try {
      return fn();
    } finally {
      ctx.popFrame();
    }
  }

  // --- events ---------------------------------------------------------------------------------

  /** Runs `fn` `delayNs` from now (`hrtimer_start` relative). `ctx` defaults to the timer context. */
  schedule(delayNs: number, fn: () => unknown, ctx?: ExecutionContext): TimerHandle {
    if (!(delayNs >= 0)) throw new KernelError("EINVAL", `schedule: delay must be >= 0 ns, got ${delayNs}`);
    return this.at(this.nowNs + delayNs, fn, ctx);
  }

  /** Runs `fn` at absolute virtual time `timeNs` (clamped to now). */
  at(timeNs: number, fn: () => unknown, ctx?: ExecutionContext): TimerHandle {
    if (Number.isNaN(timeNs)) throw new KernelError("EINVAL", "at: time is NaN");
    const t = new SimTimer(this, Math.max(timeNs, this.nowNs), this.seq++, fn, ctx ?? this.timerContext);
    this.heap.push(t);
    return t;
  }

  /**
   * @internal `at` for hot paths: runs `fn(arg)` at `timeNs` (clamped to now) as `ctx`, so a
   * caller with one long-lived callback needs no closure per event; and if `reuse` is a timer of
   * this simulator that has already fired (not cancelled: a cancelled one may still sit in the
   * queue), re-arms that object instead of allocating one. Ordering is exactly `at`'s: the event
   * takes the next sequence number. The caller must not rely on the old handle after passing it.
   */
  atWith<A>(
    timeNs: number,
    fn: (arg: A) => unknown,
    arg: A,
    ctx: ExecutionContext,
    reuse: TimerHandle | null = null,
  ): TimerHandle {
    if (Number.isNaN(timeNs)) throw new KernelError("EINVAL", "at: time is NaN");
    const time = Math.max(timeNs, this.nowNs);
    let t: SimTimer;
    // Only a SimTimer of this simulator has `owner === this`. (Not `instanceof SimTimer`: on this
    // path TurboFan does not fold it, and the generic instanceof was ~2% of a scheduler job.)
    const old = reuse as SimTimer | null;
    if (old !== null && old.owner === this && old.fn === null && !old.cancelled) {
      t = old;
      t.time = time;
      t.seq = this.seq++;
      t.fn = fn as (arg?: unknown) => unknown;
      t.ctx = ctx;
      t.arg = arg;
    } else t = new SimTimer(this, time, this.seq++, fn as (arg?: unknown) => unknown, ctx, arg);
    this.heap.push(t);
    return t;
  }

  /** Number of pending events. */
  get pendingEvents(): number {
    return this.heap.size;
  }

  /** When the next pending event runs (virtual ns), or undefined when nothing is pending. */
  get nextEventNs(): number | undefined {
    return this.heap.peek()?.time;
  }

  /** @internal */
  noteCancelled(): void {
    this.heap.noteCancelled();
  }

  // --- tasks ----------------------------------------------------------------------------------

  /**
   * Starts a simulated process (or kthread, with `kind: 'worker'`) running `fn`. It starts as an
   * event at the current virtual time; its `current` is its own context, across `await`s.
   */
  spawn<T>(name: string, fn: () => Promise<T> | T, opts?: { kind?: "process" | "worker" }): Task<T> {
    const ctx = this.createContext(name, opts?.kind ?? "process");
    const task = new Task<T>(ctx);
    this.liveTasks.add(task as Task<unknown>);
    this.at(this.nowNs, () => this.startTask(task, fn), ctx);
    return task;
  }

  /**
   * `spawn` + run the simulation until that task settles: the result, or its error. Once the task
   * has ended and the continuations already woken have run, the loop stops before the next event;
   * every event still queued (a safety timer, a job still on the hardware, another task's next
   * step, even one due at the same instant) stays pending for the next `run()`. If nothing is left that could wake the task, that is
   * a deadlock, reported as `run()` reports one. To run everything that follows as well, use
   * `execUntilIdle`.
   */
  async exec<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const task = this.spawn(name, fn);
    if (this.running) throw new Error("Simulator.run: already running (run() is not re-entrant)");
    this.stopWhen = () => task.state !== "running";
    await this.run();
    if (task.state === "running") throw new Error(`task ${name} did not finish`);
    return task.result;
  }

  /**
   * `spawn` + `run()` to quiescence: the task's result (or its error) once nothing at all is left
   * to do — every later timer, job and task has run, as if the test then called `runUntilIdle()`.
   */
  async execUntilIdle<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const task = this.spawn(name, fn);
    await this.run();
    if (task.state === "running") throw new Error(`task ${name} did not finish`);
    return task.result;
  }

  /**
   * Calls `fn` with `ctx` as the async-local context, so promise continuations it starts keep
   * `ctx` as `current`. Unlike `runAsync` it does not force a microtask drain: the loop drains
   * when a promise actually settles. @internal
   */
  callInContext<T>(ctx: ExecutionContext, fn: () => T): T {
    return als.run(this.alsFrame(ctx), fn);
  }

  private alsFrame(ctx: ExecutionContext): AlsFrame {
    // One-entry cache in front of the map: a busy scheduler runs item after item on one worker.
    const last = this.lastAlsFrame;
    if (last !== null && last.ctx === ctx) return last;
    let frame = this.alsFrames.get(ctx);
    if (frame === undefined) {
      frame = { sim: this, ctx };
      this.alsFrames.set(ctx, frame);
    }
    this.lastAlsFrame = frame;
    return frame;
  }

  /** Runs `fn` with `ctx` as the async-local context: its continuations keep `ctx` as `current`. @internal */
  runAsync<T>(ctx: ExecutionContext, fn: () => T): T {
    this.asyncPending = true;
    return als.run(this.alsFrame(ctx), fn);
  }

  private startTask<T>(task: Task<T>, fn: () => Promise<T> | T): void {
    const ctx = task.context;
    const finish = (ok: boolean, v: unknown): void => {
      ctx.exited = true;
      this.liveTasks.delete(task as Task<unknown>);
      try {
        this.runAs(ctx, () => this.validator.checkExit(ctx, `task ${ctx.name}`));
      } catch {
        // recorded as fatal by the validator
      }
      task.settle(ok, v);
    };
    let ret: Promise<T> | T;
    try {
      ret = this.runAsync(ctx, fn);
    } catch (e) {
      finish(false, e);
      return;
    }
    Promise.resolve(ret).then(
      (v) => finish(true, v),
      (e) => finish(false, e),
    );
  }

  // --- sleeping -------------------------------------------------------------------------------

  /**
   * Puts the current context to sleep until woken, until `deadlineNs`, or (if allowed) until a
   * signal. The building block of every blocking primitive. Checks `might_sleep()` first.
   */
  sleep(
    target: WaitTarget,
    opts: { op: string; deadlineNs?: number; wakeOn?: "none" | "interruptible" | "killable" },
  ): Sleeper {
    this.validator.mightSleep(opts.op);
    const ctx = this.current;
    if (ctx === this.mainContext && !this.running) {
      throw new Error(
        `${opts.op} would sleep outside the simulation: call it from a simulated task (sim.spawn / sim.exec) while the simulator runs`,
      );
    }
    return new Sleeper(this, ctx, target, opts.deadlineNs ?? Number.POSITIVE_INFINITY, opts.wakeOn ?? "none");
  }

  /** @internal */
  noteSleep(ctx: ExecutionContext, sleeping: boolean): void {
    if (sleeping) {
      this.sleepers.add(ctx);
      // A context's sleep is a span on its track: what it waits on, and for how long (a stuck
      // one's span runs to the end of the trace).
      if (this.tracer.on && ctx.waiting !== null)
        this.tracer.begin(traceSleep, contextTrack(ctx), ctx, {
          kind: ctx.waiting.kind,
          on: ctx.waiting.what,
        });
    } else {
      this.sleepers.delete(ctx);
      this.asyncPending = true;
      if (this.tracer.on) this.tracer.end(ctx);
    }
  }

  /** @internal Records a validator error so `run()` fails even if a task caught it. */
  noteFatal(err: ValidatorError): void {
    this.fatal ??= err;
  }

  /** Contexts sleeping right now. */
  sleepingContexts(): ExecutionContext[] {
    return [...this.sleepers];
  }

  // --- running --------------------------------------------------------------------------------

  /**
   * Runs events in time order until the queue is empty, `untilNs` is passed or `maxEvents` have
   * run. Without an `untilNs` bound, a queue that empties while contexts still sleep is a
   * deadlock: reported (thrown in `throw` mode) with the wait-for chain.
   */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    if (this.running) throw new Error("Simulator.run: already running (run() is not re-entrant)");
    this.running = true;
    // Set by `exec` for this one call: stop once it holds and the instant's continuations have run.
    const settled = this.stopWhen;
    this.stopWhen = null;
    const until = opts.untilNs ?? Number.POSITIVE_INFINITY;
    const maxEvents = opts.maxEvents ?? Number.POSITIVE_INFINITY;
    const heap = this.heap;
    const perturber = this.perturber;
    let events = 0;
    let reason: RunResult["reason"] = "idle";
    let stopped = false;
    try {
      for (;;) {
        if (this.asyncPending || promiseSettled) {
          this.asyncPending = false;
          await hop();
          promiseSettled = false;
          this.throwIfFatal();
          continue;
        }
        if (settled?.() === true) {
          stopped = true;
          break;
        }
        let ev = heap.peek() as SimTimer | undefined;
        if (ev === undefined) break;
        if (ev.time > until) {
          if (this.tracer.on && until !== this.nowNs) this.tracer.advance();
          this.nowNs = until;
          reason = "until";
          break;
        }
        if (events >= maxEvents) {
          reason = "maxEvents";
          break;
        }
        heap.removePeeked();
        if (perturber?.collectTies === true) ev = this.pickTied(ev, perturber);
        // The instant is over: counters changed during it are sampled now, once.
        if (this.tracer.on && ev.time !== this.nowNs) this.tracer.advance();
        this.nowNs = ev.time;
        events++;
        const fn = ev.fn!;
        const arg = ev.arg;
        ev.fn = null;
        // Plain `at` events carry no argument: skip the store for them.
        if (arg !== undefined) ev.arg = undefined;
        this.syncCtx = ev.ctx;
        let ret: unknown;
        try {
          ret = fn(arg);
        } finally {
          this.syncCtx = null;
        }
        if (ret !== undefined && typeof (ret as { then?: unknown }).then === "function")
          this.asyncPending = true;
        if (this.fatal !== null) this.throwIfFatal();
      }
      if (reason === "idle" && until !== Number.POSITIVE_INFINITY) {
        if (this.tracer.on && until > this.nowNs) this.tracer.advance();
        this.nowNs = Math.max(this.nowNs, until);
        reason = "until";
      }
      const result: RunResult = { reason, events, nowNs: this.nowNs };
      if (reason === "idle" && !stopped && (this.sleepers.size > 0 || this.liveTasks.size > 0)) {
        result.reason = "deadlock";
        result.finding = this.reportDeadlock();
      }
      return result;
    } finally {
      this.running = false;
    }
  }

  /**
   * Tie-break exploration: gathers the events due at the same virtual time as `first` (already
   * taken off the heap), lets the perturber pick which runs now, and puts the others back. Their
   * sequence numbers are kept, so the ones put back still run in FIFO order among themselves.
   */
  private pickTied(first: SimTimer, p: Perturber): SimTimer {
    const heap = this.heap;
    let second = heap.peek() as SimTimer | undefined;
    if (second === undefined || second.time !== first.time) return first;
    const tied: SimTimer[] = [first];
    while (second !== undefined && second.time === first.time && tied.length < p.maxTied) {
      heap.removePeeked();
      tied.push(second);
      second = heap.peek() as SimTimer | undefined;
    }
    const j = p.pickTie(tied.length);
    for (let i = 0; i < tied.length; i++) if (i !== j) heap.push(tied[i]!);
    return tied[j]!;
  }

  /** `run()` with no bounds: to quiescence. */
  runUntilIdle(): Promise<RunResult> {
    return this.run();
  }

  /** `run({ untilNs: now + durationNs })`. */
  runFor(durationNs: number): Promise<RunResult> {
    return this.run({ untilNs: this.nowNs + durationNs });
  }

  private throwIfFatal(): void {
    const f = this.fatal;
    if (f !== null) {
      this.fatal = null;
      throw f;
    }
  }

  private reportDeadlock(): Finding {
    const stuck: WaitForEntry[] = [];
    const seen = new Set<ExecutionContext>();
    const describe = (ctx: ExecutionContext): WaitForEntry => ({
      context: ctx.label,
      waitsFor:
        ctx.waiting === null
          ? "a promise the simulator does not know about (not a drmsim primitive)"
          : ctx.waiting.what.startsWith(ctx.waiting.kind)
            ? ctx.waiting.what
            : `${ctx.waiting.kind} ${ctx.waiting.what}`,
      backtrace: frameList(ctx.frame),
      holds: ctx.held.map((h) => h.cls.name),
    });
    const roots = [...this.sleepers];
    for (const t of this.liveTasks) if (!this.sleepers.has(t.context)) roots.push(t.context);
    for (const root of roots) {
      // Follow blockedBy links (mutex owners) to show the chain, once per context.
      for (let ctx: ExecutionContext | null = root; ctx !== null && !seen.has(ctx); ) {
        seen.add(ctx);
        stuck.push(describe(ctx));
        ctx = ctx.waiting?.blockedBy?.() ?? null;
      }
    }
    const init = {
      kind: "deadlock" as const,
      title: `deadlock: no event is pending, but ${roots.length} context${roots.length === 1 ? "" : "s"} still wait${roots.length === 1 ? "s" : ""}`,
      context: roots[0]?.label ?? "none",
      waitFor: stuck,
      explanation:
        "Nothing left in the simulation can wake these contexts: no timer, no hardware completion, " +
        "no work item. A fence that only userspace or another stuck context could signal never " +
        "signals (an indefinite fence), and a lock whose owner waits in turn never comes free.",
      timeNs: this.nowNs,
    };
    const v = this.validator;
    if (!v.enabled) return new Finding(init);
    // Why: each stuck context's chain back to its root; the verdict names the roots, and each
    // root is reported after it as a finding of its own kind (collected, then thrown as one).
    const chains = roots.map((ctx) => explainProgress(this, ctx));
    const rooted = chains.filter((c) => c.root !== null);
    const causes: string[] = [];
    for (const c of rooted) {
      const line = `root cause [${c.root!.kind}]: ${c.root!.title}`;
      if (!causes.includes(line)) causes.push(line);
    }
    const saved = v.mode;
    v.mode = "collect";
    let finding: Finding;
    try {
      finding = v.report({ ...init, progress: (rooted[0] ?? chains[0])?.steps ?? [], details: causes })!;
      for (const c of rooted) reportProgressRoot(this, c);
    } finally {
      v.mode = saved;
    }
    if (saved === "throw") {
      const err = new ValidatorError(finding);
      this.noteFatal(err);
      throw err;
    }
    return finding;
  }

  // --- teardown -------------------------------------------------------------------------------

  /** Registers a check to run at `teardown()` (packages use it to report unsignalled fences). */
  onTeardown(hook: () => void): void {
    this.teardownHooks.push(hook);
  }

  /**
   * Ends the simulation and checks what is left: teardown hooks, locks still held, objects still
   * referenced (`leak`). Returns the findings; in `throw` mode throws the first one after all were
   * collected.
   */
  teardown(): TeardownReport {
    const v = this.validator;
    const saved = v.mode;
    if (saved === "off") return { findings: [] };
    v.mode = "collect";
    const before = v.findings.length;
    try {
      for (const hook of this.teardownHooks) hook();
      for (const ctx of this.contexts) {
        if (ctx.held.length === 0) continue;
        v.report({
          kind: "held-at-teardown",
          title: `${ctx.label} still holds ${ctx.held.length} lock${ctx.held.length === 1 ? "" : "s"} at teardown`,
          context: ctx.label,
          backtrace: frameList(ctx.frame),
          held: v.describeHeld(ctx),
        });
      }
      if (this.liveRefs.size > 0) {
        const byType = new Map<string, string[]>();
        for (const obj of this.liveRefs) {
          const d = obj.describe();
          const type = d.split(" ")[0] ?? d;
          const list = byType.get(type) ?? [];
          list.push(`${d} (refcount ${obj.refcount})`);
          byType.set(type, list);
        }
        const details: string[] = [];
        for (const [type, list] of byType) {
          details.push(`${list.length} × ${type}:`);
          for (const d of list.slice(0, 10)) details.push(`    ${d}`);
          if (list.length > 10) details.push(`    … and ${list.length - 10} more`);
        }
        v.report({
          kind: "leak",
          title: `${this.liveRefs.size} object${this.liveRefs.size === 1 ? "" : "s"} still referenced at teardown`,
          context: this.mainContext.label,
          details,
          explanation:
            "Every reference taken (get, create, import) must be dropped (put, close, release) before the world ends.",
        });
      }
    } finally {
      v.mode = saved;
    }
    const findings = v.findings.slice(before);
    if (saved === "throw" && findings.length > 0) throw new ValidatorError(findings[0]!);
    return { findings };
  }

  /** `[ 12.000345678]`-style prefix for logs. */
  timestamp(): string {
    return `[${formatTimeNs(this.nowNs).padStart(16)}]`;
  }
}
