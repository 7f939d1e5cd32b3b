/**
 * The one way a simulated context sleeps: a promise the runtime resolves when the context is
 * woken, its timeout expires, or a signal interrupts it. Every primitive that blocks (wait
 * queues, mutexes, completions, fence waits) is built on it, so the simulator always knows who
 * sleeps on what — which is how a quiescent simulation can name every stuck context.
 */
import type { ExecutionContext, WaitTarget } from "../context.js";
import type { TimerHandle } from "../simulator.js";

/** Why a sleep ended. */
export type WakeReason = "woken" | "timeout" | "signal";

/** What a sleeper needs from the simulator. */
export interface SleepHost {
  readonly now: number;
  at(timeNs: number, fn: () => void): TimerHandle;
  /** Registers/unregisters sleeping contexts and marks that promise continuations are pending. */
  noteSleep(ctx: ExecutionContext, sleeping: boolean): void;
}

/**
 * One sleeping context (the kernel's `set_current_state()` + `schedule()` pair, with the wake-up
 * reason a `wait_event_*` caller gets back): what `sim.sleep()` returns and primitives await.
 */
export class Sleeper {
  readonly promise: Promise<WakeReason>;
  private resolveFn!: (r: WakeReason) => void;
  private timer: TimerHandle | null = null;
  private done = false;

  constructor(
    private readonly host: SleepHost,
    readonly ctx: ExecutionContext,
    target: WaitTarget,
    deadlineNs: number,
    /** `interruptible`: any signal wakes it; `killable`: only a fatal one. */
    wakeOn: "none" | "interruptible" | "killable",
  ) {
    this.promise = new Promise<WakeReason>((resolve) => {
      this.resolveFn = resolve;
    });
    ctx.waiting = target;
    host.noteSleep(ctx, true);
    if (deadlineNs !== Number.POSITIVE_INFINITY) this.timer = host.at(deadlineNs, () => this.wake("timeout"));
    if (wakeOn !== "none") {
      ctx.onSignal = () => {
        if (wakeOn === "interruptible" || ctx.fatalSignalPending) this.wake("signal");
      };
    }
  }

  get pending(): boolean {
    return !this.done;
  }

  /** Ends the sleep. Later calls do nothing. */
  wake(reason: WakeReason): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null && reason !== "timeout") this.timer.cancel();
    this.ctx.waiting = null;
    this.ctx.onSignal = null;
    this.host.noteSleep(this.ctx, false);
    this.resolveFn(reason);
  }
}
