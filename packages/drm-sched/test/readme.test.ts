/** Runs the README example verbatim (apart from the imports), so it cannot rot. */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, msecs, Simulator, usecs } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  DrmGpuSchedStat,
  DrmGpuScheduler,
  DrmSchedEntity,
  DrmSchedJob,
  DrmSchedPriority,
} from "../src/index.js";

it("README: a ring driver, a dependency on another driver's fence", async () => {
  const logged: unknown[][] = [];
  const console = { log: (...v: unknown[]) => logged.push(v) };

  const sim = new Simulator();
  const ring = new HardwareEngine(sim, "ring0");
  const ringContext = dmaFenceContextAlloc(sim);
  const ops = { getDriverName: () => "example", getTimelineName: () => "ring0" };
  let seqno = 0;

  const sched = new DrmGpuScheduler(sim, {
    name: "ring0",
    creditLimit: 8,
    timeoutNs: msecs(100),
    ops: {
      runJob: () => {
        const hw = new DmaFence(sim, ops, ringContext, ++seqno);
        const mine = hw.get();
        ring.submit({
          durationNs: usecs(50),
          onComplete: (status) => {
            if (status !== 0) mine.setError(status);
            mine.signal();
            mine.put();
          },
        });
        return hw; // the scheduler's reference
      },
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job) => job.cleanup(),
    },
  });
  const entity = new DrmSchedEntity(sim, DrmSchedPriority.NORMAL, [sched]);

  // Another driver's fence (a display flip, say) that the second job must wait for.
  const flip = new DmaFence(
    sim,
    { getDriverName: () => "kms", getTimelineName: () => "crtc0" },
    dmaFenceContextAlloc(sim),
    1,
  );
  sim.schedule(msecs(1), () => flip.signal());

  const first = new DrmSchedJob(entity, 1);
  first.arm();
  entity.pushJob(first);

  const second = new DrmSchedJob(entity, 1);
  second.addDependency(flip.get());
  second.arm();
  const done = second.finished.get();
  entity.pushJob(second);

  await sim.run();
  console.log(sim.now, done.error); // 1050000 0: 1 ms for the flip, then 50 µs on the ring

  done.put();
  flip.put();
  entity.fini();
  sched.fini();

  expect(logged).toEqual([[1_050_000, 0]]);
  expect(sim.teardown().findings).toEqual([]);
});
