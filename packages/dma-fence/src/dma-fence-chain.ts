/**
 * `struct dma_fence_chain` (`include/linux/dma-fence-chain.h`, `drivers/dma-buf/dma-fence-chain.c`):
 * one point of a timeline. Each link wraps a fence and points to the previous link; the link
 * signals only once its own fence *and every earlier link's fence* have signalled, so waiting on
 * point N means "everything up to N is done" — what timeline syncobjs are built on.
 *
 * Links use 64-bit seqnos (`dma_fence_init64`; here: any safe integer). A link continues its
 * predecessor's context when its seqno is later than the predecessor's, and remembers where the
 * predecessor was (`prevSeqno`), which is what `dmaFenceChainFindSeqno` walks by. A link with a
 * seqno that goes backwards starts a new context instead, keeping the larger seqno.
 *
 * Memory stays bounded on long-lived timelines because walking the chain (`dmaFenceChainWalk`,
 * which waiting, polling and searching all do) unlinks links whose fence has signalled, dropping
 * their references; and releasing a link unlinks its sole-owned predecessors one by one instead
 * of recursing, so a timeline of any length can be freed without overflowing the stack.
 *
 * The contained fence must not itself be a chain (the kernel WARNs): chains nest only through
 * `prev`. Flatten into an array instead.
 */
import {
  type Allocation,
  frameList,
  GFP_KERNEL,
  type Gfp,
  irqWorkQueue,
  KernelError,
  type ProgressStep,
  type Simulator,
} from "@drmsim/runtime";
import { DmaFence, type DmaFenceCb, type DmaFenceOps } from "./dma-fence.js";
import { dmaFenceSetLockClass } from "./dma-fence-lock.js";
import { dmaFenceContextAlloc } from "./fence-context.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A chain used as the contained fence of another chain link (the kernel WARNs). */
    "fence-chain-nested": true;
  }
}

const EINVAL = -22;

/** `sizeof(struct dma_fence_chain)` on 64-bit (a dma_fence plus prev, fence, cb/irq_work, lock), an estimate. */
export const DMA_FENCE_CHAIN_BYTES = 128;

/**
 * `dma_fence_chain_alloc()`: the memory for one chain link, taken with `gfp` (the kernel always
 * uses `GFP_KERNEL`). Callers that must not fail later — `drm_syncobj_add_point` runs after the
 * point of no return — allocate the link up front and pass it to `new DmaFenceChain(…, mem)`.
 * Throws `ENOMEM` when the allocation fails; free an unused one with `dmaFenceChainFree`.
 */
export function dmaFenceChainAlloc(sim: Simulator, gfp: Gfp = GFP_KERNEL): Allocation {
  return sim.mm.kmalloc(DMA_FENCE_CHAIN_BYTES, gfp, "dma_fence_chain_alloc");
}

/** `dma_fence_chain_free()`: gives back a link from `dmaFenceChainAlloc` that was never initialised. */
export function dmaFenceChainFree(mem: Allocation): void {
  mem.free();
}

const chainOps: DmaFenceOps<DmaFenceChain> = {
  getDriverName: () => "dma_fence_chain",
  getTimelineName: () => "unbound",
  enableSignaling: (c) => c.enableSignalingLinks(),
  signaled: (c) => c.pollSignaled(),
  // Present so the ops stay attached after signal, as the kernel's do (the names detach anyway:
  // `dma_fence_driver_name()` answers "detached-driver" for every signalled fence).
  release: () => {},
  setDeadline: (c, deadlineNs) => {
    // `dma_fence_chain_set_deadline`: every unsignalled point up to this one is needed by then.
    for (let it: DmaFence | null = c.get(); it !== null; it = dmaFenceChainWalk(it))
      dmaFenceChainContained(it).setDeadline(deadlineNs);
  },
};

/** Where a new link goes: `dma_fence_chain_init`'s context and seqno rules. */
function chainIdentity(
  sim: Simulator,
  prev: DmaFence | null,
  seqno: bigint,
): { context: number; seqno: bigint; prevSeqno: bigint } {
  if (prev instanceof DmaFenceChain && seqno > prev.point)
    return { context: prev.context, seqno, prevSeqno: prev.point };
  return {
    context: dmaFenceContextAlloc(sim),
    // Never let the new point claim less than what it already includes.
    seqno: prev instanceof DmaFenceChain && prev.point > seqno ? prev.point : seqno,
    prevSeqno: 0n,
  };
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * `struct dma_fence_chain`. `new DmaFenceChain(sim, prev, fence, seqno)` is
 * `dma_fence_chain_init`: it consumes the caller's references to `prev` (may be null) and
 * `fence`. Refused with `EINVAL`, nothing consumed, when `fence` is itself a chain (reported as
 * `fence-chain-nested`) or `seqno` is not a `__u64`.
 *
 * Links always use 64-bit seqnos: the exact point is `point` (a `bigint`, so a timeline point up
 * to 2^64−1 keeps its identity); the inherited `seqno` is the same value as a `number`, exact up
 * to 2^53 and only for display above that.
 *
 * `mem` is the link's memory from `dmaFenceChainAlloc` (taken over, freed with the link; left
 * to the caller when the constructor throws). Without it the constructor allocates it itself
 * (`dma_fence_chain_alloc` + `_init`), failing with `ENOMEM`, nothing consumed.
 */
export class DmaFenceChain extends DmaFence {
  /** `dma_fence_chain.prev`: the previous link (or any fence), null once collected. */
  prev: DmaFence | null;
  /** The link's seqno, exactly (`dma_fence.seqno` of a chain is a `u64`). */
  readonly point: bigint;
  /** `dma_fence_chain.prev_seqno`: the previous link's seqno when this one continued its context, else 0. */
  readonly prevSeqno: bigint;
  /** `dma_fence_chain.fence`: the contained fence; this link owns a reference. */
  readonly fence: DmaFence;
  /** `dma_fence_chain.cb`: the one callback the link keeps on the fence it is waiting for. */
  private readonly linkCb: DmaFenceCb;
  /** The link's own memory, given back when the last reference goes. */
  private readonly mem: Allocation;

  constructor(
    sim: Simulator,
    prev: DmaFence | null,
    fence: DmaFence,
    point: number | bigint,
    mem?: Allocation,
  ) {
    const seqno = chainPoint(point, "dma_fence_chain_init");
    // As 7.1 does for chains: their own class, so link -> contained-fence nesting is legal.
    dmaFenceSetLockClass(chainOps, "&dma_fence_chain_lock_key");
    if (fence instanceof DmaFenceChain) {
      const ctx = sim.current;
      sim.validator.report({
        kind: "fence-chain-nested",
        title: `dma_fence_chain_init: the contained fence ${fence.describe()} is itself a chain`,
        context: ctx.label,
        backtrace: frameList(ctx.frame),
        explanation:
          "Chains link to each other only through prev; a chain inside a chain is not unwrapped. " +
          "Flatten the fences into a dma_fence_array instead.",
      });
      throw new KernelError(
        "EINVAL",
        `dma_fence_chain_init: ${fence.describe()} is a chain; chain through prev instead`,
      );
    }
    // Allocate before anything is consumed, so ENOMEM leaves the caller's references alone.
    const own = mem ?? dmaFenceChainAlloc(sim);
    const id = chainIdentity(sim, prev, seqno);
    super(sim, chainOps as DmaFenceOps, id.context, Number(id.seqno), { seqno64: true });
    this.point = id.seqno;
    this.prev = prev;
    this.prevSeqno = id.prevSeqno;
    this.fence = fence;
    this.linkCb = { func: (f) => this.containedSignalled(f) };
    this.mem = own;
  }
  /** Forward-progress verdicts: a link waits for the oldest contained fence up to it that has not signalled. */
  override progressWaitsFor(): ProgressStep | undefined {
    if (this.signaled) return undefined;
    let oldest: DmaFence | null = null;
    for (let it: DmaFence | null = this; it !== null; it = it instanceof DmaFenceChain ? it.prev : null) {
      const c = dmaFenceChainContained(it);
      if (!c.signaled) oldest = c;
    }
    return oldest === null
      ? { what: `${this.describe()}: every fence up to it has signalled` }
      : { what: `${this.describe()} (point ${this.seqno}) waits for ${oldest.describe()}`, next: [oldest] };
  }

  override describe(): string {
    return `dma_fence_chain ctx ${this.context}#${this.point}${this.signaled ? " (signaled)" : ""}`;
  }

  /**
   * `dma_fence_chain_enable_signaling`: puts the link's callback on the newest fence, from this
   * link back, that has not signalled. False when there is none: the link is complete.
   */
  /** @internal */
  enableSignalingLinks(): boolean {
    // The callback keeps this link alive until it has run.
    this.get();
    for (let it: DmaFence | null = this.get(); it !== null; it = dmaFenceChainWalk(it)) {
      const f = dmaFenceChainContained(it).get();
      if (f.addCallback(this.linkCb) === 0) {
        it.put();
        return true;
      }
      f.put();
    }
    this.put();
    return false;
  }

  /** @internal `dma_fence_chain_signaled`: has every fence up to this link signalled? */
  pollSignaled(): boolean {
    for (let it: DmaFence | null = this.get(); it !== null; it = dmaFenceChainWalk(it)) {
      if (!dmaFenceChainContained(it).isSignaled()) {
        it.put();
        return false;
      }
    }
    return true;
  }

  /**
   * `dma_fence_chain_cb`: the fence we waited on signalled. Moving on to the next unsignalled
   * fence (or signalling the link) takes other fence locks, the link's own among them, so it is
   * handed to an irq_work (with the callback's reference to the link) that runs holding nothing.
   */
  private containedSignalled(f: DmaFence): void {
    irqWorkQueue(this.sim, () => this.advanceWork());
    f.put();
  }

  /** `dma_fence_chain_irq_work`: wait on the next unsignalled fence, or signal if there is none. */
  private advanceWork(): void {
    if (!this.enableSignalingLinks()) this.signal();
    this.put();
  }

  /**
   * `dma_fence_chain_release`: unlinks predecessors this link owns alone, iteratively (a long
   * timeline would otherwise be freed by recursion), then drops the contained fence.
   */
  protected override release(): void {
    super.release();
    let prev = this.prev;
    while (prev !== null) {
      if (prev.refcount > 1 || !(prev instanceof DmaFenceChain)) break;
      // We hold the last reference to prev: take over its predecessor, then free it with no prev.
      this.prev = prev.prev;
      prev.prev = null;
      prev.put();
      prev = this.prev;
    }
    this.prev = null;
    prev?.put();
    this.fence.put();
    this.mem.free();
  }
}

/** `dma_fence_is_chain()`. */
export function dmaFenceIsChain(f: DmaFence | null | undefined): f is DmaFenceChain {
  return f instanceof DmaFenceChain;
}

/** `to_dma_fence_chain()`: the chain link, or null if `f` is not one. */
export function toDmaFenceChain(f: DmaFence | null | undefined): DmaFenceChain | null {
  return f instanceof DmaFenceChain ? f : null;
}

/** `dma_fence_chain_contained(f)`: the fence inside a chain link, or `f` itself. No reference is taken. */
export function dmaFenceChainContained(f: DmaFence): DmaFence {
  return f instanceof DmaFenceChain ? f.fence : f;
}

/** `dma_fence_chain_get_prev()`: a new reference to the link's predecessor, or null. */
export function dmaFenceChainGetPrev(chain: DmaFenceChain): DmaFence | null {
  const prev = chain.prev;
  return prev === null ? null : prev.get();
}

/**
 * `dma_fence_chain_walk(fence)`: consumes the caller's reference to `fence` and returns a new
 * reference to the previous link whose fence has not signalled — or null at the end (or if
 * `fence` is not a chain). On the way it unlinks predecessors whose fence has signalled,
 * releasing them: this is what keeps a timeline's memory bounded.
 */
export function dmaFenceChainWalk(fence: DmaFence): DmaFence | null {
  if (!(fence instanceof DmaFenceChain)) {
    fence.put();
    return null;
  }
  const chain = fence;
  let prev: DmaFence | null = dmaFenceChainGetPrev(chain);
  for (; prev !== null; prev = dmaFenceChainGetPrev(chain)) {
    let replacement: DmaFence | null;
    if (prev instanceof DmaFenceChain) {
      if (!prev.fence.isSignaled()) break;
      replacement = dmaFenceChainGetPrev(prev);
    } else {
      if (!prev.isSignaled()) break;
      replacement = null;
    }
    // The kernel's cmpxchg: swap only if nobody else collected prev meanwhile.
    if (chain.prev === prev) {
      chain.prev = replacement;
      prev.put();
    } else {
      replacement?.put();
    }
    prev.put();
  }
  fence.put();
  return prev;
}

/**
 * `dma_fence_chain_for_each(iter, head)`: the links from `head` back, skipping (and collecting)
 * links whose fence signalled — `head` itself always comes first. Each yielded link is referenced
 * while it is current; breaking out of the loop drops that reference. Take your own (`get()`) to
 * keep a link.
 */
export function* dmaFenceChainForEach(head: DmaFence): Generator<DmaFence> {
  let it: DmaFence | null = head.get();
  try {
    while (it !== null) {
      yield it;
      it = dmaFenceChainWalk(it);
    }
  } finally {
    it?.put();
  }
}

/** The in/out fence of `dmaFenceChainFindSeqno` (`struct dma_fence **pfence`). */
export interface DmaFenceRef {
  fence: DmaFence | null;
}

/** A `uint64_t` timeline point from JavaScript: a bigint, or a number that is a safe integer. */
function chainPoint(v: number | bigint, fn: string): bigint {
  const b = typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof b !== "bigint" || b < 0n || b > U64_MAX)
    throw new KernelError(
      "EINVAL",
      `${fn}: seqno must be a __u64 (a bigint, or a safe integer), got ${String(v)}`,
    );
  return b;
}

/**
 * `dma_fence_chain_find_seqno(&fence, seqno)`: replaces `ref.fence` (consuming its reference)
 * with a reference to the oldest link that still has to signal for point `seqno` to be reached.
 * Returns a status callers branch on (timeline syncobjs wait for submission on it):
 *
 * - `0`: found. `seqno` 0 leaves `ref.fence` unchanged. `ref.fence` **may become null** when every
 *   point up to `seqno` has signalled and been collected (callers substitute the stub fence).
 * - `-EINVAL` (-22): `ref.fence` is not a chain, or `seqno` is past its head — that point has not
 *   been submitted yet. `ref.fence` is left unchanged.
 */
export function dmaFenceChainFindSeqno(ref: DmaFenceRef, point: number | bigint): number {
  const seqno = chainPoint(point, "dma_fence_chain_find_seqno");
  if (seqno === 0n) return 0;
  const chain = ref.fence;
  if (!(chain instanceof DmaFenceChain) || chain.point < seqno) return EINVAL;
  let it: DmaFence | null = chain.get();
  for (; it !== null; it = dmaFenceChainWalk(it)) {
    if (it.context !== chain.context || !(it instanceof DmaFenceChain) || it.prevSeqno < seqno) break;
  }
  ref.fence = it;
  chain.put();
  return 0;
}
