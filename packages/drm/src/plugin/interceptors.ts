/**
 * The framework's side of every driver op: a `register` interceptor on each hook wraps each tap
 * so that, without the driver doing anything,
 * - the op runs with a backtrace frame naming the driver and the kernel op
 *   (`amdgpu: drm_sched_backend_ops.run_job`), so every finding raised inside a driver op says
 *   which op it was;
 * - with tracing on, each call is a `drm_driver_op` slice on the calling context's track;
 * - the validator checks the op returns holding exactly the locks it was called with
 *   (`drm-op-lock-imbalance`): a driver op that leaks a lock to its caller, or drops one of the
 *   caller's, corrupts the caller's locking no matter how correct the caller is.
 *
 * Interceptors are installed before any plugin taps (at probe), and tapable compiles a hook's
 * call function once on first call, so the hot path pays nothing more than the wrapper.
 */
import { contextTrack, defineTracepoint, frameList, type Simulator } from "@drmsim/runtime";
import type { Hook } from "tapable";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A driver op returned with more or fewer locks held than it was called with. */
    "drm-op-lock-imbalance": true;
  }
}

/** Tracepoint: one call of a driver op (a tap of a device hook). */
export const traceDrmDriverOp = defineTracepoint<{ op: string; plugin: string }>("drm_driver_op", "drm");

interface TapLike {
  type: "sync" | "async" | "promise";
  name: string;
  fn: Function;
}

/** The kernel's name of a hook (`runJob` → `run_job`, `allowPeer2peer` → `allow_peer2peer`). */
export function drmKernelOpName(op: string): string {
  return op.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * Installs the frame/trace/validator interceptor on one hook of `driver`'s ops struct `struct`,
 * whose frames read `${driver}: ${struct}.${kernel op}`.
 */
export function interceptDrmOp(
  sim: Simulator,
  hook: Hook<never, unknown>,
  driver: string,
  struct: string,
  op: string,
): void {
  const kernelOp = `${struct}.${drmKernelOpName(op)}`;
  const frame = `${driver}: ${kernelOp}`;
  const check = (held: number, plugin: string): void => {
    const ctx = sim.current;
    if (ctx.held.length === held || !sim.validator.enabled) return;
    sim.validator.report({
      kind: "drm-op-lock-imbalance",
      title: `${frame} (${plugin}) returned holding ${ctx.held.length} lock(s); it was called holding ${held}`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      held: sim.validator.describeHeld(ctx),
      explanation:
        "A driver op must release every lock it takes before it returns and must not release its caller's locks: the DRM core and other drivers call it with their own locking around it.",
      timeNs: sim.now,
    });
  };
  hook.intercept({
    name: "drmsim",
    register(tap) {
      const t = tap as unknown as TapLike;
      const fn = t.fn;
      const plugin = t.name;
      let wrapped: Function;
      if (t.type === "promise") {
        wrapped = async (...args: unknown[]) => {
          const ctx = sim.current;
          const held = ctx.held.length;
          const t0 = sim.now;
          ctx.pushFrame(frame);
          try {
            return await fn(...args);
          } finally {
            check(held, plugin);
            ctx.popFrame();
            if (sim.tracer.on)
              sim.tracer.slice(traceDrmDriverOp, contextTrack(ctx), t0, {
                op: kernelOp,
                plugin,
              });
          }
        };
      } else if (t.type === "async") {
        wrapped = (...args: unknown[]) => {
          const ctx = sim.current;
          const held = ctx.held.length;
          const t0 = sim.now;
          const cb = args.pop() as (err?: unknown, res?: unknown) => void;
          ctx.pushFrame(frame);
          let popped = false;
          const done = (err?: unknown, res?: unknown): void => {
            if (!popped) {
              popped = true;
              check(held, plugin);
              ctx.popFrame();
              if (sim.tracer.on)
                sim.tracer.slice(traceDrmDriverOp, contextTrack(ctx), t0, {
                  op: kernelOp,
                  plugin,
                });
            }
            cb(err, res);
          };
          try {
            fn(...args, done);
          } catch (e) {
            done(e);
          }
        };
      } else {
        wrapped = (...args: unknown[]) => {
          const ctx = sim.current;
          const held = ctx.held.length;
          const t0 = sim.now;
          ctx.pushFrame(frame);
          try {
            return fn(...args);
          } finally {
            check(held, plugin);
            ctx.popFrame();
            if (sim.tracer.on)
              sim.tracer.slice(traceDrmDriverOp, contextTrack(ctx), t0, {
                op: kernelOp,
                plugin,
              });
          }
        };
      }
      return { ...tap, fn: wrapped } as typeof tap;
    },
  });
}
