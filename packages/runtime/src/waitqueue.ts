/**
 * `wait_queue_head_t` and the `wait_event*()` family (`include/linux/wait.h`).
 *
 * Return conventions follow the kernel's `wait_event_*timeout` family, in nanoseconds instead of
 * jiffies: the remaining time (at least 1) when the condition became true, 0 when the timeout
 * expired first. Waits without a timeout return `MAX_SCHEDULE_TIMEOUT`. An interrupted wait throws
 * `KernelError('ERESTARTSYS')` (the kernel returns it; in TypeScript it unwinds like one).
 */
import type { WaitTarget } from "./context.js";
import { KernelError } from "./errno.js";
import type { Sleeper } from "./internal/sleeper.js";
import type { Simulator } from "./simulator.js";
import { MAX_SCHEDULE_TIMEOUT } from "./time.js";

/** Options of a wait. */
export interface WaitOptions {
  /** Give up after this long (ns). Undefined waits forever; negative is `EINVAL`. */
  timeoutNs?: number;
  /** A simulated signal ends the wait with `ERESTARTSYS` (`wait_event_interruptible`). */
  interruptible?: boolean;
  /** Only a fatal signal ends the wait (`wait_event_killable`). */
  killable?: boolean;
}

/** `wait_queue_head_t`. */
export class WaitQueue {
  private waiters: Sleeper[] = [];

  constructor(
    private readonly sim: Simulator,
    /** Shown in deadlock reports: `&sched->job_scheduled`. */
    readonly name: string,
  ) {}

  /** Number of sleepers (`waitqueue_active`). */
  get active(): number {
    return this.waiters.length;
  }

  /**
   * `wait_event_timeout(wq, cond, timeout)` and its interruptible/killable variants. Sleeps until
   * `cond()` is true after a wake-up. See the module comment for return values.
   */
  async waitEvent(cond: () => boolean, opts: WaitOptions = {}, what?: string): Promise<number> {
    return waitUntil(
      this.sim,
      cond,
      opts,
      { kind: "wait_queue", what: what ?? this.name },
      (s) => this.waiters.push(s),
      (s) => this.remove(s),
    );
  }

  /**
   * `finish_wait()`: takes a sleeper that woke by timeout or signal off the queue. A woken one was
   * already taken off by the waker; without this, a queue that is only ever waited on with
   * timeouts would grow without bound and report stale sleepers as `active`.
   */
  private remove(s: Sleeper): void {
    const i = this.waiters.indexOf(s);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** `wake_up_all()`: every sleeper re-checks its condition. */
  wakeUpAll(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    // Exploration may wake the sleepers in another order (they race for what they were woken for).
    if (ws.length > 1 && this.sim.perturber !== null) this.sim.perturber.wakeOrder(ws);
    for (const w of ws) w.wake("woken");
  }

  /** `wake_up()`: the same as `wakeUpAll` for non-exclusive waiters, which is all drmsim has. */
  wakeUp(): void {
    this.wakeUpAll();
  }

  /** Removes sleepers that already woke for another reason. @internal */
  prune(): void {
    this.waiters = this.waiters.filter((w) => w.pending);
  }
}

/**
 * The loop shared by every condition wait: check, sleep, re-check, honouring timeouts and signals.
 * `enqueue` registers the sleeper wherever a waker will find it; `dequeue`, if given, takes it off
 * again when it woke for another reason (timeout, signal). @internal
 */
export async function waitUntil(
  sim: Simulator,
  cond: () => boolean,
  opts: WaitOptions,
  target: WaitTarget,
  enqueue: (s: Sleeper) => void,
  dequeue?: (s: Sleeper) => void,
): Promise<number> {
  const timeout = opts.timeoutNs;
  if (timeout !== undefined && !(timeout >= 0))
    throw new KernelError("EINVAL", `wait on ${target.what}: timeout must be >= 0 ns, got ${timeout}`);
  const op = `wait on ${target.kind} ${target.what}`;
  sim.validator.mightSleep(op);
  const deadline =
    timeout === undefined || timeout >= MAX_SCHEDULE_TIMEOUT ? Number.POSITIVE_INFINITY : sim.now + timeout;
  const remaining = (): number =>
    deadline === Number.POSITIVE_INFINITY ? MAX_SCHEDULE_TIMEOUT : Math.max(1, deadline - sim.now);
  const wakeOn = opts.interruptible === true ? "interruptible" : opts.killable === true ? "killable" : "none";
  for (;;) {
    if (cond()) return remaining();
    const ctx = sim.current;
    if (
      (wakeOn === "interruptible" && ctx.signalPending) ||
      (wakeOn === "killable" && ctx.fatalSignalPending)
    )
      throw interrupted(ctx, target.what);
    if (sim.now >= deadline) return 0;
    const s = sim.sleep(target, { op, deadlineNs: deadline, wakeOn });
    enqueue(s);
    const why = await s.promise;
    if (why !== "woken") dequeue?.(s);
    if (why === "signal") throw interrupted(sim.current, target.what);
    if (why === "timeout") return cond() ? 1 : 0;
  }
}

function interrupted(ctx: { signalPending: boolean }, what: string): KernelError {
  ctx.signalPending = false;
  return new KernelError("ERESTARTSYS", `wait on ${what} was interrupted by a signal`);
}
