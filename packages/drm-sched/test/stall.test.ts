/**
 * Lost wake-ups made visible. A driver that says "not now" through a side channel instead of a
 * fence (seed 002's `can_run_job`, here: stopping submission when its queue is full and restarting
 * it from the irq) can miss its wake-up; the job then waits on nothing the scheduler knows about.
 * drmsim reports it as `sched-stall`, naming the entity, the job and the reason.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "../src/index.js";

const ops: DmaFenceOps = { getDriverName: () => "sidechan", getTimelineName: () => "q" };

function sideChannelDriver(sim: Simulator) {
  const engine = new HardwareEngine(sim, "sidechan-q");
  const ctx = dmaFenceContextAlloc(sim);
  const cap = 4;
  let inUse = 0;
  let seq = 0;
  const sched: DrmGpuScheduler = new DrmGpuScheduler(sim, {
    name: "sidechan",
    creditLimit: 64,
    ops: {
      runJob: () => {
        inUse++;
        // "can_run_job() == false" from now on: stop submission until there is room.
        if (inUse === cap) sched.wqueueStop();
        const f = new DmaFence(sim, ops, ctx, ++seq);
        const mine = f.get();
        engine.submit({
          durationNs: usecs(10),
          onComplete: () => {
            // The bug: restarts only when the queue drained *below* empty — it checks before the
            // decrement, so the last completion sees 1 and the wake-up is lost.
            if (sched.isStopped && inUse === 0) sched.wqueueStart();
            inUse--;
            mine.signal();
            mine.put();
          },
        });
        return f;
      },
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job) => job.cleanup(),
    },
  });
  return sched;
}

describe("sched-stall", () => {
  it("a job waiting on no fence that the scheduler will never pick is reported at teardown, with the reason", async () => {
    const sim = new Simulator({ validator: "collect" });
    const sched = sideChannelDriver(sim);
    const entity = new DrmSchedEntity(sim, 2, [sched], { name: "client" });
    const jobs: DrmSchedJob[] = [];
    for (let i = 0; i < 6; i++) {
      const j = new DrmSchedJob(entity, 1);
      j.arm();
      entity.pushJob(j);
      jobs.push(j);
    }
    // A client waits for its last job: the run ends in a deadlock on that fence…
    const waiter = sim.spawn("client", () => jobs[5]!.finished.wait());
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    expect(r.finding?.waitFor[0]?.waitsFor).toMatch(/dma_fence drm_sched:sidechan/);
    expect(waiter.state).toBe("running");
    // …and the scheduler explains why nothing will ever signal it.
    const stalls = sched.stalls();
    expect(stalls).toHaveLength(1);
    expect(stalls[0]!.entity).toBe(entity);
    expect(stalls[0]!.job).toBe(jobs[4]);
    expect(stalls[0]!.reason).toMatch(/submission on sidechan is stopped/);
    const report = sim.teardown();
    const stall = report.findings.filter((f) => f.kind === "sched-stall");
    expect(stall).toHaveLength(1);
    expect(stall[0]!.title).toMatch(/will never run/);
    expect(stall[0]!.explanation).toMatch(/fences and nothing else/);
  });

  it("the same workload with the limit as a prepareJob fence does not stall", async () => {
    const sim = new Simulator();
    const engine = new HardwareEngine(sim, "fenced-q");
    const ctx = dmaFenceContextAlloc(sim);
    const inflight: DmaFence[] = [];
    let seq = 0;
    const sched = new DrmGpuScheduler(sim, {
      name: "fenced",
      creditLimit: 64,
      ops: {
        prepareJob: () => (inflight.length >= 4 ? inflight[0]!.get() : null),
        runJob: () => {
          const f = new DmaFence(sim, ops, ctx, ++seq);
          inflight.push(f);
          engine.submit({
            durationNs: usecs(10),
            onComplete: () => {
              inflight.shift();
              f.signal();
              f.put();
            },
          });
          return f.get();
        },
        timedoutJob: () => DrmGpuSchedStat.RESET,
        freeJob: (job) => job.cleanup(),
      },
    });
    const entity = new DrmSchedEntity(sim, 2, [sched]);
    const last = new DrmSchedJob(entity, 1);
    for (let i = 0; i < 5; i++) {
      const j = new DrmSchedJob(entity, 1);
      j.arm();
      entity.pushJob(j);
    }
    last.arm();
    const done = last.finished.get();
    entity.pushJob(last);
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(done.signaled).toBe(true);
    expect(sched.stalls()).toEqual([]);
    done.put();
    entity.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});
