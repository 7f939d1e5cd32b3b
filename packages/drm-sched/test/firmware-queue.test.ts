/**
 * Seed 002's case, settled the way Christian König asked: a firmware queue with 128 command slots
 * expresses "queue full" only through prepareJob fences — the fence of the oldest pending command —
 * never through a boolean. 100,000 jobs of random sizes run without ever overfilling the queue and
 * without stalling.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { HardwareEngine, Simulator as Sim, type Simulator, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DrmGpuSchedStat, DrmGpuScheduler, DrmSchedEntity, DrmSchedJob } from "../src/index.js";

const fwOps: DmaFenceOps = { getDriverName: () => "fwq", getTimelineName: () => "queue0" };

/** An Asahi-like firmware queue: `slots` command slots, commands retire in order. */
class FirmwareQueue {
  inUse = 0;
  maxInUse = 0;
  prepareFences = 0;
  private readonly pending: { slots: number; fence: DmaFence }[] = [];
  private pHead = 0;
  private seqno = 0;
  private readonly ctx: number;
  readonly engine: HardwareEngine;

  constructor(
    private readonly sim: Simulator,
    readonly slots: number,
  ) {
    this.ctx = dmaFenceContextAlloc(sim);
    this.engine = new HardwareEngine(sim, "fw-queue0", { device: "fwq" });
  }

  /** `prepare_job`: null if the command fits now, else the fence of the oldest pending command. */
  prepare(size: number): DmaFence | null {
    if (this.slots - this.inUse >= size) return null;
    this.prepareFences++;
    return this.pending[this.pHead]!.fence.get();
  }

  /** `run_job`: takes the slots and hands the command to the firmware. */
  run(size: number, durationNs: number): DmaFence {
    if (this.slots - this.inUse < size) throw new Error(`firmware queue overflow: ${this.inUse} + ${size}`);
    this.inUse += size;
    if (this.inUse > this.maxInUse) this.maxInUse = this.inUse;
    const fence = new DmaFence(this.sim, fwOps, this.ctx, ++this.seqno);
    const entry = { slots: size, fence };
    this.pending.push(entry);
    this.engine.submit({
      durationNs,
      onComplete: () => {
        // Commands retire in order: this is the oldest.
        this.pending[this.pHead++] = undefined as never;
        if (this.pHead > 4096) {
          this.pending.splice(0, this.pHead);
          this.pHead = 0;
        }
        this.inUse -= entry.slots;
        fence.signal();
        fence.put();
      },
    });
    return fence.get();
  }
}

interface FwJob {
  size: number;
  durationNs: number;
}

function runFirmwareQueue(sim: Simulator, jobs: number, entities: number) {
  const fw = new FirmwareQueue(sim, 128);
  let finished = 0;
  let failed = 0;
  const sched = new DrmGpuScheduler(sim, {
    name: "fwq",
    // Credits are not the limit here (Asahi charges 1 per job): prepareJob fences are.
    creditLimit: 1024,
    ops: {
      prepareJob: (job) => fw.prepare((job.driverData as FwJob).size),
      runJob: (job) => {
        const d = job.driverData as FwJob;
        return fw.run(d.size, d.durationNs);
      },
      timedoutJob: () => DrmGpuSchedStat.RESET,
      freeJob: (job) => {
        if (job.finished.signaled) {
          if (job.finished.error === 0) finished++;
          else failed++;
        }
        job.cleanup();
      },
    },
  });
  const es = Array.from(
    { length: entities },
    (_, i) => new DrmSchedEntity(sim, 2, [sched], { name: `client${i}` }),
  );
  for (let i = 0; i < jobs; i++) {
    const job = new DrmSchedJob(es[i % entities]!, 1);
    job.driverData = {
      size: sim.random.int(1, 32),
      durationNs: usecs(sim.random.int(1, 20)),
    } satisfies FwJob;
    job.arm();
    es[i % entities]!.pushJob(job);
  }
  return { fw, sched, es, counts: () => ({ finished, failed }) };
}

describe("firmware queue limits through prepareJob fences (seed 002)", () => {
  it("100,000 jobs of 1–32 slots on a 128-slot queue: never above 128, no stall", async () => {
    const sim = new Sim({ seed: 2023 });
    const { fw, sched, es, counts } = runFirmwareQueue(sim, 100_000, 4);
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(counts()).toEqual({ finished: 100_000, failed: 0 });
    expect(fw.maxInUse).toBeLessThanOrEqual(128);
    // The limit was really hit: prepareJob had to hand out fences, and the queue ran nearly full.
    expect(fw.prepareFences).toBeGreaterThan(1000);
    expect(fw.maxInUse).toBeGreaterThan(96);
    expect(sched.stats.run).toBe(100_000);
    for (const e of es) e.fini();
    sched.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("is deterministic: the same seed gives the same schedule", async () => {
    const a = new Sim({ seed: 7 });
    const b = new Sim({ seed: 7 });
    const ra = runFirmwareQueue(a, 2000, 3);
    const rb = runFirmwareQueue(b, 2000, 3);
    await a.run();
    await b.run();
    expect([a.now, ra.fw.maxInUse, ra.fw.prepareFences]).toEqual([
      b.now,
      rb.fw.maxInUse,
      rb.fw.prepareFences,
    ]);
    expect(a.now).toBeGreaterThan(0);
  });
});
