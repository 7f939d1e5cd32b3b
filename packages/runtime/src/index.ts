/**
 * @drmsim/runtime — the simulated kernel underneath every drmsim package: virtual time, execution
 * contexts, workqueues, wait queues, locks, the lockdep-style validator, the memory/reclaim
 * model, kref and tracing.
 *
 * @example
 * ```ts
 * import { Simulator, WaitQueue, msecs } from "@drmsim/runtime";
 *
 * const sim = new Simulator({ seed: 42 });
 * const wq = new WaitQueue(sim, "example");
 * let ready = false;
 * sim.schedule(msecs(5), () => { ready = true; wq.wakeUpAll(); });
 * const waited = await sim.exec("waiter", () => wq.waitEvent(() => ready, { timeoutNs: msecs(10) }));
 * console.log(sim.now, waited); // 5000000 5000000
 * ```
 */
export * from "./byte-store.js";
export * from "./completion.js";
export { type ContextKind, ExecutionContext, type Frame, frameList, type WaitTarget } from "./context.js";
export * from "./errno.js";
export * from "./explore/explore.js";
export * from "./explore/perturb.js";
export * from "./explore/property.js";
export * from "./explore/replay-token.js";
export * from "./explore/shrink.js";
export * from "./hw/engine.js";
export * from "./hw/engine-factory.js";
export * from "./hw/hw-behaviour.js";
export * from "./hw/hw-override-queue.js";
export type { Sleeper, WakeReason } from "./internal/sleeper.js";
export * from "./irq-work.js";
export * from "./kref.js";
export type { LiveRefs } from "./live-refs.js";
export * from "./lockdep/annotations.js";
export * from "./lockdep/finding.js";
export type { HeldLock, LockMode } from "./lockdep/held-lock.js";
export { LockClass, type LockKind } from "./lockdep/lock-class.js";
export { type AcquireOptions, Validator, type ValidatorMode } from "./lockdep/validator.js";
export * from "./memory.js";
export * from "./mutex.js";
export * from "./prng.js";
export * from "./progress.js";
export * from "./simulator.js";
export * from "./spinlock.js";
export * from "./subsystem-memo.js";
export * from "./task.js";
export * from "./time.js";
export * from "./trace.js";
export * from "./uapi/codec.js";
export * from "./uapi/ioc.js";
export * from "./uapi/ioctl.js";
export * from "./uapi/layout.js";
export * from "./uapi/scalar.js";
export * from "./uapi/user-arg.js";
export type * from "./uapi/user-ptr.js";
export * from "./vfs/devices.js";
export * from "./vfs/fd-table.js";
export * from "./vfs/file.js";
export * from "./vfs/mm.js";
export * from "./vfs/poll.js";
export * from "./vfs/process.js";
export {
  fatalSignalPending,
  SA_RESTART,
  SIG_DFL,
  SIG_IGN,
  SIGALRM,
  SIGCHLD,
  SIGCONT,
  SIGHUP,
  SIGINT,
  SIGKILL,
  SIGPIPE,
  SIGQUIT,
  SIGTERM,
  SIGURG,
  SIGUSR1,
  SIGUSR2,
  SIGWINCH,
  type SigAction,
  type SigHandler,
  type SignalTarget,
  signalPending,
} from "./vfs/signal.js";
export * from "./waitqueue.js";
export * from "./workqueue.js";
