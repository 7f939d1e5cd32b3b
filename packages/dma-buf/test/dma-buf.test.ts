/** dma_buf_export / fd / get / put, vmap, mmap and CPU access (drivers/dma-buf/dma-buf.c). */
import { DmaResv, DmaResvUsage } from "@drmsim/dma-resv";
import { KernelError, msecs, Process, Simulator, ValidatorError } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  BackingStore,
  Device,
  type DmaBufOps,
  DmaDataDirection,
  devicePlacement,
  dmaBufExport,
  dmaBufFd,
  dmaBufGet,
  dmaBufPut,
  PAGE_SIZE,
  StoreExporter,
} from "../src/index.js";
import { fence } from "./fixtures.js";

const SIZE = 16 * PAGE_SIZE;

function exporter(sim: Simulator) {
  const dev = new Device(sim, { name: "exp" });
  return new StoreExporter({ dev, store: new BackingStore(SIZE, devicePlacement(0x1000_0000, SIZE)) });
}

function bareOps(): DmaBufOps {
  return {
    mapDmaBuf: () => {
      throw new KernelError("ENOMEM", "unused");
    },
    unmapDmaBuf: () => {},
    release: () => {},
  };
}

describe("dma_buf_export", () => {
  it("rejects missing mandatory ops, a lone pin/unpin, no priv, a bad size (EINVAL)", () => {
    const sim = new Simulator();
    for (const key of ["mapDmaBuf", "unmapDmaBuf", "release"] as const) {
      const ops = bareOps();
      delete (ops as Partial<DmaBufOps>)[key];
      expect(() => dmaBufExport(sim, { ops, size: SIZE, priv: {} })).toThrow(
        expect.objectContaining({ code: "EINVAL", message: expect.stringContaining(key) }),
      );
    }
    expect(() => dmaBufExport(sim, { ops: { ...bareOps(), pin: () => {} }, size: SIZE, priv: {} })).toThrow(
      /pin and unpin/,
    );
    expect(() => dmaBufExport(sim, { ops: { ...bareOps(), unpin: () => {} }, size: SIZE, priv: {} })).toThrow(
      /pin and unpin/,
    );
    expect(() => dmaBufExport(sim, { ops: bareOps(), size: SIZE, priv: undefined })).toThrow(/priv/);
    expect(() => dmaBufExport(sim, { ops: bareOps(), size: 100, priv: {} })).toThrow(/multiple/);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("embeds its own resv unless one is given; the last put runs release", () => {
    const sim = new Simulator();
    let released = 0;
    const ops = { ...bareOps(), release: () => void released++ };
    const own = dmaBufExport(sim, { ops, size: SIZE, priv: {} });
    const shared = new DmaResv(sim);
    const withResv = dmaBufExport(sim, { ops, size: SIZE, priv: {}, resv: shared });
    expect(own.resv).toBeInstanceOf(DmaResv);
    expect(withResv.resv).toBe(shared);
    expect(own.refcount).toBe(1);
    own.get();
    own.put();
    expect(released).toBe(0);
    dmaBufPut(own);
    dmaBufPut(withResv);
    expect(released).toBe(2);
    expect(own.isReleased).toBe(true);
    shared.fini();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a forgotten dma-buf is reported as a leak at teardown", () => {
    const sim = new Simulator({ validator: "collect" });
    exporter(sim).export(sim);
    const { findings } = sim.teardown();
    expect(findings.map((f) => f.kind)).toEqual(["leak"]);
    expect(findings[0]!.details.join("\n")).toMatch(/dma_buf/);
  });
});

describe("dma_buf_fd / dma_buf_get", () => {
  it("fd takes over the reference; get adds one; closing every fd and reference releases", () => {
    const sim = new Simulator();
    const exp = exporter(sim);
    const buf = exp.export(sim);
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    const fd = dmaBufFd(buf, a);
    expect(buf.refcount).toBe(1);
    const fdB = a.sendFd(b, fd);
    const got = dmaBufGet(b, fdB);
    expect(got).toBe(buf);
    expect(buf.refcount).toBe(3);
    a.close(fd);
    b.close(fdB);
    expect(exp.released).toBe(false);
    got.put();
    expect(exp.released).toBe(true);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EBADF for a closed fd, EINVAL for an fd that is not a dma-buf", async () => {
    const sim = new Simulator();
    const p = new Process(sim, "p");
    expect(() => dmaBufGet(p, 42)).toThrow(expect.objectContaining({ code: "EBADF" }));
    const { File } = await import("@drmsim/runtime");
    const other = new File(sim, { kind: "sync_file" }, {});
    const fd = p.installFile(other);
    expect(() => dmaBufGet(p, fd)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    p.exit();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("vmap / vunmap", () => {
  it("is refcounted: one ops.vmap, the same map back, ops.vunmap at the last vunmap", async () => {
    const sim = new Simulator();
    const exp = exporter(sim);
    let vmaps = 0;
    let vunmaps = 0;
    const ops: DmaBufOps = {
      ...bareOps(),
      vmap: (b) => {
        vmaps++;
        return exp.vmap(b);
      },
      vunmap: () => void vunmaps++,
    };
    const buf = dmaBufExport(sim, { ops, size: SIZE, priv: {} });
    await sim.exec("t", async () => {
      await buf.resv.lock(null);
      const m1 = buf.vmap();
      const m2 = buf.vmap();
      expect(m2).toBe(m1);
      m1.write(0, new Uint8Array([9]));
      expect(m2.read(0, 1)[0]).toBe(9);
      buf.vunmap(m1);
      expect(vunmaps).toBe(0);
      buf.vunmap(m2);
      buf.resv.unlock();
      const m3 = await buf.vmapUnlocked();
      await buf.vunmapUnlocked(m3);
    });
    expect([vmaps, vunmaps]).toEqual([2, 2]);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("EINVAL without ops.vmap; a stray vunmap is misuse; without the lock is a locking finding", async () => {
    const sim = new Simulator({ validator: "collect" });
    const buf = dmaBufExport(sim, { ops: bareOps(), size: SIZE, priv: {} });
    const exp = exporter(sim);
    const buf2 = exp.export(sim);
    expect(() => buf.vmap()).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(sim.validator.findingsOf("dma-buf-locking")).toHaveLength(1);
    await sim.exec("t", async () => {
      await buf.resv.lock(null);
      expect(() => buf.vmap()).toThrow(/no vmap/);
      buf.resv.unlock();
      await buf2.resv.lock(null);
      expect(() => buf2.vunmap({ read: () => new Uint8Array(), write: () => {} })).toThrow(
        expect.objectContaining({ code: "EINVAL" }),
      );
      buf2.resv.unlock();
    });
    expect(sim.validator.findingsOf("dma-buf-misuse")).toHaveLength(1);
    expect(buf2.vmappingCounter).toBe(0);
    buf.put();
    buf2.put();
  });
});

describe("mmap", () => {
  it("EINVAL without the op or beyond the buffer; EOVERFLOW for a huge pgoff; fine inside", () => {
    const sim = new Simulator();
    const buf = dmaBufExport(sim, { ops: bareOps(), size: SIZE, priv: {} });
    expect(() => buf.mmap({ length: PAGE_SIZE, pgoff: 0 })).toThrow(/does not support mmap/);
    buf.put();
    const exp = exporter(sim);
    const b2 = exp.export(sim);
    expect(() => b2.mmap({ length: SIZE, pgoff: 0 })).not.toThrow();
    expect(() => b2.mmap({ length: 2 * PAGE_SIZE, pgoff: 15 })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => b2.mmap({ length: PAGE_SIZE, pgoff: 2 ** 53 - 2 })).toThrow(
      expect.objectContaining({ code: "EOVERFLOW" }),
    );
    b2.put();
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("begin_cpu_access / end_cpu_access", () => {
  async function withFence(buf: ReturnType<StoreExporter["export"]>, usage: DmaResvUsage, sim: Simulator) {
    const f = fence(sim);
    await buf.resv.lock(null);
    buf.resv.reserveFences(1);
    buf.resv.addFence(f, usage);
    buf.resv.unlock();
    return f;
  }

  it("a CPU read waits for writers only; a CPU write waits for readers too", async () => {
    const sim = new Simulator();
    const buf = exporter(sim).export(sim);
    const log: string[] = [];
    await sim.exec("cpu", async () => {
      const reader = await withFence(buf, DmaResvUsage.READ, sim);
      sim.schedule(msecs(5), () => reader.signal());
      reader.put();
      const t0 = sim.now;
      await buf.beginCpuAccess(DmaDataDirection.FROM_DEVICE);
      log.push(`read after ${sim.now - t0}`);
      await buf.endCpuAccess(DmaDataDirection.FROM_DEVICE);
      await buf.beginCpuAccess(DmaDataDirection.TO_DEVICE);
      log.push(`write after ${sim.now - t0}`);
      await buf.endCpuAccess(DmaDataDirection.TO_DEVICE);
    });
    expect(log).toEqual(["read after 0", `write after ${msecs(5)}`]);
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the exporter's op runs first; the wait is interruptible (ERESTARTSYS)", async () => {
    const sim = new Simulator();
    const exp = exporter(sim);
    const calls: string[] = [];
    const ops: DmaBufOps = {
      ...bareOps(),
      beginCpuAccess: (_b, dir) => void calls.push(`begin ${dir}`),
      endCpuAccess: (_b, dir) => void calls.push(`end ${dir}`),
    };
    void exp;
    const buf = dmaBufExport(sim, { ops, size: SIZE, priv: {} });
    let f!: ReturnType<typeof fence>;
    await sim.exec("setup", async () => {
      f = await withFence(buf, DmaResvUsage.WRITE, sim);
    });
    const t = sim.spawn("cpu", () => buf.beginCpuAccess(DmaDataDirection.BIDIRECTIONAL));
    sim.schedule(msecs(1), () => t.signal());
    await sim.run();
    await expect(t.result).rejects.toMatchObject({ code: "ERESTARTSYS" });
    expect(calls).toEqual([`begin ${DmaDataDirection.BIDIRECTIONAL}`]);
    f.signal();
    f.put();
    buf.put();
    expect(sim.teardown().findings).toEqual([]);
  });

  it("holding the resv across begin_cpu_access is a locking finding (throw mode)", async () => {
    const sim = new Simulator();
    const buf = exporter(sim).export(sim);
    const t = sim.spawn("bad", async () => {
      await buf.resv.lock(null);
      try {
        await buf.beginCpuAccess(DmaDataDirection.FROM_DEVICE);
      } finally {
        buf.resv.unlock();
      }
    });
    await expect(sim.run()).rejects.toBeInstanceOf(ValidatorError);
    await expect(t.result).rejects.toMatchObject({
      finding: expect.objectContaining({ kind: "dma-buf-locking" }),
    });
    await expect(buf.beginCpuAccess(99 as DmaDataDirection)).rejects.toMatchObject({ code: "EINVAL" });
  });
});

describe("tracepoints", () => {
  it("export, fd, get, attach, detach, put are traced when tracing is on, and nothing when off", async () => {
    const { Process: P } = await import("@drmsim/runtime");
    for (const on of [true, false]) {
      const sim = new Simulator({ trace: on });
      const exp = exporter(sim);
      const buf = exp.export(sim);
      const proc = new P(sim, "p");
      const fd = dmaBufFd(buf, proc);
      const got = dmaBufGet(proc, fd);
      const att = got.attach(exp.dev);
      got.detach(att);
      got.put();
      proc.exit();
      const names = sim.tracer.events.filter((e) => e.cat === "dma_buf").map((e) => e.name);
      expect(names).toEqual(
        on
          ? [
              "dma_buf_export",
              "dma_buf_fd",
              "dma_buf_get",
              "dma_buf_dynamic_attach",
              "dma_buf_detach",
              "dma_buf_put",
            ]
          : [],
      );
      expect(sim.teardown().findings).toEqual([]);
    }
  });
});
