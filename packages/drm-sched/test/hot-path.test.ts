/**
 * The end-to-end hot path (issue #15) reuses backtrace frames and timers instead of allocating
 * them per job; a driver must still see exactly the backtrace the kernel would show in run_job,
 * whichever work item led to the submission.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "../src/index.js";

const hwOps: DmaFenceOps = { getDriverName: () => "test", getTimelineName: () => "ring" };

/** A 100 ns command on `engine`: its hardware fence, signalled when the command completes. */
function hwCommand(sim: Simulator, engine: HardwareEngine, context: number, seqno: number): DmaFence {
  const f = new DmaFence(sim, hwOps, context, seqno);
  const hw = f.get();
  engine.submit({
    durationNs: 100,
    onComplete: () => {
      hw.signal();
      hw.put();
    },
  });
  return f;
}

describe("drm_sched hot path", () => {
  it("runJob sees drm_sched_run_job_work on top of its worker's backtrace on every path", async () => {
    const sim = new Simulator({ validator: "collect" });
    const engine = new HardwareEngine(sim, "ring");
    const ctx = dmaFenceContextAlloc(sim);
    let seqno = 0;
    const traces: string[] = [];
    const freed: number[] = [];
    const sched = new DrmGpuScheduler(sim, {
      name: "hp",
      // One credit: each job after the first is submitted from the free work of the one before.
      creditLimit: 1,
      ops: {
        runJob: () => {
          traces.push(sim.current.backtrace().join(" <- "));
          return hwCommand(sim, engine, ctx, ++seqno);
        },
        timedoutJob: () => DrmGpuSchedStat.RESET,
        freeJob: (job) => {
          freed.push(job.id);
          job.cleanup();
        },
      },
    });
    const e = new DrmSchedEntity(sim, 2, [sched]);
    for (let i = 0; i < 4; i++) {
      const job = new DrmSchedJob(e, 1);
      job.arm();
      e.pushJob(job);
    }
    await sim.run();
    expect(freed).toEqual([1, 2, 3, 4]);
    expect(traces).toEqual([
      "drm_sched_run_job_work",
      "drm_sched_run_job_work <- drm_sched_free_job_work",
      "drm_sched_run_job_work <- drm_sched_free_job_work",
      "drm_sched_run_job_work <- drm_sched_free_job_work",
    ]);
    expect(sim.now).toBe(400);
    for (const w of sim.allContexts().filter((c) => c.kind === "worker")) expect(w.backtrace()).toEqual([]);
    e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched free work", () => {
  it("a freeJob that pushes the next job to an idle entity queues no run-job work: submission follows in the free work", async () => {
    const sim = new Simulator({ validator: "collect" });
    const engine = new HardwareEngine(sim, "ring");
    const ctx = dmaFenceContextAlloc(sim);
    let seqno = 0;
    const JOBS = 40;
    let pushed = 0;
    const ran: number[] = [];
    const sched = new DrmGpuScheduler(sim, {
      name: "free",
      creditLimit: 1,
      ops: {
        runJob: (job) => {
          ran.push(job.id);
          return hwCommand(sim, engine, ctx, ++seqno);
        },
        timedoutJob: () => DrmGpuSchedStat.RESET,
        freeJob: (job) => {
          job.cleanup();
          if (pushed < JOBS) push();
        },
      },
    });
    // Every job goes to an entity with nothing queued: each push is that entity's first, which
    // wakes the scheduler (drm_sched_wakeup).
    const es = [0, 1, 2, 3].map(() => new DrmSchedEntity(sim, 2, [sched]));
    const push = (): void => {
      const job = new DrmSchedJob(es[pushed++ % es.length]!, 1);
      job.arm();
      es[(pushed - 1) % es.length]!.pushJob(job);
    };
    push();
    await sim.run();
    expect(ran).toEqual(Array.from({ length: JOBS }, (_, i) => i + 1));
    expect(sim.now).toBe(JOBS * 100);
    // One run work for the first job, then one free work per job (which runs the next): a run
    // work per job as well would make this 2 × JOBS.
    expect(sched.submitWq.executed).toBe(JOBS + 1);
    for (const e of es) e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("fifo run queue: arrival list + heap", () => {
  it("always picks the ready entity whose head job was pushed first, with late dependencies", async () => {
    const sim = new Simulator({ validator: "collect", seed: 15 });
    const ctx = dmaFenceContextAlloc(sim);
    let seqno = 0;
    const violations: string[] = [];
    let ran = 0;
    const es: DrmSchedEntity[] = [];
    const sched = new DrmGpuScheduler(sim, {
      name: "fifo",
      creditLimit: 4,
      numRqs: 1,
      ops: {
        runJob: (job) => {
          ran++;
          // The picked job is off its queue: no other ready entity may hold an older head job.
          for (const e of es) {
            const head = e.peek();
            if (e.isReady() && head !== undefined && head.submitSeq < job.submitSeq)
              violations.push(`ran #${job.submitSeq} while #${head.submitSeq} of ${e.name} was ready`);
          }
          const hw = new DmaFence(sim, hwOps, ctx, ++seqno);
          const ref = hw.get();
          sim.schedule(sim.random.int(1, 50), () => {
            ref.signal();
            ref.put();
          });
          return hw;
        },
        timedoutJob: () => DrmGpuSchedStat.RESET,
        freeJob: (job) => job.cleanup(),
      },
    });
    for (let i = 0; i < 16; i++) es.push(new DrmSchedEntity(sim, 0, [sched]));
    // Bursts of pushes over time; a third of the jobs wait on a fence signalled later, so their
    // entities come back to the run queue out of key order.
    for (let t = 0; t < 40; t++) {
      sim.schedule(t * 30, () => {
        for (let k = 0; k < 6; k++) {
          const e = es[sim.random.int(0, es.length - 1)]!;
          const job = new DrmSchedJob(e, 1);
          if (sim.random.chance(1 / 3)) {
            const dep = new DmaFence(sim, hwOps, ctx, ++seqno);
            const ref = dep.get();
            sim.schedule(sim.random.int(0, 199), () => {
              ref.signal();
              ref.put();
            });
            job.addDependency(dep);
          }
          job.arm();
          e.pushJob(job);
        }
      });
    }
    await sim.run();
    expect(ran).toBe(240);
    expect(violations).toEqual([]);
    for (const e of es) e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});
