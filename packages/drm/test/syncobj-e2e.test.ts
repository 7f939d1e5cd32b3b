/**
 * drm_syncobj end to end: a probed device, processes that open `/dev/dri/renderD128` and use the
 * libdrm-style wrappers, syncobj fds passed between processes, and the feature checks.
 */
import "reflect-metadata";
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { EPOLLIN, isKernelError, msecs, Process, Simulator, secs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DrmDriverFeature,
  type DrmHooks,
  DrmPluginHost,
  drmSyncobjCreate,
  drmSyncobjDestroy,
  drmSyncobjEventfd,
  drmSyncobjExportSyncFile,
  drmSyncobjFDToHandle,
  drmSyncobjHandleToFD,
  drmSyncobjQuery,
  drmSyncobjSignal,
  drmSyncobjTable,
  drmSyncobjTimelineSignal,
  drmSyncobjTimelineWait,
  drmSyncobjTransfer,
  drmSyncobjWait,
  eventfd,
  eventfdRead,
} from "../src/index.js";

class NoopDriver {
  apply(_hooks: DrmHooks) {}
}

const ALL =
  DrmDriverFeature.GEM |
  DrmDriverFeature.RENDER |
  DrmDriverFeature.SYNCOBJ |
  DrmDriverFeature.SYNCOBJ_TIMELINE;

describe("drm_syncobj through /dev/dri/renderD128", () => {
  it("wait-before-signal across two processes with a timeline syncobj", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(NoopDriver, { name: "noop", features: ALL });
    const producer = new Process(sim, "producer");
    const consumer = new Process(sim, "consumer");

    const log: string[] = [];
    const pfd = await sim.exec("setup", () => producer.open("/dev/dri/renderD128"));
    const cfd = await sim.exec("setup", () => consumer.open("/dev/dri/renderD128"));
    const handle = await sim.exec("setup", () => drmSyncobjCreate(producer, pfd));
    const objFd = await sim.exec("setup", () => drmSyncobjHandleToFD(producer, pfd, handle));
    const theirs = await sim.exec("setup", () =>
      drmSyncobjFDToHandle(consumer, cfd, producer.sendFd(consumer, objFd)),
    );

    // The consumer waits for point 2 before anyone submitted it (Vulkan wait-before-signal).
    consumer.run(async () => {
      await drmSyncobjTimelineWait(
        consumer,
        cfd,
        [theirs],
        [2],
        sim.now + secs(1),
        DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
      );
      log.push(`consumer saw point 2 at ${sim.now / 1e6} ms`);
    });
    // The producer signals point 2 from the host 3 ms later.
    sim.schedule(msecs(3), () => producer.run(() => drmSyncobjTimelineSignal(producer, pfd, [handle], [2])));
    await sim.run();
    console.log(log); // [ 'consumer saw point 2 at 3 ms' ]
    expect(log).toEqual(["consumer saw point 2 at 3 ms"]);

    producer.exit();
    consumer.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("the syncobj ioctls are EOPNOTSUPP without DRIVER_SYNCOBJ, the timeline ones without DRIVER_SYNCOBJ_TIMELINE", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const none = host.probe(NoopDriver, {
      name: "none",
      features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER,
    });
    const bin = host.probe(NoopDriver, {
      name: "bin",
      features: DrmDriverFeature.GEM | DrmDriverFeature.RENDER | DrmDriverFeature.SYNCOBJ,
    });
    const app = new Process(sim, "app");
    const codes = await sim.exec("app", async () => {
      const out: string[] = [];
      const fd0 = await app.open("/dev/dri/renderD128");
      const fd1 = await app.open("/dev/dri/renderD129");
      const code = async (p: Promise<unknown>) =>
        p.then(
          () => "ok",
          (e) => (isKernelError(e) ? e.code : "??"),
        );
      out.push(await code(drmSyncobjCreate(app, fd0)));
      const h = await drmSyncobjCreate(app, fd1);
      out.push(await code(drmSyncobjSignal(app, fd1, [h])));
      out.push(await code(drmSyncobjTimelineSignal(app, fd1, [h], [1])));
      out.push(await code(drmSyncobjQuery(app, fd1, [h])));
      return out;
    });
    expect(codes).toEqual(["EOPNOTSUPP", "ok", "EOPNOTSUPP", "EOPNOTSUPP"]);
    app.exit();
    host.remove(none);
    host.remove(bin);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a driver's submit path: find in-fences, install the job fence at a point, userspace waits and exports", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(NoopDriver, { name: "noop", features: ALL });
    const app = new Process(sim, "app");
    const ops = { getDriverName: () => "noop", getTimelineName: () => "ring0" };
    const result = await sim.exec("app", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const inSync = await drmSyncobjCreate(app, fd);
      const outSync = await drmSyncobjCreate(app, fd);
      await drmSyncobjSignal(app, fd, [inSync]);
      // What a driver's execbuf does with the DrmFile behind fd.
      const file = [...dev.files][0]!;
      const table = drmSyncobjTable(file);
      const dep = await table.findFence(inSync);
      const job = new DmaFence(sim, ops, dmaFenceContextAlloc(sim), 1);
      table.signalPoint(outSync, job, 1n);
      dep.put();
      sim.schedule(msecs(4), () => job.signal());
      // Userspace: export point 1 to a binary syncobj, wait, export a sync_file and poll it.
      const bin = await drmSyncobjCreate(app, fd);
      await drmSyncobjTransfer(app, fd, bin, 0, outSync, 1);
      const syncFd = await drmSyncobjExportSyncFile(app, fd, bin);
      const first = await drmSyncobjWait(app, fd, [bin], sim.now + secs(1));
      const pfds = [{ fd: syncFd, events: EPOLLIN }];
      const ready = await app.poll(pfds, 0);
      const points = await drmSyncobjQuery(app, fd, [outSync]);
      job.put();
      await drmSyncobjDestroy(app, fd, inSync);
      return { first, ready, points, at: sim.now };
    });
    expect(result).toEqual({ first: 0, ready: 1, points: [1], at: msecs(4) });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an eventfd registered through the DRM fd wakes a process polling it", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(NoopDriver, { name: "noop", features: ALL });
    const app = new Process(sim, "compositor");
    const got = await sim.exec("compositor", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const h = await drmSyncobjCreate(app, fd);
      const efd = eventfd(app);
      await drmSyncobjEventfd(app, fd, h, 5, efd);
      sim.schedule(msecs(2), () => app.run(() => drmSyncobjTimelineSignal(app, fd, [h], [5])));
      await app.poll([{ fd: efd, events: EPOLLIN }], secs(1));
      return { at: sim.now, value: eventfdRead(app, efd) };
    });
    expect(got).toEqual({ at: msecs(2), value: 1 });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("closing the DRM file drops every handle: a syncobj only shared by fd survives", async () => {
    const sim = new Simulator();
    const host = new DrmPluginHost(sim);
    const dev = host.probe(NoopDriver, { name: "noop", features: ALL });
    const a = new Process(sim, "a");
    const b = new Process(sim, "b");
    const points = await sim.exec("a", async () => {
      const fd = await a.open("/dev/dri/renderD128");
      const h = await drmSyncobjCreate(a, fd);
      await drmSyncobjTimelineSignal(a, fd, [h], [9]);
      const objFd = await drmSyncobjHandleToFD(a, fd, h);
      const theirFd = a.sendFd(b, objFd);
      a.exit();
      const bfd = await b.open("/dev/dri/renderD128");
      const hb = await drmSyncobjFDToHandle(b, bfd, theirFd);
      return drmSyncobjQuery(b, bfd, [hb]);
    });
    expect(points).toEqual([9]);
    b.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("timeline points and timeouts beyond 2^53, through the ioctls", () => {
  for (const [label, point] of [
    ["2^63", 2n ** 63n],
    ["2^64 - 1", 2n ** 64n - 1n],
  ] as const) {
    it(`signal, query, wait and transfer at ${label} exactly`, async () => {
      const sim = new Simulator();
      const host = new DrmPluginHost(sim);
      const dev = host.probe(NoopDriver, { name: "noop", features: ALL });
      const app = new Process(sim, "app");
      const r = await sim.exec("app", async () => {
        const fd = await app.open("/dev/dri/renderD128");
        const [a, b] = [await drmSyncobjCreate(app, fd), await drmSyncobjCreate(app, fd)];
        // One below first: the chain must order two points that differ only past 2^53.
        await drmSyncobjTimelineSignal(app, fd, [a], [point - 1n]);
        await drmSyncobjTimelineSignal(app, fd, [a], [point]);
        const queried = await drmSyncobjQuery(app, fd, [a]);
        // INT64_MAX nanoseconds: forever; the point is already there, so it returns at once.
        const first = await drmSyncobjTimelineWait(app, fd, [a], [point], 2n ** 63n - 1n);
        await drmSyncobjTransfer(app, fd, b, point, a, point);
        const transferred = await drmSyncobjQuery(app, fd, [b]);
        // A point past the last one signalled: EINVAL (no fence), ETIME when waiting for submit.
        const past = point === 2n ** 64n - 1n ? null : point + 1n;
        const late =
          past === null
            ? "none"
            : await Promise.all(
                [0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT].map((flags) =>
                  drmSyncobjTimelineWait(app, fd, [a], [past], 0, flags).then(
                    () => "waited",
                    (e: unknown) => (isKernelError(e) ? e.code : String(e)),
                  ),
                ),
              );
        return { queried, first, transferred, late };
      });
      expect(r.queried).toEqual([point]);
      expect(r.first).toBe(0);
      expect(r.transferred).toEqual([point]);
      expect(r.late).toEqual(point === 2n ** 64n - 1n ? "none" : ["EINVAL", "ETIME"]);
      app.exit();
      host.remove(dev);
      expect(sim.teardown().findings).toEqual([]);
    });
  }
});
