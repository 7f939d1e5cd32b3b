/**
 * drm_sched end to end: push → dependency resolution → runJob → hardware completion (irq) →
 * finished fence → freeJob, on a `HardwareEngine` ring. Jobs per second with 1, 64 and 4,096
 * entities, each against a baseline measured in the same run; the validator's cost; and the
 * memory a queued job costs. Run with `pnpm bench drm-sched`.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "@drmsim/drm-sched";
import {
  HardwareEngine,
  type HwCommand,
  Simulator,
  type ValidatorMode,
  Work,
  WorkQueue,
} from "@drmsim/runtime";
import type { Comparison, Figure, SampleOptions } from "./harness.js";

const hwOps: DmaFenceOps = { getDriverName: () => "bench", getTimelineName: () => "ring" };

/** A ring command that signals its hardware fence on completion (a class: no closure per job). */
class RingCommand implements HwCommand {
  readonly durationNs = 1000;
  constructor(private readonly fence: DmaFence) {}
  onComplete(status: number): void {
    if (status !== 0) this.fence.setError(status);
    this.fence.signal();
    this.fence.put();
  }
}

/**
 * Runs `jobs` jobs over `entities` entities to completion, closed loop like real clients: a window
 * of jobs is queued up front (at least one per entity) and every freed job is replaced by a new
 * one on the next entity, so the working set stays the size of the window. The entity-count
 * comparisons use one window (4,096) on both sides, so they measure the entities, not the load.
 */
export async function endToEnd(
  entities: number,
  jobs: number,
  validator: ValidatorMode,
  window = WINDOW,
): Promise<void> {
  const sim = new Simulator({ validator });
  const engine = new HardwareEngine(sim, "ring");
  const ctx = dmaFenceContextAlloc(sim);
  let seqno = 0;
  let freed = 0;
  const sched = new DrmGpuScheduler(sim, {
    name: "bench",
    creditLimit: 64,
    ops: {
      runJob: () => {
        const f = new DmaFence(sim, hwOps, ctx, ++seqno);
        engine.submit(new RingCommand(f.get()));
        return f;
      },
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job) => {
        freed++;
        job.cleanup();
        if (pushed < jobs) push();
      },
    },
  });
  const es: DrmSchedEntity[] = [];
  for (let i = 0; i < entities; i++) es.push(new DrmSchedEntity(sim, 2, [sched]));
  let pushed = 0;
  const push = (): void => {
    const e = es[pushed++ % entities]!;
    const job = new DrmSchedJob(e, 1);
    job.arm();
    e.pushJob(job);
  };
  const inFlight = Math.min(jobs, Math.max(window, entities));
  for (let i = 0; i < inFlight; i++) push();
  await sim.run();
  if (freed !== jobs) throw new Error(`bench: ${freed} of ${jobs} jobs freed`);
  for (const e of es) e.fini();
  sched.fini();
}

/** Jobs (or commands) in flight per run: enough to keep the credits and the ring busy. */
const WINDOW = 256;

/** The floor: the same hardware engine completing the same number of commands, no scheduler. */
async function bareEngine(jobs: number): Promise<void> {
  const sim = new Simulator({ validator: "off" });
  const engine = new HardwareEngine(sim, "ring");
  let done = 0;
  let submitted = 0;
  const submit = (): void => {
    submitted++;
    engine.submit({ durationNs: 1000, onComplete });
  };
  const onComplete = (): void => {
    done++;
    if (submitted < jobs) submit();
  };
  for (let i = 0; i < Math.min(jobs, WINDOW); i++) submit();
  await sim.run();
  if (done !== jobs) throw new Error("bench: engine lost commands");
}

/**
 * The floor under drm_sched on this path, with no scheduler at all: the bare engine plus what
 * drm_sched cannot do without per job — the driver's hardware fence and ring command (what
 * `runJob` above builds), a job holding the finished fence userspace waits on, a callback on the
 * hardware fence that signals the finished fence (`drm_sched_job_done`, in the fence's signalling
 * path) and queues one work item on an ordered queue, which frees the job (`free_job_work`, where
 * the next job is submitted). What drm_sched itself costs is the distance from this to the
 * 1-entity figure: picking, the entity's queue, credits, the pending list, `last_scheduled`.
 */
class FloorJob {
  /** The next job to free, in completion order (the kernel's pending list). */
  next: FloorJob | null = null;
  constructor(
    readonly floor: Floor,
    readonly finished: DmaFence,
  ) {}
  /** The hardware fence's callback: the job is done. */
  func(): void {
    this.finished.signal();
    this.floor.done(this);
  }
}

class Floor {
  private readonly engine: HardwareEngine;
  private readonly wq: WorkQueue;
  private readonly hwCtx: number;
  private readonly jobCtx: number;
  private seqno = 0;
  private first: FloorJob | null = null;
  private last: FloorJob | null = null;
  private readonly work = new Work(() => this.freeJobs(), "free_job_work");
  submitted = 0;
  freed = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly jobs: number,
  ) {
    this.engine = new HardwareEngine(sim, "ring");
    this.wq = new WorkQueue(sim, "floor", { ordered: true, memReclaim: true });
    this.hwCtx = dmaFenceContextAlloc(sim);
    this.jobCtx = dmaFenceContextAlloc(sim);
  }

  submit(): void {
    this.submitted++;
    const seqno = ++this.seqno;
    const job = new FloorJob(this, new DmaFence(this.sim, hwOps, this.jobCtx, seqno));
    const hw = new DmaFence(this.sim, hwOps, this.hwCtx, seqno);
    this.engine.submit(new RingCommand(hw.get()));
    hw.addCallback(job);
    hw.put();
  }

  done(job: FloorJob): void {
    if (this.last === null) this.first = job;
    else this.last.next = job;
    this.last = job;
    this.wq.queueWork(this.work);
  }

  private freeJobs(): void {
    for (let job = this.first; job !== null; job = job.next) {
      job.finished.put();
      this.freed++;
      if (this.submitted < this.jobs) this.submit();
    }
    this.first = null;
    this.last = null;
  }
}

async function schedFloor(jobs: number): Promise<void> {
  const sim = new Simulator({ validator: "off" });
  const floor = new Floor(sim, jobs);
  for (let i = 0; i < Math.min(jobs, WINDOW); i++) floor.submit();
  await sim.run();
  if (floor.freed !== jobs) throw new Error("bench: the floor lost jobs");
}

/**
 * Sampling for the comparisons whose runs (~70 ms) each side spends collecting garbage at
 * different points: more pairs steady the median.
 */
const STEADY: SampleOptions = { minPairs: 15, minMs: 3000 };

const J = 50_000;
const JW = 65_536;
const BIG_WINDOW = 4096;

export const comparisons: Comparison[] = [
  {
    id: "drm-sched-1-entity",
    title: "drm_sched end-to-end, 1 entity (vs bare engine)",
    unit: "job",
    baseline: { name: "bare HardwareEngine", ops: J, run: () => bareEngine(J) },
    subject: { name: "1 entity", ops: J, run: () => endToEnd(1, J, "off") },
    target: "ratio ≥ 0.2 and ≥ 3,000,000 jobs/s (CPU time)",
    meets: (r) => r.ratio >= 0.2 && r.subject.cpuOpsPerSec >= 3_000_000,
  },
  {
    id: "drm-sched-floor",
    title: "floor: engine + driver fence + job, finished fence, 1 work item (vs bare engine)",
    unit: "job",
    baseline: { name: "bare HardwareEngine", ops: J, run: () => bareEngine(J) },
    subject: { name: "floor", ops: J, run: () => schedFloor(J) },
  },
  {
    id: "drm-sched-64-entities",
    title: "drm_sched end-to-end, 64 entities (vs 1 entity)",
    unit: "job",
    baseline: { name: "1 entity", ops: JW, run: () => endToEnd(1, JW, "off", BIG_WINDOW) },
    subject: { name: "64 entities", ops: JW, run: () => endToEnd(64, JW, "off", BIG_WINDOW) },
    target: "ratio ≥ 0.5",
    meets: (r) => r.ratio >= 0.5,
    sampling: STEADY,
  },
  {
    id: "drm-sched-4096-entities",
    title: "drm_sched end-to-end, 4,096 entities (vs 1 entity)",
    unit: "job",
    baseline: { name: "1 entity", ops: JW, run: () => endToEnd(1, JW, "off", BIG_WINDOW) },
    subject: { name: "4,096 entities", ops: JW, run: () => endToEnd(4096, JW, "off", BIG_WINDOW) },
    target: "ratio ≥ 0.8",
    meets: (r) => r.ratio >= 0.8,
    sampling: STEADY,
  },
  {
    id: "drm-sched-validator",
    title: "drm_sched end-to-end, validator throw (vs off)",
    unit: "job",
    baseline: { name: "validator off", ops: J, run: () => endToEnd(1, J, "off") },
    subject: { name: "validator throw", ops: J, run: () => endToEnd(1, J, "throw") },
    target: "ratio ≥ 0.6",
    meets: (r) => r.ratio >= 0.6,
    sampling: STEADY,
  },
];

// --- memory per queued job -------------------------------------------------------------------------

const QUEUED = 1_000_000;

/** The baseline: the least a queued job can be — a job record with two minimal fences, in an array. */
class MinimalQueuedFence {
  signaled = false;
  cbs: unknown = null;
  constructor(
    readonly context: number,
    readonly seqno: number,
  ) {}
}
class MinimalQueuedJob {
  readonly scheduled: MinimalQueuedFence;
  readonly finished: MinimalQueuedFence;
  constructor(
    readonly id: number,
    readonly credits: number,
  ) {
    this.scheduled = new MinimalQueuedFence(1, id);
    this.finished = new MinimalQueuedFence(2, id);
  }
}

/** Heap bytes per object after `fill(n)` built `n` of them and returned what keeps them alive. */
function heapPer(n: number, fill: (n: number) => unknown): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc (pnpm bench does)");
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = fill(n);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep === null) console.log(keep); // keep them reachable until measured
  return (after - before) / n;
}

/**
 * Memory per queued job: `n` jobs armed and pushed on one entity of a scheduler whose simulator
 * never runs, so each is in the entity's queue with its scheduled and finished fences — what a
 * backlog of submissions costs. Validator off, as in every benchmark.
 */
function queuedJobs(n: number): unknown {
  const sim = new Simulator({ validator: "off" });
  const sched = new DrmGpuScheduler(sim, {
    name: "bench",
    creditLimit: 64,
    ops: {
      runJob: () => null,
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job) => job.cleanup(),
    },
  });
  const e = new DrmSchedEntity(sim, 2, [sched]);
  for (let i = 0; i < n; i++) {
    const job = new DrmSchedJob(e, 1);
    job.arm();
    e.pushJob(job);
  }
  return { sim, sched, e };
}

function minimalJobs(n: number): unknown {
  const list: MinimalQueuedJob[] = [];
  for (let i = 0; i < n; i++) list.push(new MinimalQueuedJob(i + 1, 1));
  return list;
}

export async function figures(): Promise<Figure[]> {
  queuedJobs(1000); // warm-up: the first jobs also pay for compiled code and shapes
  const perJob = heapPer(QUEUED, queuedJobs);
  const perMinimal = heapPer(QUEUED, minimalJobs);
  return [
    {
      id: "drm-sched.queued-job-bytes",
      title: "memory per queued job (1M armed + pushed, validator off)",
      value: perJob,
      unit: "bytes",
      baseline: { name: "job record + 2 minimal fences", value: perMinimal },
      ratio: perJob / perMinimal,
      target: "≤ 256 bytes",
      met: perJob <= 256,
    },
  ];
}
