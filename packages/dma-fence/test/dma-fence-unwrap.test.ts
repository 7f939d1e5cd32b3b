/**
 * The cases of the kernel's `drivers/dma-buf/st-dma-fence-unwrap.c` (KUnit `dma-buf-fence-unwrap`),
 * in our words: every mock fence gets a fresh context and seqno 1 unless a case says otherwise.
 */
import { msecs, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  type DmaFence,
  DmaFenceArray,
  DmaFenceChain,
  dmaFenceArrayCreate,
  dmaFenceContextAlloc,
  dmaFenceDedupArray,
  dmaFenceGetStub,
  dmaFenceUnwrap,
  dmaFenceUnwrapMerge,
} from "../src/index.js";
import { mockFence } from "./mock-fence.js";

/** `mock_array(n, …)`: an array on a fresh context, seqno 1, signal on all; takes the references given. */
function mockArray(sim: Simulator, ...fences: DmaFence[]): DmaFenceArray {
  return dmaFenceArrayCreate(sim, fences, dmaFenceContextAlloc(sim), 1, false)!;
}

/** `mock_chain(prev, fence)`: a link with seqno 1; takes the references given. */
function mockChain(sim: Simulator, prev: DmaFence | null, fence: DmaFence): DmaFenceChain {
  return new DmaFenceChain(sim, prev, fence, 1n);
}

/** Two enabled mock fences, as most cases start. */
function twoFences(sim: Simulator): [DmaFence, DmaFence] {
  const f1 = mockFence(sim);
  const f2 = mockFence(sim);
  f1.enableSwSignaling();
  f2.enableSwSignaling();
  return [f1, f2];
}

function done(sim: Simulator, ...fences: DmaFence[]): void {
  for (const f of fences) f.signal();
  for (const f of fences) f.put();
  expect(sim.teardown().findings).toEqual([]);
}

describe("dma_fence_unwrap (st-dma-fence-unwrap)", () => {
  it("sanitycheck: chain(array(f)) builds and frees", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.enableSwSignaling();
    const array = mockArray(sim, f.get());
    const chain = mockChain(sim, null, array);
    f.signal();
    chain.put();
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("unwrap_array: yields each member once", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const array = mockArray(sim, f1.get(), f2.get());
    expect([...dmaFenceUnwrap(array)]).toEqual([f1, f2]);
    done(sim, array, f1, f2);
  });

  it("unwrap_chain: yields each link's fence once, newest first", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const chain = mockChain(sim, mockChain(sim, null, f1.get()), f2.get());
    expect([...dmaFenceUnwrap(chain)]).toEqual([f2, f1]);
    done(sim, chain, f1, f2);
  });

  it("unwrap_chain_array: looks through a link into its array", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const chain = mockChain(sim, null, mockArray(sim, f1.get(), f2.get()));
    expect([...dmaFenceUnwrap(chain)]).toEqual([f1, f2]);
    done(sim, chain, f1, f2);
  });

  it("unwrap skips chain links whose fence signalled (they are collected), but never the head", () => {
    const sim = new Simulator();
    const fs = [mockFence(sim), mockFence(sim), mockFence(sim)];
    let chain: DmaFence | null = null;
    for (const f of fs) chain = mockChain(sim, chain, f.get());
    fs[1]!.signal();
    expect([...dmaFenceUnwrap(chain!)]).toEqual([fs[2], fs[0]]);
    fs[2]!.signal();
    expect([...dmaFenceUnwrap(chain!)]).toEqual([fs[2], fs[0]]);
    expect([...dmaFenceUnwrap(fs[0]!)]).toEqual([fs[0]]);
    done(sim, chain!, ...fs);
  });

  it("leaving the unwrap loop early drops the walk's reference", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const chain = mockChain(sim, mockChain(sim, null, f1.get()), f2.get());
    const before = chain.refcount;
    for (const f of dmaFenceUnwrap(chain)) if (f === f2) break;
    expect(chain.refcount).toBe(before);
    done(sim, chain, f1, f2);
  });

  it("unwrap_merge: merge(f1, f2) yields exactly f1 and f2", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const f3 = dmaFenceUnwrapMerge(sim, f1, f2)!;
    expect(f3).toBeInstanceOf(DmaFenceArray);
    expect(f3.seqno).toBe(1);
    expect(f3.context).not.toBe(f1.context);
    expect([...dmaFenceUnwrap(f3)]).toEqual([f1, f2]);
    // It signals when both have.
    f1.signal();
    expect(f3.isSignaled()).toBe(false);
    f2.signal();
    expect(f3.isSignaled()).toBe(true);
    done(sim, f3, f1, f2);
  });

  it("unwrap_merge_duplicate: merge(f1, f1) is f1, once", () => {
    const sim = new Simulator();
    const f1 = mockFence(sim);
    f1.enableSwSignaling();
    const f2 = dmaFenceUnwrapMerge(sim, f1, f1)!;
    expect([...dmaFenceUnwrap(f2)]).toEqual([f1]);
    expect(f2).toBe(f1);
    expect(f1.refcount).toBe(2);
    done(sim, f2, f1);
  });

  it("unwrap_merge_seqno: (c1,1) + (c1,2) + (c0,1) → (c0,1) then (c1,2)", () => {
    const sim = new Simulator();
    const c0 = dmaFenceContextAlloc(sim);
    const c1 = dmaFenceContextAlloc(sim);
    const f1 = mockFence(sim, 1, c1);
    const f2 = mockFence(sim, 2, c1);
    const f3 = mockFence(sim, 1, c0);
    const f4 = dmaFenceUnwrapMerge(sim, f1, f2, f3)!;
    expect([...dmaFenceUnwrap(f4)]).toEqual([f3, f2]);
    // The dropped older point got its reference back.
    expect(f1.refcount).toBe(1);
    done(sim, f4, f1, f2, f3);
  });

  it("unwrap_merge_order: merge(array[f1,f2], chain f2→f1) → f1 before f2, no duplicates", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const a1 = mockArray(sim, f1.get(), f2.get());
    const c1 = mockChain(sim, mockChain(sim, null, f2.get()), f1.get());
    const f3 = dmaFenceUnwrapMerge(sim, a1, c1)!;
    expect([...dmaFenceUnwrap(f3)]).toEqual([f1, f2]);
    done(sim, f3, a1, c1, f1, f2);
  });

  it("unwrap_merge_complex: merge(merge(f1,f2), array[f2,f1], stub) → {f1, f2}, the stub dropped", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    const f3 = dmaFenceUnwrapMerge(sim, f1, f2)!;
    const f4 = mockArray(sim, f2.get(), f1.get());
    const stub = dmaFenceGetStub(sim);
    const f5 = dmaFenceUnwrapMerge(sim, f3, f4, stub)!;
    stub.put();
    expect([...dmaFenceUnwrap(f5)]).toEqual([f1, f2]);
    done(sim, f5, f4, f3, f1, f2);
  });

  it("unwrap_merge_complex_seqno: [(c0,2),(c1,1)] + [(c0,1),(c1,2)] → (c0,2), (c1,2)", () => {
    const sim = new Simulator();
    const c0 = dmaFenceContextAlloc(sim);
    const c1 = dmaFenceContextAlloc(sim);
    const f1 = mockFence(sim, 2, c0);
    const f2 = mockFence(sim, 1, c1);
    const f3 = mockArray(sim, f1.get(), f2.get());
    const f4 = mockFence(sim, 1, c0);
    const f5 = mockFence(sim, 2, c1);
    const f6 = mockArray(sim, f4.get(), f5.get());
    const f7 = dmaFenceUnwrapMerge(sim, f3, f6)!;
    expect([...dmaFenceUnwrap(f7)]).toEqual([f1, f5]);
    done(sim, f7, f3, f6, f1, f2, f4, f5);
  });
});

describe("dma_fence_unwrap_merge fast paths and dedup", () => {
  it("all signalled → a private stub carrying the latest timestamp", async () => {
    const sim = new Simulator();
    const fs = [mockFence(sim), mockFence(sim), mockFence(sim)];
    sim.schedule(msecs(1), () => fs[0]!.signal());
    sim.schedule(msecs(3), () => fs[2]!.signal());
    sim.schedule(msecs(2), () => fs[1]!.signal());
    await sim.run({ untilNs: msecs(10) });
    const array = mockArray(sim, fs[0]!.get(), fs[1]!.get());
    const m = dmaFenceUnwrapMerge(sim, array, fs[2]!)!;
    expect(m.signaled).toBe(true);
    expect(m.context).toBe(0);
    expect(m.timestamp).toBe(msecs(3));
    expect(fs).not.toContain(m);
    done(sim, m, array, ...fs);
  });

  it("exactly one unsignalled leaf → that very fence, with a new reference", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    f1.signal();
    const m = dmaFenceUnwrapMerge(sim, f1, f2)!;
    expect(m).toBe(f2);
    expect(f2.refcount).toBe(2);
    done(sim, m, f1, f2);
  });

  it("returns null when memory runs out, leaving the caller's references alone", () => {
    const sim = new Simulator();
    const [f1, f2] = twoFences(sim);
    sim.mm.failNth(1);
    expect(dmaFenceUnwrapMerge(sim, f1, f2)).toBeNull();
    sim.mm.failNth(2); // the array allocation this time
    expect(dmaFenceUnwrapMerge(sim, f1, f2)).toBeNull();
    expect([f1.refcount, f2.refcount]).toEqual([1, 1]);
    expect(sim.mm.used).toBe(0);
    done(sim, f1, f2);
  });

  it("dedup_array: sorts by context, keeps the newest per context, puts the rest", () => {
    const sim = new Simulator();
    const c = [dmaFenceContextAlloc(sim), dmaFenceContextAlloc(sim)];
    const a1 = mockFence(sim, 1, c[1]);
    const a3 = mockFence(sim, 3, c[1]);
    const b2 = mockFence(sim, 2, c[0]);
    const b1 = mockFence(sim, 1, c[0]);
    const arr = [a1.get(), b1.get(), a3.get(), b2.get()];
    expect(dmaFenceDedupArray(arr)).toBe(2);
    expect(arr).toEqual([b2, a3]);
    expect([a1.refcount, b1.refcount]).toEqual([1, 1]);
    expect(dmaFenceDedupArray([])).toBe(0);
    for (const f of arr) f.put();
    done(sim, a1, a3, b1, b2);
  });
});
