/** Fence contexts and seqno ordering (`dma_fence_context_alloc`, `dma_fence_is_later`, …). */
import { frameList, KernelError, type Simulator } from "@drmsim/runtime";
import type { DmaFence } from "./dma-fence.js";

const CONTEXTS = {};

/**
 * `dma_fence_context_alloc(num)`: reserves `num` new fence contexts and returns the first. The
 * counter is per simulator and starts at 1 (context 0 belongs to stub fences), so context
 * numbers are the same run after run.
 */
export function dmaFenceContextAlloc(sim: Simulator, num = 1): number {
  if (!Number.isInteger(num) || num < 1)
    throw new KernelError("EINVAL", `dma_fence_context_alloc: num must be >= 1, got ${num}`);
  const state = sim.subsystem(CONTEXTS, () => ({ next: 1 }));
  const first = state.next;
  state.next += num;
  return first;
}

/**
 * `__dma_fence_is_later(f1, f2, ops)`: is seqno `a` later than `b`? 64-bit contexts compare
 * plainly; others compare the low 32 bits with wrap-around (a signed difference > 0).
 */
export function dmaFenceSeqnoIsLater(a: number, b: number, seqno64: boolean): boolean {
  if (seqno64) return a > b;
  return ((a - b) | 0) > 0;
}

function checkSameContext(op: string, f1: DmaFence, f2: DmaFence): void {
  if (f1.context === f2.context) return;
  const sim = f1.sim;
  const ctx = sim.current;
  sim.validator.report({
    kind: "fence-context-mismatch",
    title: `${op}: fences of different contexts (${f1.context} and ${f2.context}) have no order`,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
  });
  throw new KernelError("EINVAL", `${op}: ${f1.describe()} and ${f2.describe()} are on different contexts`);
}

/**
 * A fence's seqno as the exact 64-bit value: chain links carry it as `point` (their `seqno`
 * number is exact only up to 2^53); every other fence's seqno is a safe integer.
 */
function seqno64Of(f: DmaFence): bigint {
  const point = (f as { point?: unknown }).point;
  return typeof point === "bigint" ? point : BigInt(f.seqno);
}

/** `dma_fence_is_later(f1, f2)`: f1 comes after f2 on their (shared) context. */
export function dmaFenceIsLater(f1: DmaFence, f2: DmaFence): boolean {
  checkSameContext("dma_fence_is_later", f1, f2);
  if (f1.seqno64) return seqno64Of(f1) > seqno64Of(f2);
  return dmaFenceSeqnoIsLater(f1.seqno, f2.seqno, false);
}

/** `dma_fence_is_later_or_same(f1, f2)`. */
export function dmaFenceIsLaterOrSame(f1: DmaFence, f2: DmaFence): boolean {
  return f1 === f2 || dmaFenceIsLater(f1, f2) || seqno64Of(f1) === seqno64Of(f2);
}

/**
 * `dma_fence_later(f1, f2)`: the later of two fences of one context, or null if that one has
 * already signalled (nothing to wait for).
 */
export function dmaFenceLater(f1: DmaFence, f2: DmaFence): DmaFence | null {
  const later = dmaFenceIsLater(f1, f2) ? f1 : f2;
  return later.isSignaled() ? null : later;
}
