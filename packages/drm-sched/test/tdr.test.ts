/** Timeout detection and recovery (TDR), stop/start/resubmit, karma and guilt, fault, fini. */
import { ERRNO, msecs, Simulator } from "@drmsim/runtime";
import { beforeEach, describe, expect, it } from "vitest";
import { DrmSchedEntity, DrmSchedJob } from "../src/index.js";
import { DrmGpuSchedStat, RingDriver, type RingJobSpec, resetAndResubmit } from "./engine-driver.js";

const T = msecs(100);

function submit(entity: DrmSchedEntity, spec: RingJobSpec): DrmSchedJob {
  const job = new DrmSchedJob(entity, 1);
  job.driverData = spec;
  job.arm();
  const finished = job.finished.get(); // the test's own reference, to read the result after free
  entity.pushJob(job);
  held.push(finished);
  return job;
}
const held: import("@drmsim/dma-fence").DmaFence[] = [];
const dropHeld = () => {
  for (const f of held.splice(0)) f.put();
};

describe("TDR", () => {
  beforeEach(() => {
    held.length = 0;
  });

  it("is re-armed after each free, so a queue of jobs each shorter than the timeout never times out", async () => {
    const sim = new Simulator();
    let timeouts = 0;
    const drv = new RingDriver(sim, {
      timeoutNs: T,
      timedoutJob: () => {
        timeouts++;
        return DrmGpuSchedStat.RESET;
      },
    });
    const e = new DrmSchedEntity(sim, 2, [drv.sched]);
    const jobs = Array.from({ length: 5 }, () => submit(e, { durationNs: msecs(60) }));
    await sim.run();
    expect(timeouts).toBe(0);
    expect(jobs.every((j) => j.state === "cleaned")).toBe(true); // freed; results read through held refs
    expect(held.every((f) => f.signaled && f.error === 0)).toBe(true);
    expect(sim.now).toBe(msecs(300));
    e.fini();
    drv.sched.fini();
    dropHeld();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("fires for a hang: stop, karma, reset, resubmit — the guilty context is cancelled, the innocent re-run", async () => {
    const sim = new Simulator();
    const stats: number[] = [];
    const drv = new RingDriver(sim, {
      timeoutNs: T,
      hangLimit: 0,
      timedoutJob: (job, d) => {
        stats.push(sim.now);
        return resetAndResubmit(job, d);
      },
    });
    const guilty = { value: false };
    const bad = new DrmSchedEntity(sim, 2, [drv.sched], { guilty, name: "bad" });
    const good = new DrmSchedEntity(sim, 2, [drv.sched], { name: "good" });
    const hung = submit(bad, { durationNs: msecs(1), hang: true });
    const badNext = submit(bad, { durationNs: msecs(1) });
    const innocent = submit(good, { durationNs: msecs(1) });
    await sim.runFor(msecs(1));
    expect(drv.sched.pendingCount).toBe(3);
    await sim.run();
    expect(stats).toEqual([T]);
    expect(guilty.value).toBe(true);
    expect(hung.karma).toBe(1);
    const [fHung, fBadNext, fInnocent] = held;
    expect(fHung!.error).toBe(-ERRNO.ECANCELED);
    expect(fBadNext!.error).toBe(-ERRNO.ECANCELED);
    expect(fInnocent!.error).toBe(0);
    expect(fInnocent!.signaled).toBe(true);
    // runJob: three first runs, then the resubmission of all three (the driver skips the failed).
    expect(drv.runs).toEqual([hung.id, badNext.id, innocent.id, hung.id, badNext.id, innocent.id]);
    // Later jobs of the guilty entity never run.
    submit(bad, { durationNs: msecs(1) });
    await sim.run();
    expect(held[3]!.error).toBe(-ERRNO.ECANCELED);
    expect(drv.runs).toHaveLength(6);
    expect(drv.freed).toHaveLength(4);
    bad.fini();
    good.fini();
    drv.sched.fini();
    dropHeld();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("start(errno) without resubmission finishes the detached jobs with errno", async () => {
    const sim = new Simulator();
    const drv = new RingDriver(sim, {
      timeoutNs: T,
      timedoutJob: (job, d) => {
        d.sched.stop(job);
        d.engine.reset(-ERRNO.EIO, { abortQueued: true });
        d.sched.start(-ERRNO.EIO);
        return DrmGpuSchedStat.RESET;
      },
    });
    const e = new DrmSchedEntity(sim, 2, [drv.sched]);
    submit(e, { durationNs: msecs(1), hang: true });
    submit(e, { durationNs: msecs(1) });
    await sim.run();
    expect(held.map((f) => f.error)).toEqual([-ERRNO.EIO, -ERRNO.EIO]);
    expect(drv.sched.pendingCount).toBe(0);
    expect(drv.sched.creditCount).toBe(0);
    e.fini();
    drv.sched.fini();
    dropHeld();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENODEV leaves the timer disarmed; fault() runs the handler at once", async () => {
    const sim = new Simulator();
    const calls: number[] = [];
    const drv = new RingDriver(sim, {
      timeoutNs: T,
      timedoutJob: (job, d) => {
        calls.push(sim.now);
        d.sched.stop(job); // keeps the bad job on the pending list
        return DrmGpuSchedStat.ENODEV;
      },
    });
    const e = new DrmSchedEntity(sim, 2, [drv.sched]);
    submit(e, { durationNs: msecs(1), hang: true });
    await sim.runFor(msecs(10));
    drv.sched.fault();
    await sim.runFor(10 * T);
    expect(calls).toEqual([msecs(10)]);
    drv.engine.reset(-ERRNO.ENODEV, { abortQueued: true });
    drv.sched.start(-ERRNO.ENODEV);
    await sim.run();
    expect(held[0]!.error).toBe(-ERRNO.ENODEV);
    e.fini();
    drv.sched.fini();
    dropHeld();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("stop() frees completed jobs and detaches the others; start() without resubmission cancels them", async () => {
    const sim = new Simulator();
    const drv = new RingDriver(sim, { timedoutJob: () => DrmGpuSchedStat.RESET });
    const e = new DrmSchedEntity(sim, 2, [drv.sched]);
    const quick = submit(e, { durationNs: 0 });
    const slow = submit(e, { durationNs: msecs(5) });
    await sim.runFor(1);
    // `quick` finished and its free work ran; `slow` is on the ring.
    expect(drv.freed).toEqual([quick]);
    drv.sched.stop(slow);
    expect(drv.sched.creditCount).toBe(0);
    expect(drv.sched.pendingJobs()).toEqual([slow]);
    expect(drv.sched.isStopped).toBe(true);
    drv.sched.start(0);
    await sim.run();
    // Its hardware callback was removed and nothing re-ran it: it ends with -ECANCELED.
    expect(held[1]!.error).toBe(-ERRNO.ECANCELED);
    expect(held[1]!.signaled).toBe(true);
    expect(drv.freed).toEqual([quick, slow]);
    e.fini();
    drv.sched.fini();
    dropHeld();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("fini() without cancelJob and with jobs pending is reported (sched-fini-pending)", async () => {
    const sim = new Simulator({ validator: "collect" });
    const drv = new RingDriver(sim, { timedoutJob: () => DrmGpuSchedStat.RESET });
    const e = new DrmSchedEntity(sim, 2, [drv.sched]);
    submit(e, { durationNs: msecs(1), hang: true });
    await sim.run();
    drv.sched.fini();
    expect(sim.validator.findingsOf("sched-fini-pending")).toHaveLength(1);
    held.splice(0);
  });
});
