/**
 * The core's allocation sites on the ioctl paths: `drm_file_alloc` (open), `drm_syncobj_create`,
 * the syncobj handle idr (`idr_alloc`) and the chain links of timeline points
 * (`dma_fence_chain_alloc`). Each is charged while its object lives; an injected failure is a
 * clean ENOMEM with no fd, handle or point left behind; closing everything gives it all back.
 */
import { isKernelError, Process, Simulator } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_SYNCOBJ_EVENTFD,
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmSyncobjCreate,
  drmSyncobjQuery,
  drmSyncobjTimelineSignal,
  eventfd,
} from "../src/index.js";

class Bare {
  apply(_hooks: DrmHooks) {}
}

function setup() {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = host.probe(Bare, {
    name: "bare",
    features:
      DrmDriverFeature.GEM |
      DrmDriverFeature.RENDER |
      DrmDriverFeature.SYNCOBJ |
      DrmDriverFeature.SYNCOBJ_TIMELINE,
  });
  const app = new Process(sim, "app");
  return { sim, host, dev, app };
}

async function codeOf(sim: Simulator, fn: () => Promise<unknown>): Promise<string | undefined> {
  let code: string | undefined;
  await sim.exec("call", async () => {
    try {
      await fn();
    } catch (e) {
      code = isKernelError(e) ? e.code : String(e);
    }
  });
  return code;
}

const failAt = (sim: Simulator, site: string) => sim.mm.failWhen((info) => info.site === site);

describe("drm_file_alloc", () => {
  it("open fails with ENOMEM and installs no fd; a file's memory comes back on close", async () => {
    const { sim, host, dev, app } = setup();
    const start = sim.mm.used;
    failAt(sim, "drm_file_alloc");
    expect(await codeOf(sim, () => app.open("/dev/dri/renderD128"))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(app.files.list()).toEqual([]);
    expect(sim.mm.used).toBe(start);
    const fd = await sim.exec("open", () => app.open("/dev/dri/renderD128"));
    expect(sim.mm.used).toBeGreaterThan(start);
    app.close(fd);
    expect(sim.mm.used).toBe(start);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("syncobj allocation sites", () => {
  it("SYNCOBJ_CREATE fails with ENOMEM at drm_syncobj_create and at idr_alloc, creating no handle", async () => {
    const { sim, host, dev, app } = setup();
    const fd = await sim.exec("open", () => app.open("/dev/dri/renderD128"));
    const used = sim.mm.used;
    for (const site of ["drm_syncobj_create", "idr_alloc"]) {
      failAt(sim, site);
      expect(await codeOf(sim, () => drmSyncobjCreate(app, fd, DRM_SYNCOBJ_CREATE_SIGNALED)), site).toBe(
        "ENOMEM",
      );
      sim.mm.clearFaults();
      expect(sim.mm.used, site).toBe(used);
    }
    // The first handle that does get created is 1: the failed calls consumed none.
    const h = await sim.exec("create", () => drmSyncobjCreate(app, fd));
    expect(h).toBe(1);
    expect(sim.mm.used).toBeGreaterThan(used);
    app.close(fd);
    app.exit();
    host.remove(dev);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("TIMELINE_SIGNAL allocates every chain link first: a failure on the last adds no point anywhere", async () => {
    const { sim, host, dev, app } = setup();
    const fd = await sim.exec("open", () => app.open("/dev/dri/renderD128"));
    const a = await sim.exec("a", () => drmSyncobjCreate(app, fd));
    const b = await sim.exec("b", () => drmSyncobjCreate(app, fd));
    const used = sim.mm.used;
    sim.mm.failNth(2, ({ site }) => site === "dma_fence_chain_alloc");
    expect(await codeOf(sim, () => drmSyncobjTimelineSignal(app, fd, [a, b], [3, 4]))).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(sim.mm.used).toBe(used);
    expect(await sim.exec("q", () => drmSyncobjQuery(app, fd, [a, b]))).toEqual([0, 0]);
    await sim.exec("signal", () => drmSyncobjTimelineSignal(app, fd, [a, b], [3, 4]));
    expect(await sim.exec("q2", () => drmSyncobjQuery(app, fd, [a, b]))).toEqual([3, 4]);
    app.close(fd);
    app.exit();
    host.remove(dev);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("syncobj eventfd entry allocation", () => {
  it("SYNCOBJ_EVENTFD fails with ENOMEM, queues nothing and keeps the eventfd's references as they were", async () => {
    const { sim, host, dev, app } = setup();
    const fd = await sim.exec("open", () => app.open("/dev/dri/renderD128"));
    const h = await sim.exec("create", () => drmSyncobjCreate(app, fd));
    const efd = eventfd(app);
    const evFile = app.files.get(efd);
    const refs = evFile.refcount;
    const used = sim.mm.used;
    failAt(sim, "drm_syncobj_eventfd_ioctl");
    const call = () => app.ioctl(fd, DRM_IOCTL_SYNCOBJ_EVENTFD, { handle: h, fd: efd, point: 1, flags: 0 });
    expect(await codeOf(sim, call)).toBe("ENOMEM");
    sim.mm.clearFaults();
    expect(evFile.refcount).toBe(refs);
    expect(sim.mm.used).toBe(used);
    // Without the fault the entry is queued (charged) until the point signals, then given back.
    await sim.exec("eventfd", call);
    expect(sim.mm.used).toBeGreaterThan(used);
    await sim.exec("signal", () => drmSyncobjTimelineSignal(app, fd, [h], [1]));
    expect(evFile.refcount).toBe(refs);
    app.close(fd);
    app.exit();
    host.remove(dev);
    expect(sim.mm.used).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });
});
