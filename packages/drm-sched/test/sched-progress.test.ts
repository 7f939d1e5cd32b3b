/**
 * The scheduler's part of the forward-progress verdicts (`sched-progress.ts`): where a job whose
 * fence somebody waits on is stuck, and which of those places is a root.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { explainProgress, HardwareEngine, Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "../src/index.js";

const ops: DmaFenceOps = { getDriverName: () => "hw", getTimelineName: () => "ring" };

/** A scheduler on one engine; `hang` makes every command hang (no TDR: the timeout is off). */
function setup(opts: { hang?: boolean; creditLimit?: number } = {}) {
  const sim = new Simulator({ validator: "collect" });
  const engine = new HardwareEngine(sim, "hw-ring");
  const ctx = dmaFenceContextAlloc(sim);
  let seq = 0;
  const sched = new DrmGpuScheduler(sim, {
    name: "hw-ring",
    creditLimit: opts.creditLimit ?? 8,
    ops: {
      runJob: () => {
        const f = new DmaFence(sim, ops, ctx, ++seq);
        const mine = f.get();
        engine.submit({
          durationNs: usecs(10),
          ...(opts.hang === true ? { hang: true } : {}),
          onComplete: () => {
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
  const entity = new DrmSchedEntity(sim, 2, [sched], { name: "client" });
  const push = (credits = 1): DmaFence => {
    const j = new DrmSchedJob(entity, credits);
    j.arm();
    const f = j.finished.get();
    entity.pushJob(j);
    return f;
  };
  return { sim, engine, sched, entity, push };
}

describe("scheduler forward-progress explanations", () => {
  it("a job armed but never pushed is held by the driver: job-in-driver-backlog", () => {
    const { sim, entity } = setup();
    const j = new DrmSchedJob(entity, 1);
    j.arm();
    const chain = explainProgress(sim, j.finished);
    expect(chain.root?.kind).toBe("job-in-driver-backlog");
    expect(chain.root?.title).toMatch(/was armed but never pushed to the scheduler: the driver holds it$/);
    expect(chain.steps[0]).toMatch(
      /is the finished fence of a job that is neither queued on hw-ring nor running on it$/,
    );
  });

  it("a hung engine with no timeout is the root, not a driver backlog", async () => {
    const { sim, push } = setup({ hang: true });
    const f = push();
    sim.spawn("waiter", () => f.wait());
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    expect(r.finding!.details).toEqual([
      "root cause [hw-hang-unrecovered]: hardware engine hw-ring has 1 command(s) that never complete (hung), and nothing resets it",
    ]);
    expect(r.finding!.progress.slice(2)).toEqual([
      expect.stringMatching(
        /^job 1 .* runs on hw-ring: its hardware fence dma_fence hw:ring ctx \d+#1 waits for stuck hardware$/,
      ),
      "hardware engine hw-ring has 1 command(s) that never complete (hung)",
    ]);
    expect(sim.validator.findingsOf("job-in-driver-backlog")).toEqual([]);
  });

  it("jobs queued behind a job short of credits lead to the job holding them", async () => {
    const { sim, push } = setup({ hang: true, creditLimit: 2 });
    push(2);
    const second = push(2);
    const chain = await (async () => {
      await sim.run();
      return explainProgress(sim, second);
    })();
    expect(chain.steps[1]).toMatch(/^job 2 .* needs 2 credit\(s\); 0 of 2 are free on hw-ring$/);
    expect(chain.steps[2]).toMatch(/^job 1 .* runs on hw-ring/);
    expect(chain.root?.kind).toBe("hw-hang-unrecovered");
  });

  it("a scheduler torn down with jobs queued is sched-stopped", () => {
    const { sim, sched, push } = setup();
    sched.wqueueStop();
    const f = push();
    sched.fini();
    const chain = explainProgress(sim, f);
    expect(chain.root?.kind).toBe("sched-stopped");
  });
});
