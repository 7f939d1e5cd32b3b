import { describe, expect, it } from "vitest";
import {
  ChromeTraceEncoder,
  ChromeTraceStream,
  chromeMicros,
  chromeTraceOf,
  contextTrack,
  defineTracepoint,
  Mutex,
  RingSink,
  Simulator,
  type TraceSink,
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
    const key = {};
    sim.tracer.begin(runJob, ring, key, { job: 1 });
    sim.tracer.end(key);
    sim.tracer.counterTrack(ring, "gfx", "credits").set(3);
    sim.tracer.advance();
    expect(sim.tracer.events).toEqual([]);
    expect(sim.tracer.dropped).toBe(0);
  });

  it("records instants, slices, spans and counters at virtual timestamps", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const job = {};
    sim.schedule(usecs(5), () => {
      t.instant(fenceSignaled, ring, { context: 3, seqno: 9 });
      t.begin(runJob, cpu, job, { job: 7 });
    });
    sim.schedule(usecs(12), () => {
      t.slice(runJob, ring, usecs(5), { job: 42 });
      t.end(job, { status: 0 });
      t.counter("credits", ring, { used: 3 });
    });
    await sim.run();
    expect(t.events).toEqual([
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
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 5000,
        dur: 7000,
        track: cpu,
        args: { job: 7, status: 0 },
        span: 1,
      },
      { name: "credits", cat: "counter", ph: "C", ts: 12000, track: ring, args: { used: 3 } },
    ]);
    expect(t.eventsOf(runJob)).toHaveLength(2);
    expect(t.isOpen(job)).toBe(false);
  });

  it("counts events beyond the in-memory limit as dropped", () => {
    const sim = new Simulator({ trace: true });
    sim.tracer.limit = 2;
    for (let i = 0; i < 5; i++) sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: i });
    expect(sim.tracer.events).toHaveLength(2);
    expect(sim.tracer.dropped).toBe(3);
    expect(sim.tracer.toChromeTrace().otherData).toEqual({ dropped: 3, flowsDropped: 0 });
  });

  it("finish() closes open spans as unfinished and turns tracing off", async () => {
    const sim = new Simulator({ trace: true });
    const fence = {};
    sim.tracer.begin(runJob, ring, fence, { job: 1 });
    await sim.run({ untilNs: 300 });
    sim.tracer.finish();
    expect(sim.tracer.events).toEqual([
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 0,
        dur: 300,
        track: ring,
        args: { job: 1, unfinished: true },
        span: 1,
      },
    ]);
    expect(sim.tracer.on).toBe(false);
  });
});

describe("lanes", () => {
  const lanesOf = (t: Simulator["tracer"]) =>
    t.events.filter((e) => e.ph === "X").map((e) => [e.ts, e.dur, e.lane ?? 0]);

  it("overlapping spans go to separate lanes; a lane is reused once its span ended before the next starts", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const [a, b, c, d] = [{}, {}, {}, {}];
    sim.schedule(0, () => t.begin(runJob, ring, a, { job: 1 }));
    sim.schedule(10, () => t.begin(runJob, ring, b, { job: 2 }));
    sim.schedule(20, () => t.end(a));
    sim.schedule(30, () => t.end(b));
    // c starts when b ends: not on b's lane at the same instant, but a's lane is free.
    sim.schedule(30, () => t.begin(runJob, ring, c, { job: 3 }));
    sim.schedule(40, () => t.end(c));
    sim.schedule(41, () => t.begin(runJob, ring, d, { job: 4 }));
    sim.schedule(50, () => t.end(d));
    await sim.run();
    expect(lanesOf(t)).toEqual([
      [0, 20, 0],
      [10, 20, 1],
      [30, 10, 0],
      [41, 9, 0],
    ]);
  });

  it("a slice that contains earlier ones nests on their lane; one that overlaps them does not", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    sim.schedule(20, () => t.slice(runJob, cpu, 10, { job: 1 })); // [10, 20]
    sim.schedule(30, () => t.slice(runJob, cpu, 5, { job: 2 })); // [5, 30] contains it: lane 0
    sim.schedule(40, () => t.slice(runJob, cpu, 5, { job: 3 })); // [5, 40] contains that: lane 0
    sim.schedule(50, () => t.slice(runJob, cpu, 25, { job: 4 })); // [25, 50] overlaps [5, 40]: lane 1
    sim.schedule(50, () => t.instant(fenceSignaled, cpu, { context: 1, seqno: 1 })); // inside [25, 50]
    await sim.run();
    expect(lanesOf(t)).toEqual([
      [10, 10, 0],
      [5, 25, 0],
      [5, 35, 0],
      [25, 25, 1],
    ]);
    expect(t.events.at(-1)).toMatchObject({ ph: "i", ts: 50 });
    expect(t.events.at(-1)!.lane).toBeUndefined();
  });

  it("a span with flow arrows never shares a lane with a slice or instant starting at its start", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const [fence, job] = [{}, {}];
    t.begin(fenceSignaled, ring, fence, { context: 1, seqno: 1 });
    t.instant(fenceSignaled, ring, { context: 1, seqno: 0 }); // lane 0, at 0
    t.begin(runJob, cpu, job, { job: 1 });
    t.flow("dependency", fence, job);
    sim.schedule(10, () => t.end(fence));
    sim.schedule(20, () => t.end(job));
    sim.schedule(20, () => t.slice(runJob, cpu, 0, { job: 2 })); // [0, 20], starts with the job
    await sim.run();
    const where = t.events.map((e) => [e.ph, e.track.process, e.ts, e.lane ?? 0]);
    expect(where).toEqual([
      ["i", "gpu0", 0, 0],
      ["X", "gpu0", 0, 1], // the fence: not on the instant's lane
      ["X", "compositor", 0, 0],
      ["s", "gpu0", 0, 1],
      ["f", "compositor", 0, 0],
      ["X", "compositor", 0, 1], // not on the job's lane
    ]);
  });
});

describe("flows", () => {
  it("binds each end to its span: written after both spans, at each span's start, on its lane", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const [fence, other, job] = [{}, {}, {}];
    sim.schedule(0, () => t.begin(fenceSignaled, ring, fence, { context: 1, seqno: 1 }));
    sim.schedule(5, () => t.begin(fenceSignaled, ring, other, { context: 1, seqno: 2 }));
    sim.schedule(10, () => {
      t.begin(runJob, cpu, job, { job: 1 });
      t.flow("dependency", other, job);
    });
    sim.schedule(20, () => t.end(fence));
    sim.schedule(30, () => t.end(other));
    sim.schedule(40, () => t.end(job));
    await sim.run();
    const ev = t.events.map((e) => [e.ph, e.ts, e.track.process, e.lane ?? 0, e.span ?? null, e.id ?? null]);
    expect(ev).toEqual([
      ["X", 0, "gpu0", 0, 1, null],
      ["X", 5, "gpu0", 1, 2, null],
      ["X", 10, "compositor", 0, 3, null],
      ["s", 5, "gpu0", 1, 2, 1],
      ["f", 10, "compositor", 0, 3, 1],
    ]);
  });

  it("drops a flow whose source is not open or starts after its target", () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const [a, b] = [{}, {}];
    t.begin(runJob, cpu, b, { job: 1 });
    t.flow("dependency", a, b); // a was never opened
    expect(t.flowsDropped).toBe(1);
  });
});

describe("counters", () => {
  it("writes one sample per instant (the last value) and only on change; probes are read as time moves", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const credits = t.counterTrack(ring, "gfx", "credits in flight");
    let vram = 0;
    const unprobe = t.probe(t.counterTrack(ring, "VRAM", "used bytes"), () => vram);
    sim.schedule(10, () => {
      credits.set(1);
      credits.set(2);
      vram = 4096;
    });
    sim.schedule(20, () => credits.set(2));
    sim.schedule(30, () => {
      credits.set(0);
      vram = 0;
    });
    sim.schedule(40, () => unprobe());
    sim.schedule(50, () => {
      vram = 1;
    });
    await sim.run();
    t.finish();
    const samples = t.events.map((e) => [e.name, e.ts, e.args]);
    expect(samples).toEqual([
      ["gfx", 10, { "credits in flight": 2 }],
      ["VRAM", 10, { "used bytes": 4096 }],
      ["gfx", 30, { "credits in flight": 0 }],
      ["VRAM", 30, { "used bytes": 0 }],
    ]);
  });
});

describe("sinks", () => {
  it("a ring buffer keeps the events of the last window of virtual time", async () => {
    const r: RingSink[] = [];
    const sim = new Simulator({ trace: { sinks: [] } });
    r.push(new RingSink(sim, 100));
    sim.tracer.useSinks(r);
    expect(sim.tracer.events).toEqual([]); // nothing in memory
    for (let i = 0; i < 10; i++)
      sim.schedule(i * 50, () => sim.tracer.instant(fenceSignaled, ring, { context: 1, seqno: i }));
    await sim.run();
    expect(r[0]!.events().map((e) => e.ts)).toEqual([350, 400, 450]);
    expect(r[0]!.evicted).toBe(7);
    expect(() => new RingSink(sim, 0)).toThrow(RangeError);
  });

  it("a flow whose span was evicted from the ring is left out of the export", async () => {
    const sim = new Simulator();
    const r = new RingSink(sim, 100);
    sim.tracer.useSinks([r]);
    sim.tracer.on = true;
    const [fence, job] = [{}, {}];
    sim.tracer.begin(fenceSignaled, ring, fence, { context: 1, seqno: 1 });
    sim.schedule(10, () => {
      sim.tracer.begin(runJob, cpu, job, { job: 1 });
      sim.tracer.flow("dependency", fence, job);
    });
    sim.schedule(20, () => sim.tracer.end(fence));
    sim.schedule(500, () => sim.tracer.end(job));
    await sim.run();
    // The fence span ended at 20, out of the window at 500: the job and the two flow ends remain.
    expect(r.events().map((e) => e.ph)).toEqual(["X", "s", "f"]);
    const exported = chromeTraceOf(r.events()).traceEvents.filter((e) => e.ph !== "M");
    expect(exported.map((e) => e.ph)).toEqual(["X"]);
  });

  it("the streamed file is the same trace as the in-memory export", async () => {
    const run = async (sinks?: TraceSink[]) => {
      const sim = new Simulator({ trace: sinks === undefined ? true : { sinks } });
      const t = sim.tracer;
      const [fence, job] = [{}, {}];
      sim.schedule(1500, () => t.begin(fenceSignaled, ring, fence, { context: 1, seqno: 1 }));
      sim.schedule(2500, () => {
        t.begin(runJob, cpu, job, { job: 2 });
        t.flow("dep", fence, job);
        t.slice(runJob, sdma, 1001, { job: 3 });
      });
      sim.schedule(3000, () => t.end(fence));
      sim.schedule(3500, () => t.end(job));
      await sim.run();
      t.finish();
      return t;
    };
    const mem = await run();
    const chunks: string[] = [];
    const stream = new ChromeTraceStream(
      (c) => chunks.push(c),
      () => ({ dropped: 0, flowsDropped: 0 }),
      16,
    );
    await run([stream]);
    expect(chunks.length).toBeGreaterThan(1);
    expect(JSON.parse(chunks.join(""))).toEqual(mem.toChromeTrace());
  });
});

describe("Chrome trace export", () => {
  it("pids/tids in first-appearance order, metadata, lanes as threads, sort indices, exact microseconds", async () => {
    const sim = new Simulator({ trace: true });
    const t = sim.tracer;
    const [a, b] = [{}, {}];
    sim.schedule(1500, () => t.instant(fenceSignaled, ring, { context: 1, seqno: 1 }));
    sim.schedule(2500, () => t.slice(runJob, cpu, 1000, { job: 2 }));
    sim.schedule(3000, () => t.begin(runJob, ring, a, { job: 3 }));
    sim.schedule(4000, () => t.begin(runJob, ring, b, { job: 4 }));
    sim.schedule(1_234_567, () => {
      t.end(a);
      t.end(b);
    });
    await sim.run();
    const trace = sim.tracer.toChromeTrace();
    expect(trace.displayTimeUnit).toBe("ns");
    expect(trace.traceEvents).toEqual([
      { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "gpu0" } },
      { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "gfx ring" } },
      {
        name: "dma_fence_signaled",
        cat: "dma_fence",
        ph: "i",
        ts: 1.50001,
        pid: 1,
        tid: 1,
        s: "t",
        args: { context: 1, seqno: 1 },
      },
      { name: "process_name", ph: "M", pid: 2, tid: 0, args: { name: "compositor" } },
      { name: "thread_name", ph: "M", pid: 2, tid: 2, args: { name: "main" } },
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 1.00001,
        dur: 1.50001,
        pid: 2,
        tid: 2,
        args: { job: 2 },
      },
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 3.00001,
        dur: 1231.56701,
        pid: 1,
        tid: 1,
        args: { job: 3 },
      },
      {
        name: "thread_name",
        ph: "M",
        pid: 1,
        tid: 3,
        args: { name: "gfx ring #2", track: "gfx ring", lane: 1 },
      },
      {
        name: "drm_run_job",
        cat: "gpu_scheduler",
        ph: "X",
        ts: 4.00001,
        dur: 1230.56701,
        pid: 1,
        tid: 3,
        args: { job: 4 },
      },
      { name: "process_sort_index", ph: "M", pid: 2, tid: 0, args: { sort_index: 0 } },
      { name: "thread_sort_index", ph: "M", pid: 2, tid: 2, args: { sort_index: 0 } },
      { name: "process_sort_index", ph: "M", pid: 1, tid: 0, args: { sort_index: 1 } },
      { name: "thread_sort_index", ph: "M", pid: 1, tid: 1, args: { sort_index: 0 } },
      { name: "thread_sort_index", ph: "M", pid: 1, tid: 3, args: { sort_index: 1 } },
    ]);
    // Perfetto's importer: microseconds × 1000, truncated, must give back the nanosecond.
    for (const ns of [0, 1, 999, 1_234_567, 16_666_667, 3_600_000_000_123])
      expect(Math.trunc(chromeMicros(ns) * 1000)).toBe(ns);
    expect(JSON.parse(sim.tracer.toJSON())).toEqual(JSON.parse(JSON.stringify(trace)));
  });

  it("a device (a process with hardware slices) sorts before the others", () => {
    const enc = new ChromeTraceEncoder();
    const out: Record<string, unknown>[] = [];
    enc.encode(
      { name: "ioctl", cat: "drm", ph: "X", ts: 0, dur: 1, track: { process: "app", thread: "t" } },
      out,
    );
    enc.encode(
      { name: "hw_command", cat: "hw", ph: "X", ts: 0, dur: 1, track: { process: "zz-gpu", thread: "gfx" } },
      out,
    );
    const order = enc.sortIndices().filter((e) => e.name === "process_sort_index");
    expect(order.map((e) => [e.pid, (e.args as { sort_index: number }).sort_index])).toEqual([
      [2, 0],
      [1, 1],
    ]);
  });
});

describe("contextTrack", () => {
  it("puts a process context in its userspace process, workers in kworker, interrupts in irq", () => {
    const sim = new Simulator();
    const task = sim.createContext("game", "process");
    expect(contextTrack(task)).toEqual({ process: "game", thread: task.label });
    expect(contextTrack(task)).toBe(contextTrack(task));
    expect(contextTrack(sim.createContext("kworker/x:0", "worker")).process).toBe("kworker");
    expect(contextTrack(sim.irqContext("gpu0")).process).toBe("irq");
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
    expect(sim.tracer.events.filter((e) => e.name !== "sleep").length).toBe(40);
    expect(sim.tracer.eventsOf("sleep").length).toBeGreaterThan(0); // the mutex and wait-queue sleeps
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
