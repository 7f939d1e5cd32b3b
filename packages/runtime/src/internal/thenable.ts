/** Whether a callback returned a promise (it sleeps, and finishes later) rather than its result. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}
