import { describe, expect, it } from "vitest";
import { normalizeSeed, Prng } from "../src/index.js";

describe("Prng (xoshiro128**)", () => {
  it("gives the same sequence for the same seed, a different one for another", () => {
    const a = new Prng(12345);
    const b = new Prng(12345);
    const c = new Prng(12346);
    const sa = Array.from({ length: 32 }, () => a.nextU32());
    expect(Array.from({ length: 32 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 32 }, () => c.nextU32())).not.toEqual(sa);
    for (const x of sa) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it("is pinned: seed 0 produces the same numbers on every platform and version", () => {
    // If this changes, every recorded trace and seed-reproduced bug changes with it.
    const p = new Prng(0);
    const first = [p.nextU32(), p.nextU32(), p.nextU32()];
    const q = new Prng(0);
    expect([q.nextU32(), q.nextU32(), q.nextU32()]).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it("next() is in [0, 1)", () => {
    const p = new Prng(1);
    for (let i = 0; i < 10_000; i++) {
      const x = p.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it("int(min, max) is inclusive on both ends and stays in bounds", () => {
    const p = new Prng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = p.int(-2, 2);
      expect(Number.isInteger(x) && x >= -2 && x <= 2).toBe(true);
      seen.add(x);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2]);
    expect(p.int(7, 7)).toBe(7);
  });

  it("int throws RangeError when max < min (or NaN)", () => {
    const p = new Prng(3);
    expect(() => p.int(5, 4)).toThrow(RangeError);
    expect(() => p.int(0, Number.NaN)).toThrow(RangeError);
  });

  it("shuffle returns the same array, permuted, deterministically", () => {
    const input = Array.from({ length: 50 }, (_, i) => i);
    const arr = [...input];
    const out = new Prng(9).shuffle(arr);
    expect(out).toBe(arr);
    expect([...out].sort((x, y) => x - y)).toEqual(input);
    expect(out).not.toEqual(input);
    expect(new Prng(9).shuffle([...input])).toEqual(out);
    expect(new Prng(9).shuffle([])).toEqual([]);
  });

  it("pick, chance and fork", () => {
    const p = new Prng(5);
    const items = ["a", "b", "c"];
    for (let i = 0; i < 100; i++) expect(items).toContain(p.pick(items));
    expect(() => p.pick([])).toThrow(RangeError);
    expect(p.chance(0)).toBe(false);
    expect(p.chance(1)).toBe(true);
    const f1 = new Prng(5).fork();
    const f2 = new Prng(5).fork();
    expect(f1.nextU32()).toBe(f2.nextU32());
  });

  it("normalizeSeed: strings hash with FNV-1a (stable), numbers fold to 32 bits", () => {
    expect(normalizeSeed("")).toBe(0x811c9dc5);
    expect(normalizeSeed("abc")).toBe(0x1a47e90b);
    expect(normalizeSeed("abc")).toBe(normalizeSeed("abc"));
    expect(normalizeSeed("abd")).not.toBe(normalizeSeed("abc"));
    expect(normalizeSeed(42)).toBe(42);
    expect(normalizeSeed(2 ** 32 + 5)).toBe(5 ^ 1);
    // Always an unsigned 32-bit value, also for negative seeds and seeds of 2^31 and more.
    for (const seed of [-1, 3_000_000_000, 2 ** 31, -(2 ** 40) - 3]) {
      const n = normalizeSeed(seed);
      expect(Number.isInteger(n) && n >= 0 && n < 2 ** 32).toBe(true);
      expect(normalizeSeed(n)).toBe(n); // idempotent: the reported seed reproduces the run
    }
    expect(normalizeSeed(3_000_000_000)).toBe(3_000_000_000);
    expect(() => normalizeSeed(Number.NaN)).toThrow(RangeError);
    expect(() => normalizeSeed(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});
