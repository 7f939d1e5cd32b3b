/**
 * FIFO selection with hundreds of entities under churn: jobs pushed while others run, heads that
 * wait on fences, entities killed while queued. Whatever the run queue's bookkeeping (an arrival
 * ring plus a heap for late keys), every pick must be the oldest runnable head job.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "../src/index.js";

const ops: DmaFenceOps = { getDriverName: () => "test", getTimelineName: () => "manual" };

/** A head job that would run if picked now: its entity is live and it waits on no fence. */
function runnable(e: DrmSchedEntity): DrmSchedJob | undefined {
  const head = e.peek();
  if (head === undefined || e.stopped || e.dependency !== null) return undefined;
  for (const f of head.deps.values()) if (!f.signaled) return undefined;
  return head;
}

describe("fifo selection under churn", () => {
  it("always runs the oldest runnable head job, across growth, wrap-around, holes and kills", async () => {
    const sim = new Simulator({ validator: "collect" });
    const N = 300;
    const TOTAL = 3000;
    const fenceCtx = dmaFenceContextAlloc(sim);
    const gates: DmaFence[] = [];
    const ran: DrmSchedJob[] = [];
    const violations: string[] = [];
    let pushed = 0;
    let cursor = 0;
    const killed = new Set<number>();
    let es: DrmSchedEntity[] = [];

    /** The next job, on the next live entity of a stride walk (so arrivals interleave entities). */
    const push = (): void => {
      let i = cursor;
      do i = (i + 37) % N;
      while (killed.has(i));
      cursor = i;
      const job = new DrmSchedJob(es[i]!, 1);
      pushed++;
      // Every 23rd job waits on a gate that opens 40 jobs later: its entity leaves the ready set
      // (a hole in the arrival order) and comes back with an old key.
      if (pushed % 23 === 0) {
        const gate = new DmaFence(sim, ops, fenceCtx, gates.length + 1);
        gates.push(gate);
        job.addDependency(gate.get());
      }
      job.arm();
      es[i]!.pushJob(job);
    };

    const sched = new DrmGpuScheduler(sim, {
      name: "fifo",
      creditLimit: 1,
      policy: "fifo",
      ops: {
        runJob: (job) => {
          // The job just popped must be older than every head that could have run instead.
          for (const e of es) {
            const head = runnable(e);
            if (head !== undefined && head.submitSeq < job.submitSeq)
              violations.push(`job #${job.submitSeq} ran before runnable #${head.submitSeq}`);
          }
          let ready = 0;
          for (const e of es) if (e.isReady()) ready++;
          if (sched.rqs[2]!.readyCount !== ready)
            violations.push(`run queue counts ${sched.rqs[2]!.readyCount} ready entities, ${ready} are`);
          ran.push(job);
          if (ran.length % 40 === 0) for (const g of gates) if (!g.signaled) g.signal();
          // Kill two thirds of the entities in the middle of the run: holes across the arrival
          // order, more holes than entities left.
          if (ran.length === 1000)
            for (let i = 0; i < N; i++) {
              if (i % 3 === 0) continue;
              killed.add(i);
              es[i]!.kill();
            }
          return null;
        },
        timedoutJob: () => DrmGpuSchedStat.RESET,
        freeJob: (job) => {
          job.cleanup();
          if (pushed < TOTAL) push();
        },
      },
    });
    es = Array.from({ length: N }, () => new DrmSchedEntity(sim, 2, [sched]));
    // More jobs queued than entities: some entities hold several, most pushes extend the ring.
    for (let k = 0; k < 2 * N; k++) push();
    await sim.run();
    for (const g of gates) if (!g.signaled) g.signal();
    await sim.run();

    expect(violations).toEqual([]);
    expect(pushed).toBe(TOTAL);
    // Every job ran once, unless its entity was killed with it still queued.
    const ids = new Set(ran.map((j) => j.submitSeq));
    expect(ids.size).toBe(ran.length);
    expect(ran.length).toBeGreaterThan(TOTAL / 2);
    for (const e of es) e.fini();
    sched.fini();
    for (const g of gates) g.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});
