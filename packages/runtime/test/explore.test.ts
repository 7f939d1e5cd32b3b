/**
 * Schedule exploration: the perturbation knobs, decision recording and exact replay, shrinking,
 * replay tokens, shards, and the exploration loop on a planted tie-order race.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Decision,
  decodeReplayToken,
  ExplorationFailure,
  type ExploreTarget,
  encodeReplayToken,
  explore,
  exploredProperty,
  exploreOutcome,
  findingSignature,
  GFP_KERNEL,
  HardwareEngine,
  KernelError,
  type PerturbOptions,
  parseShard,
  Simulator,
  shardSeed,
  shrinkDecisions,
  WaitQueue,
} from "../src/index.js";

/** Ten timers, five of them due at the same time: returns the order they ran in. */
async function tieOrder(perturb?: PerturbOptions): Promise<{ order: number[]; sim: Simulator }> {
  const sim = new Simulator(perturb === undefined ? {} : { perturb });
  const order: number[] = [];
  for (let i = 0; i < 10; i++) sim.at(i < 5 ? 100 : 100 + i, () => void order.push(i));
  await sim.run();
  return { order, sim };
}

describe("perturbation knobs", () => {
  it("off (no option, or an empty one) is the plain FIFO schedule with no decisions", async () => {
    const plain = await tieOrder();
    const empty = await tieOrder({});
    const replayNothing = await tieOrder({ decisions: [] });
    expect(plain.order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(empty.order).toEqual(plain.order);
    expect(replayNothing.order).toEqual(plain.order);
    expect(plain.sim.perturber).toBeNull();
    expect(plain.sim.decisions).toEqual([]);
    expect(empty.sim.decisions).toEqual([]);
  });

  it("tieBreak reorders events due at the same time (only those), records it, and replays it exactly", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const run = await tieOrder({ seed, tieBreak: true });
      // Events at distinct later times keep their order.
      expect(run.order.slice(5)).toEqual([5, 6, 7, 8, 9]);
      expect([...run.order.slice(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
      seen.add(run.order.join(","));
      const isFifo = run.order.join(",") === "0,1,2,3,4,5,6,7,8,9";
      expect(run.sim.decisions.length === 0).toBe(isFifo);
      for (const d of run.sim.decisions) expect(d[0]).toBe("t");
      const replay = await tieOrder({ decisions: run.sim.decisions });
      expect(replay.order).toEqual(run.order);
      expect(replay.sim.decisions).toEqual(run.sim.decisions);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it("the same perturbation seed gives the same schedule; the simulator's own random stream is untouched", async () => {
    const a = await tieOrder({ seed: 99, tieBreak: true });
    const b = await tieOrder({ seed: 99, tieBreak: true });
    expect(a.order).toEqual(b.order);
    const plain = new Simulator({ seed: 5 });
    const perturbed = new Simulator({ seed: 5, perturb: { seed: 3, tieBreak: true, hwJitter: 0.5 } });
    expect(perturbed.random.nextU32()).toBe(plain.random.nextU32());
  });

  it("hwJitter stretches command execution times and irqJitterNs delays completion interrupts, both replayable", async () => {
    const run = async (perturb?: PerturbOptions) => {
      const sim = new Simulator(perturb === undefined ? {} : { perturb });
      const gfx = new HardwareEngine(sim, "gfx");
      const done: number[] = [];
      for (let i = 0; i < 8; i++) gfx.submit({ durationNs: 1000, onComplete: () => void done.push(sim.now) });
      await sim.run();
      return { done, decisions: sim.decisions };
    };
    const plain = await run();
    expect(plain.done).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]);
    const jittered = await run({ seed: 4, hwJitter: 0.5 });
    expect(jittered.decisions.length).toBeGreaterThan(0);
    for (const d of jittered.decisions) {
      expect(d[0]).toBe("h");
      expect(d[2]).toBeGreaterThan(0);
      expect(d[2]).toBeLessThan(500);
    }
    const extra = jittered.decisions.reduce((s, d) => s + (d[2] as number), 0);
    expect(jittered.done.at(-1)).toBe(8000 + extra);
    expect((await run({ decisions: jittered.decisions })).done).toEqual(jittered.done);

    const late = await run({ seed: 4, irqJitterNs: 300 });
    expect(late.decisions.every((d) => d[0] === "i")).toBe(true);
    expect(late.decisions.length).toBeGreaterThan(0);
    const firstIrq = late.decisions.find((d) => d[1] === 0);
    expect(late.done[0]).toBe(1000 + ((firstIrq?.[2] as number | undefined) ?? 0));
    expect((await run({ decisions: late.decisions })).done).toEqual(late.done);
  });

  it("wakeOrder changes which woken sleeper runs first", async () => {
    const run = async (perturb?: PerturbOptions) => {
      const sim = new Simulator(perturb === undefined ? {} : { perturb });
      const wq = new WaitQueue(sim, "wq");
      let go = false;
      const order: string[] = [];
      for (const name of ["a", "b", "c", "d"])
        sim.spawn(name, async () => {
          await wq.waitEvent(() => go);
          order.push(name);
        });
      sim.schedule(10, () => {
        go = true;
        wq.wakeUpAll();
      });
      await sim.run();
      return { order, decisions: sim.decisions };
    };
    expect((await run()).order).toEqual(["a", "b", "c", "d"]);
    const orders = new Set<string>();
    for (let seed = 1; seed <= 10; seed++) {
      const r = await run({ seed, wakeOrder: true });
      orders.add(r.order.join(""));
      expect((await run({ decisions: r.decisions })).order).toEqual(r.order);
    }
    expect(orders.size).toBeGreaterThan(2);
  });

  it("allocFailures fail the nth attempt at a site, and hangs stop the nth command on an engine", async () => {
    const sim = new Simulator({ perturb: { allocFailures: [{ site: "mydrv_job", nth: 2 }] } });
    sim.mm.kmalloc(64, GFP_KERNEL, "other").free();
    sim.mm.kmalloc(64, GFP_KERNEL, "mydrv_job").free();
    expect(() => sim.mm.kmalloc(64, GFP_KERNEL, "mydrv_job")).toThrow(/injected fault/);
    sim.mm.kmalloc(64, GFP_KERNEL, "mydrv_job").free();
    expect(sim.decisions).toEqual([["a", "mydrv_job", 2]]);

    const hw = new Simulator({ perturb: { hangs: [{ engine: "gfx", nth: 2 }] } });
    const gfx = new HardwareEngine(hw, "gfx");
    const done: string[] = [];
    for (const l of ["j1", "j2", "j3"])
      gfx.submit({ durationNs: 10, label: l, onComplete: (s) => void done.push(`${l}:${s}`) });
    await hw.run();
    expect(done).toEqual(["j1:0"]);
    expect(gfx.busy).toBe(1);
    gfx.reset();
    await hw.run();
    expect(done).toEqual(["j1:0", "j2:-5", "j3:0"]);
    expect(hw.decisions).toEqual([["g", "gfx", 2]]);
  });

  it("rejects nonsense knobs with EINVAL", () => {
    expect(() => new Simulator({ perturb: { hwJitter: -1 } })).toThrow(KernelError);
    expect(() => new Simulator({ perturb: { irqJitterNs: Number.NaN } })).toThrow(/irqJitterNs/);
    expect(() => new Simulator({ perturb: { hangs: [{ engine: "gfx", nth: 0 }] } })).toThrow(/nth >= 1/);
  });
});

describe("shrinking, tokens, shards", () => {
  it("ddmin finds the one or two decisions that matter among many", async () => {
    const all: Decision[] = [];
    for (let i = 0; i < 200; i++) all.push(["t", i, 1]);
    const needs = (ds: Decision[], ns: number[]) => ns.every((n) => ds.some((d) => d[1] === n));
    const one = await shrinkDecisions(all, (ds) => needs(ds, [137]));
    expect(one.decisions).toEqual([["t", 137, 1]]);
    const two = await shrinkDecisions(all, (ds) => needs(ds, [3, 190]));
    expect(two.decisions).toEqual([
      ["t", 3, 1],
      ["t", 190, 1],
    ]);
    expect(two.runs).toBeLessThan(100);
    expect((await shrinkDecisions(all, () => true)).decisions).toEqual([]);
  });

  it("a replay token round-trips and refuses garbage", () => {
    const spec = {
      scenario: "demo",
      seed: 7,
      decisions: [
        ["t", 3, 1],
        ["w", 0, [1, 0]],
      ] as Decision[],
    };
    const token = encodeReplayToken(spec);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeReplayToken(token)).toEqual(spec);
    expect(decodeReplayToken(encodeReplayToken({ ...spec, durationNs: 5 })).durationNs).toBe(5);
    expect(() => decodeReplayToken("not-a-token")).toThrow(KernelError);
    expect(() =>
      decodeReplayToken(Buffer.from('{"v":1,"s":"x","seed":1,"d":[["z"]]}').toString("base64url")),
    ).toThrow(/malformed/);
  });

  it("shards split the seed space without overlap", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
    expect(() => parseShard("5/4")).toThrow(KernelError);
    expect(() => parseShard("x")).toThrow(/i\/n/);
    const seeds = new Set<number>();
    for (let i = 1; i <= 4; i++)
      for (let j = 0; j < 50; j++) seeds.add(shardSeed(10, { index: i, count: 4 }, j));
    expect(seeds.size).toBe(200);
    expect(Math.min(...seeds)).toBe(10);
    expect(Math.max(...seeds)).toBe(209);
  });
});

/**
 * A planted tie-order race on the runtime alone: two completion "interrupts" at the same virtual
 * time; the first one handled hands a slot to a waiter that must be the job of the first engine.
 * In FIFO order gfx's interrupt runs first and all is well; if the copy engine's runs first the
 * waiter sleeps forever (a deadlock at quiescence).
 */
const tieRace: ExploreTarget = async (perturb) => {
  const sim = new Simulator({ validator: "collect", perturb });
  const gfx = new HardwareEngine(sim, "gfx");
  const copy = new HardwareEngine(sim, "copy");
  const wq = new WaitQueue(sim, "slot_wq");
  let owner: string | null = null;
  const irq = (name: string) => () => {
    // The bug: whoever completes first takes the slot, and only gfx's completion wakes the waiter.
    owner ??= name;
    if (name === "gfx") wq.wakeUpAll();
  };
  gfx.submit({ durationNs: 1000, onComplete: irq("gfx") });
  copy.submit({ durationNs: 1000, onComplete: irq("copy") });
  sim.spawn("waiter", () => sim.withFrame("mydrv_wait_slot", () => wq.waitEvent(() => owner === "gfx")));
  await sim.run();
  sim.teardown();
  return exploreOutcome(sim);
};

describe("explore", () => {
  it("misses the planted race in the plain run, finds it, shrinks it to one decision, and replays it", async () => {
    expect((await tieRace({})).findings).toEqual([]);
    const report = await explore(tieRace, { runs: 50 });
    expect(report.failingRuns).toBeGreaterThan(0);
    expect(report.failingRuns).toBeLessThan(50);
    expect(report.distinct.size).toBe(1);
    const [sig] = [...report.distinct.keys()];
    expect(sig).toMatch(/^deadlock @ /);
    const f = report.failures[0]!;
    expect(f.decisions).toHaveLength(1);
    // Either the tie went the other way, or jitter made gfx's interrupt come later.
    expect(["t", "h", "i"]).toContain(f.decisions[0]![0]);
    const replay = await tieRace({ decisions: f.decisions });
    expect(replay.findings.map((x) => findingSignature(x))).toEqual([sig]);
    expect(replay.findings[0]!.kind).toBe("deadlock");
  });

  it("stopOnFirst stops at the first failing run; without shrinking the full decision list is kept", async () => {
    const report = await explore(tieRace, { runs: 100, stopOnFirst: true, shrink: false });
    expect(report.failingRuns).toBe(1);
    expect(report.runs).toBeLessThan(100);
    expect(report.failures[0]!.decisions).toEqual(report.failures[0]!.originalDecisions);
  });

  it("fast-check over the same seeds finds the same race, with the decisions that replay it", async () => {
    let failure: unknown;
    try {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), exploredProperty(tieRace)), {
        seed: 42,
        numRuns: 200,
        endOnFailure: true,
      });
    } catch (e) {
      failure = (e as { cause?: unknown }).cause ?? e;
    }
    expect(failure).toBeInstanceOf(ExplorationFailure);
    const ef = failure as ExplorationFailure;
    expect(ef.signatures[0]).toMatch(/^deadlock/);
    // The failing seed fails the same way as an exploration run of that seed, and its decisions replay it.
    expect((await tieRace({ decisions: ef.decisions })).findings[0]!.kind).toBe("deadlock");
    const direct = await explore(tieRace, { runs: 1, firstSeed: ef.seed, shrink: false });
    expect(direct.failingRuns).toBe(1);
  });
});

describe("many simulators in one process (what exploration does)", () => {
  // Whether the thousandth simulator runs as fast as the first is a figure of `pnpm bench`
  // (bench/many-simulators.bench.ts): no test decides on wall-clock time.
  it("a simulator run from inside another's task still sees its own contexts", async () => {
    const outer = new Simulator();
    let innerCurrent = "";
    let outerCurrent = "";
    await outer.exec("outer-task", async () => {
      const inner = new Simulator();
      innerCurrent = inner.current.label;
      await inner.exec("inner-task", () => {
        innerCurrent += ` ${inner.current.label}`;
      });
      outerCurrent = outer.current.label;
    });
    expect(innerCurrent).toMatch(/^process:main\/1 process:inner-task\/\d+$/);
    expect(outerCurrent).toMatch(/^process:outer-task\/\d+$/);
  });
});
