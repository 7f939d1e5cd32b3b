/**
 * Forward-progress verdicts (`progress.ts`): the walk over explainers, roots, loops, fallbacks,
 * and the deadlock report that names its roots.
 */
import { describe, expect, it } from "vitest";
import {
  Completion,
  explainProgress,
  Mutex,
  type ProgressRoot,
  registerProgressExplainer,
  Simulator,
  ValidatorError,
  Work,
  WorkQueue,
} from "../src/index.js";

const ROOT: ProgressRoot = { kind: "deadlock", title: "the thing nobody moves", explanation: "because." };

/** A plain object with a name, explained by the test's explainer. */
class Thing {
  constructor(
    readonly name: string,
    public next: object | null = null,
    public root = false,
  ) {}
}

function withThings(sim: Simulator): void {
  registerProgressExplainer(sim, (obj) => {
    if (!(obj instanceof Thing)) return undefined;
    if (obj.root) return { what: `${obj.name} is stuck for good`, root: ROOT };
    return { what: `${obj.name} waits`, next: obj.next === null ? [] : [obj.next] };
  });
}

describe("explainProgress", () => {
  it("follows next objects to a root, one line per step", () => {
    const sim = new Simulator();
    withThings(sim);
    const c = new Thing("c", null, true);
    const chain = explainProgress(sim, new Thing("a", new Thing("b", c)));
    expect(chain).toEqual({ steps: ["a waits", "b waits", "c is stuck for good"], root: ROOT });
  });

  it("ends without a root where nobody knows the next object", () => {
    const sim = new Simulator();
    withThings(sim);
    expect(explainProgress(sim, new Thing("a", { unknown: true }))).toEqual({
      steps: ["a waits"],
      root: null,
    });
    expect(explainProgress(sim, { unknown: true })).toEqual({ steps: [], root: null });
  });

  it("a fallback explainer is asked only when no other knows the object, and isKnown says which", () => {
    const sim = new Simulator();
    withThings(sim);
    let known: boolean | null = null;
    registerProgressExplainer(
      sim,
      (obj, walk) => {
        known = walk.isKnown(obj);
        return { what: "fallback", root: ROOT };
      },
      { fallback: true },
    );
    expect(explainProgress(sim, new Thing("a", null, true)).steps).toEqual(["a is stuck for good"]);
    expect(known).toBeNull();
    expect(explainProgress(sim, { other: 1 }).steps).toEqual(["fallback"]);
    expect(known).toBe(false);
  });

  it("an explainer that throws explains nothing", () => {
    const sim = new Simulator();
    registerProgressExplainer(sim, () => {
      throw new Error("bug in an explainer");
    });
    withThings(sim);
    expect(explainProgress(sim, new Thing("a", null, true)).root).toBe(ROOT);
  });

  it("a loop is named by the first step on it that knows what such a loop means", () => {
    const sim = new Simulator();
    const loop: ProgressRoot = {
      kind: "ordered-wq-self-wait",
      title: "loop",
      explanation: "round and round",
    };
    const a = new Thing("a");
    const b = new Thing("b", a);
    a.next = b;
    registerProgressExplainer(sim, (obj) =>
      obj === b ? { what: "b waits for a", next: [a], onCycle: loop } : undefined,
    );
    withThings(sim);
    expect(explainProgress(sim, a)).toEqual({
      steps: ["a waits", "b waits for a", "… back to: a waits"],
      root: loop,
    });
  });

  it("a sleeping context leads to what it sleeps on: a mutex owner", async () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&dev->lock");
    const never = new Completion(sim, "never");
    sim.spawn("owner", async () => {
      await m.lock();
      await never.wait();
    });
    const waiter = sim.spawn("waiter", async () => {
      await m.lock();
    });
    await sim.run();
    const chain = explainProgress(sim, waiter.context);
    expect(chain.steps[0]).toMatch(/^process:waiter\/\d+ sleeps on mutex &dev->lock$/);
    expect(chain.steps[1]).toMatch(/^process:owner\/\d+ sleeps on wait_queue /);
    expect(chain.root).toBeNull();
  });
});

describe("the deadlock verdict", () => {
  it("reports the deadlock, then each root once as its own finding, and throws the deadlock in throw mode", async () => {
    const sim = new Simulator();
    withThings(sim);
    const stuck = new Thing("the device", null, true);
    const q = new WorkQueue(sim, "wq", { ordered: true });
    // Two items wait on the same root: one root finding.
    for (const name of ["a", "b"])
      sim.spawn(
        name,
        () => sim.sleep({ kind: "thing", what: name, object: stuck }, { op: "wait_for_thing" }).promise,
      );
    let err: unknown;
    try {
      await sim.run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidatorError);
    const dl = (err as ValidatorError).finding;
    expect(dl.kind).toBe("deadlock");
    expect(dl.progress).toEqual([
      expect.stringMatching(/^process:a\/\d+ sleeps on thing a$/),
      "the device is stuck for good",
    ]);
    expect(dl.details).toEqual(["root cause [deadlock]: the thing nobody moves"]);
    expect(sim.validator.findings.map((f) => f.title)).toEqual([dl.title, "the thing nobody moves"]);
    expect(sim.validator.findings[1]!.repeats).toBe(1);
    expect(dl.toString()).toContain("what it waits for, back to the root cause:\n    process:a/");
    expect(q.isIdle).toBe(true);
  });

  it("a work item queued behind its own waiter on an ordered queue is a loop of kind ordered-wq-self-wait", async () => {
    const sim = new Simulator({ validator: "collect" });
    const q = new WorkQueue(sim, "ordered", { ordered: true });
    const second = new Work(() => {}, "second");
    const first = new Work(async () => {
      await sim.sleep({ kind: "work", what: "second", object: second }, { op: "wait_for_second" }).promise;
    }, "first");
    q.queueWork(first);
    q.queueWork(second);
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    const [root] = sim.validator.findingsOf("ordered-wq-self-wait");
    expect(root!.title).toBe(
      "work item second is queued on ordered workqueue ordered behind the item that waits for it (first)",
    );
    expect(root!.progress).toEqual([
      expect.stringMatching(/^worker:kworker\/ordered:0\/\d+ sleeps in first on work second$/),
      expect.stringMatching(
        /^work item second is queued on ordered workqueue ordered behind first, running on worker:kworker\/ordered:0\/\d+$/,
      ),
      expect.stringMatching(/^… back to: worker:kworker\/ordered:0/),
    ]);
  });
});
