import { describe, expect, it } from "vitest";
import { Kref, RefCounted, type RefHost, Simulator, ValidatorError } from "../src/index.js";

class Buffer extends RefCounted {
  released = 0;
  constructor(
    host: RefHost,
    readonly id: number,
  ) {
    super(host);
  }
  describe(): string {
    return `gem_object #${this.id}`;
  }
  protected release(): void {
    this.released++;
  }
}

describe("RefCounted / Kref (struct kref)", () => {
  it("starts at 1 and releases exactly once, at the last put", () => {
    const sim = new Simulator({ validator: "collect" });
    let released = 0;
    const k = new Kref(sim, "dma_fence test#1", () => released++);
    expect(k.refcount).toBe(1);
    expect(k.get()).toBe(k);
    expect(k.refcount).toBe(2);
    expect(k.put()).toBe(false);
    expect(released).toBe(0);
    expect(k.put()).toBe(true);
    expect(released).toBe(1);
    expect(k.refcount).toBe(0);
    expect(sim.liveRefs.size).toBe(0);
  });

  it("a put after release is a use-after-free finding and changes nothing else", () => {
    const sim = new Simulator({ validator: "collect" });
    const b = new Buffer(sim, 7);
    b.put();
    expect(b.put()).toBe(false);
    expect(b.released).toBe(1);
    expect(b.refcount).toBe(0);
    const [f] = sim.validator.findingsOf("use-after-free");
    expect(f?.title).toBe("put on gem_object #7 after its last reference was dropped");
    expect(sim.validator.findings).toHaveLength(1);
    b.get();
    b.assertLive("gem_mmap");
    expect(b.refcount).toBe(0);
    expect(sim.validator.findings.map((x) => x.title)).toEqual([
      "put on gem_object #7 after its last reference was dropped",
      "get on gem_object #7 after its last reference was dropped",
      "gem_mmap on gem_object #7 after its last reference was dropped",
    ]);
  });

  it("throws the use-after-free in throw mode", () => {
    const sim = new Simulator();
    const b = new Buffer(sim, 1);
    b.put();
    expect(() => b.put()).toThrow(ValidatorError);
    expect(b.released).toBe(1);
  });

  it("getUnlessZero takes a reference only on a live object", () => {
    const sim = new Simulator({ validator: "collect" });
    const b = new Buffer(sim, 1);
    expect(b.getUnlessZero()).toBe(true);
    expect(b.refcount).toBe(2);
    b.put();
    b.put();
    expect(b.getUnlessZero()).toBe(false);
    expect(b.refcount).toBe(0);
    expect(sim.validator.findings).toEqual([]); // a failed get_unless_zero is not a bug
  });

  it("teardown reports live objects as one leak finding, grouped by type", () => {
    const sim = new Simulator({ validator: "collect" });
    const fences = [1, 2, 3].map((i) => new Kref(sim, `dma_fence ring#${i}`));
    new Buffer(sim, 9).get();
    const freed = new Buffer(sim, 10);
    freed.put();
    fences[2]!.put();
    const { findings } = sim.teardown();
    expect(findings.map((f) => f.kind)).toEqual(["leak"]);
    const leak = findings[0]!;
    expect(leak.title).toBe("3 objects still referenced at teardown");
    expect(leak.details).toEqual([
      "2 × dma_fence:",
      "    dma_fence ring#1 (refcount 1)",
      "    dma_fence ring#2 (refcount 1)",
      "1 × gem_object:",
      "    gem_object #9 (refcount 2)",
    ]);
  });

  it("teardown throws the leak in throw mode, and is clean when everything was put", () => {
    const sim = new Simulator();
    const k = new Kref(sim, "x");
    expect(() => sim.teardown()).toThrow(/1 object still referenced at teardown/);
    k.put();
    const clean = new Simulator();
    new Kref(clean, "y").put();
    expect(clean.teardown().findings).toEqual([]);
  });

  it("tracks nothing in validator 'off' mode", () => {
    const sim = new Simulator({ validator: "off" });
    const b = new Buffer(sim, 1);
    expect(sim.liveRefs.size).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
    b.put();
    expect(b.put()).toBe(false); // no report, no crash
    expect(b.released).toBe(1);
    expect(sim.validator.findings).toEqual([]);
  });
});
