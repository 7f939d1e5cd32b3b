/** `dma_fence_array`: signal on all / on any, error propagation, lazy signalling, nesting, helpers. */
import { KernelError, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DmaFence,
  DmaFenceArray,
  DmaFenceChain,
  dmaFenceArrayAlloc,
  dmaFenceArrayCreate,
  dmaFenceArrayFirst,
  dmaFenceArrayForEach,
  dmaFenceArrayInit,
  dmaFenceArrayNext,
  dmaFenceContextAlloc,
  dmaFenceIsArray,
  dmaFenceIsChain,
  dmaFenceIsContainer,
  dmaFenceMatchContext,
} from "../src/index.js";
import { mockFence, mockOps } from "./mock-fence.js";

function mocks(sim: Simulator, n: number): DmaFence[] {
  return Array.from({ length: n }, () => mockFence(sim));
}

function create(sim: Simulator, fences: DmaFence[], any = false): DmaFenceArray {
  const a = dmaFenceArrayCreate(
    sim,
    fences.map((f) => f.get()),
    dmaFenceContextAlloc(sim),
    1,
    any,
  );
  if (a === null) throw new Error("allocation failed");
  return a;
}

function putAll(fs: DmaFence[]): void {
  for (const f of fs) f.put();
}

describe("dma_fence_array", () => {
  it("signals once every member has (signal on all), with callbacks installed lazily", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 3);
    const a = create(sim, fs);
    expect(a.driverName).toBe("dma_fence_array");
    expect(a.timelineName).toBe("unbound");
    expect(a.numFences).toBe(3);
    // Lazy: nothing is installed on the members until someone enables signalling.
    expect(fs.map((f) => f.pendingCallbacks)).toEqual([0, 0, 0]);
    let fired = 0;
    expect(a.addCallback({ func: () => fired++ })).toBe(0);
    expect(fs.map((f) => f.pendingCallbacks)).toEqual([1, 1, 1]);
    fs[0]!.signal();
    fs[2]!.signal();
    expect(a.signaled).toBe(false);
    expect(fired).toBe(0);
    fs[1]!.signal();
    expect(a.signaled).toBe(true);
    expect(fired).toBe(1);
    expect(a.getStatus()).toBe(1);
    // dma_fence_driver_name() (7.1): the ops stay attached (arrays have a release op), yet a
    // signalled fence reports the detached names, whatever its ops.
    expect(a.ops).not.toBeNull();
    expect(a.driverName).toBe("detached-driver");
    expect(a.timelineName).toBe("signaled-timeline");
    a.put();
    putAll(fs);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("signal on any: the first member to signal signals the array", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 3);
    const a = create(sim, fs, true);
    a.enableSwSignaling();
    fs[1]!.signal();
    expect(a.signaled).toBe(true);
    a.put();
    // The remaining callbacks still hold the array: the members can signal later without harm.
    fs[0]!.signal();
    fs[2]!.signal();
    putAll(fs);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without enabling, isSignaled() polls the members", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 2);
    const all = create(sim, fs);
    const any = create(sim, fs, true);
    expect(all.isSignaled()).toBe(false);
    expect(any.isSignaled()).toBe(false);
    fs[0]!.signal();
    expect(any.isSignaled()).toBe(true);
    expect(all.isSignaled()).toBe(false);
    fs[1]!.signal();
    expect(all.isSignaled()).toBe(true);
    expect(all.getStatus()).toBe(1);
    putAll([all, any, ...fs]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("enabling signalling on an array whose members all signalled signals it at once", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 2);
    for (const f of fs) f.signal();
    const a = create(sim, fs);
    expect(a.addCallback({ func: () => {} })).toBe(-2); // -ENOENT: already complete
    expect(a.signaled).toBe(true);
    putAll([a, ...fs]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("propagates the first non-zero member error", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 3);
    const a = create(sim, fs);
    a.enableSwSignaling();
    fs[0]!.signal();
    fs[2]!.setError("EIO");
    fs[2]!.signal();
    fs[1]!.setError("ETIMEDOUT");
    fs[1]!.signal();
    expect(a.signaled).toBe(true);
    expect(a.error).toBe(-5);
    expect(a.getStatus()).toBe(-5);
    // An error on an already-signalled member also counts when signalling is enabled late.
    const gs = mocks(sim, 2);
    gs[0]!.setError("ENODEV");
    gs[0]!.signal();
    const b = create(sim, gs);
    b.enableSwSignaling();
    gs[1]!.signal();
    expect(b.getStatus()).toBe(-19);
    putAll([a, b, ...fs, ...gs]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("forwards setDeadline to every member", () => {
    const sim = new Simulator();
    const seen: [number, number][] = [];
    const ops = { ...mockOps, setDeadline: (f: DmaFence, ns: number) => void seen.push([f.context, ns]) };
    const fs = [0, 1].map(() => new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1));
    const a = create(sim, fs);
    a.setDeadline(7);
    expect(seen).toEqual(fs.map((f) => [f.context, 7]));
    for (const f of fs) f.signal();
    putAll([a, ...fs]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("takes ownership of the member references and drops them on release", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 2);
    const a = dmaFenceArrayCreate(sim, fs, dmaFenceContextAlloc(sim), 9, false)!;
    expect(fs.map((f) => f.refcount)).toEqual([1, 1]);
    for (const f of fs) f.signal();
    a.put();
    expect(fs.map((f) => f.refcount)).toEqual([0, 0]);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("returns null (references still the caller's) when the allocation fails", () => {
    const sim = new Simulator();
    const fs = mocks(sim, 2);
    sim.mm.failNth(1);
    expect(dmaFenceArrayCreate(sim, fs, dmaFenceContextAlloc(sim), 1, false)).toBeNull();
    expect(fs.map((f) => f.refcount)).toEqual([1, 1]);
    for (const f of fs) f.signal();
    putAll(fs);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("alloc + init: init does not allocate, and memory is used once", () => {
    const sim = new Simulator();
    const mem = dmaFenceArrayAlloc(sim, 2);
    const attempts = sim.mm.attempts;
    const fs = mocks(sim, 2);
    const a = dmaFenceArrayInit(mem, fs, dmaFenceContextAlloc(sim), 1, false);
    expect(sim.mm.attempts).toBe(attempts);
    const extra = mocks(sim, 2);
    expect(() => dmaFenceArrayInit(mem, [extra[0]!], 1, 1, false)).toThrowError(/already holds/);
    const small = dmaFenceArrayAlloc(sim, 1);
    expect(() => dmaFenceArrayInit(small, extra, 1, 1, false)).toThrowError(/do not fit/);
    expect(() => dmaFenceArrayCreate(sim, [], 1, 1, false)).toThrowError(KernelError);
    sim.mm.kfree(small.allocation);
    for (const f of [...fs, ...extra]) f.signal();
    putAll([a, ...extra]);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("reports a container nested in an array and refuses it, consuming nothing", () => {
    const sim = new Simulator({ validator: "collect" });
    const inner = create(sim, mocks(sim, 1));
    const f = mockFence(sim);
    expect(() => dmaFenceArrayCreate(sim, [f, inner], dmaFenceContextAlloc(sim), 1, false)).toThrowError(
      KernelError,
    );
    expect(sim.validator.findingsOf("fence-array-nested")).toHaveLength(1);
    expect(inner.refcount).toBe(1);
    expect(f.refcount).toBe(1);
    const chain = new DmaFenceChain(sim, null, mockFence(sim), 1n);
    expect(() => dmaFenceArrayCreate(sim, [chain], 1, 1, false)).toThrowError(KernelError);
    const thrower = new Simulator();
    const c2 = create(thrower, mocks(thrower, 1));
    expect(() => dmaFenceArrayCreate(thrower, [c2], 1, 1, false)).toThrowError(ValidatorError);
  });

  it("the failed create leaves no memory behind", () => {
    const sim = new Simulator({ validator: "collect" });
    const inner = create(sim, mocks(sim, 1));
    const before = sim.mm.used;
    expect(() => dmaFenceArrayCreate(sim, [inner], 1, 1, false)).toThrowError(KernelError);
    expect(sim.mm.used).toBe(before);
  });

  it("first/next/for_each, is_array/is_chain/is_container and match_context", () => {
    const sim = new Simulator();
    const ctx = dmaFenceContextAlloc(sim);
    const same = [mockFence(sim, 1, ctx), mockFence(sim, 2, ctx)];
    const a = create(sim, same);
    const mixed = create(sim, [same[0]!, mockFence(sim)]);
    expect(dmaFenceArrayFirst(a)).toBe(same[0]);
    expect(dmaFenceArrayNext(a, 1)).toBe(same[1]);
    expect(dmaFenceArrayNext(a, 2)).toBeNull();
    expect(dmaFenceArrayFirst(same[0]!)).toBe(same[0]);
    expect(dmaFenceArrayNext(same[0]!, 1)).toBeNull();
    expect(dmaFenceArrayFirst(null)).toBeNull();
    expect([...dmaFenceArrayForEach(a)]).toEqual(same);
    expect([...dmaFenceArrayForEach(same[1]!)]).toEqual([same[1]]);
    expect(dmaFenceIsArray(a)).toBe(true);
    expect(dmaFenceIsArray(same[0])).toBe(false);
    expect(dmaFenceIsChain(a)).toBe(false);
    expect(dmaFenceIsContainer(a)).toBe(true);
    expect(dmaFenceIsContainer(same[0])).toBe(false);
    expect(a).toBeInstanceOf(DmaFenceArray);
    expect(dmaFenceMatchContext(a, ctx)).toBe(true);
    expect(dmaFenceMatchContext(mixed, ctx)).toBe(false);
    expect(dmaFenceMatchContext(same[0]!, ctx)).toBe(true);
    expect(dmaFenceMatchContext(same[0]!, ctx + 100)).toBe(false);
  });

  it("emits the dma_fence tracepoints for arrays too", () => {
    const sim = new Simulator({ trace: true });
    const fs = mocks(sim, 1);
    const a = create(sim, fs);
    a.enableSwSignaling();
    fs[0]!.signal();
    const arrayEvents = sim.tracer.events
      .filter((e) => (e.args as { driver?: string }).driver === "dma_fence_array")
      .map((e) => e.name);
    expect(arrayEvents).toEqual(["dma_fence_enable_signal", "dma_fence"]);
  });
});
