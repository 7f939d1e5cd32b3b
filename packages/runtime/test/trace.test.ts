import { describe, expect, it } from "vitest";
import {
  defineTracepoint,
  Mutex,
  Simulator,
  type TrackRef,
  usecs,
  WaitQueue,
  Work,
  WorkQueue,
} from "../src/index.js";

const fenceSignaled = defineTracepoint<{ context: number; seqno: number }>("dma_fence_signaled", "dma_fence");
const runJob = defineTracepoint<{ job: number }>("drm_run_job", "gpu_scheduler");
const ring: TrackRef = { process: "gpu0", thread: "gfx ring" };
const sdma: TrackRef = { process: "gpu0", thread: "sdma ring" };
const cpu: TrackRef = { process: "compositor", thread: "main" };

describe("Tracer", () => {
  it("records nothing while off, even when a caller forgets the guard", () => {
    const sim = new Simulator();
    expect(sim.tracer.on).toBe(false);
    if (sim.tracer.on) sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: 1 });
    sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: 2 });
    sim.tracer.slice(runJob, ring, 0, { job: 1 });
    sim.tracer.counter("credits", ring, { used: 1 });
    sim.tracer.flowStart("dep", 1, ring);
    expect(sim.tracer.events).toEqual([]);
    expect(sim.tracer.dropped).toBe(0);
  });

  it("records instants, slices, flows and counters at virtual timestamps", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    sim.schedule(usecs(5), () => {
      t.flowStart("fence dep", 7, cpu);
      t.instant(fenceSignaled, ring, { context: 3, seqno: 9 });
    });
    sim.schedule(usecs(12), () => {
      t.slice(runJob, ring, usecs(5), { job: 42 });
      t.flowEnd("fence dep", 7, ring);
      t.counter("credits", ring, { used: 3 });
    });
    await sim.run();
    expect(t.events).toEqual([
      { name: "fence dep", cat: "flow", ph: "s", ts: 5000, track: cpu, id: 7 },
      {
        name: "dma_fence_signaled",
        cat: "dma_fence",
        ph: "i",
        ts: 5000,
        track: ring,
        args: { context: 3, seqno: 9 },
      },
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 5000,
        dur: 7000,
        track: ring,
        args: { job: 42 },
      },
      { name: "fence dep", cat: "flow", ph: "f", ts: 12000, track: ring, id: 7 },
      { name: "credits", cat: "counter", ph: "C", ts: 12000, track: ring, args: { used: 3 } },
    ]);
    expect(t.eventsOf(runJob)).toHaveLength(1);
    expect(t.eventsOf("fence dep")).toHaveLength(2);
  });

  it("counts events beyond the limit as dropped", () => {
    const sim = new Simulator({ trace: true });
    sim.tracer.limit = 2;
    for (let i = 0; i < 5; i++) sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: i });
    expect(sim.tracer.events).toHaveLength(2);
    expect(sim.tracer.dropped).toBe(3);
    expect(sim.tracer.toChromeTrace().otherData).toEqual({ dropped: 3 });
  });

  it("exports Chrome trace events: pids/tids in first-appearance order, metadata, ts in microseconds", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    sim.schedule(1500, () => t.instant(fenceSignaled, ring, { context: 1, seqno: 1 }));
    sim.schedule(2500, () => t.slice(runJob, cpu, 1000, { job: 2 }));
    sim.schedule(3000, () => t.instant(fenceSignaled, sdma, { context: 2, seqno: 1 }));
    sim.schedule(3500, () => {
      t.flowStart("dep", 5, ring);
      t.flowEnd("dep", 5, cpu);
    });
    await sim.run();
    const trace = sim.tracer.toChromeTrace();
    expect(trace.displayTimeUnit).toBe("ns");
    expect(trace.traceEvents).toEqual([
      { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "gpu0" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "gfx ring" } },
      { name: "process_name", ph: "M", pid: 2, tid: 0, args: { name: "compositor" } },
      { name: "thread_name", ph: "M", pid: 2, tid: 2, args: { name: "main" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 3, args: { name: "sdma ring" } },
      {
        name: "dma_fence_signaled",
        cat: "dma_fence",
        ph: "i",
        ts: 1.5,
        pid: 1,
        tid: 1,
        s: "t",
        args: { context: 1, seqno: 1 },
      },
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 1,
        dur: 1.5,
        pid: 2,
        tid: 2,
        args: { job: 2 },
      },
      {
        name: "dma_fence_signaled",
        cat: "dma_fence",
        ph: "i",
        ts: 3,
        pid: 1,
        tid: 3,
        s: "t",
        args: { context: 2, seqno: 1 },
      },
      { name: "dep", cat: "flow", ph: "s", ts: 3.5, pid: 1, tid: 1, id: 5 },
      { name: "dep", cat: "flow", ph: "f", ts: 3.5, pid: 2, tid: 2, id: 5, bp: "e" },
    ]);
    expect(JSON.parse(sim.tracer.toJSON())).toEqual(JSON.parse(JSON.stringify(trace)));
  });
});

describe("determinism", () => {
  /** A small scenario whose timing depends on sim.random: jobs of random length on a queue, a contended mutex. */
  async function scenario(seed: number | string): Promise<string> {
    const sim = new Simulator({ seed, trace: true });
    const wq = new WorkQueue(sim, "ring", { maxActive: 2 });
    const lock = new Mutex(sim, "&ring->lock");
    for (let i = 0; i < 20; i++) {
      sim.schedule(sim.random.int(0, 10_000), () => {
        wq.queueWork(
          new Work(async () => {
            const start = sim.now;
            await lock.lock();
            const wait = new WaitQueue(sim, "hw");
            await wait.waitEvent(() => false, { timeoutNs: sim.random.int(100, 5000) });
            lock.unlock();
            sim.tracer.slice(runJob, { process: "gpu0", thread: sim.current.name }, start, { job: i });
            sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: i });
          }, `job${i}`),
        );
      });
    }
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(sim.tracer.events.length).toBe(40);
    return sim.tracer.toJSON();
  }

  it("same seed, same scenario: byte-identical trace; another seed: a different one", async () => {
    const a = await scenario(1234);
    const b = await scenario(1234);
    const c = await scenario(1235);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(await scenario("ci-seed")).toBe(await scenario("ci-seed"));
  });
});
