import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { drmModeCreateDumbBuffer, drmPrimeFDToHandle, drmPrimeHandleToFD } from "@drmsim/drm";
import { msecs, secs } from "@drmsim/runtime";
import { VGEM_FENCE_WRITE, vgemProbe } from "@drmsim/vgem";
import { vgemFenceAttach } from "@drmsim/vgem/user";
import { describe, expect, it } from "vitest";
import { createWorld, processFile, runUntil, runUntilSignaled, syncobjFence } from "../src/index.js";

const ops = { getDriverName: () => "test", getTimelineName: () => "t", release: () => {} };

describe("createWorld", () => {
  it("probes N devices with their own nodes, creates the processes, and tears down clean", async () => {
    const w = createWorld({ devices: [vgemProbe, vgemProbe], processes: ["renderer", "compositor"] });
    expect(w.devices.map((d) => d.primary?.path)).toEqual(["/dev/dri/card0", "/dev/dri/card1"]);
    const { renderer, compositor } = w.procs;
    const handle = await w.exec("interop", async () => {
      const a = await renderer!.open("/dev/dri/card0");
      const b = await compositor!.open("/dev/dri/card1");
      const bo = await drmModeCreateDumbBuffer(renderer!, a, 16, 16, 32);
      const fd = await drmPrimeHandleToFD(renderer!, a, bo.handle);
      return drmPrimeFDToHandle(compositor!, b, renderer!.sendFd(compositor!, fd));
    });
    expect(handle).toBeGreaterThan(0);
    expect(await w.teardown()).toEqual([]);
    expect(w.host.devices).toEqual([]);
  });

  it("exec returns when its task does: vgem's 10 s safety timer has not signalled the fence yet; execUntilIdle runs it", async () => {
    const w = createWorld({ devices: [vgemProbe], processes: ["app"] });
    const app = w.procs.app!;
    const attach = async () => {
      const fd = await app.open("/dev/dri/card0");
      const bo = await drmModeCreateDumbBuffer(app, fd, 16, 16, 32);
      await vgemFenceAttach(app, fd, bo.handle, VGEM_FENCE_WRITE);
      const obj = w.devices[0]!.files.values().next().value!.gem.lookup(bo.handle);
      const fence = obj.resv.fences[0]!.get();
      obj.put();
      return fence;
    };
    const fence = await w.exec("setup", attach);
    expect(fence.isSignaled()).toBe(false);
    expect(w.sim.now).toBe(0);
    await w.sim.run();
    expect(fence.isSignaled()).toBe(true);
    expect(fence.timestampNs).toBe(secs(10)); // the safety timer

    fence.put();

    const drained = await w.execUntilIdle("setup-and-drain", attach);
    expect(drained.isSignaled()).toBe(true);
    expect(w.sim.now).toBe(secs(20));
    drained.put();
    expect(await w.teardown()).toEqual([]);
  });

  it("teardown reports what the test leaked", async () => {
    const w = createWorld({ validator: "collect" });
    const f = new DmaFence(w.sim, ops, dmaFenceContextAlloc(w.sim), 1);
    const kinds = (await w.teardown()).map((x) => x.kind);
    expect(kinds).toContain("leak");
    f.signal();
  });
});

describe("wait helpers", () => {
  it("runUntil advances virtual time until the predicate holds and returns how long it took", async () => {
    const w = createWorld();
    let done = false;
    w.sim.schedule(msecs(3), () => {
      done = true;
    });
    expect(await runUntil(w.sim, () => done, { timeoutNs: msecs(10) })).toBe(msecs(3));
    expect(await w.teardown()).toEqual([]);
  });

  it("runUntilSignaled names the fence that did not signal in time", async () => {
    const w = createWorld({ validator: "collect" });
    const f = new DmaFence(w.sim, ops, dmaFenceContextAlloc(w.sim), 7);
    w.sim.schedule(msecs(20), () => f.signal());
    await expect(runUntilSignaled(w.sim, [f], msecs(5))).rejects.toThrow(
      /signalling of dma_fence test:t ctx \d+#7/,
    );
    expect(await runUntilSignaled(w.sim, [f], msecs(50))).toBeGreaterThan(0);
    f.put();
    expect(await w.teardown()).toEqual([]);
  });

  it("runUntil gives up at the bound, naming what it waited for", async () => {
    const w = createWorld();
    await expect(runUntil(w.sim, () => false, { timeoutNs: msecs(1), what: "the flip" })).rejects.toThrow(
      /the flip did not hold within 1000000 ns/,
    );
    expect(w.sim.now).toBe(msecs(1));
    expect(await w.teardown()).toEqual([]);
  });
});

describe("kernel-side peeks", () => {
  // syncobjFence with a fence is exercised by the asahi tests and the interop suite (vgem has no syncobj).
  it("processFile finds the process's drm_file and names what is missing; syncobjFence of no syncobj is null", async () => {
    const w = createWorld({ devices: [vgemProbe], processes: ["app", "idle"] });
    const { app, idle } = w.procs;
    const dev = w.devices[0]!;
    const fd = await w.exec("app", () => app!.open("/dev/dri/card0"));
    expect(processFile(dev, app!)).toBe(app!.file(fd).priv);
    expect(() => processFile(dev, idle!)).toThrow(/has no file open on/);
    expect(syncobjFence(dev, app!, 99)).toBeNull();
    expect(await w.teardown()).toEqual([]);
  });
});
