import { describe, expect, it } from "vitest";
import { Kref, Simulator } from "../src/index.js";

const names = (sim: Simulator): string[] => [...sim.liveRefs].map((k) => k.describe());

describe("LiveRefs (the live-object registry behind leak reports)", () => {
  it("shows exactly the objects still referenced, oldest first, across many releases", () => {
    const sim = new Simulator({ validator: "collect" });
    const all: Kref[] = [];
    // Enough releases to compact the registry several times.
    for (let i = 0; i < 3000; i++) all.push(new Kref(sim, `obj#${i}`));
    for (let i = 0; i < 3000; i++) if (i % 3 !== 0) all[i]!.put();
    const expected = all.filter((_, i) => i % 3 === 0).map((k) => k.describe());
    expect(names(sim)).toEqual(expected);
    expect(sim.liveRefs.size).toBe(1000);
    expect(sim.liveRefs.has(all[0]!)).toBe(true);
    expect(sim.liveRefs.has(all[1]!)).toBe(false);
    // An object created after the compactions goes after the survivors.
    const late = new Kref(sim, "late");
    expect(names(sim).at(-1)).toBe("late");
    for (const k of all) if (k.refcount > 0) k.put();
    expect(names(sim)).toEqual(["late"]);
    late.put();
    expect(sim.liveRefs.size).toBe(0);
  });

  it("delete() stops tracking a live object: no leak reported for it, and releasing it later changes nothing", () => {
    const sim = new Simulator({ validator: "collect" });
    const forever = new Kref(sim, "stub");
    const leaked = new Kref(sim, "leaked");
    expect(sim.liveRefs.delete(forever)).toBe(true);
    expect(sim.liveRefs.delete(forever)).toBe(false);
    expect(sim.liveRefs.has(forever)).toBe(false);
    expect(names(sim)).toEqual(["leaked"]);
    forever.put();
    expect(sim.liveRefs.delete(forever)).toBe(false);
    expect(names(sim)).toEqual(["leaked"]);
    sim.teardown();
    const [leak] = sim.validator.findingsOf("leak");
    expect(leak?.title).toBe("1 object still referenced at teardown");
    expect(leak?.details).toEqual(["1 × leaked:", "    leaked (refcount 1)"]);
    expect(leaked.refcount).toBe(1);
  });

  it("reuses the registry's slots after delete() and compactions, keeping creation order", () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new Kref(sim, "a");
    const b = new Kref(sim, "b");
    const c = new Kref(sim, "c");
    expect(sim.liveRefs.delete(b)).toBe(true);
    const d = new Kref(sim, "d");
    expect(names(sim)).toEqual(["a", "c", "d"]);
    // Churn through several compactions while a, c and d stay live.
    for (let round = 0; round < 4; round++) {
      const batch = Array.from({ length: 600 }, (_, i) => new Kref(sim, `tmp${round}.${i}`));
      for (const k of batch) k.put();
    }
    const e = new Kref(sim, "e");
    expect(names(sim)).toEqual(["a", "c", "d", "e"]);
    expect(sim.liveRefs.has(d)).toBe(true);
    for (const k of [a, c, d, e]) k.put();
    expect(sim.liveRefs.size).toBe(0);
    b.put();
  });

  it("tracks nothing with the validator off", () => {
    const sim = new Simulator({ validator: "off" });
    const k = new Kref(sim, "untracked");
    expect(sim.liveRefs.size).toBe(0);
    expect(sim.liveRefs.has(k)).toBe(false);
    k.put();
    expect(sim.liveRefs.size).toBe(0);
  });
});
