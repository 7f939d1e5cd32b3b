/** The behaviours of the kernel's `drivers/dma-buf/st-dma-fence.c` (KUnit `dma-buf-fence`), in our words. */
import {
  jiffies,
  KernelError,
  MAX_SCHEDULE_TIMEOUT,
  msecs,
  Simulator,
  ValidatorError,
  withDmaFenceSignalling,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DmaFence,
  type DmaFenceCb,
  dmaFenceAllocatePrivateStub,
  dmaFenceContextAlloc,
  dmaFenceContextHasDevice,
  dmaFenceGetStub,
  dmaFenceIsLater,
  dmaFenceIsLaterOrSame,
  dmaFenceLater,
  dmaFenceSeqnoIsLater,
  dmaFenceWaitAny,
  setDmaFenceContextDevice,
} from "../src/index.js";
import { mockFence, mockOps } from "./mock-fence.js";

const counter = () => {
  const cb = {
    calls: 0,
    func: () => {
      cb.calls++;
    },
  };
  return cb;
};

describe("dma_fence basics (st-dma-fence)", () => {
  it("sanitycheck: create, enable, signal, put", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.enableSwSignaling();
    f.signal();
    expect(f.put()).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("test_signaling: first signal reports not-yet-signalled, a repeat changes nothing, ops are detached", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.enableSwSignaling();
    expect(f.isSignaled()).toBe(false);
    expect(f.checkAndSignal()).toBe(false);
    expect(f.isSignaled()).toBe(true);
    const ts = f.timestampNs;
    expect(f.checkAndSignal()).toBe(true);
    f.signal();
    expect(f.testSignaledFlag()).toBe(true);
    expect(f.timestampNs).toBe(ts);
    expect(f.ops).toBeNull(); // 7.1: no release op, so ops are detached at signal
    expect(f.driverName).toBe("detached-driver");
    expect(f.timelineName).toBe("signaled-timeline");
    f.put();
  });

  it("test_add_callback: a callback added before signal runs on signal, once", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const cb = counter();
    expect(f.addCallback(cb)).toBe(0);
    expect(cb.calls).toBe(0);
    f.signal();
    f.signal();
    expect(cb.calls).toBe(1);
    f.put();
  });

  it("test_late_add_callback: after signal, add returns -ENOENT and never calls it", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.signal();
    const cb = counter();
    expect(f.addCallback(cb)).toBe(-2);
    expect(cb.calls).toBe(0);
    f.put();
  });

  it("test_rm_callback and test_late_rm_callback", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const cb = counter();
    f.addCallback(cb);
    expect(f.removeCallback(cb)).toBe(true);
    f.signal();
    expect(cb.calls).toBe(0);
    const g = mockFence(sim);
    const cb2 = counter();
    g.addCallback(cb2);
    g.signal();
    expect(cb2.calls).toBe(1);
    expect(g.removeCallback(cb2)).toBe(false);
    f.put();
    g.put();
  });

  it("runs callbacks in the order they were added, with the fence lock held (atomic)", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const order: string[] = [];
    const atomic: boolean[] = [];
    for (const name of ["a", "b", "c"])
      f.addCallback({
        func: () => {
          order.push(name);
          atomic.push(sim.current.inAtomic);
        },
      });
    f.signal();
    expect(order).toEqual(["a", "b", "c"]);
    expect(atomic).toEqual([true, true, true]);
    f.put();
  });

  it("rejects a callback without a function with -EINVAL", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    expect(f.addCallback({} as DmaFenceCb)).toBe(-22);
    f.signal();
    f.put();
  });

  it("test_status and test_error: 0 while pending, 1 when done, the error once signalled", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    expect(f.getStatus()).toBe(0);
    f.signal();
    expect(f.getStatus()).toBe(1);
    const g = mockFence(sim);
    g.setError("EIO");
    expect(g.getStatus()).toBe(0);
    g.signal();
    expect(g.getStatus()).toBe(-5);
    expect(g.errorCode).toBe("EIO");
    f.put();
    g.put();
  });

  // dma_fence_set_error() (include/linux/dma-fence.h): WARN_ON(signalled), then `fence->error = error`
  // regardless — the kernel stores the late error, so a later get_status sees it.
  it("dma_fence_set_error after signal: reported (fence-error-after-signal) and stored, as the kernel's WARN_ON does", () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    f.signal();
    expect(f.getStatus()).toBe(1);
    f.setError(-5);
    expect(f.error).toBe(-5);
    expect(f.errorCode).toBe("EIO");
    expect(f.getStatus()).toBe(-5);
    const [finding] = sim.validator.findingsOf("fence-error-after-signal");
    expect(finding?.title).toContain("dma_fence_set_error(-5)");
    f.put();
  });

  it("dma_fence_set_error after signal in throw mode: the finding is the exception (the error is not stored)", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.signal();
    expect(() => f.setError("EIO")).toThrow(/fence-error-after-signal/);
    expect(f.error).toBe(0);
    f.put();
  });

  it("refuses errors outside -MAX_ERRNO..-1 with EINVAL", () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    for (const bad of [0, 5, -4096, 1.5]) expect(() => f.setError(bad)).toThrow(/negative errno/);
    expect(f.error).toBe(0);
    f.setError(-4095);
    expect(f.error).toBe(-4095);
    f.signal();
    f.put();
  });

  it("test_stub: every stub is signalled, and the stub is never a leak", () => {
    const sim = new Simulator();
    const stubs = Array.from({ length: 64 }, () => dmaFenceGetStub(sim));
    expect(stubs.every((s) => s.isSignaled())).toBe(true);
    expect(new Set(stubs).size).toBe(1);
    for (const s of stubs) s.put();
    const p = dmaFenceAllocatePrivateStub(sim, 1234);
    expect(p.signaled && p.timestampNs === 1234 && p !== stubs[0]).toBe(true);
    p.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("calls enableSignaling once, lazily, and signals when it returns false", () => {
    const sim = new Simulator();
    let enabled = 0;
    const ctx = dmaFenceContextAlloc(sim);
    const f = new DmaFence(
      sim,
      {
        ...mockOps,
        enableSignaling: () => {
          enabled++;
          return true;
        },
      },
      ctx,
      1,
    );
    expect(enabled).toBe(0);
    f.addCallback(counter());
    f.addCallback(counter());
    f.enableSwSignaling();
    expect(enabled).toBe(1);
    f.signal();
    const g = new DmaFence(sim, { ...mockOps, enableSignaling: () => false }, ctx, 2);
    const cb = counter();
    expect(g.addCallback(cb)).toBe(-2);
    expect(g.signaled).toBe(true);
    f.put();
    g.put();
  });

  it("polls ops.signaled and signals on true (lazy fences)", () => {
    const sim = new Simulator();
    let hwSeqno = 0;
    const f = new DmaFence(
      sim,
      { ...mockOps, signaled: (fence) => hwSeqno >= fence.seqno },
      dmaFenceContextAlloc(sim),
      3,
    );
    expect(f.isSignaled()).toBe(false);
    hwSeqno = 3;
    expect(f.signaled).toBe(false);
    expect(f.isSignaled()).toBe(true);
    expect(f.signaled).toBe(true);
    f.put();
  });

  it("requires getDriverName and getTimelineName (EINVAL)", () => {
    const sim = new Simulator();
    expect(() => new DmaFence(sim, { getDriverName: () => "x" } as never, 1, 1)).toThrow(KernelError);
  });

  it("forwards deadlines only while pending", () => {
    const sim = new Simulator();
    const seen: number[] = [];
    const f = new DmaFence(
      sim,
      { ...mockOps, release: () => {}, setDeadline: (_f, d) => seen.push(d) },
      dmaFenceContextAlloc(sim),
      1,
    );
    f.setDeadline(100);
    f.signal();
    f.setDeadline(50);
    expect(seen).toEqual([100]);
    f.put();
  });
});

describe("dma_fence waits", () => {
  it("test_wait: a zero timeout returns 0 before signal and 1 after", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    expect(await sim.exec("t", () => f.wait({ timeoutNs: 0 }))).toBe(0);
    f.signal();
    expect(await sim.exec("t", () => f.wait({ timeoutNs: 0 }))).toBe(1);
    f.put();
  });

  it("test_wait_timeout: a 1-jiffy wait times out; a wait of HZ on a fence signalled after 1 jiffy succeeds with the rest", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    expect(await sim.exec("t", () => f.wait({ timeoutNs: jiffies(1) }))).toBe(0);
    expect(sim.now).toBe(jiffies(1));
    const start = sim.now;
    sim.schedule(jiffies(1), () => f.signal());
    const ret = await sim.exec("t", () => f.wait({ timeoutNs: jiffies(1000) }));
    expect(ret).toBe(jiffies(999));
    expect(f.timestampNs).toBe(start + jiffies(1));
    f.put();
  });

  it("returns MAX_SCHEDULE_TIMEOUT for an unbounded wait, and EINVAL for a negative timeout", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    sim.schedule(msecs(1), () => f.signal());
    expect(await sim.exec("t", () => f.wait())).toBe(MAX_SCHEDULE_TIMEOUT);
    await expect(sim.exec("t", () => f.wait({ timeoutNs: -1 }))).rejects.toMatchObject({ code: "EINVAL" });
    f.put();
  });

  it("an interruptible wait returns ERESTARTSYS on a signal and leaves no callback behind", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    const t = sim.spawn("waiter", () => f.wait({ interruptible: true }));
    sim.schedule(msecs(1), () => t.signal());
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ERESTARTSYS" });
    expect(f.pendingCallbacks).toBe(0);
    f.signal();
    f.put();
  });

  it("a wait inside a signalling section is reported (wait-in-signalling)", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    f.signal();
    await expect(
      sim.exec("job", () => withDmaFenceSignalling(sim, () => f.wait({ timeoutNs: 0 }))),
    ).rejects.toBeInstanceOf(ValidatorError);
    expect(sim.validator.findings[0]?.kind).toBe("wait-in-signalling");
    f.put();
  });

  it("a wait in irq context is reported as sleep-in-atomic", async () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    f.signal();
    sim.schedule(0, () => void f.wait({ timeoutNs: 0 }), sim.irqContext("gpu"));
    await sim.run();
    expect(sim.validator.findingsOf("sleep-in-atomic")).toHaveLength(1);
    f.put();
  });

  it("signal from irq context is fine and wakes the waiter at that virtual time", async () => {
    const sim = new Simulator();
    const f = mockFence(sim);
    sim.schedule(msecs(7), () => f.signal(), sim.irqContext("gpu0"));
    const woke = await sim.exec("waiter", async () => {
      await f.wait();
      return sim.now;
    });
    expect(woke).toBe(msecs(7));
    f.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("wait_any: EINVAL when empty; polls with a zero timeout; returns the first signalled index", async () => {
    const sim = new Simulator();
    const fs = [mockFence(sim), mockFence(sim), mockFence(sim)];
    await expect(sim.exec("t", () => dmaFenceWaitAny([]))).rejects.toMatchObject({ code: "EINVAL" });
    expect(await sim.exec("t", () => dmaFenceWaitAny(fs, { timeoutNs: 0 }))).toEqual({ ret: 0, index: -1 });
    sim.schedule(msecs(2), () => fs[2]!.signal());
    sim.schedule(msecs(3), () => fs[1]!.signal());
    expect(await sim.exec("t", () => dmaFenceWaitAny(fs, { timeoutNs: msecs(10) }))).toEqual({
      ret: msecs(8),
      index: 2,
    });
    expect(fs.every((f) => f.pendingCallbacks === 0)).toBe(true);
    fs[0]!.signal();
    for (const f of fs) f.put();
  });
});

describe("dma_fence ordering and contexts", () => {
  it("allocates contexts from 1, per simulator", () => {
    const a = new Simulator();
    expect(dmaFenceContextAlloc(a, 3)).toBe(1);
    expect(dmaFenceContextAlloc(a)).toBe(4);
    expect(dmaFenceContextAlloc(new Simulator())).toBe(1);
    expect(() => dmaFenceContextAlloc(a, 0)).toThrow(KernelError);
  });

  it("compares 32-bit seqnos with wrap-around unless the fence is 64-bit", () => {
    expect(dmaFenceSeqnoIsLater(2, 1, false)).toBe(true);
    expect(dmaFenceSeqnoIsLater(1, 0xffffffff, false)).toBe(true); // wrapped
    expect(dmaFenceSeqnoIsLater(0x1_0000_0001, 0x2, false)).toBe(false); // low bits 1 < 2
    expect(dmaFenceSeqnoIsLater(0x1_0000_0001, 0x2, true)).toBe(true);
    const sim = new Simulator();
    const ctx = dmaFenceContextAlloc(sim);
    const f1 = new DmaFence(sim, mockOps, ctx, 1);
    const f2 = new DmaFence(sim, mockOps, ctx, 2);
    expect(dmaFenceIsLater(f2, f1)).toBe(true);
    expect(dmaFenceIsLaterOrSame(f1, f1)).toBe(true);
    expect(dmaFenceLater(f1, f2)).toBe(f2);
    f2.signal();
    expect(dmaFenceLater(f1, f2)).toBeNull();
    f1.signal();
    f1.put();
    f2.put();
  });

  it("refuses to order fences of different contexts (reported, EINVAL)", () => {
    const sim = new Simulator({ validator: "collect" });
    const a = mockFence(sim);
    const b = mockFence(sim);
    expect(() => dmaFenceIsLater(a, b)).toThrow(KernelError);
    expect(sim.validator.findingsOf("fence-context-mismatch")).toHaveLength(1);
    a.signal();
    b.signal();
    a.put();
    b.put();
  });
});

describe("dma_fence lifetime", () => {
  it("reports dropping the last reference of an unsignalled fence with callbacks, then signals it with EDEADLK", () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    const seen: number[] = [];
    f.addCallback({ func: (fence) => seen.push(fence.error) });
    f.put();
    expect(seen).toEqual([-35]);
    expect(sim.validator.findingsOf("fence-released-unsignalled")).toHaveLength(1);
  });

  it("reports a fence still unsignalled and referenced at teardown, and a leaked signalled one as a leak", () => {
    const sim = new Simulator({ validator: "collect" });
    mockFence(sim);
    const done = mockFence(sim);
    done.signal();
    const kinds = sim
      .teardown()
      .findings.map((f) => f.kind)
      .sort();
    // Nothing in the simulation could ever signal the first one: an indefinite fence.
    expect(kinds).toEqual(["fence-never-signalled", "indefinite-fence", "leak"]);
  });

  it("explains never-signalled fences only when nothing was left to run", async () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    sim.schedule(1000, () => f.signal());
    await sim.run({ untilNs: 10 });
    const kinds = sim.teardown().findings.map((x) => x.kind);
    expect(kinds).toEqual(["fence-never-signalled", "leak"]);
  });

  it("reports a put after the last one as use-after-free", () => {
    const sim = new Simulator({ validator: "collect" });
    const f = mockFence(sim);
    f.signal();
    f.put();
    f.put();
    expect(sim.validator.findingsOf("use-after-free")).toHaveLength(1);
  });

  it("traces the fence as a span init→signal on its timeline, and the wait as a span on the waiter's track with an arrow from the fence", async () => {
    const sim = new Simulator({ trace: true });
    const ctx = dmaFenceContextAlloc(sim);
    const f = new DmaFence(sim, { ...mockOps, enableSignaling: () => true }, ctx, 1);
    f.setError("EIO");
    sim.schedule(5, () => f.signal());
    let waiter = "";
    await sim.exec("w", () => {
      waiter = sim.current.label;
      return f.wait();
    });
    const ev = sim.tracer.events.map((e) => [
      e.name,
      e.ph,
      e.ts,
      e.dur ?? null,
      e.track.process,
      e.track.thread,
    ]);
    expect(ev).toEqual([
      ["dma_fence_enable_signal", "i", 0, null, "w", waiter],
      ["fences", "C", 0, null, "dma_fence", "fences"], // the pending count, written as time moved on
      ["dma_fence", "X", 0, 5, "dma_fence", "mock fences (mock)"],
      ["sleep", "X", 0, 5, "w", waiter], // the context asleep inside the wait
      ["dma_fence_wait", "X", 0, 5, "w", waiter],
      ["wait", "s", 0, null, "dma_fence", "mock fences (mock)"],
      ["wait", "f", 0, null, "w", waiter],
    ]);
    expect(sim.tracer.eventsOf("dma_fence")[0]!.args).toEqual({
      driver: "mock",
      timeline: "mock",
      context: ctx,
      seqno: 1,
      error: -5,
    });
    expect(sim.tracer.eventsOf("dma_fence_wait")[0]!.args).toMatchObject({
      seqno: 1,
      ret: expect.any(Number),
    });
    // The pending-fences counter: one at 0, none after the signal (sampled by finish()).
    sim.tracer.finish();
    expect(sim.tracer.eventsOf("fences").map((e) => [e.ts, e.args])).toEqual([
      [0, { pending: 1 }],
      [5, { pending: 0 }],
    ]);
    f.put();
  });

  it("draws a context's fences in the device process it was given", () => {
    const sim = new Simulator({ trace: true });
    const ctx = dmaFenceContextAlloc(sim);
    setDmaFenceContextDevice(sim, ctx, "gpu0");
    expect(dmaFenceContextHasDevice(sim, ctx)).toBe(true);
    expect(dmaFenceContextHasDevice(sim, ctx + 1)).toBe(false);
    const f = mockFence(sim, 1, ctx);
    f.signal();
    const g = mockFence(sim, 1, ctx + 1);
    setDmaFenceContextDevice(sim, ctx + 1, "gpu1"); // after the track exists: moved before its span closes
    g.signal();
    expect(sim.tracer.eventsOf("dma_fence").map((e) => e.track.process)).toEqual(["gpu0", "gpu1"]);
    f.put();
    g.put();
  });
});

describe("dma_fence trace tracks", () => {
  it("keep one track per context, named once the names are known, also after the ops detach", () => {
    const sim = new Simulator({ trace: true });
    class LateNamed extends DmaFence {
      ring: string;
      constructor(ctx: number, seqno: number) {
        super(
          sim,
          { getDriverName: () => "late", getTimelineName: (f) => (f as LateNamed).ring.toUpperCase() },
          ctx,
          seqno,
        );
        this.ring = "gfx";
      }
    }
    const ctx = dmaFenceContextAlloc(sim);
    const a = new LateNamed(ctx, 1);
    a.signal();
    const b = new LateNamed(ctx, 2);
    b.signal();
    const spans = sim.tracer.events.filter((e) => e.ph === "X");
    expect(new Set(spans.map((e) => e.track.thread))).toEqual(new Set(["GFX fences (late)"]));
    expect(spans.map((e) => e.name)).toEqual(["dma_fence", "dma_fence"]);
    a.put();
    b.put();
  });
});
