import { describe, expect, it } from "vitest";
import { hwBehaviourLayered } from "../src/index.js";

describe("hwBehaviourLayered", () => {
  it("takes each member from the topmost layer that defines it; an undefined member keeps the one below", () => {
    const defaults = { durationNs: 1000, hang: false, fault: 0 };
    const r = hwBehaviourLayered(defaults, { durationNs: 50, fault: undefined }, undefined, { hang: true });
    expect(r).toEqual({ durationNs: 50, hang: true, fault: 0 });
    // The defaults are not changed.
    expect(defaults).toEqual({ durationNs: 1000, hang: false, fault: 0 });
  });
});
