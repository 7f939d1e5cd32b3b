/**
 * Signals on simulated processes (`kernel/signal.c`, `arch/x86/kernel/signal.c`, `sigaction(2)`).
 *
 * DOC: how a signal meets a system call. `kill()` queues a signal on one thread of the process
 * (`complete_signal` picks it) and wakes it if it sleeps interruptibly; `signal_pending()` is then
 * true in that thread, so the interruptible wait in the kernel returns `-ERESTARTSYS`. Nothing
 * reaches userspace yet: on the way out of the system call the kernel dequeues the signal
 * (`get_signal`) and decides (`arch_do_signal_or_restart`):
 *
 * - a handler installed with `SA_RESTART`: the handler runs and the system call is restarted,
 *   with the same arguments — transparent for calls whose timeouts are absolute (syncobj waits);
 * - a handler without `SA_RESTART`: the handler runs and the call fails with `EINTR`;
 * - no handler to run (nothing queued any more, or the action is now "ignore"): the call restarts;
 * - a fatal signal (`SIGKILL`, or the default action of e.g. `SIGINT`/`SIGTERM`): the whole process
 *   exits (`do_group_exit`); the call never returns to userspace.
 *
 * A signal sent to a thread that is not in a system call is delivered at once (its handler runs,
 * or a fatal one ends the process), as the kernel does on the next return to user mode. Signals
 * whose action is to be ignored (`SIG_IGN`, or the default of `SIGCHLD`, `SIGWINCH`, `SIGURG`,
 * `SIGCONT`) are dropped when sent (`sig_ignored`).
 *
 * Not modelled: signal masks (`sigprocmask`), stop signals, `SA_RESETHAND`/`SA_NODEFER`, real-time
 * queueing, and the `restart_block` of `poll`/`nanosleep` (an interrupted `poll` fails with `EINTR`).
 * A process-directed signal is queued on the thread `complete_signal` would pick, not in a
 * process-wide queue any thread may take it from.
 */
import type { ExecutionContext } from "../context.js";
import { KernelError } from "../errno.js";
import type { Task } from "../task.js";
import type { Process } from "./process.js";

/** A thread to aim a signal at (`tgkill`): any `Task`. */
export type SignalTarget = Pick<Task<unknown>, "context" | "name">;

/** `SIGHUP`. */
export const SIGHUP = 1;
/** `SIGINT`: default action terminates the process. */
export const SIGINT = 2;
/** `SIGQUIT`. */
export const SIGQUIT = 3;
/** `SIGKILL`: cannot be caught or ignored; always ends the process. */
export const SIGKILL = 9;
/** `SIGUSR1`. */
export const SIGUSR1 = 10;
/** `SIGUSR2`. */
export const SIGUSR2 = 12;
/** `SIGPIPE`. */
export const SIGPIPE = 13;
/** `SIGALRM`. */
export const SIGALRM = 14;
/** `SIGTERM`. */
export const SIGTERM = 15;
/** `SIGCHLD`: ignored by default. */
export const SIGCHLD = 17;
/** `SIGCONT`: ignored by default (drmsim models no stopped processes). */
export const SIGCONT = 18;
/** `SIGURG`: ignored by default. */
export const SIGURG = 23;
/** `SIGWINCH`: ignored by default. */
export const SIGWINCH = 28;

/** `SA_RESTART`: a system call the handler interrupted is restarted instead of failing with `EINTR`. */
export const SA_RESTART = 0x10000000;

/** `SIG_DFL`: the default action of the signal. */
export const SIG_DFL = "SIG_DFL";
/** `SIG_IGN`: the signal is discarded. */
export const SIG_IGN = "SIG_IGN";

/** What `sigaction` installs: a handler function (runs in the receiving thread), `SIG_DFL` or `SIG_IGN`. */
export type SigHandler = ((sig: number) => void) | typeof SIG_DFL | typeof SIG_IGN;

/** `struct sigaction` (the parts drmsim models). */
export interface SigAction {
  handler: SigHandler;
  /** `sa_flags`: `SA_RESTART` or 0. */
  flags?: number;
}

const MODELLED = new Set([
  SIGHUP,
  SIGINT,
  SIGQUIT,
  SIGKILL,
  SIGUSR1,
  SIGUSR2,
  SIGPIPE,
  SIGALRM,
  SIGTERM,
  SIGCHLD,
  SIGCONT,
  SIGURG,
  SIGWINCH,
]);
/** `sig_kernel_ignore()`: default action "ignore". */
const DEFAULT_IGNORE = new Set([SIGCHLD, SIGCONT, SIGURG, SIGWINCH]);

/** One thread's signal state: what is queued for it, and whether it is inside a system call. */
interface ThreadSignals {
  readonly ctx: ExecutionContext;
  /** Queued signal numbers, in arrival order (`t->pending`). */
  readonly pending: number[];
  /** System calls in progress (nested when a file's ioctl makes another system call). */
  inSyscall: number;
  /** `ctx.sigpendingRaised` when the outermost system call began. */
  raisedAtEnter: number;
}

/** A process's signal state (`sighand_struct` + its threads' pending sets). */
class SignalState {
  readonly actions = new Map<number, SigAction>();
  /** The contexts that ever ran or made a system call for the process; exited ones are pruned. */
  readonly threads = new Map<ExecutionContext, ThreadSignals>();
  /** Signals sent while the process had no thread yet: the first thread to enter a system call takes them. */
  readonly unclaimed: number[] = [];
  /** The fatal signal that ended the process (0: none). */
  killedBy = 0;

  thread(ctx: ExecutionContext): ThreadSignals {
    let t = this.threads.get(ctx);
    if (t === undefined) {
      t = { ctx, pending: [], inSyscall: 0, raisedAtEnter: 0 };
      this.threads.set(ctx, t);
      if (this.threads.size > 64) this.liveThreads();
    }
    return t;
  }

  /** The live threads, in the order they joined; forgets the exited ones (a process may run many short tasks). */
  liveThreads(): ThreadSignals[] {
    const live: ThreadSignals[] = [];
    for (const [ctx, t] of this.threads)
      if (ctx.exited && t.inSyscall === 0) this.threads.delete(ctx);
      else live.push(t);
    return live;
  }

  action(sig: number): SigAction {
    return this.actions.get(sig) ?? { handler: SIG_DFL };
  }

  /** `sig_ignored()`: dropped when sent. */
  ignored(sig: number): boolean {
    if (sig === SIGKILL) return false;
    const h = this.action(sig).handler;
    return h === SIG_IGN || (h === SIG_DFL && DEFAULT_IGNORE.has(sig));
  }

  /** `sig_fatal()`: the default action ends the process. */
  fatal(sig: number): boolean {
    return sig === SIGKILL || (this.action(sig).handler === SIG_DFL && !DEFAULT_IGNORE.has(sig));
  }
}

const STATES = new WeakMap<Process, SignalState>();

function stateOf(proc: Process): SignalState {
  let s = STATES.get(proc);
  if (s === undefined) {
    s = new SignalState();
    STATES.set(proc, s);
  }
  return s;
}

function checkSignal(sig: number, op: string): void {
  if (!MODELLED.has(sig))
    throw new KernelError(
      "EINVAL",
      `${op}: signal ${sig} is not one drmsim models (${[...MODELLED].join(", ")})`,
    );
}

/** @internal Records `ctx` as a thread of `proc` (`Process.run`, and every thread that makes a system call). */
export function signalThreadRegister(proc: Process, ctx: ExecutionContext): void {
  stateOf(proc).thread(ctx);
}

/**
 * `sigaction(sig, act, &oldact)` for the whole process: returns the previous action. `EINVAL` for
 * `SIGKILL` or a signal drmsim does not model. Ignoring a signal discards its queued instances.
 */
export function sigaction(proc: Process, sig: number, act: SigAction): SigAction {
  checkSignal(sig, "sigaction");
  if (sig === SIGKILL) throw new KernelError("EINVAL", "sigaction: SIGKILL cannot be caught or ignored");
  if (typeof act.handler !== "function" && act.handler !== SIG_DFL && act.handler !== SIG_IGN)
    throw new KernelError("EINVAL", `sigaction: handler must be a function, SIG_DFL or SIG_IGN`);
  const st = stateOf(proc);
  const old = st.action(sig);
  st.actions.set(sig, { handler: act.handler, flags: act.flags ?? 0 });
  if (st.ignored(sig)) for (const t of st.threads.values()) removeQueued(t, sig);
  return old;
}

function removeQueued(t: ThreadSignals, sig: number): void {
  for (let i = t.pending.indexOf(sig); i >= 0; i = t.pending.indexOf(sig)) {
    t.pending.splice(i, 1);
    t.ctx.queuedSignals--;
  }
}

/**
 * `kill(pid, sig)` (or `tgkill` with `thread`): queues `sig` on a thread of `proc` and wakes it.
 * `ESRCH` once the process has exited; `EINVAL` for a signal drmsim does not model. Call it from
 * any context — a timer, another process's task — at the virtual time the signal is sent.
 */
export function kill(proc: Process, sig: number, thread?: SignalTarget): void {
  checkSignal(sig, "kill");
  if (proc.exited) throw new KernelError("ESRCH", `kill: ${proc} has exited`);
  const st = stateOf(proc);
  if (st.ignored(sig)) return;
  // The process's threads: the tasks it runs (`Process.run`), and any other context while it is
  // inside one of its system calls (a test's own task calling `proc.ioctl`).
  const live = st.liveThreads().filter((t) => !t.ctx.exited && (t.ctx.process === proc || t.inSyscall > 0));
  let target: ThreadSignals | undefined;
  if (thread !== undefined) {
    if (thread.context.process !== proc || thread.context.exited)
      throw new KernelError("ESRCH", `tgkill: ${thread.name} is not a live thread of ${proc}`);
    target = st.thread(thread.context);
  } else {
    // complete_signal: the first thread that does not already have a signal pending, else any.
    target = live.find((t) => !t.ctx.signalPending) ?? live[0];
  }
  if (st.fatal(sig)) {
    // complete_signal's group exit: every thread gets SIGKILL and is woken, killable sleeps too.
    st.killedBy = sig;
    for (const t of live) {
      t.ctx.fatalSignalPending = true;
      t.ctx.signalPending = true;
      t.ctx.onSignal?.();
    }
    if (live.every((t) => t.inSyscall === 0)) groupExit(proc, st);
    return;
  }
  if (target === undefined) {
    st.unclaimed.push(sig);
    return;
  }
  target.pending.push(sig);
  target.ctx.queuedSignals++;
  // signal_wake_up: TIF_SIGPENDING, and an interruptible sleep ends.
  target.ctx.signalPending = true;
  target.ctx.onSignal?.();
  // Not in a system call: the kernel delivers on the next return to user mode, i.e. now.
  if (target.inSyscall === 0) deliverQueued(proc, st, target);
}

/** `do_group_exit`: the process ends; its files are closed. */
function groupExit(proc: Process, st: SignalState): void {
  for (const t of st.threads.values()) {
    t.ctx.queuedSignals -= t.pending.length;
    t.pending.length = 0;
  }
  proc.exit();
}

/**
 * `get_signal` + `handle_signal` for every queued signal: runs the handlers. `ran`: a handler ran;
 * `restart`: every handler that ran has `SA_RESTART`.
 */
function deliverQueued(proc: Process, st: SignalState, t: ThreadSignals): { ran: boolean; restart: boolean } {
  let ran = false;
  let restart = true;
  // next_signal takes the lowest-numbered queued signal first.
  t.pending.sort((a, b) => a - b);
  while (t.pending.length > 0) {
    const sig = t.pending.shift()!;
    t.ctx.queuedSignals--;
    const act = st.action(sig);
    const h = act.handler;
    if (typeof h !== "function") continue; // ignored meanwhile (or default-ignore): nothing to run
    ran = true;
    if (((act.flags ?? 0) & SA_RESTART) === 0) restart = false;
    proc.sim.runAs(t.ctx, () => h(sig));
  }
  // recalc_sigpending: nothing is left to deliver.
  t.ctx.signalPending = false;
  return { ran, restart };
}

/**
 * @internal Entry into a system call of `proc` by the current thread. `ESRCH` if a fatal signal
 * already ended the process. Signals that arrived before the process had any thread are delivered
 * first: this thread was in userspace when they came.
 */
export function syscallEnter(proc: Process, ctx: ExecutionContext, what: string): void {
  const st = stateOf(proc);
  if (st.killedBy !== 0)
    throw new KernelError("ESRCH", `${what}: ${proc} was killed by signal ${st.killedBy}`, { syscall: what });
  const t = st.thread(ctx);
  if (st.unclaimed.length > 0) {
    for (const sig of st.unclaimed.splice(0)) {
      t.pending.push(sig);
      ctx.queuedSignals++;
    }
    deliverQueued(proc, st, t);
  }
  // A wake-up already pending at entry counts as one that came during the call.
  if (t.inSyscall++ === 0) t.raisedAtEnter = ctx.sigpendingRaised - (ctx.signalPending ? 1 : 0);
}

/**
 * @internal The return of a system call to userspace (`exit_to_user_mode` →
 * `arch_do_signal_or_restart`). `error` is what the call threw (undefined on success). Returns
 * true when the call must be restarted; throws `EINTR` for an `ERESTARTSYS` interrupted by a
 * handler without `SA_RESTART`, and `ESRCH` when a fatal signal ended the process meanwhile.
 * Otherwise returns false and the call's own result stands — including an `ERESTARTSYS` that no
 * signal caused, which the kernel, too, lets through to userspace (errno 512): a driver bug.
 */
export function syscallExit(proc: Process, ctx: ExecutionContext, error: unknown, what: string): boolean {
  const st = stateOf(proc);
  const t = st.thread(ctx);
  t.inSyscall--;
  if (st.killedBy !== 0 || ctx.fatalSignalPending) {
    // Killed (kill(SIGKILL), a fatal default action, or a raw fatal wake-up): never returns.
    const sig = st.killedBy !== 0 ? st.killedBy : SIGKILL;
    st.killedBy = sig;
    if (!proc.exited) groupExit(proc, st);
    throw new KernelError(
      "ESRCH",
      `${what} never returned: ${proc} was killed by signal ${sig} and exited (do_group_exit)`,
      { syscall: what },
    );
  }
  const interrupted = error instanceof KernelError && error.code === "ERESTARTSYS";
  const signalled = ctx.sigpendingRaised !== t.raisedAtEnter || t.pending.length > 0;
  const { ran, restart } = deliverQueued(proc, st, t);
  if (!interrupted) return false;
  // No signal came during the call: the kernel never enters the signal path, and -ERESTARTSYS
  // (512) leaks to userspace — a driver bug, left visible as such.
  if (!signalled) return false;
  if (ran && !restart)
    throw new KernelError("EINTR", `${what} was interrupted by a signal whose handler has no SA_RESTART`, {
      syscall: what,
    });
  return true;
}

/** The fatal signal that ended `proc` (`WTERMSIG` of its exit status), or 0. */
export function killedBy(proc: Process): number {
  return STATES.get(proc)?.killedBy ?? 0;
}

/**
 * `signal_pending(current)`: a signal is queued for the current thread, or it was woken by one and
 * has not handled it yet. Interruptible waits return `ERESTARTSYS` while it is true.
 */
export function signalPending(ctx: ExecutionContext): boolean {
  return ctx.signalPending || ctx.fatalSignalPending;
}

/** `fatal_signal_pending(current)`. */
export function fatalSignalPending(ctx: ExecutionContext): boolean {
  return ctx.fatalSignalPending;
}
