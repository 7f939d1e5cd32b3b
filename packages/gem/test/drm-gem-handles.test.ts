import type { DmaBuf } from "@drmsim/dma-buf";
import { isKernelError, KernelError, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  type DrmGemFile,
  DrmGemHandleTable,
  DrmGemNameTable,
  DrmGemObject,
  DrmPrimeFilePrivate,
} from "../src/index.js";

function expectErr(fn: () => unknown, code: string) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isKernelError(err, code as KernelError["code"])).toBe(true);
}

/** A stand-in reference-counted buffer, as the PRIME cache holds dma-bufs. */
class FakeBuf {
  refs = 1;
  get() {
    this.refs++;
  }
  put() {
    this.refs--;
  }
}

describe("DrmGemObject", () => {
  it("size must be a positive multiple of the page size", () => {
    const sim = new Simulator();
    expectErr(() => new DrmGemObject(sim, 0), "EINVAL");
    expectErr(() => new DrmGemObject(sim, 4097), "EINVAL");
    expectErr(() => new DrmGemObject(sim, -4096), "EINVAL");
    const obj = new DrmGemObject(sim, 8192);
    expect(obj.size).toBe(8192);
    expect(obj.refcount).toBe(1);
    expect(obj.ownsResv).toBe(true);
    expect(obj.isImported).toBe(false);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("frees through funcs.free once the last reference goes", () => {
    const sim = new Simulator();
    const freed: DrmGemObject[] = [];
    const obj = new DrmGemObject(sim, 4096, { funcs: { free: (o) => freed.push(o) } });
    obj.get();
    obj.put();
    expect(freed).toEqual([]);
    obj.put();
    expect(freed).toEqual([obj]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a leaked object is reported at teardown", () => {
    const sim = new Simulator({ validator: "collect" });
    new DrmGemObject(sim, 4096, { label: "leaky" });
    const report = sim.teardown();
    expect(report.findings.map((f) => f.kind)).toContain("leak");
  });
});

describe("DrmGemHandleTable", () => {
  it("handles start at 1, reuse the lowest free number and hold one object reference", () => {
    const sim = new Simulator();
    const file: DrmGemFile = {};
    const t = new DrmGemHandleTable(sim, file);
    const a = new DrmGemObject(sim, 4096);
    const b = new DrmGemObject(sim, 4096);
    expect(t.handleCreate(a)).toBe(1);
    expect(t.handleCreate(b)).toBe(2);
    expect(t.handleCreate(a)).toBe(3);
    expect(a.handleCount).toBe(2);
    // handle_count is not the refcount: all handles together hold one reference.
    expect(a.refcount).toBe(2);
    a.put();
    b.put();
    t.handleDelete(1);
    expect(t.handleCreate(b)).toBe(1);
    expect(t.handlesOf(b)).toEqual([1, 2]);
    t.release();
    expect(t.count).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("lookup takes a reference; unknown handles are ENOENT, deleting unknown handles EINVAL", () => {
    const sim = new Simulator();
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096);
    const h = t.handleCreate(obj);
    obj.put();
    const found = t.lookup(h);
    expect(found).toBe(obj);
    expect(obj.refcount).toBe(2);
    found.put();
    expectErr(() => t.lookup(h + 1), "ENOENT");
    expectErr(() => t.lookup(0), "ENOENT");
    expectErr(() => t.handleDelete(h + 1), "EINVAL");
    expect(t.count).toBe(1);
    t.handleDelete(h);
    expectErr(() => t.handleDelete(h), "EINVAL");
    expect(sim.teardown().findings).toEqual([]);
  });

  it("funcs.open and funcs.close run per handle; a failing open leaves nothing behind", () => {
    const sim = new Simulator();
    const file = { name: "client" };
    const calls: string[] = [];
    let refuse = false;
    const obj = new DrmGemObject(sim, 4096, {
      funcs: {
        open: (_o, f) => {
          calls.push(`open ${(f as typeof file).name}`);
          if (refuse) throw new KernelError("ENOMEM", "driver per-file state allocation failed");
        },
        close: () => calls.push("close"),
      },
    });
    const t = new DrmGemHandleTable(sim, file);
    const h = t.handleCreate(obj);
    refuse = true;
    expectErr(() => t.handleCreate(obj), "ENOMEM");
    expect(t.count).toBe(1);
    expect(obj.handleCount).toBe(1);
    expect(obj.refcount).toBe(2);
    // The failed handle number is free again.
    refuse = false;
    expect(t.handleCreate(obj)).toBe(2);
    t.handleDelete(h);
    t.handleDelete(2);
    expect(calls).toEqual(["open client", "open client", "open client", "close", "close"]);
    expect(obj.handleCount).toBe(0);
    expect(obj.refcount).toBe(1);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the last handle of an object going also drops its flink name and cached dma-buf", () => {
    const sim = new Simulator();
    const names = new DrmGemNameTable();
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096);
    const h = t.handleCreate(obj);
    const name = names.flink(obj);
    const buf = new FakeBuf();
    obj.dmaBuf = buf as unknown as DmaBuf;
    t.handleDelete(h);
    expect(obj.name).toBe(0);
    expect(names.count).toBe(0);
    expect(obj.dmaBuf).toBe(null);
    expect(buf.refs).toBe(0);
    expect(names.peek(name)).toBe(undefined);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("changeHandle renumbers and moves the PRIME cache entry", () => {
    const sim = new Simulator();
    const t = new DrmGemHandleTable(sim, {});
    const obj = new DrmGemObject(sim, 4096);
    const h = t.handleCreate(obj);
    const other = t.handleCreate(obj);
    obj.put();
    const buf = new FakeBuf();
    t.prime.addBufHandle(buf, h);
    expect(buf.refs).toBe(2);
    expectErr(() => t.changeHandle(h, 0), "EINVAL");
    expectErr(() => t.changeHandle(h, 2 ** 31), "EINVAL");
    expectErr(() => t.changeHandle(99, 5), "ENOENT");
    expectErr(() => t.changeHandle(h, other), "ENOSPC");
    t.changeHandle(h, h); // no-op
    t.changeHandle(h, 10);
    expect(t.peek(h)).toBe(undefined);
    expect(t.peek(10)).toBe(obj);
    expect(t.prime.lookupBufHandle(buf)).toBe(10);
    expect(t.prime.lookupBufByHandle(h)).toBe(undefined);
    // The freed number 1 is the lowest free one again.
    const again = new DrmGemObject(sim, 4096);
    expect(t.handleCreate(again)).toBe(1);
    again.put();
    t.release();
    expect(buf.refs).toBe(1);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("release at file close deletes every handle and empties the PRIME cache; later creates are EBADF", () => {
    const sim = new Simulator();
    const closed: number[] = [];
    const t = new DrmGemHandleTable(sim, {});
    const objs = [0, 1, 2].map(
      (i) => new DrmGemObject(sim, 4096, { funcs: { close: () => closed.push(i) } }),
    );
    const bufs = objs.map(() => new FakeBuf());
    objs.forEach((o, i) => {
      const h = t.handleCreate(o);
      t.prime.addBufHandle(bufs[i]!, h);
      o.put();
    });
    t.release();
    expect(closed).toEqual([0, 1, 2]);
    expect(t.prime.size).toBe(0);
    expect(bufs.map((b) => b.refs)).toEqual([1, 1, 1]);
    t.release();
    const late = new DrmGemObject(sim, 4096);
    expectErr(() => t.handleCreate(late), "EBADF");
    late.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a handle put below zero is a validator finding and is refused", () => {
    const sim = new Simulator({ validator: "collect" });
    const obj = new DrmGemObject(sim, 4096);
    expectErr(() => obj.handlePut(), "EINVAL");
    expect(sim.validator.findingsOf("gem-handle-count-underflow")).toHaveLength(1);
    expect(obj.refcount).toBe(1);
    obj.put();

    const strict = new Simulator();
    const o2 = new DrmGemObject(strict, 4096);
    expect(() => o2.handlePut()).toThrow(ValidatorError);
  });
});

describe("DrmGemNameTable (FLINK / OPEN)", () => {
  it("names from 1, idempotent per object; OPEN gives a new handle and the size", () => {
    const sim = new Simulator();
    const names = new DrmGemNameTable();
    const t1 = new DrmGemHandleTable(sim, {});
    const t2 = new DrmGemHandleTable(sim, {});
    const a = new DrmGemObject(sim, 4096);
    const b = new DrmGemObject(sim, 3 * 4096);
    t1.handleCreate(a);
    t1.handleCreate(b);
    a.put();
    b.put();
    expect(names.flink(a)).toBe(1);
    expect(names.flink(a)).toBe(1);
    expect(names.flink(b)).toBe(2);
    const opened = names.open(2, t2);
    expect(opened).toEqual({ handle: 1, size: 3 * 4096 });
    expect(t2.peek(opened.handle)).toBe(b);
    expect(b.handleCount).toBe(2);
    expectErr(() => names.open(3, t2), "ENOENT");
    expectErr(() => names.open(0, t2), "ENOENT");
    // The name survives while any file still has a handle.
    t1.release();
    expect(b.name).toBe(2);
    expect(a.name).toBe(0);
    t2.release();
    expect(names.count).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an object with no handles cannot be named", () => {
    const sim = new Simulator();
    const names = new DrmGemNameTable();
    const obj = new DrmGemObject(sim, 4096);
    expectErr(() => names.flink(obj), "ENOENT");
    expect(obj.name).toBe(0);
    obj.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("DrmPrimeFilePrivate refuses duplicate entries and must be empty when destroyed", () => {
    const prime = new DrmPrimeFilePrivate<FakeBuf>();
    const buf = new FakeBuf();
    prime.addBufHandle(buf, 1);
    expectErr(() => prime.addBufHandle(buf, 2), "EEXIST");
    expectErr(() => prime.addBufHandle(new FakeBuf(), 1), "EEXIST");
    expectErr(() => prime.destroy(), "EBUSY");
    prime.removeBufHandle(1);
    prime.removeBufHandle(1);
    expect(buf.refs).toBe(1);
    prime.destroy();
  });
});
