/** Sparse backing storage and placements. */
import { Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { BackingStore, devicePlacement, PAGE_SIZE, systemPlacement } from "../src/index.js";
import { GiB } from "./fixtures.js";

describe("BackingStore", () => {
  it("is sparse: untouched pages read as zeros and cost nothing", () => {
    const store = new BackingStore(4 * GiB, devicePlacement(0x40_0000_0000, 4 * GiB));
    expect(store.residentBytes).toBe(0);
    expect(store.read(3 * GiB, 16)).toEqual(new Uint8Array(16));
    store.write(3 * GiB + PAGE_SIZE - 2, new Uint8Array([1, 2, 3, 4]));
    expect(store.residentBytes).toBe(2 * PAGE_SIZE);
    expect([...store.read(3 * GiB + PAGE_SIZE - 3, 6)]).toEqual([0, 1, 2, 3, 4, 0]);
  });

  it("move changes the placement and keeps every byte", () => {
    const sim = new Simulator();
    const size = 64 * PAGE_SIZE;
    const store = new BackingStore(size, devicePlacement(0x1000_0000, size));
    const bytes = new Uint8Array(3 * PAGE_SIZE).map((_, i) => (i * 7) & 0xff);
    store.write(5 * PAGE_SIZE + 11, bytes);
    const sys = systemPlacement(sim, size);
    store.move(sys);
    expect(store.placement).toBe(sys);
    expect(store.generation).toBe(1);
    expect(store.read(5 * PAGE_SIZE + 11, bytes.length)).toEqual(bytes);
  });

  it("system placements are runs with holes between them (never contiguous)", () => {
    const sim = new Simulator();
    const p = systemPlacement(sim, 10 * PAGE_SIZE, { maxRun: 4 * PAGE_SIZE });
    expect(p.runs.map((r) => r.length)).toEqual([4 * PAGE_SIZE, 4 * PAGE_SIZE, 2 * PAGE_SIZE]);
    for (let i = 1; i < p.runs.length; i++)
      expect(p.runs[i]!.address).toBeGreaterThan(p.runs[i - 1]!.address + p.runs[i - 1]!.length);
  });

  it("out-of-range access and bad placements are EINVAL and change nothing", () => {
    const store = new BackingStore(2 * PAGE_SIZE, devicePlacement(0, 2 * PAGE_SIZE));
    expect(() => store.read(PAGE_SIZE, 2 * PAGE_SIZE)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => store.write(-1, new Uint8Array(1))).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => store.move(devicePlacement(0, PAGE_SIZE))).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(store.generation).toBe(0);
    expect(store.residentBytes).toBe(0);
    expect(() => new BackingStore(100, devicePlacement(0, PAGE_SIZE))).toThrow(/multiple/);
  });
});
