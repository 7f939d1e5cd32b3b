/**
 * Job dependencies, prepareJob fences, errors, kill and credits — the rules of sched_main.c /
 * sched_entity.c beyond the KUnit suites (seed 002: a job depends on fences and nothing else;
 * seed 003: dependencies de-duplicated per fence context, keeping the later one).
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResv, DmaResvUsage } from "@drmsim/dma-resv";
import { ERRNO, errno, KernelError, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_SCHED_FENCE_DONT_PIPELINE,
  DrmGpuSchedStat,
  DrmGpuScheduler,
  type DrmSchedBackendOps,
  DrmSchedEntity,
  DrmSchedJob,
  DrmSchedPriority,
} from "../src/index.js";
import { DrmMockScheduler, drmMockSchedEntityNew, drmMockSchedJobNew } from "../src/testing/index.js";
import { SEC } from "./helpers.js";

const extOps: DmaFenceOps = { getDriverName: () => "ext", getTimelineName: () => "ext" };
const ext = (sim: Simulator, ctx: number, seqno: number) => new DmaFence(sim, extOps, ctx, seqno);

describe("dependencies", () => {
  it("de-duplicates per fence context, keeping the later fence, in insertion order", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const ctxA = dmaFenceContextAlloc(sim);
    const ctxB = dmaFenceContextAlloc(sim);
    const a1 = ext(sim, ctxA, 1);
    const a2 = ext(sim, ctxA, 2);
    const b1 = ext(sim, ctxB, 1);
    const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const job = drmMockSchedJobNew(entity);
    job.addDependency(a1.get());
    job.addDependency(b1.get());
    job.addDependency(a2.get()); // later on A: replaces a1 in a1's slot
    job.addDependency(a1.get()); // earlier on A: dropped
    job.addDependency(null);
    expect([...job.deps.values()]).toEqual([a2, b1]);
    expect(job.hasDependency(a2)).toBe(true);
    expect(job.hasDependency(a1)).toBe(false);
    expect(a1.refcount).toBe(1); // both references given for a1 were consumed and dropped
    job.submit();
    await sim.run();
    expect(job.isScheduled).toBe(false);
    a1.signal();
    b1.signal();
    await sim.run();
    expect(job.isScheduled).toBe(false); // still waits for a2
    a2.signal();
    await sim.run();
    expect(job.isScheduled).toBe(true);
    sched.advance(1);
    await sim.run();
    for (const f of [a1, a2, b1]) f.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a fence from another context than the entity's waits in full; cleanup before arm drops deps", () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const f = ext(sim, dmaFenceContextAlloc(sim), 1);
    const job = drmMockSchedJobNew(entity);
    job.addDependency(f.get());
    expect(f.refcount).toBe(2);
    job.cleanup(); // abort before arm
    expect(f.refcount).toBe(1);
    f.signal();
    f.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("pipelining: a finished fence of the same scheduler is waited on only until it is scheduled", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const e1 = drmMockSchedEntityNew(sim, 2, sched);
    const e2 = drmMockSchedEntityNew(sim, 2, sched);
    const a = drmMockSchedJobNew(e1).submit();
    const b = drmMockSchedJobNew(e2);
    b.addDependency(a.finished.get());
    b.submit();
    await sim.run();
    expect(a.isScheduled && !a.isFinished).toBe(true);
    // b is already on the hardware behind a: the ring keeps them in order.
    expect(b.isScheduled).toBe(true);
    expect(sched.advance(2)).toBe(2);
    await sim.run();
    e1.fini();
    e2.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("DONT_PIPELINE on the dependency makes the job wait for it to finish", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const e1 = drmMockSchedEntityNew(sim, 2, sched);
    const e2 = drmMockSchedEntityNew(sim, 2, sched);
    const a = drmMockSchedJobNew(e1).submit();
    a.finished.flags |= DRM_SCHED_FENCE_DONT_PIPELINE;
    const b = drmMockSchedJobNew(e2);
    b.addDependency(a.finished.get());
    b.submit();
    await sim.run();
    expect(a.isScheduled).toBe(true);
    expect(b.isScheduled).toBe(false);
    expect(sched.advance(1)).toBe(1);
    await sim.run();
    expect(b.isScheduled).toBe(true);
    sched.advance(1);
    await sim.run();
    e1.fini();
    e2.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a finished fence of another scheduler is waited on in full", async () => {
    const sim = new Simulator();
    const s1 = new DrmMockScheduler(sim, { name: "s1" });
    const s2 = new DrmMockScheduler(sim, { name: "s2" });
    const e1 = drmMockSchedEntityNew(sim, 2, s1);
    const e2 = drmMockSchedEntityNew(sim, 2, s2);
    const a = drmMockSchedJobNew(e1).submit();
    const b = drmMockSchedJobNew(e2);
    b.addDependency(a.finished.get());
    b.submit();
    await sim.run();
    expect(b.isScheduled).toBe(false);
    s1.advance(1);
    await sim.run();
    expect(b.isScheduled).toBe(true);
    s2.advance(1);
    await sim.run();
    for (const x of [e1, e2]) x.fini();
    for (const x of [s1, s2]) x.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a dependency that fails makes the job skip runJob; its finished fence carries the error", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const dep = ext(sim, dmaFenceContextAlloc(sim), 1);
    const job = drmMockSchedJobNew(entity);
    job.addDependency(dep.get());
    job.submit();
    const next = drmMockSchedJobNew(entity).submit();
    await sim.run();
    dep.setError("EIO");
    dep.signal();
    await sim.run();
    expect(job.isScheduled).toBe(true);
    expect(job.finished.signaled).toBe(true);
    expect(job.finished.error).toBe(-ERRNO.EIO);
    expect(job.hwFence).toBeNull(); // runJob never ran for it
    expect(sched.stats).toMatchObject({ run: 1, skipped: 1 });
    // The entity goes on with its next job.
    expect(next.isScheduled).toBe(true);
    expect(entity.entityError()).toBe(0);
    sched.advance(1);
    await sim.run();
    dep.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the hardware fence's error propagates to the finished fence; entityError reports it", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const job = drmMockSchedJobNew(entity).submit();
    await sim.run();
    job.hwFence!.setError("EHWPOISON");
    sched.advance(1);
    await sim.run();
    expect(job.finished.error).toBe(errno("EHWPOISON"));
    expect(entity.entityError()).toBe(errno("EHWPOISON"));
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("runJob returning null finishes at once; throwing a KernelError finishes with that error", async () => {
    const sim = new Simulator();
    const results: (null | "throw")[] = [null, "throw"];
    const sched = new DrmMockScheduler(sim, {
      ops: {
        runJob: () => {
          if (results.shift() === null) return null;
          throw new KernelError("ENOMEM", "no ring space");
        },
      },
    });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const j1 = drmMockSchedJobNew(entity).submit();
    const j2 = drmMockSchedJobNew(entity).submit();
    await sim.run();
    expect([j1.finished.signaled, j1.finished.error]).toEqual([true, 0]);
    expect([j2.finished.signaled, j2.finished.error]).toEqual([true, -ERRNO.ENOMEM]);
    expect(sched.pendingCount).toBe(0);
    expect(sched.stats.freed).toBe(2);
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a guilty entity's jobs finish with -ECANCELED without running", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const guilty = { value: true };
    const entity = new DrmSchedEntity(sim, 2, [sched], { guilty });
    const job = drmMockSchedJobNew(entity).submit();
    await sim.run();
    expect(job.finished.error).toBe(-ERRNO.ECANCELED);
    expect(sched.stats.run).toBe(0);
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("addSyncobjDependency goes through the small lookup interface; lookup errors propagate", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const syncFence = ext(sim, dmaFenceContextAlloc(sim), 7);
    const lookups: [number, number, number][] = [];
    const file = {
      findFence(handle: number, point: number, flags: number): DmaFence {
        lookups.push([handle, point, flags]);
        if (handle !== 3) throw new KernelError("ENOENT", `no syncobj ${handle}`);
        return syncFence.get();
      },
    };
    const job = drmMockSchedJobNew(entity);
    job.addSyncobjDependency(file, 3, 7);
    expect(() => job.addSyncobjDependency(file, 9, 0)).toThrow(/ENOENT/);
    expect(lookups).toEqual([
      [3, 7, 0],
      [9, 0, 0],
    ]);
    expect([...job.deps.values()]).toEqual([syncFence]);
    job.submit();
    await sim.run();
    expect(job.isScheduled).toBe(false);
    syncFence.signal();
    await sim.run();
    expect(job.isScheduled).toBe(true);
    sched.advance(1);
    await sim.run();
    syncFence.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("addImplicitDependencies: a reader waits for writers, a writer for readers too (DmaResv, locked)", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const bo = { resv: new DmaResv(sim) };
    const writer = ext(sim, dmaFenceContextAlloc(sim), 1);
    const reader = ext(sim, dmaFenceContextAlloc(sim), 1);
    const bookkeep = ext(sim, dmaFenceContextAlloc(sim), 1);
    const readJob = drmMockSchedJobNew(entity);
    const writeJob = drmMockSchedJobNew(entity);
    await sim.exec("submit", async () => {
      await bo.resv.lock(null);
      bo.resv.reserveFences(3);
      bo.resv.addFence(writer, DmaResvUsage.WRITE);
      bo.resv.addFence(reader, DmaResvUsage.READ);
      bo.resv.addFence(bookkeep, DmaResvUsage.BOOKKEEP);
      readJob.addImplicitDependencies(bo, false);
      writeJob.addImplicitDependencies(bo, true);
      bo.resv.unlock();
    });
    expect([...readJob.deps.values()]).toEqual([writer]);
    expect([...writeJob.deps.values()]).toEqual([writer, reader]);
    readJob.submit();
    writeJob.submit();
    writer.signal();
    await sim.run();
    expect([readJob.isScheduled, writeJob.isScheduled]).toEqual([true, false]);
    reader.signal();
    await sim.run();
    expect(writeJob.isScheduled).toBe(true);
    sched.advance(2);
    bookkeep.signal();
    await sim.run();
    for (const f of [writer, reader, bookkeep]) f.put();
    bo.resv.fini();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("addResvDependencies without the reservation lock is reported by the locked walk", async () => {
    const sim = new Simulator({ validator: "collect" });
    const sched = new DrmMockScheduler(sim);
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const resv = new DmaResv(sim);
    const job = drmMockSchedJobNew(entity);
    expect(() => job.addResvDependencies(resv, DmaResvUsage.READ)).toThrow();
    expect(sim.validator.findings.length).toBeGreaterThan(0);
    job.cleanup();
  });
});

describe("prepareJob", () => {
  it("is called after the explicit deps, again after each fence it returns, until it returns null", async () => {
    const sim = new Simulator();
    const ctx = dmaFenceContextAlloc(sim);
    const gates = [ext(sim, ctx, 1), ext(sim, ctx, 2)];
    const calls: number[] = [];
    const sched = new DrmMockScheduler(sim, {
      ops: {
        prepareJob: () => {
          calls.push(sim.now);
          const g = gates[calls.length - 1];
          return g === undefined ? null : g.get();
        },
      },
    });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const dep = ext(sim, dmaFenceContextAlloc(sim), 1);
    const job = drmMockSchedJobNew(entity);
    job.addDependency(dep.get());
    job.submit();
    await sim.run();
    expect(calls).toEqual([]); // explicit dependency first
    sim.schedule(10, () => dep.signal());
    sim.schedule(20, () => gates[0]!.signal());
    sim.schedule(30, () => gates[1]!.signal());
    await sim.run();
    expect(calls).toEqual([10, 20, 30]);
    expect(job.isScheduled).toBe(true);
    expect(job.runTs).toBe(30);
    sched.advance(1);
    await sim.run();
    for (const f of [...gates, dep]) f.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("kill", () => {
  it("queued jobs of a killed entity finish with -ESRCH in order, after the previous job, never running", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { creditLimit: 1 });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const running = drmMockSchedJobNew(entity).submit();
    const dep = ext(sim, dmaFenceContextAlloc(sim), 1);
    const q1 = drmMockSchedJobNew(entity).submit();
    const q2 = drmMockSchedJobNew(entity);
    q2.addDependency(dep.get());
    q2.submit();
    await sim.run();
    expect(running.isScheduled && !q1.isScheduled).toBe(true);
    const order: string[] = [];
    q1.finished.addCallback({ func: () => order.push("q1") });
    q2.finished.addCallback({ func: () => order.push("q2") });
    entity.fini();
    await sim.run();
    expect(order).toEqual([]); // q1 waits for the running job's finished fence
    sched.advance(1);
    await sim.run();
    expect(order).toEqual(["q1"]); // q2 still waits for its own dependency
    dep.signal();
    await sim.run();
    expect(order).toEqual(["q1", "q2"]);
    expect(q1.finished.error).toBe(-ERRNO.ESRCH);
    expect(q2.finished.error).toBe(-ERRNO.ESRCH);
    expect(q1.scheduled.signaled && q2.scheduled.signaled).toBe(true);
    expect(sched.stats.run).toBe(1);
    expect(q1.freed && q2.freed).toBe(true);
    dep.put();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("flush by a task that gets SIGKILL kills the entity; pushing afterwards is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const sched = new DrmMockScheduler(sim, { creditLimit: 1 });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const task = sim.spawn("client", async () => {
      drmMockSchedJobNew(entity).submit();
      drmMockSchedJobNew(entity).submit();
      return entity.flush(SEC);
    });
    sim.schedule(1000, () => task.signal({ fatal: true }));
    await sim.run({ untilNs: 10_000 });
    expect(task.state).toBe("done");
    expect(task.value).toBe(0);
    expect(entity.stopped).toBe(true);
    const late = drmMockSchedJobNew(entity);
    late.arm();
    entity.pushJob(late);
    expect(sim.validator.findingsOf("sched-push-to-killed-entity")).toHaveLength(1);
    sched.advance(1);
    await sim.run();
    expect(sched.stats.run).toBe(1);
    late.cleanup();
    sched.fini();
  });
});

describe("credits", () => {
  it("selection stops at the first ready entity that does not fit: no lower priority overtakes", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { creditLimit: 4 });
    const normal = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const high = drmMockSchedEntityNew(sim, DrmSchedPriority.HIGH, sched);
    const low = drmMockSchedEntityNew(sim, DrmSchedPriority.LOW, sched);
    const j1 = drmMockSchedJobNew(normal, 2).submit();
    await sim.run();
    const j2 = drmMockSchedJobNew(high, 3).submit();
    const j3 = drmMockSchedJobNew(low, 1).submit();
    await sim.run();
    expect([j1.isScheduled, j2.isScheduled, j3.isScheduled]).toEqual([true, false, false]);
    expect(sched.creditCount).toBe(2);
    sched.advance(1);
    await sim.run();
    expect([j2.isScheduled, j3.isScheduled]).toEqual([true, true]);
    expect(sched.creditCount).toBe(4);
    sched.advance(2);
    await sim.run();
    expect(sched.creditCount).toBe(0);
    for (const e of [normal, high, low]) e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a job above the limit is truncated to it, with a sched-credits-truncated finding, and runs", async () => {
    const sim = new Simulator({ validator: "collect" });
    const sched = new DrmMockScheduler(sim, { creditLimit: 4 });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    const job = drmMockSchedJobNew(entity, 10);
    expect(job.credits).toBe(4);
    const [f] = sim.validator.findingsOf("sched-credits-truncated");
    expect(f?.title).toMatch(/asks for 10 credits/);
    job.submit();
    await sim.run();
    expect(job.isScheduled).toBe(true);
    sched.advance(1);
    await sim.run();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("in throw mode the truncation is fatal, like panic_on_warn", () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { creditLimit: 4 });
    const entity = drmMockSchedEntityNew(sim, 2, sched);
    expect(() => drmMockSchedJobNew(entity, 5)).toThrow(ValidatorError);
  });
});

describe("argument checks", () => {
  const ops: DrmSchedBackendOps = {
    runJob: () => null,
    timedoutJob: () => DrmGpuSchedStat.RESET,
    freeJob: (j) => j.cleanup(),
  };

  it("drm_sched_init refuses numRqs > 4, a zero credit limit, missing ops", () => {
    const sim = new Simulator();
    expect(() => new DrmGpuScheduler(sim, { ops, name: "x", creditLimit: 1, numRqs: 5 })).toThrow(/EINVAL/);
    expect(() => new DrmGpuScheduler(sim, { ops, name: "x", creditLimit: 0 })).toThrow(/EINVAL/);
    expect(
      () => new DrmGpuScheduler(sim, { ops: {} as DrmSchedBackendOps, name: "x", creditLimit: 1 }),
    ).toThrow(/EINVAL/);
    expect(() => new DrmGpuScheduler(sim, { ops, name: "x", creditLimit: 1, timeoutNs: -1 })).toThrow(
      /EINVAL/,
    );
  });

  it("job init: 0 credits is EINVAL, an entity without schedulers is ENOENT; entity priority clamps", () => {
    const sim = new Simulator();
    const sched = new DrmGpuScheduler(sim, { ops, name: "two", creditLimit: 8, numRqs: 2 });
    const entity = new DrmSchedEntity(sim, DrmSchedPriority.LOW, [sched]);
    expect(entity.priority).toBe(1);
    expect(() => new DrmSchedJob(entity, 0)).toThrow(/EINVAL/);
    const orphan = new DrmSchedEntity(sim, 2, []);
    expect(() => new DrmSchedJob(orphan, 1)).toThrow(/ENOENT/);
    expect(() => new DrmSchedEntity(sim, 2, [null as unknown as DrmGpuScheduler])).toThrow(/EINVAL/);
    const job = new DrmSchedJob(entity, 1);
    expect(() => job.finished).toThrow(ValidatorError); // sched-job-misuse: fences exist only after arm()
    expect(() => entity.pushJob(job)).toThrow(/not armed/);
    job.arm();
    expect(() => job.arm()).toThrow(/already armed/);
    expect(job.finished.context).toBe(entity.fenceContext + 1);
    expect(job.scheduled.context).toBe(entity.fenceContext);
    expect(job.finished.seqno).toBe(1);
    expect(job.finished.driverName).toBe("drm_sched");
    expect(job.finished.timelineName).toBe("two");
    job.cleanup();
    // Dependencies only before the push: afterwards EINVAL, and the reference is dropped.
    const pushed = new DrmSchedJob(entity, 1);
    pushed.arm();
    entity.pushJob(pushed);
    const late = new DmaFence(sim, extOps, dmaFenceContextAlloc(sim), 1);
    expect(() => pushed.addDependency(late.get())).toThrow(/EINVAL/);
    expect(late.refcount).toBe(1);
  });
});
