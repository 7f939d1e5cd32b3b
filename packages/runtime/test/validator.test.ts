import { describe, expect, it } from "vitest";
import {
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMightWait,
  GFP_KERNEL,
  GFP_NOWAIT,
  KernelError,
  Mutex,
  mightFault,
  Simulator,
  SpinLock,
  ValidatorError,
  WaitQueue,
  Work,
  WorkQueue,
  withDmaFenceSignalling,
} from "../src/index.js";

/** A shrinker that, like TTM's, waits on the fences of the buffers it evicts. */
function fenceWaitingShrinker(sim: Simulator) {
  return {
    name: "gpu-bo-shrinker",
    count: () => 4096,
    scan: () =>
      sim.withFrame("gpu_bo_shrinker_scan", () => {
        dmaFenceMightWait(sim, "dma_fence_wait(bo->fence)");
        return 0;
      }),
  };
}

describe("validator: the seeds' scenarios", () => {
  it("1. GFP_KERNEL inside a signalling section, while a shrinker waits on fences: a circular dependency naming both maps and both paths", async () => {
    const sim = new Simulator({ validator: "collect" });
    sim.mm.registerShrinker(fenceWaitingShrinker(sim));
    // Elsewhere: memory pressure runs the shrinker inside fs_reclaim, and it waits on a fence.
    await sim.exec("compositor", () => sim.withFrame("drm_ioctl(GEM_CREATE)", () => sim.mm.reclaim(4096)));
    // A worker on the fence-signalling path allocates with GFP_KERNEL.
    const wq = new WorkQueue(sim, "gpu-submit", { ordered: true });
    wq.queueWork(
      new Work(() => {
        const cookie = dmaFenceBeginSignalling(sim);
        sim.withFrame("my_driver_run_job", () => sim.mm.kmalloc(64, GFP_KERNEL, "my_driver_run_job"));
        dmaFenceEndSignalling(sim, cookie);
      }, "drm_sched_run_job_work"),
    );
    await sim.run();
    const [f] = sim.validator.findingsOf("alloc-in-signalling");
    expect(f).toBeDefined();
    expect(f!.cycle).toContain("dma_fence_map");
    expect(f!.cycle).toContain("fs_reclaim");
    const text = f!.toString();
    expect(text).toContain("possible circular locking dependency");
    expect(text).toContain("my_driver_run_job");
    expect(text).toContain("drm_sched_run_job_work");
    expect(text).toContain("gpu_bo_shrinker_scan"); // the other path: the shrinker's wait
    expect(text).toContain("process:compositor");
  });

  it("2. the same allocation with GFP_NOWAIT reports nothing", async () => {
    const sim = new Simulator({ validator: "collect" });
    sim.mm.registerShrinker(fenceWaitingShrinker(sim));
    await sim.exec("compositor", () => sim.mm.reclaim(4096));
    const wq = new WorkQueue(sim, "gpu-submit", { ordered: true });
    wq.queueWork(
      new Work(
        () => void withDmaFenceSignalling(sim, () => sim.mm.kmalloc(64, GFP_NOWAIT, "run_job")),
        "run_job_work",
      ),
    );
    await sim.run();
    expect(sim.validator.findings).toEqual([]);
  });

  it("3. an AB/BA inversion in two contexts that never deadlocks in this run is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new Mutex(sim, "&dev->lock_a");
    const b = new Mutex(sim, "&dev->lock_b");
    await sim.exec("p1", async () => {
      await a.lock();
      await b.lock();
      b.unlock();
      a.unlock();
    });
    await sim.exec("p2", async () => {
      await b.lock();
      await a.lock();
      a.unlock();
      b.unlock();
    });
    const [f] = sim.validator.findingsOf("circular-dependency");
    expect(f).toBeDefined();
    expect(f!.chain.map((l) => `${l.from}->${l.to}`)).toEqual([
      "&dev->lock_b->&dev->lock_a",
      "&dev->lock_a->&dev->lock_b",
    ]);
    expect(f!.chain[0]!.context).toMatch(/p2/);
    expect(f!.chain[1]!.context).toMatch(/p1/);
  });

  it("3b. in throw mode the inversion throws at the offending lock, leaving the run failed", async () => {
    const sim = new Simulator();
    const a = new Mutex(sim, "A");
    const b = new Mutex(sim, "B");
    await sim.exec("p1", async () => {
      await a.lock();
      await b.lock();
      b.unlock();
      a.unlock();
    });
    sim.spawn("p2", async () => {
      await b.lock();
      await a.lock();
    });
    await expect(sim.run()).rejects.toBeInstanceOf(ValidatorError);
  });

  it("4. sleeping in irq context is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&gpu->lock");
    sim.schedule(1, () => void m.lock(), sim.irqContext("gpu0-irq"));
    await sim.run();
    const [f] = sim.validator.findingsOf("sleep-in-atomic");
    expect(f?.title).toMatch(/irq context: mutex_lock\(&gpu->lock\)/);
    expect(f?.context).toMatch(/^irq:gpu0-irq/);
  });

  it("4b. a blocking allocation under a spinlock is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const s = new SpinLock(sim, "&fence->lock");
    await sim.exec("p", () => s.with(() => sim.mm.kmalloc(8, GFP_KERNEL)));
    expect(sim.validator.findingsOf("sleep-in-atomic")[0]?.title).toMatch(/spinlock held.*&fence->lock/);
  });

  it("5. a lock held across a fence wait in one context and taken inside a signalling section in another", async () => {
    const sim = new Simulator({ validator: "collect" });
    const vmLock = new Mutex(sim, "&vm->lock");
    await sim.exec("ioctl", async () => {
      await vmLock.lock();
      sim.withFrame("wait_for_idle", () => dmaFenceMightWait(sim));
      vmLock.unlock();
    });
    await sim.exec("kworker", async () => {
      const cookie = dmaFenceBeginSignalling(sim);
      await vmLock.lock();
      vmLock.unlock();
      dmaFenceEndSignalling(sim, cookie);
    });
    const [f] = sim.validator.findingsOf("circular-dependency");
    expect(f?.title).toMatch(
      /&vm->lock is taken inside a dma-fence signalling section and held across a fence wait/,
    );
    expect(f?.cycle.sort()).toEqual(["&vm->lock", "dma_fence_map"]);
  });

  it("6. priming alone catches a dma_resv lock or a user copy inside a signalling section on first occurrence", async () => {
    const sim = new Simulator({ validator: "collect" });
    const resvClass = sim.validator.reservation;
    await sim.exec("p", () =>
      withDmaFenceSignalling(sim, () => {
        sim.validator.acquire(resvClass, {}, "dma_resv_lock(bo->resv)");
        sim.validator.release(resvClass, sim.current.held.at(-1)!.instance, "dma_resv_unlock");
      }),
    );
    expect(sim.validator.findingsOf("lock-in-signalling")).toHaveLength(1);
    await sim.exec("q", () => withDmaFenceSignalling(sim, () => mightFault(sim, "copy_from_user(args)")));
    expect(sim.validator.findingsOf("fault-in-signalling")).toHaveLength(1);
    expect(sim.validator.findings).toHaveLength(2);
  });
});

describe("validator: fence-signalling annotations", () => {
  it("nested begin returns a true cookie and does nothing; atomic context too", async () => {
    const sim = new Simulator();
    await sim.exec("p", () => {
      const outer = dmaFenceBeginSignalling(sim);
      const inner = dmaFenceBeginSignalling(sim);
      expect([outer, inner]).toEqual([false, true]);
      expect(sim.validator.inSignalling).toBe(true);
      dmaFenceEndSignalling(sim, inner);
      expect(sim.validator.inSignalling).toBe(true);
      dmaFenceEndSignalling(sim, outer);
      expect(sim.validator.inSignalling).toBe(false);
    });
    let cookie: boolean | undefined;
    sim.schedule(
      0,
      () => {
        cookie = dmaFenceBeginSignalling(sim);
      },
      sim.irqContext("irq"),
    );
    await sim.run();
    expect(cookie).toBe(true);
  });

  it("reports a wait inside a section directly, with where the section began", async () => {
    const sim = new Simulator({ validator: "collect" });
    await sim.exec("p", () =>
      sim.withFrame("job_done", () =>
        withDmaFenceSignalling(sim, () => dmaFenceMightWait(sim, "dma_fence_wait(other)")),
      ),
    );
    const [f] = sim.validator.findingsOf("wait-in-signalling");
    expect(f?.title).toBe("dma_fence_wait(other) inside a dma-fence signalling section");
    expect(f?.details.join()).toContain("job_done");
    // The section is intact afterwards: the end finds it.
    expect(sim.validator.findingsOf("signalling-mismatch")).toEqual([]);
  });

  it("reports end without begin, and a task returning inside a section", async () => {
    const sim = new Simulator({ validator: "collect" });
    await sim.exec("p", () => dmaFenceEndSignalling(sim, false));
    await sim.exec("q", () => void dmaFenceBeginSignalling(sim));
    const kinds = sim.validator.findings.map((f) => f.kind);
    expect(kinds).toEqual(["signalling-mismatch", "signalling-mismatch"]);
    expect(sim.validator.findings[1]!.title).toMatch(/task q returned inside a dma-fence signalling section/);
  });
});

describe("validator: lock rules", () => {
  it("reports an unlock of a mutex the context does not hold and refuses it with EPERM, state intact", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "m");
    await sim.exec("owner", async () => {
      await m.lock();
    });
    const err = await sim.exec("thief", () => m.unlock()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe("EPERM");
    expect(m.owner?.name).toBe("owner");
    expect(sim.validator.findingsOf("unbalanced-unlock")).toHaveLength(1);
    expect(sim.validator.findingsOf("held-at-exit")).toHaveLength(1); // owner returned holding m
  });

  it("reports recursive locking of one class, but allows nesting under a shared key", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a1 = new Mutex(sim, "&bo->lock");
    const a2 = new Mutex(sim, "&bo->lock");
    const key = {};
    await sim.exec("nested", async () => {
      await a1.lock({ nestKey: key });
      await a2.lock({ nestKey: key });
      a2.unlock();
      a1.unlock();
    });
    expect(sim.validator.findings).toEqual([]);
    await sim.exec("recursive", async () => {
      await a1.lock();
      await a2.lock();
      a2.unlock();
      a1.unlock();
    });
    expect(sim.validator.findingsOf("recursive-locking")).toHaveLength(1);
  });

  it("reports a work item returning with a lock held", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "leaky");
    const wq = new WorkQueue(sim, "wq");
    wq.queueWork(
      new Work(async () => {
        await m.lock();
      }, "leaky_work"),
    );
    await sim.run();
    expect(sim.validator.findingsOf("held-at-exit")[0]?.title).toBe(
      "work item leaky_work returned with 1 lock held",
    );
  });

  it("reports flushing a workqueue while holding a lock one of its items takes", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&dev->mutex");
    const wq = new WorkQueue(sim, "events");
    wq.queueWork(
      new Work(async () => {
        await m.lock();
        m.unlock();
      }, "uses_mutex"),
    );
    await sim.run();
    await sim.exec("p", async () => {
      await m.lock();
      await wq.flush();
      m.unlock();
    });
    expect(sim.validator.findingsOf("circular-dependency")[0]?.cycle.sort()).toEqual([
      "&dev->mutex",
      "(wq_completion)events",
    ]);
  });

  it("reports locks still held at teardown and leaves no findings when clean", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "m");
    sim.spawn("p", async () => {
      await m.lock();
      const wq = new WaitQueue(sim, "forever");
      await wq.waitEvent(() => false);
    });
    await sim.run();
    const report = sim.teardown();
    expect(report.findings.map((f) => f.kind)).toEqual(["held-at-teardown"]);
    expect(new Simulator().teardown().findings).toEqual([]);
  });

  it("records nothing in off mode", async () => {
    const sim = new Simulator({ validator: "off" });
    const primed = sim.validator.edgeCount;
    const a = new Mutex(sim, "A");
    const b = new Mutex(sim, "B");
    await sim.exec("p", async () => {
      await a.lock();
      await b.lock();
      b.unlock();
      a.unlock();
      await b.lock();
      await a.lock();
      a.unlock();
      b.unlock();
      withDmaFenceSignalling(sim, () => sim.mm.kmalloc(1, GFP_KERNEL));
    });
    expect(sim.validator.findings).toEqual([]);
    expect(sim.validator.edgeCount).toBe(primed);
  });

  it("counts a repeated finding instead of duplicating it", async () => {
    const sim = new Simulator({ validator: "collect" });
    for (let i = 0; i < 3; i++)
      await sim.exec("p", () => withDmaFenceSignalling(sim, () => dmaFenceMightWait(sim)));
    expect(sim.validator.findings).toHaveLength(1);
    expect(sim.validator.findings[0]!.repeats).toBe(2);
  });
});

describe("validator: chain cache (lockdep's lock_chains)", () => {
  it("a cached order still catches a later inversion, and out-of-order release re-keys the stack", async () => {
    const sim = new Simulator({ validator: "collect" });
    const v = sim.validator;
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    const c = new SpinLock(sim, "C");
    await sim.exec("p", () => {
      for (let i = 0; i < 3; i++) {
        a.lock();
        b.lock();
        b.unlock();
        a.unlock();
      }
      // Release A under B, then take C: the stack is [B], so B -> C and not A -> C.
      a.lock();
      b.lock();
      a.unlock();
      c.lock();
      c.unlock();
      b.unlock();
    });
    expect(v.hasEdge(a.cls, b.cls)).toBe(true);
    expect(v.hasEdge(b.cls, c.cls)).toBe(true);
    expect(v.hasEdge(a.cls, c.cls)).toBe(false);
    await sim.exec("q", () => {
      b.lock();
      a.lock();
      a.unlock();
      b.unlock();
    });
    expect(v.findingsOf("circular-dependency")).toHaveLength(1);
  });

  it("a repeated recursive locking keeps being counted, not cached away", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a1 = new SpinLock(sim, "&obj->lock");
    const a2 = new SpinLock(sim, "&obj->lock");
    await sim.exec("p", () => {
      for (let i = 0; i < 3; i++) {
        a1.lock();
        a2.lock();
        a2.unlock();
        a1.unlock();
      }
    });
    const [f] = sim.validator.findingsOf("recursive-locking");
    expect(f?.repeats).toBe(2);
  });

  it("a fence wait inside a section keeps the stack consistent for later acquisitions", async () => {
    const sim = new Simulator({ validator: "collect" });
    const v = sim.validator;
    const inner = new SpinLock(sim, "inner");
    const after = new SpinLock(sim, "after");
    await sim.exec("p", () => {
      const cookie = dmaFenceBeginSignalling(sim);
      dmaFenceMightWait(sim, "dma_fence_wait(x)"); // reported; the section is put back
      inner.lock();
      after.lock();
      after.unlock();
      inner.unlock();
      dmaFenceEndSignalling(sim, cookie);
    });
    expect(v.hasEdge(v.dmaFenceMap, inner.cls)).toBe(true);
    expect(v.hasEdge(inner.cls, after.cls)).toBe(true);
    expect(v.findings.map((f) => f.kind)).toEqual(["wait-in-signalling"]);
  });
});

describe("validator mode", () => {
  it("moves between throw and collect, but whether it is on is fixed at creation (EINVAL)", () => {
    const on = new Simulator({ validator: "throw" });
    on.validator.mode = "collect";
    expect(on.validator.mode).toBe("collect");
    expect(() => {
      on.validator.mode = "off";
    }).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(on.validator.mode).toBe("collect");
    expect(on.validator.enabled).toBe(true);

    const off = new Simulator({ validator: "off" });
    expect(() => {
      off.validator.mode = "throw";
    }).toThrow(/cannot switch from off to throw/);
    expect(off.validator.mode).toBe("off");
    expect(off.validator.enabled).toBe(false);
    // An off validator learns nothing, not even the boot-time dma_resv_lockdep() order.
    expect(off.validator.hasEdge(off.validator.reservation, off.validator.fsReclaim)).toBe(false);
    expect(on.validator.hasEdge(on.validator.reservation, on.validator.fsReclaim)).toBe(true);
  });
});
