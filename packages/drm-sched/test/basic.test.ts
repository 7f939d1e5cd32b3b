/**
 * The kernel's drm_sched KUnit suites (`drivers/gpu/drm/scheduler/tests/tests_basic.c`), case by
 * case, against the mock scheduler.
 */
import { ERRNO, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmSchedPriority } from "../src/index.js";
import {
  type DrmMockSchedJob,
  DrmMockSchedJobFlag,
  DrmMockScheduler,
  drmMockSchedEntityNew,
  drmMockSchedJobNew,
} from "../src/testing/index.js";
import { SEC, sleepNs } from "./helpers.js";

describe("drm_sched_basic_tests", () => {
  it("drm_sched_basic_submit: scheduled at once, finished only after advance(1)", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    await sim.exec("kunit", async () => {
      const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      const job = drmMockSchedJobNew(entity).submit();
      expect(await job.waitScheduled(SEC)).toBe(true);
      expect(await job.waitFinished(SEC / 2)).toBe(false);
      expect(sched.advance(1)).toBe(1);
      expect(await job.waitFinished(SEC)).toBe(true);
      expect(job.finished.error).toBe(0);
      await entity.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  const shapes = [
    { name: "A queue of independent jobs", entities: 1, depChain: false },
    { name: "A chain of dependent jobs across multiple entities", entities: 1, depChain: true },
    { name: "Multiple independent job queues", entities: 4, depChain: false },
    { name: "Multiple inter-dependent job queues", entities: 4, depChain: true },
  ];
  for (const p of shapes) {
    it(`drm_sched_basic_test: ${p.name} (100 × 1 ms jobs finish within HZ)`, async () => {
      const sim = new Simulator();
      const sched = new DrmMockScheduler(sim);
      await sim.exec("kunit", async () => {
        const entities = Array.from({ length: p.entities }, () =>
          drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched),
        );
        let prev: DrmMockSchedJob | null = null;
        const jobs: DrmMockSchedJob[] = [];
        for (let i = 0; i < 100; i++) {
          const job = drmMockSchedJobNew(entities[i % p.entities]!).setDurationUs(1000);
          if (p.depChain && prev !== null) job.addDependency(prev.finished.get());
          job.submit();
          jobs.push(job);
          prev = job;
        }
        const t0 = sim.now;
        expect(await prev!.waitFinished(SEC)).toBe(true);
        // A serial GPU: 100 ms of work, done in 100 ms.
        expect(sim.now - t0).toBe(100 * 1_000_000);
        expect(jobs.every((j) => j.finished.signaled && j.finished.error === 0)).toBe(true);
        for (const e of entities) await e.destroy();
      });
      sched.fini();
      expect(sched.stats.run).toBe(100);
      expect(sim.teardown().findings).toEqual([]);
    });
  }

  it("drm_sched_basic_entity_cleanup: entities freed after the middle job of a chain, no hang", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    const jobs: DrmMockSchedJob[] = [];
    await sim.exec("kunit", async () => {
      const entities = Array.from({ length: 4 }, () =>
        drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched),
      );
      let prev: DrmMockSchedJob | null = null;
      let mid: DrmMockSchedJob | null = null;
      for (let i = 0; i < 100; i++) {
        const job = drmMockSchedJobNew(entities[i % 4]!).setDurationUs(1000);
        if (prev !== null) job.addDependency(prev.finished.get());
        job.submit();
        if (i === 50) mid = job;
        jobs.push(job);
        prev = job;
      }
      expect(await mid!.waitFinished(SEC)).toBe(true);
      for (const e of entities) await e.destroy();
    });
    await sim.run();
    // Every job ends: run to completion, or killed with -ESRCH — none stays pending.
    expect(jobs.every((j) => j.finished.signaled)).toBe(true);
    expect(jobs.every((j) => j.finished.error === 0 || j.finished.error === -ERRNO.ESRCH)).toBe(true);
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_basic_timeout_tests", () => {
  const T = SEC / 5;

  it("drm_sched_basic_timeout: TIMEDOUT after the timeout, and the job never finishes", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { timeoutNs: T });
    await sim.exec("kunit", async () => {
      const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      const job = drmMockSchedJobNew(entity).submit();
      const finished = job.finished.get();
      expect(await job.waitScheduled(SEC)).toBe(true);
      expect(await job.waitFinished(T / 2)).toBe(false);
      expect(job.flags & DrmMockSchedJobFlag.TIMEDOUT).toBe(0);
      expect(await job.waitFinished(T)).toBe(false);
      expect(job.flags & DrmMockSchedJobFlag.TIMEDOUT).toBe(DrmMockSchedJobFlag.TIMEDOUT);
      // The reset failed the job: its finished fence carries the hardware fence's -ETIMEDOUT.
      expect(finished.signaled).toBe(true);
      expect(finished.error).toBe(-ERRNO.ETIMEDOUT);
      expect(sched.stats.timeouts).toBe(1);
      finished.put();
      await entity.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("drm_sched_skip_reset: DONT_RESET answers NO_HANG, the job keeps running and finishes on advance", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { timeoutNs: T });
    await sim.exec("kunit", async () => {
      const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      const job = drmMockSchedJobNew(entity);
      job.flags |= DrmMockSchedJobFlag.DONT_RESET;
      job.submit();
      expect(await job.waitFinished(2 * T)).toBe(false);
      expect(job.flags & DrmMockSchedJobFlag.RESET_SKIPPED).toBe(DrmMockSchedJobFlag.RESET_SKIPPED);
      expect(sched.stats.timeouts).toBeGreaterThanOrEqual(1);
      // NO_HANG put it back on the pending list; it is still the scheduler's.
      expect(sched.pendingJobs()).toEqual([job]);
      expect(sched.advance(1)).toBe(1);
      expect(await job.waitFinished(SEC)).toBe(true);
      expect(job.finished.error).toBe(0);
      await entity.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_basic_cancel_tests", () => {
  it("drm_sched_basic_cancel: fini cancels a running job; its hw fence gets -ECANCELED", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    let job!: DrmMockSchedJob;
    let hw!: import("@drmsim/dma-fence").DmaFence;
    await sim.exec("kunit", async () => {
      const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      job = drmMockSchedJobNew(entity).submit();
      expect(await job.waitScheduled(SEC)).toBe(true);
      expect(job.isFinished).toBe(false);
      hw = job.hwFence!.get();
      await entity.destroy();
    });
    sched.fini();
    expect(hw.error).toBe(-ERRNO.ECANCELED);
    expect(job.finished.error).toBe(-ERRNO.ECANCELED);
    expect(job.freed).toBe(true);
    hw.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_basic_priority_tests", () => {
  it("drm_sched_priorities: 100 jobs over the four priorities all finish", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    await sim.exec("kunit", async () => {
      const entities = [0, 1, 2, 3].map((p) => drmMockSchedEntityNew(sim, p, sched));
      const jobs: DrmMockSchedJob[] = [];
      for (let i = 0; i < 100; i++)
        jobs.push(
          drmMockSchedJobNew(entities[i % 4]!)
            .setDurationUs(1000)
            .submit(),
        );
      expect(await jobs.at(-1)!.waitFinished(SEC)).toBe(true);
      expect(jobs.every((j) => j.finished.signaled)).toBe(true);
      for (const e of entities) await e.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("drm_sched_change_priority: 1000 jobs finish while priorities keep changing", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim);
    await sim.exec("kunit", async () => {
      const entities = [0, 1, 2, 3].map((p) => drmMockSchedEntityNew(sim, p, sched));
      const jobs: DrmMockSchedJob[] = [];
      for (let i = 0; i < 1000; i++)
        jobs.push(
          drmMockSchedJobNew(entities[i % 4]!)
            .setDurationUs(100)
            .submit(),
        );
      let changes = 0;
      for (let round = 0; !jobs.every((j) => j.finished.signaled); round++) {
        const e = entities[round % 4]!;
        e.setPriority((e.priority + 1) % 4);
        changes++;
        await sleepNs(sim, 50_000);
      }
      expect(changes).toBeGreaterThan(100);
      expect(jobs.every((j) => j.finished.error === 0)).toBe(true);
      for (const e of entities) await e.destroy();
    });
    sched.fini();
    expect(sched.stats.run).toBe(1000);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_basic_modify_sched_tests", () => {
  it("drm_sched_test_modify_sched: 3 schedulers, 13 entities, rebinding while 1000 jobs run", async () => {
    const sim = new Simulator();
    const scheds = [0, 1, 2].map((i) => new DrmMockScheduler(sim, { name: `mock${i}` }));
    await sim.exec("kunit", async () => {
      const entities = Array.from({ length: 13 }, (_, i) =>
        drmMockSchedEntityNew(sim, i % 4, scheds[i % 3]!),
      );
      const jobs: DrmMockSchedJob[] = [];
      let round = 0;
      for (let i = 0; i < 1000; i++) {
        jobs.push(
          drmMockSchedJobNew(entities[i % 13]!)
            .setDurationUs(100)
            .submit(),
        );
        if (i % 7 === 0) entities[round % 13]!.modifySched([scheds[round++ % 3]!]);
        if (i % 50 === 0) await sleepNs(sim, 200_000);
      }
      while (!jobs.every((j) => j.finished.signaled)) {
        entities[round % 13]!.modifySched([scheds[round++ % 3]!]);
        await sleepNs(sim, 100_000);
      }
      expect(jobs.every((j) => j.finished.error === 0)).toBe(true);
      // The entities really moved: every scheduler ran jobs of more than its initial entities.
      for (const s of scheds) expect(s.stats.run).toBeGreaterThan(0);
      expect(new Set(jobs.map((j) => j.sched)).size).toBe(3);
      for (const e of entities) await e.destroy();
    });
    for (const s of scheds) s.fini();
    expect(scheds.reduce((n, s) => n + s.stats.run, 0)).toBe(1000);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_basic_credits_tests", () => {
  it("drm_sched_test_credits: with a limit of 1, job 2 waits until job 1 is done", async () => {
    const sim = new Simulator();
    const sched = new DrmMockScheduler(sim, { creditLimit: 1 });
    await sim.exec("kunit", async () => {
      const entity = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      const job1 = drmMockSchedJobNew(entity).submit();
      const job2 = drmMockSchedJobNew(entity).submit();
      expect(await job1.waitScheduled(SEC)).toBe(true);
      expect(await job2.waitScheduled(SEC)).toBe(false);
      expect(sched.creditCount).toBe(1);
      expect(sched.advance(1)).toBe(1);
      expect(await job1.waitFinished(SEC)).toBe(true);
      expect(await job2.waitScheduled(SEC)).toBe(true);
      expect(sched.advance(1)).toBe(1);
      expect(await job2.waitFinished(SEC)).toBe(true);
      expect(sched.creditCount).toBe(0);
      await entity.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});
