/**
 * The kernel's race-style selftests under schedule exploration: `find_race` of st-dma-fence-chain.c
 * on a 4,096-link chain, and `test_race_signal_callback` of st-dma-fence.c. packages/dma-fence runs
 * them on one (FIFO) schedule; here every case is a different perturbed schedule — ties broken
 * by a seeded key, woken sleepers in a seeded order — fed by fast-check through the same seeds
 * `drmsim explore` uses, and the properties must hold on every one.
 */
import {
  DmaFence,
  DmaFenceChain,
  type DmaFenceOps,
  type DmaFenceRef,
  dmaFenceChainFindSeqno,
  dmaFenceContextAlloc,
} from "@drmsim/dma-fence";
import {
  type Decision,
  type ExploreTarget,
  exploredProperty,
  exploreOutcome,
  type PerturbKnobs,
  type PerturbOptions,
  Simulator,
} from "@drmsim/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const ops: DmaFenceOps = { getDriverName: () => "mock", getTimelineName: () => "mock" };
const mockFence = (sim: Simulator): DmaFence => new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
const KNOBS: PerturbKnobs = { tieBreak: true, wakeOrder: true };
const SEEDS = fc.noBias(fc.integer({ min: 1, max: 2 ** 31 - 1 }));

/** Collects every schedule a property ran, to show the interleavings really differ. */
function recorder() {
  const schedules = new Set<string>();
  let deviations = 0;
  return {
    schedules,
    get deviations() {
      return deviations;
    },
    note(decisions: readonly Decision[]) {
      schedules.add(JSON.stringify(decisions));
      deviations += decisions.length;
    },
  };
}

const CHAIN_SZ = 4096;

/** find_race: 4 tasks doing random finds and signals on a 4,096-link chain; returns the broken invariants. */
function findRace(rec: ReturnType<typeof recorder>): ExploreTarget {
  return async (perturb: PerturbOptions) => {
    const sim = new Simulator({ seed: 7, validator: "collect", perturb });
    const fences: DmaFence[] = [];
    const chains: DmaFenceChain[] = [];
    for (let i = 0; i < CHAIN_SZ; i++) {
      const f = mockFence(sim);
      const c = new DmaFenceChain(sim, i > 0 ? chains[i - 1]!.get() : null, f.get(), i + 1);
      c.enableSwSignaling();
      fences.push(f);
      chains.push(c);
    }
    const rnd = sim.random;
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      for (let iter = 0; iter < 40; iter++) {
        const seqno = rnd.int(1, CHAIN_SZ);
        const ref: DmaFenceRef = { fence: chains[CHAIN_SZ - 1]!.get() };
        const err = dmaFenceChainFindSeqno(ref, seqno);
        if (err !== 0) failures.push(`find(${seqno}) = ${err}`);
        else if (ref.fence !== null) {
          const got = ref.fence.seqno;
          if (got > seqno) failures.push(`find(${seqno}) returned a later point ${got}`);
          for (let p = got + 1; p <= seqno; p++)
            if (!fences[p - 1]!.signaled) failures.push(`find(${seqno}) = ${got} skipped pending point ${p}`);
          if (got === seqno && dmaFenceChainFindSeqno(ref, seqno) !== 0)
            failures.push(`refind(${seqno}) failed`);
        }
        ref.fence?.put();
        fences[rnd.int(0, CHAIN_SZ - 2)]!.signal();
        // Pauses of 0–2 ns: the four tasks keep waking at the same virtual times, so the explorer
        // has ties to break on almost every step.
        await sim.sleep(
          { kind: "timer", what: "race" },
          { op: "usleep", deadlineNs: sim.now + rnd.int(0, 2) },
        ).promise;
      }
    };
    for (let t = 0; t < 4; t++) sim.spawn(`find_race/${t}`, worker);
    const res = await sim.run();
    for (let i = 0; i < CHAIN_SZ; i++) {
      fences[i]!.signal();
      chains[i]!.put();
      fences[i]!.put();
    }
    sim.teardown();
    rec.note(sim.decisions);
    if (res.reason !== "idle" || failures.length > 0)
      throw new Error(`find_race broke (${res.reason}): ${failures.slice(0, 5).join("; ")}`);
    return exploreOutcome(sim);
  };
}

/** test_race_signal_callback: two tasks cross-add callbacks and signal (before or after the add). */
function raceSignalCallback(
  before: boolean,
  rec: ReturnType<typeof recorder>,
  stats: { miss: number; added: number },
) {
  return async (perturb: PerturbOptions) => {
    const sim = new Simulator({ seed: before ? 11 : 12, validator: "collect", perturb });
    const slots: (DmaFence | null)[] = [null, null];
    const finished = [false, false];
    const rnd = sim.random;
    const errors: string[] = [];
    const pause = () =>
      sim.sleep({ kind: "timer", what: "race" }, { op: "udelay", deadlineNs: sim.now + rnd.int(0, 2) })
        .promise;
    const thread = async (id: number): Promise<void> => {
      for (let pass = 0; pass < 20; pass++) {
        const f1 = mockFence(sim);
        slots[id] = f1;
        await pause();
        let f2: DmaFence | null = null;
        while (f2 === null && !finished[1 - id]) {
          f2 = slots[1 - id]?.get() ?? null;
          if (f2 === null) await pause();
        }
        if (before) f1.signal();
        await pause();
        const cb = { calls: 0, func: () => void cb.calls++ };
        let added = false;
        if (f2 === null || f2.addCallback(cb) !== 0) stats.miss++;
        else {
          added = true;
          stats.added++;
        }
        await pause();
        if (!before) f1.signal();
        if (added && cb.calls === 0) await f2!.wait();
        await pause();
        if (added && cb.calls !== 1) errors.push(`thread ${id} pass ${pass}: callback ran ${cb.calls} times`);
        slots[id] = null;
        f1.put();
        f2?.put();
      }
      finished[id] = true;
    };
    sim.spawn("race/0", () => thread(0));
    sim.spawn("race/1", () => thread(1));
    const res = await sim.run();
    sim.teardown();
    rec.note(sim.decisions);
    if (res.reason !== "idle" || errors.length > 0)
      throw new Error(`race_signal_callback broke (${res.reason}): ${errors.join("; ")}`);
    return exploreOutcome(sim);
  };
}

describe("kernel race selftests under schedule exploration", () => {
  it("find_race holds on every explored interleaving of a 4,096-link chain", async () => {
    const rec = recorder();
    await fc.assert(fc.asyncProperty(SEEDS, exploredProperty(findRace(rec), KNOBS)), {
      seed: 4096,
      numRuns: 500,
    });
    console.log(
      `find_race: ${rec.schedules.size} distinct schedules, ${rec.deviations} deviations from FIFO`,
    );
    expect(rec.schedules.size).toBeGreaterThan(475);
    expect(rec.deviations).toBeGreaterThan(10_000);
  });

  for (const before of [false, true]) {
    it(`test_race_signal_callback (signal ${before ? "before" : "after"} add): an added callback runs exactly once on every interleaving`, async () => {
      const rec = recorder();
      const stats = { miss: 0, added: 0 };
      await fc.assert(
        fc.asyncProperty(SEEDS, exploredProperty(raceSignalCallback(before, rec, stats), KNOBS)),
        {
          seed: before ? 1 : 2,
          numRuns: 2000,
        },
      );
      console.log(
        `race_signal_callback(${before ? "before" : "after"}): ${rec.schedules.size} distinct schedules, ${rec.deviations} deviations`,
      );
      expect(rec.schedules.size).toBeGreaterThan(1900);
      // Both outcomes of the race happen across the explored schedules.
      expect(stats.added).toBeGreaterThan(0);
      expect(stats.miss).toBeGreaterThan(0);
    });
  }
});
