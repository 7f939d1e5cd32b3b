/**
 * `dma_fence_unwrap` (`include/linux/dma-fence-unwrap.h`, `drivers/dma-buf/dma-fence-unwrap.c`):
 * looking through containers to the plain fences inside, and merging several fences into one
 * flat fence.
 *
 * Why: containers nest only one way (a chain's links may hold arrays, arrays hold plain fences),
 * so one generic walk reaches every leaf. Merging flattens instead of nesting, keeps only the
 * newest fence per context (older points on a timeline are implied by newer ones) and drops what
 * has already signalled — so merged sync_files do not grow without bound.
 */
import { GFP_KERNEL, KernelError, type Simulator } from "@drmsim/runtime";
import type { DmaFence } from "./dma-fence.js";
import { dmaFenceArrayCreate, dmaFenceArrayFirst, dmaFenceArrayNext } from "./dma-fence-array.js";
import { dmaFenceChainContained, dmaFenceChainWalk } from "./dma-fence-chain.js";
import { dmaFenceContextAlloc, dmaFenceSeqnoIsLater } from "./fence-context.js";
import { dmaFenceAllocatePrivateStub } from "./stub.js";

/**
 * `dma_fence_unwrap_for_each(fence, &cursor, head)`: every plain fence inside `head` — chain links
 * newest first (links whose fence signalled are collected and skipped, except `head` itself),
 * each link's array members in index order. A plain fence yields itself. No reference is taken
 * on the yielded fences; the walk holds one on the current link, dropped if the loop is left
 * early.
 */
export function* dmaFenceUnwrap(head: DmaFence): Generator<DmaFence> {
  // `cursor->chain`: the link being looked through, referenced.
  let chain: DmaFence | null = head.get();
  try {
    while (chain !== null) {
      const array = dmaFenceChainContained(chain);
      let index = 0;
      for (let f = dmaFenceArrayFirst(array); f !== null; f = dmaFenceArrayNext(array, ++index)) yield f;
      chain = dmaFenceChainWalk(chain);
    }
  } finally {
    chain?.put();
  }
}

/** `fence_cmp`: by context, then newest first within a context. */
function fenceCmp(a: DmaFence, b: DmaFence): number {
  if (a.context < b.context) return -1;
  if (a.context > b.context) return 1;
  if (dmaFenceSeqnoIsLater(a.seqno, b.seqno, a.seqno64)) return -1;
  if (dmaFenceSeqnoIsLater(b.seqno, a.seqno, a.seqno64)) return 1;
  return 0;
}

/**
 * `dma_fence_dedup_array(fences, num_fences)`: sorts `fences` in place by context and keeps only
 * the newest fence of each context at the front, dropping the references to the others. Returns
 * the new count (the array is truncated to it). 0 for an empty array.
 */
export function dmaFenceDedupArray(fences: DmaFence[]): number {
  const n = fences.length;
  if (n === 0) return 0;
  fences.sort(fenceCmp);
  let j = 0;
  for (let i = 1; i < n; i++) {
    if (fences[i]!.context === fences[j]!.context) fences[i]!.put();
    else fences[++j] = fences[i]!;
  }
  fences.length = j + 1;
  return j + 1;
}

/**
 * `dma_fence_unwrap_merge(...)` (`__dma_fence_unwrap_merge`): one fence that signals when all of
 * `fences` (and everything inside them) have. The caller keeps its references; the result is a
 * new reference:
 *
 * - every leaf already signalled → a private stub fence carrying the latest signal timestamp;
 * - exactly one unsignalled leaf → that fence;
 * - otherwise the unsignalled leaves, newest per context, sorted by context: one survivor is
 *   returned as-is, several are wrapped in a new `DmaFenceArray` (fresh context, seqno 1,
 *   signalling when all have).
 *
 * Returns null when memory runs out (the kernel's ENOMEM). Allocates with GFP_KERNEL: not for
 * signalling paths.
 */
export function dmaFenceUnwrapMerge(sim: Simulator, ...fences: DmaFence[]): DmaFence | null {
  let timestamp = 0;
  let count = 0;
  let unsignaled: DmaFence | null = null;
  for (const head of fences) {
    for (const f of dmaFenceUnwrap(head)) {
      if (!f.isSignaled()) {
        unsignaled = f;
        count++;
      } else if (f.timestamp > timestamp) timestamp = f.timestamp;
    }
  }
  if (count === 0) return dmaFenceAllocatePrivateStub(sim, timestamp);
  if (count === 1) return unsignaled!.get();

  let mem: ReturnType<Simulator["mm"]["kmalloc"]>;
  try {
    mem = sim.mm.kmalloc(8 * count, GFP_KERNEL, "dma_fence_unwrap_merge");
  } catch (e) {
    if (e instanceof KernelError && e.code === "ENOMEM") return null;
    throw e;
  }
  try {
    // Look again: callbacks may have signalled more leaves since the count.
    const array: DmaFence[] = [];
    for (const head of fences) {
      for (const f of dmaFenceUnwrap(head)) {
        if (!f.isSignaled()) array.push(f.get());
        else if (f.timestamp > timestamp) timestamp = f.timestamp;
      }
    }
    if (array.length === 0) return dmaFenceAllocatePrivateStub(sim, timestamp);
    if (array.length === 1) return array[0]!;
    const n = dmaFenceDedupArray(array);
    if (n === 1) return array[0]!;
    const result = dmaFenceArrayCreate(sim, array, dmaFenceContextAlloc(sim), 1, false);
    if (result === null) for (const f of array) f.put();
    return result;
  } finally {
    sim.mm.kfree(mem);
  }
}
