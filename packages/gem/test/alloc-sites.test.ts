/**
 * GEM's allocation sites: the object (`drm_gem_object_init`) and each handle's idr slot
 * (`idr_alloc` in `drm_gem_handle_create_tail`). Charged while they live, given back when they go,
 * and an injected failure is a clean ENOMEM.
 */
import { isKernelError, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import { DRM_GEM_OBJECT_BYTES, DrmGemHandleTable, DrmGemNameTable, DrmGemObject } from "../src/index.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("drm_gem_object_init allocation", () => {
  it("an object is charged until its last reference goes", () => {
    const sim = new Simulator();
    const start = sim.mm.used;
    const obj = new DrmGemObject(sim, 4096);
    expect(sim.mm.used).toBe(start + DRM_GEM_OBJECT_BYTES);
    obj.put();
    expect(sim.mm.used).toBe(start);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENOMEM creates no object (nothing to leak at teardown)", () => {
    const sim = new Simulator();
    sim.mm.failWhen(({ site }) => site === "drm_gem_object_init");
    expect(codeOf(() => new DrmGemObject(sim, 4096))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("GEM handle idr allocation", () => {
  it("each handle is charged until it is deleted or the file closes", () => {
    const sim = new Simulator();
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096);
    const used = sim.mm.used;
    const h1 = t.handleCreate(obj);
    const h2 = t.handleCreate(obj);
    expect(sim.mm.used).toBeGreaterThan(used);
    expect(sim.mm.sites.get("idr_alloc")).toBe(2);
    t.handleDelete(h1);
    t.changeHandle(h2, 7);
    t.release();
    expect(sim.mm.used).toBe(used);
    obj.put();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("ENOMEM installs no handle and drops the handle count it took", () => {
    const sim = new Simulator();
    let opened = 0;
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096, { funcs: { open: () => void opened++ } });
    const used = sim.mm.used;
    sim.mm.failWhen(({ site }) => site === "idr_alloc");
    expect(codeOf(() => t.handleCreate(obj))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(t.count).toBe(0);
    expect(obj.handleCount).toBe(0);
    expect(obj.refcount).toBe(1);
    expect(opened).toBe(0);
    expect(sim.mm.used).toBe(used);
    // changeHandle's new slot fails the same way and leaves the old handle in place.
    const h = t.handleCreate(obj);
    sim.mm.failWhen(({ site }) => site === "idr_alloc");
    expect(codeOf(() => t.changeHandle(h, 9))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(t.peek(h)).toBe(obj);
    expect(t.peek(9)).toBe(undefined);
    t.release();
    obj.put();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("flink name idr allocation", () => {
  it("a name is charged until the last handle goes; ENOMEM leaves the object unnamed", () => {
    const sim = new Simulator();
    const names = new DrmGemNameTable();
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096);
    const h = t.handleCreate(obj);
    const used = sim.mm.used;
    sim.mm.failWhen(({ site }) => site === "idr_alloc");
    expect(codeOf(() => names.flink(obj))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(obj.name).toBe(0);
    expect(names.count).toBe(0);
    expect(sim.mm.used).toBe(used);
    const name = names.flink(obj);
    expect(name).toBe(1);
    expect(sim.mm.used).toBeGreaterThan(used);
    t.handleDelete(h);
    expect(names.count).toBe(0);
    obj.put();
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});
