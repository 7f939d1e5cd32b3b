/**
 * The cases of the kernel's `drivers/dma-buf/st-dma-fence-chain.c` (KUnit `dma-buf-fence-chain`),
 * in our words, plus the context rules of `dma_fence_chain_init` and bounded memory.
 */
import { KernelError, MAX_SCHEDULE_TIMEOUT, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  type DmaFence,
  DmaFenceChain,
  type DmaFenceRef,
  dmaFenceChainContained,
  dmaFenceChainFindSeqno,
  dmaFenceChainForEach,
  dmaFenceChainWalk,
  dmaFenceGetStub,
  dmaFenceIsChain,
  dmaFenceIsContainer,
} from "../src/index.js";
import { mockFence } from "./mock-fence.js";

const CHAIN_SZ = 4096;

/** `struct fence_chains`: N mock fences, each wrapped in a link whose seqno is `seqnoFn(i)`, signalling enabled. */
class FenceChains {
  readonly fences: DmaFence[] = [];
  readonly chains: DmaFenceChain[] = [];

  constructor(
    readonly sim: Simulator,
    readonly length: number,
    seqnoFn: (i: number) => number = (i) => i + 1,
  ) {
    for (let i = 0; i < length; i++) {
      const f = mockFence(sim);
      const prev = i > 0 ? this.chains[i - 1]!.get() : null;
      const c = new DmaFenceChain(sim, prev, f.get(), BigInt(seqnoFn(i)));
      this.fences.push(f);
      this.chains.push(c);
      c.enableSwSignaling();
    }
  }

  get tail(): DmaFenceChain {
    return this.chains[this.length - 1]!;
  }

  /** `fence_chains_fini`. */
  fini(): void {
    for (let i = 0; i < this.length; i++) {
      this.fences[i]!.signal();
      this.chains[i]!.put();
      this.fences[i]!.put();
    }
  }
}

/** `dma_fence_chain_find_seqno` on a fresh reference, the reference dropped at once (as the kernel test does). */
function find(start: DmaFence, seqno: number): { err: number; fence: DmaFence | null } {
  const ref: DmaFenceRef = { fence: start.get() };
  const err = dmaFenceChainFindSeqno(ref, BigInt(seqno));
  ref.fence?.put();
  return { err, fence: ref.fence };
}

describe("dma_fence_chain (st-dma-fence-chain)", () => {
  it("sanitycheck: a one-link chain", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const chain = new DmaFenceChain(sim, null, f, 1n);
    chain.enableSwSignaling();
    expect(chain.driverName).toBe("dma_fence_chain");
    expect(chain.timelineName).toBe("unbound");
    f.signal();
    expect(chain.signaled).toBe(true);
    // dma_fence_driver_name()/dma_fence_timeline_name() (7.1): signalled means detached.
    expect(chain.driverName).toBe("detached-driver");
    expect(chain.timelineName).toBe("signaled-timeline");
    chain.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_seqno: 0, self, predecessor and future points", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 64);
    const ref: DmaFenceRef = { fence: fc.tail.get() };
    expect(dmaFenceChainFindSeqno(ref, 0n)).toBe(0);
    expect(ref.fence).toBe(fc.tail);
    ref.fence!.put();
    for (let i = 0; i < fc.length; i++) {
      let r = find(fc.tail, i + 1);
      expect(r.err).toBe(0);
      expect(r.fence).toBe(fc.chains[i]);
      r = find(fc.chains[i]!, i + 1);
      expect(r.err).toBe(0);
      expect(r.fence).toBe(fc.chains[i]);
      r = find(fc.chains[i]!, i + 2);
      expect(r.err).toBe(-22); // a future point: not submitted yet
      expect(r.fence).toBe(fc.chains[i]); // and the fence is left unchanged
      r = find(fc.chains[i]!, i);
      expect(r.err).toBe(0);
      if (i > 0) expect(r.fence).toBe(fc.chains[i - 1]);
    }
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_seqno on a plain fence is -EINVAL and leaves the reference alone", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const ref: DmaFenceRef = { fence: f };
    expect(dmaFenceChainFindSeqno(ref, 1n)).toBe(-22);
    expect(ref.fence).toBe(f);
    expect(f.refcount).toBe(1);
    f.signal();
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_signaled: a completed point yields null or its own link, never a later one", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 2);
    fc.fences[0]!.signal();
    const r = find(fc.tail, 1);
    expect(r.err).toBe(0);
    expect(r.fence === null || r.fence === fc.chains[0]).toBe(true);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_signaled: after collection, the point yields null (syncobj substitutes a stub)", () => {
    const sim = new Simulator();
    const f0 = mockFence(sim);
    const f1 = mockFence(sim);
    // Only the tail is held (as a syncobj would): link 0 can be freed once collected.
    const link0 = new DmaFenceChain(sim, null, f0.get(), 1n);
    const tail = new DmaFenceChain(sim, link0, f1.get(), 2n);
    f0.signal();
    const r = find(tail, 1);
    expect(r.err).toBe(0);
    expect(r.fence).toBeNull();
    expect(link0.refcount).toBe(0);
    expect(tail.prev).toBeNull();
    f1.signal();
    for (const f of [tail, f0, f1]) f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_out_of_order: 1-2-3 with only 2 signalled, find(2) must still wait for link 1", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 3);
    fc.fences[1]!.signal();
    const r = find(fc.tail, 2);
    expect(r.err).toBe(0);
    expect(r.fence).toBe(fc.chains[0]);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_gap: seqnos 2, 4, 6, …: both 2i+1 and 2i+2 find link i", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 64, (i) => 2 * i + 2);
    for (let i = 0; i < fc.length; i++) {
      expect(find(fc.tail, 2 * i + 1)).toEqual({ err: 0, fence: fc.chains[i] });
      expect(find(fc.chains[i]!, 2 * i + 2)).toEqual({ err: 0, fence: fc.chains[i] });
    }
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("find_race: tasks doing random finds and signals on a 4096-link chain never fail", async () => {
    const sim = new Simulator({ seed: 7 });
    const fc = new FenceChains(sim, CHAIN_SZ);
    const rnd = sim.random;
    const failures: string[] = [];
    let finds = 0;
    const worker = async (): Promise<void> => {
      for (let iter = 0; iter < 500; iter++) {
        const seqno = rnd.int(1, fc.length);
        const ref: DmaFenceRef = { fence: fc.tail.get() };
        let err = dmaFenceChainFindSeqno(ref, BigInt(seqno));
        finds++;
        if (err !== 0) failures.push(`find(${seqno}) = ${err}`);
        else if (ref.fence !== null) {
          // Waiting on the result must mean waiting for point `seqno`: the result is not later than
          // it, and every point between the result and `seqno` has signalled (its link collected).
          const got = ref.fence.seqno;
          if (got > seqno) failures.push(`find(${seqno}) returned a later point ${got}`);
          for (let p = got + 1; p <= seqno; p++)
            if (!fc.fences[p - 1]!.signaled)
              failures.push(`find(${seqno}) = ${got} skipped pending point ${p}`);
          // We can only find ourselves if we are the fence we looked for.
          if (ref.fence.seqno === seqno) {
            err = dmaFenceChainFindSeqno(ref, BigInt(seqno));
            if (err !== 0) failures.push(`refind(${seqno}) = ${err}`);
          }
        }
        ref.fence?.put();
        fc.fences[rnd.int(0, fc.length - 2)]!.signal();
        // Let the other tasks run in between, at a random virtual time.
        await sim.sleep(
          { kind: "timer", what: "race" },
          { op: "usleep", deadlineNs: sim.now + rnd.int(1, 100) },
        ).promise;
      }
    };
    for (let t = 0; t < 4; t++) sim.spawn(`find_race/${t}`, worker);
    const res = await sim.run();
    expect(res.reason).toBe("idle");
    expect(failures).toEqual([]);
    expect(finds).toBe(2000);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("signal_forward: signalling fence i completes link i and not link i+1", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 64);
    for (let i = 0; i < fc.length; i++) {
      fc.fences[i]!.signal();
      expect(fc.chains[i]!.isSignaled()).toBe(true);
      if (i + 1 < fc.length) expect(fc.chains[i + 1]!.isSignaled()).toBe(false);
    }
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("signal_backward: no link completes until fence 0 does, then all do", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 64);
    for (let i = fc.length - 1; i >= 0; i--) {
      fc.fences[i]!.signal();
      if (i > 0) expect(fc.chains[i]!.isSignaled()).toBe(false);
    }
    for (const c of fc.chains) expect(c.isSignaled()).toBe(true);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  /** The 4096-link wait cases do millions of fence-lock operations under the validator. */
  const SLOW = 30_000;
  const waitCase = async (order: (fc: FenceChains) => DmaFence[]): Promise<void> => {
    const sim = new Simulator({ seed: 3 });
    const fc = new FenceChains(sim, CHAIN_SZ);
    const waiter = sim.spawn("wait_fence_chains", () => fc.tail.wait());
    // The waiter goes to sleep first (kernel: yield_to), then the fences signal one per microsecond.
    const ring = sim.irqContext("ring");
    const fences = order(fc);
    for (let i = 0; i < fences.length; i++) sim.schedule(1000 * (i + 1), () => fences[i]!.signal(), ring);
    const res = await sim.run();
    expect(res.reason).toBe("idle");
    expect(await waiter.result).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(fc.tail.signaled).toBe(true);
    expect(sim.now).toBe(1000 * CHAIN_SZ);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  };

  it(
    "wait_forward: a waiter on the tail of a 4096-link chain wakes once all signalled in order",
    () => waitCase((fc) => fc.fences),
    SLOW,
  );

  // Quadratic, as the kernel's selftest: every link re-arms on the next fence back, and every
  // re-arm takes a fence lock the validator tracks.
  it("wait_backward: … in reverse order", () => waitCase((fc) => [...fc.fences].reverse()), SLOW);

  it(
    "wait_random: … in a seeded random order",
    () => waitCase((fc) => fc.sim.random.shuffle([...fc.fences])),
    SLOW,
  );
});

describe("dma_fence_chain init rules and memory", () => {
  it("continues the previous link's context when the seqno moves forward, else starts a new one", () => {
    const sim = new Simulator();
    const a = new DmaFenceChain(sim, null, mockFence(sim), 5n);
    expect(a.prevSeqno).toBe(0n);
    expect(a.seqno64).toBe(true);
    const b = new DmaFenceChain(sim, a.get(), mockFence(sim), 7n);
    expect(b.context).toBe(a.context);
    expect(b.prevSeqno).toBe(5n);
    // Backwards: a new context, and the seqno never falls below what the link includes.
    const c = new DmaFenceChain(sim, b.get(), mockFence(sim), 3n);
    expect(c.context).not.toBe(b.context);
    expect(c.seqno).toBe(7);
    expect(c.prevSeqno).toBe(0n);
    // A plain fence as prev: new context, seqno as given.
    const stub = dmaFenceGetStub(sim);
    const d = new DmaFenceChain(sim, stub, mockFence(sim), 2n);
    expect(d.seqno).toBe(2);
    expect(d.context).not.toBe(0);
    // 64-bit seqnos: no 32-bit wrap-around.
    const e = new DmaFenceChain(sim, null, mockFence(sim), 2n ** 40n);
    const g = new DmaFenceChain(sim, e.get(), mockFence(sim), 2n ** 40n + 1n);
    expect(g.context).toBe(e.context);
    for (const x of [a, b, c, d, e, g]) (dmaFenceChainContained(x) as DmaFence).signal();
    for (const x of [a, b, c, d, e, g]) x.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("refuses a chain as the contained fence (reported), consuming nothing", () => {
    const sim = new Simulator({ validator: "collect" });
    const inner = new DmaFenceChain(sim, null, mockFence(sim), 1n);
    const prev = mockFence(sim);
    expect(() => new DmaFenceChain(sim, prev, inner, 2n)).toThrowError(KernelError);
    expect(sim.validator.findingsOf("fence-chain-nested")).toHaveLength(1);
    expect(inner.refcount).toBe(1);
    expect(prev.refcount).toBe(1);
    expect(() => new DmaFenceChain(sim, null, prev, -1n)).toThrowError(KernelError);
    const thrower = new Simulator();
    const c = new DmaFenceChain(thrower, null, mockFence(thrower), 1n);
    expect(() => new DmaFenceChain(thrower, null, c, 2n)).toThrowError(ValidatorError);
  });

  it("contained, is_chain, is_container, for_each and walk", () => {
    const sim = new Simulator();
    const fc = new FenceChains(sim, 4);
    expect(dmaFenceChainContained(fc.tail)).toBe(fc.fences[3]);
    expect(dmaFenceChainContained(fc.fences[0]!)).toBe(fc.fences[0]);
    expect(dmaFenceIsChain(fc.tail)).toBe(true);
    expect(dmaFenceIsContainer(fc.tail)).toBe(true);
    expect(dmaFenceIsChain(fc.fences[0])).toBe(false);
    expect([...dmaFenceChainForEach(fc.tail)]).toEqual([...fc.chains].reverse());
    fc.fences[1]!.signal();
    // Link 1's fence signalled: it is skipped (and unlinked from link 2).
    expect([...dmaFenceChainForEach(fc.tail)]).toEqual([fc.chains[3], fc.chains[2], fc.chains[0]]);
    expect(fc.chains[2]!.prev).toBe(fc.chains[0]);
    // Breaking out of the loop drops the iterator's reference.
    const before = fc.tail.refcount;
    for (const link of dmaFenceChainForEach(fc.tail)) if (link === fc.tail) break;
    expect(fc.tail.refcount).toBe(before);
    // walk consumes its argument and returns a reference (or null for a non-chain).
    const prev = dmaFenceChainWalk(fc.tail.get());
    expect(prev).toBe(fc.chains[2]);
    prev!.put();
    const refs = fc.fences[0]!.refcount;
    const plain = fc.fences[0]!.get();
    expect(dmaFenceChainWalk(plain)).toBeNull();
    expect(fc.fences[0]!.refcount).toBe(refs);
    fc.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("forwards setDeadline to the contained fences of every unsignalled link", () => {
    const sim = new Simulator();
    const hits: number[] = [];
    const mk = (n: number) => {
      const f = mockFence(sim, n);
      f.ops = { ...f.ops!, setDeadline: (_f, ns) => void hits.push(n * 1000 + ns) };
      return f;
    };
    const a = new DmaFenceChain(sim, null, mk(1), 1n);
    const b = new DmaFenceChain(sim, a, mk(2), 2n);
    b.setDeadline(5);
    expect(hits).toEqual([2005, 1005]);
    a.fence.signal();
    b.fence.signal();
    b.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a long-lived timeline stays bounded: signalled links are released by walking", () => {
    const sim = new Simulator();
    // Build a timeline the way a syncobj does: it holds only the newest link.
    let head: DmaFenceChain | null = null;
    const released: DmaFenceChain[] = [];
    for (let i = 1; i <= 10000; i++) {
      const f = mockFence(sim);
      const link: DmaFenceChain = new DmaFenceChain(sim, head, f, BigInt(i));
      head = link;
      if (i > 1) released.push(link);
      // The GPU completes point i a little later.
      f.signal();
      // Every so often someone waits / polls the timeline, which walks it.
      if (i % 100 === 0) expect(head.isSignaled()).toBe(true);
      if (i % 1000 === 0) expect(sim.liveRefs.size).toBeLessThan(250);
    }
    // Only the live head and what the last poll left are still referenced.
    expect(sim.liveRefs.size).toBeLessThan(250);
    head!.put();
    expect(sim.liveRefs.size).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("releasing a long unsignalled-walk timeline does not recurse (100k links)", () => {
    const sim = new Simulator();
    let head: DmaFence | null = null;
    const fences: DmaFence[] = [];
    for (let i = 1; i <= 100000; i++) {
      const f = mockFence(sim);
      fences.push(f);
      head = new DmaFenceChain(sim, head, f.get(), BigInt(i));
    }
    for (const f of fences) {
      f.signal();
      f.put();
    }
    head!.put();
    expect(sim.liveRefs.size).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("emits the dma_fence tracepoints for chain links", () => {
    const sim = new Simulator({ trace: true });
    const f = mockFence(sim);
    const c = new DmaFenceChain(sim, null, f, 1n);
    c.enableSwSignaling();
    f.signal();
    const names = sim.tracer.events
      .filter((e) => (e.args as { driver?: string }).driver === "dma_fence_chain")
      .map((e) => e.name);
    // enable_signal on the asking context's track; the link's life as one span, init to signal.
    expect(names).toEqual(["dma_fence_enable_signal", "dma_fence"]);
    c.put();
  });
});
