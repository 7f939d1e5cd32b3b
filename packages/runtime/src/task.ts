/** A simulated process or kthread started with `sim.spawn()`. */
import type { ExecutionContext } from "./context.js";

/** `running` until the task's function settles. */
export type TaskState = "running" | "done" | "failed";

/**
 * A simulated thread of execution (`struct task_struct` running one function, like a
 * `kthread_run()` or a user process in a system call), created by `sim.spawn()`.
 */
export class Task<T = unknown> {
  state: TaskState = "running";
  /** The value the task returned, once `done`. */
  value: T | undefined = undefined;
  /** What the task threw, once `failed` (a `KernelError` is a failed system call, not a crash). */
  error: unknown = undefined;
  private readonly promise: Promise<T>;
  private resolveFn!: (v: T) => void;
  private rejectFn!: (e: unknown) => void;

  constructor(readonly context: ExecutionContext) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // A failed task is an ordinary outcome (a syscall returned an error): never an unhandled rejection.
    this.promise.catch(() => {});
  }

  /** Settles when the task's function does. Await it after (or while) running the simulator. */
  get result(): Promise<T> {
    return this.promise;
  }

  get name(): string {
    return this.context.name;
  }

  /**
   * The raw in-kernel wake-up of a signal (`signal_wake_up`: `TIF_SIGPENDING`, plus `SIGKILL`
   * pending with `fatal`), with no signal queued: an interruptible sleep returns `ERESTARTSYS`, a
   * killable one only for a fatal signal. For kernel-level tests of a primitive. In a simulated
   * process's system call, nothing queued means no handler to run — the call restarts — and a
   * fatal one ends the process; to send a real signal use `Process.kill` (`vfs/signal.ts`).
   */
  signal(opts?: { fatal?: boolean }): void {
    const ctx = this.context;
    if (ctx.exited) return;
    ctx.signalPending = true;
    if (opts?.fatal === true) ctx.fatalSignalPending = true;
    ctx.onSignal?.();
  }

  /** @internal */
  settle(ok: boolean, v: unknown): void {
    if (ok) {
      this.state = "done";
      this.value = v as T;
      this.resolveFn(v as T);
    } else {
      this.state = "failed";
      this.error = v;
      this.rejectFn(v);
    }
  }
}
