/**
 * The trace track of an execution context: what a thread's row is in `perf`/Perfetto. A
 * process context sits in its userspace process (`game`), kernel workers in `kworker`,
 * interrupt handlers in `irq`; the thread is the context's label (`process:game/33`). Ioctls,
 * the driver ops they call and fence waits are drawn here, nested as they ran.
 */
import type { ExecutionContext } from "../context.js";
import type { TrackRef } from "./tracepoint.js";

const tracks = new WeakMap<ExecutionContext, TrackRef>();

/** The track of `ctx` (the same object every time). */
export function contextTrack(ctx: ExecutionContext): TrackRef {
  let t = tracks.get(ctx);
  if (t === undefined) {
    const process = ctx.kind === "process" ? ctx.name : ctx.kind === "worker" ? "kworker" : "irq";
    t = { process, thread: ctx.label };
    tracks.set(ctx, t);
  }
  return t;
}
