import { describe, expect, it } from "vitest";
import { Simulator, subsystemMemo } from "../src/index.js";

describe("subsystemMemo (per-simulator state behind a per-call memo)", () => {
  it("answers each simulator with its own state, created once, shared with sim.subsystem(key)", () => {
    const KEY = {};
    let inits = 0;
    const stateOf = subsystemMemo(KEY, (sim) => ({ sim, n: ++inits }));
    const a = new Simulator({ validator: "off" });
    const b = new Simulator({ validator: "off" });
    const sa = stateOf(a);
    // Alternating between simulators never mixes their states up or re-creates one.
    for (let i = 0; i < 5; i++) {
      expect(stateOf(b).sim).toBe(b);
      expect(stateOf(a)).toBe(sa);
    }
    expect(inits).toBe(2);
    expect(a.subsystem(KEY, () => ({ sim: a, n: -1 }))).toBe(sa);
  });

  it("finds state another caller created through sim.subsystem(key) first", () => {
    const KEY = {};
    const sim = new Simulator({ validator: "off" });
    const existing = { from: "subsystem" };
    sim.subsystem(KEY, () => existing);
    const stateOf = subsystemMemo(KEY, () => ({ from: "memo" }));
    expect(stateOf(sim)).toBe(existing);
  });

  it("keeps two memos of one simulator apart", () => {
    const first = subsystemMemo({}, () => "first");
    const second = subsystemMemo({}, () => "second");
    const sim = new Simulator({ validator: "off" });
    expect([first(sim), second(sim), first(sim)]).toEqual(["first", "second", "first"]);
  });

  it("a slot another copy of the module wrote (same slot number, another key) is not read as its own", () => {
    const KEY = {};
    const stateOf = subsystemMemo(KEY, () => ({ mine: true }));
    const sim = new Simulator({ validator: "off" });
    const own = stateOf(sim);
    const slot = sim.memoKeys.indexOf(KEY);
    expect(slot).toBeGreaterThanOrEqual(0);
    // What a second installed copy's memo numbered alike would leave in this simulator's slot.
    sim.memoKeys[slot] = {};
    sim.memoSlots[slot] = { mine: false };
    expect(stateOf(sim)).toBe(own);
  });
});
