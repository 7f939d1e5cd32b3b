/**
 * Selection policies and load (the post-7.1 `tests_scheduler.c` suites, plus FIFO/RR order and
 * many concurrent submitters). Fairness figures are logged as in the kernel; properties that any
 * correct policy must have are asserted.
 */
import { msecs, Simulator as Sim } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { type DrmSchedEntity, type DrmSchedPolicy, DrmSchedPriority } from "../src/index.js";
import {
  type DrmMockSchedJob,
  DrmMockScheduler,
  drmMockSchedEntityNew,
  drmMockSchedJobNew,
} from "../src/testing/index.js";
import { SEC, sleepNs } from "./helpers.js";

const log = (...a: unknown[]) => {
  if (process.env.DRMSIM_VERBOSE) console.log(...a);
};

interface ClientSpec {
  priority: number;
  jobs: number;
  jobUs: number;
  /** Wait for each job before submitting the next (an interactive client). */
  sync: boolean;
}

async function runClient(entity: DrmSchedEntity, c: ClientSpec, out: DrmMockSchedJob[]) {
  for (let i = 0; i < c.jobs; i++) {
    const job = drmMockSchedJobNew(entity).setDurationUs(c.jobUs).submit();
    out.push(job);
    if (c.sync || i % 8 === 7) await job.waitFinished(10 * SEC);
  }
  await out.at(-1)!.waitFinished(100 * SEC);
}

/** GPU time each client got while all of them still had work (ns). */
function sharesWhileContended(clients: DrmMockSchedJob[][]): number[] {
  const end = Math.min(...clients.map((jobs) => jobs.at(-1)!.finishAt));
  return clients.map((jobs) =>
    jobs.reduce((t, j) => t + Math.max(0, Math.min(j.finishAt, end) - (j.finishAt - j.durationNs)), 0),
  );
}

async function clients(policy: DrmSchedPolicy, creditLimit: number, specs: ClientSpec[]) {
  const sim = new Sim();
  const sched = new DrmMockScheduler(sim, { policy, creditLimit });
  const jobs = specs.map(() => [] as DrmMockSchedJob[]);
  const entities = specs.map((c) => drmMockSchedEntityNew(sim, c.priority, sched));
  const tasks = specs.map((c, i) => sim.spawn(`client${i}`, () => runClient(entities[i]!, c, jobs[i]!)));
  const r = await sim.run();
  await sim.exec("cleanup", async () => {
    for (const e of entities) await e.destroy();
  });
  sched.fini();
  const findings = sim.teardown().findings;
  return { r, tasks, jobs, shares: sharesWhileContended(jobs), findings, sim };
}

describe("drm_sched_scheduler_overhead_tests", () => {
  it("queue_overhead: 1000 × 1 ms at credit limit 1 within 5× the ideal time", async () => {
    const sim = new Sim();
    const sched = new DrmMockScheduler(sim, { policy: "fair", creditLimit: 1 });
    await sim.exec("kunit", async () => {
      const e = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
      let last!: DrmMockSchedJob;
      for (let i = 0; i < 1000; i++) last = drmMockSchedJobNew(e).setDurationUs(1000).submit();
      const t0 = sim.now;
      expect(await last.waitFinished(10 * SEC)).toBe(true);
      const took = sim.now - t0;
      log(`queue_overhead: ${took / 1e6} ms for 1000 ms of work`);
      expect(took).toBeGreaterThanOrEqual(SEC);
      expect(took).toBeLessThanOrEqual(5 * SEC);
      await e.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ping_pong: two entities, each job depending on the other's previous one, within 5× ideal", async () => {
    const sim = new Sim();
    const sched = new DrmMockScheduler(sim, { policy: "fair", creditLimit: 1 });
    await sim.exec("kunit", async () => {
      const es = [0, 1].map(() => drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched));
      let prev: DrmMockSchedJob | null = null;
      const t0 = sim.now;
      for (let i = 0; i < 1000; i++) {
        const job: DrmMockSchedJob = drmMockSchedJobNew(es[i % 2]!).setDurationUs(1000);
        if (prev !== null) job.addDependency(prev.finished.get());
        job.submit();
        prev = job;
      }
      expect(await prev!.waitFinished(10 * SEC)).toBe(true);
      expect(sim.now - t0).toBeLessThanOrEqual(5 * SEC);
      for (const e of es) await e.destroy();
    });
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_scheduler_two_clients tests", () => {
  const N = DrmSchedPriority.NORMAL;
  const mixes: { name: string; a: ClientSpec; b: ClientSpec }[] = [
    {
      name: "normal/normal async",
      a: { priority: N, jobs: 200, jobUs: 1000, sync: false },
      b: { priority: N, jobs: 200, jobUs: 1000, sync: false },
    },
    {
      name: "normal/normal sync",
      a: { priority: N, jobs: 100, jobUs: 1000, sync: true },
      b: { priority: N, jobs: 100, jobUs: 1000, sync: true },
    },
    {
      name: "high/normal",
      a: { priority: DrmSchedPriority.HIGH, jobs: 200, jobUs: 1000, sync: false },
      b: { priority: N, jobs: 200, jobUs: 1000, sync: false },
    },
    {
      name: "low/normal",
      a: { priority: DrmSchedPriority.LOW, jobs: 200, jobUs: 1000, sync: false },
      b: { priority: N, jobs: 200, jobUs: 1000, sync: false },
    },
    {
      name: "kernel/low",
      a: { priority: DrmSchedPriority.KERNEL, jobs: 100, jobUs: 500, sync: false },
      b: { priority: DrmSchedPriority.LOW, jobs: 100, jobUs: 500, sync: false },
    },
    {
      name: "normal sync / normal hog",
      a: { priority: N, jobs: 100, jobUs: 500, sync: true },
      b: { priority: N, jobs: 100, jobUs: 5000, sync: false },
    },
    {
      name: "high sync / low hog",
      a: { priority: DrmSchedPriority.HIGH, jobs: 100, jobUs: 500, sync: true },
      b: { priority: DrmSchedPriority.LOW, jobs: 50, jobUs: 10000, sync: false },
    },
  ];
  for (const credits of [1, 2]) {
    for (const m of mixes) {
      it(`${m.name}, credit limit ${credits}: both clients complete (fair)`, async () => {
        const res = await clients("fair", credits, [m.a, m.b]);
        expect(res.r.reason).toBe("idle");
        expect(res.tasks.every((t) => t.state === "done")).toBe(true);
        expect(res.jobs.flat().every((j) => j.isFinished && j.finished.error === 0)).toBe(true);
        const total = res.shares[0]! + res.shares[1]!;
        log(
          `${m.name} @${credits}: shares ${res.shares.map((s) => ((100 * s) / total).toFixed(1)).join("% / ")}%`,
        );
        expect(res.findings).toEqual([]);
      });
    }
  }

  it("fair: equal priorities split the GPU evenly; a higher priority gets the larger share", async () => {
    const even = await clients("fair", 1, [mixes[0]!.a, mixes[0]!.b]);
    const evenShare = even.shares[0]! / (even.shares[0]! + even.shares[1]!);
    expect(evenShare).toBeGreaterThan(0.4);
    expect(evenShare).toBeLessThan(0.6);
    const weighted = await clients("fair", 1, [mixes[2]!.a, mixes[2]!.b]);
    const highShare = weighted.shares[0]! / (weighted.shares[0]! + weighted.shares[1]!);
    expect(highShare).toBeGreaterThan(0.6);
    log(`fair shares: even ${evenShare.toFixed(3)}, high vs normal ${highShare.toFixed(3)}`);
  });
});

describe("fair policy: idle time is not banked", () => {
  it("a client returning after a long idle period does not monopolise the GPU", async () => {
    const sim = new Sim();
    const sched = new DrmMockScheduler(sim, { policy: "fair", creditLimit: 1 });
    const busy = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const late = drmMockSchedEntityNew(sim, DrmSchedPriority.NORMAL, sched);
    const ran: string[] = [];
    await sim.exec("kunit", async () => {
      // `late` runs once, then idles while `busy` accumulates 200 ms of GPU time.
      drmMockSchedJobNew(late).setDurationUs(1000).submit();
      let last!: DrmMockSchedJob;
      for (let i = 0; i < 200; i++) last = drmMockSchedJobNew(busy).setDurationUs(1000).submit();
      expect(await last.waitFinished(10 * SEC)).toBe(true);
      // Both queue 20 jobs now: they must alternate, not run `late`'s 20 first.
      for (let i = 0; i < 20; i++) {
        for (const [e, name] of [
          [busy, "busy"],
          [late, "late"],
        ] as const) {
          const j = drmMockSchedJobNew(e).setDurationUs(1000).submit();
          j.scheduled.addCallback({ func: () => ran.push(name) });
        }
      }
      await sleepNs(sim, 100 * 1_000_000);
      for (const e of [busy, late]) await e.destroy();
    });
    sched.fini();
    const firstTen = ran.slice(0, 10);
    expect(firstTen.filter((n) => n === "busy").length).toBeGreaterThanOrEqual(4);
    expect(ran).toHaveLength(40);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("drm_sched_scheduler_many_clients_tests", () => {
  for (const policy of ["fair", "fifo", "rr"] as const) {
    for (const n of [2, 3, 7, 13, 31]) {
      it(`${n} clients complete (${policy})`, async () => {
        const specs: ClientSpec[] = Array.from({ length: n }, (_, i) => ({
          priority: i % 4,
          jobs: 30,
          jobUs: 200 + 100 * (i % 5),
          sync: i % 3 === 0,
        }));
        const res = await clients(policy, 2, specs);
        expect(res.r.reason).toBe("idle");
        expect(res.jobs.flat().every((j) => j.isFinished)).toBe(true);
        expect(res.findings).toEqual([]);
      });
    }
  }
});

describe("selection order", () => {
  /** Queues jobs while a blocker holds the only credit, then records the order they run in. */
  async function order(policy: DrmSchedPolicy, plan: [entity: number, prio: number][], entities: number) {
    const sim = new Sim();
    const sched = new DrmMockScheduler(sim, { policy, creditLimit: 1 });
    const prios = new Map(plan.map(([e, p]) => [e, p]));
    const es = Array.from({ length: entities }, (_, i) =>
      drmMockSchedEntityNew(sim, prios.get(i) ?? 2, sched),
    );
    const blocker = drmMockSchedEntityNew(sim, 0, sched);
    drmMockSchedJobNew(blocker).submit();
    await sim.run();
    const ran: number[] = [];
    plan.forEach(([e]) => {
      const j = drmMockSchedJobNew(es[e]!).submit();
      j.scheduled.addCallback({ func: () => ran.push(e) });
    });
    for (let k = 0; k <= plan.length; k++) {
      sched.advance(1);
      await sim.run();
    }
    for (const e of [...es, blocker]) e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
    return ran;
  }

  it("fifo: oldest submitted job first within a priority; higher priorities first", async () => {
    expect(
      await order(
        "fifo",
        [
          [0, 2],
          [1, 2],
          [0, 2],
          [2, 1],
        ],
        3,
      ),
    ).toEqual([2, 0, 1, 0]);
  });

  it("rr: entities of one priority take turns", async () => {
    expect(
      await order(
        "rr",
        [
          [0, 2],
          [0, 2],
          [0, 2],
          [1, 2],
          [2, 2],
        ],
        3,
      ),
    ).toEqual([0, 1, 2, 0, 0]);
  });
});

describe("many concurrent submitters", () => {
  it("16 tasks submitting interleaved with sleeps: all jobs finish, each entity in order", async () => {
    const sim = new Sim({ seed: 16 });
    const sched = new DrmMockScheduler(sim);
    const perEntity: DrmMockSchedJob[][] = [];
    for (let t = 0; t < 16; t++) {
      const jobs: DrmMockSchedJob[] = [];
      perEntity.push(jobs);
      sim.spawn(`submitter${t}`, async () => {
        const e = drmMockSchedEntityNew(sim, t % 4, sched);
        for (let i = 0; i < 64; i++) {
          jobs.push(drmMockSchedJobNew(e).setDurationUs(sim.random.int(5, 50)).submit());
          if (sim.random.chance(0.3)) await sleepNs(sim, sim.random.int(1, 200) * 1000);
        }
        expect(await jobs.at(-1)!.waitFinished(10 * SEC)).toBe(true);
        await e.destroy();
      });
    }
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    for (const jobs of perEntity) {
      expect(jobs.every((j) => j.isFinished)).toBe(true);
      const ts = jobs.map((j) => j.finished.timestamp);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      const seqnos = jobs.map((j) => j.finished.seqno);
      expect(seqnos).toEqual(seqnos.map((_, i) => i + 1));
    }
    expect(sched.stats.run).toBe(16 * 64);
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("load balancing: entities over several schedulers go to the least loaded one", async () => {
    const sim = new Sim();
    const scheds = [0, 1, 2].map((i) => new DrmMockScheduler(sim, { name: `lb${i}` }));
    const es = Array.from({ length: 9 }, () => drmMockSchedEntityNew(sim, 2, scheds));
    for (const e of es) drmMockSchedJobNew(e).setDurationUs(100).submit();
    expect(scheds.map((s) => s.score)).toEqual([6, 6, 6]); // 3 entities + 3 jobs each
    await sim.run();
    expect(scheds.map((s) => s.stats.run)).toEqual([3, 3, 3]);
    for (const e of es) e.fini();
    for (const s of scheds) s.fini();
    expect(sim.now).toBe(msecs(0.3));
    expect(sim.teardown().findings).toEqual([]);
  });
});
