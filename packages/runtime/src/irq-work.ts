/**
 * `irq_work` (`kernel/irq_work.c`): work run from hard-interrupt context soon after it is queued,
 * on the CPU that queued it.
 *
 * Why the kernel has it, and why drmsim models it: code running under a spinlock (a fence
 * callback runs under the signalled fence's lock) sometimes has to take another lock that is
 * elsewhere taken *around* the first one. `dma_fence_array` and `dma_fence_chain` are the cases
 * here: their `enable_signaling` holds the container's lock while adding callbacks to the members
 * (container → member), so a member's callback must not signal the container under the member's
 * lock (member → container would close a cycle). The kernel queues an irq_work, which runs once
 * the member's lock is dropped.
 *
 * drmsim runs the work at once, synchronously, in the simulator's `irq_work` interrupt context:
 * a context of its own, holding no lock, with interrupt rules (no sleeping). For the validator
 * that is what the kernel's irq_work is — nothing the queuing context holds is held by it — and
 * the simulated timeline does not change: the work has run when the call that queued it returns.
 */
import type { ExecutionContext } from "./context.js";
import type { Simulator } from "./simulator.js";
import { subsystemMemo } from "./subsystem-memo.js";

const IRQ_WORK = {};

interface IrqWorkState {
  readonly ctx: ExecutionContext;
  running: boolean;
  /** Work queued while other work ran, in order. */
  readonly queue: (() => void)[];
}

// A chain or array signal queues one irq_work per link, almost always on the same simulator as
// the last one: a memo in front of the simulator's subsystem map.
const stateOf = subsystemMemo(
  IRQ_WORK,
  (sim): IrqWorkState => ({ ctx: sim.irqContext("irq_work"), running: false, queue: [] }),
);

/**
 * `irq_work_queue()`: runs `fn` in the `irq_work` interrupt context (see the module comment) —
 * now, or, when called from irq_work itself, right after the running work returns (irq_work does
 * not nest: a chain waiting on an array is signalled after the array's work has dropped its lock).
 */
export function irqWorkQueue(sim: Simulator, fn: () => void): void {
  const st = stateOf(sim);
  if (st.running) {
    st.queue.push(fn);
    return;
  }
  st.running = true;
  try {
    sim.runAs(st.ctx, fn);
    const q = st.queue;
    if (q.length > 0) sim.runAs(st.ctx, () => drain(q));
  } finally {
    if (st.queue.length > 0) st.queue.length = 0;
    st.running = false;
  }
}

function drain(q: (() => void)[]): void {
  for (let i = 0; i < q.length; i++) q[i]!();
}
