/**
 * Seed 004: the kernel waiting, inside a submit ioctl, for another thread to submit. drmsim reports
 * it even with no lock held; the same pipeline with the wait in userspace is quiet.
 */
import {
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  drmSyncobjCreate,
  drmSyncobjTimelineWait,
  drmSyncobjWait,
} from "@drmsim/drm";
import { Completion, msecs, type Process, S64_MAX } from "@drmsim/runtime";
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_WFS_SUBMIT,
  WFS_DRIVER,
  WFS_SUBMIT_WAIT_FOR_SUBMIT,
  wfsProbe,
} from "../fixtures/wait-for-submit-in-kernel/wait-for-submit-in-kernel.js";

/** INT64_MAX nanoseconds: wait forever. */
const FOREVER = S64_MAX;

/**
 * One process, two threads sharing a timeline syncobj: the consumer submits work that depends on
 * point 1, which the producer submits 1 ms later. `userspaceWait` puts the wait where it belongs.
 */
async function pipeline(app: Process, userspaceWait: boolean) {
  const fd = await app.open("/dev/dri/renderD128");
  const tl = await drmSyncobjCreate(app, fd);
  const done = await drmSyncobjCreate(app, fd);
  const consumer = app.run(async () => {
    if (userspaceWait)
      await drmSyncobjTimelineWait(
        app,
        fd,
        [tl],
        [1],
        FOREVER,
        DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
      );
    await app.ioctl(fd, DRM_IOCTL_WFS_SUBMIT, {
      in_handle: tl,
      in_point: 1,
      out_handle: done,
      out_point: 0,
      flags: userspaceWait ? 0 : WFS_SUBMIT_WAIT_FOR_SUBMIT,
    });
    await drmSyncobjWait(app, fd, [done], FOREVER);
  });
  const producer = app.run(async () => {
    await new Completion(app.sim, "producer think time").wait({ timeoutNs: msecs(1) });
    await app.ioctl(fd, DRM_IOCTL_WFS_SUBMIT, {
      in_handle: 0,
      in_point: 0,
      out_handle: tl,
      out_point: 1,
      flags: 0,
    });
  });
  return { consumer, producer };
}

describe("seed fixture: wait-for-submit-in-kernel", () => {
  it("the submit ioctl waiting for the producer's submission is reported, with no lock held", async () => {
    const w = createWorld({ validator: "collect", devices: [wfsProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    const { consumer } = await w.exec("main", () => pipeline(app, false));
    await w.sim.run();
    expect(consumer.state).toBe("done");

    const found = w.sim.validator.findingsOf("wait-for-submit-in-kernel");
    expect(found).toHaveLength(1);
    const f = found[0]!;
    expect(f.title).toBe(
      "ioctl(WFS_SUBMIT) waits in the kernel for userspace to submit (drm_syncobj_find_fence with WAIT_FOR_SUBMIT)",
    );
    expect(f.backtrace).toEqual(["ioctl(WFS_SUBMIT)"]);
    expect(f.held).toEqual([]);
    expect(f.details[0]).toMatch(
      /timeline point 1 of .*: not submitted yet — this call blocks until another process submits it/,
    );
    expect(f.explanation).toMatch(/The stall belongs in userspace \(seed 004\)/);
    expect(f.toString()).toContain("[wait-for-submit-in-kernel]");
    expect(w.sim.validator.findings.map((x) => x.kind)).toEqual(["wait-for-submit-in-kernel"]);
    expect(await w.teardown()).toEqual([]);
  });

  it("it is reported even when the producer happened to submit first (the design, not the timing)", async () => {
    const w = createWorld({ validator: "collect", devices: [wfsProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    await w.exec("main", async () => {
      const fd = await app.open("/dev/dri/renderD128");
      const tl = await drmSyncobjCreate(app, fd);
      const done = await drmSyncobjCreate(app, fd);
      await app.ioctl(fd, DRM_IOCTL_WFS_SUBMIT, {
        in_handle: 0,
        in_point: 0,
        out_handle: tl,
        out_point: 1,
        flags: 0,
      });
      await app.ioctl(fd, DRM_IOCTL_WFS_SUBMIT, {
        in_handle: tl,
        in_point: 1,
        out_handle: done,
        out_point: 0,
        flags: WFS_SUBMIT_WAIT_FOR_SUBMIT,
      });
    });
    const [f] = w.sim.validator.findingsOf("wait-for-submit-in-kernel");
    expect(f!.details[0]).toMatch(/already submitted this time$/);
    expect(await w.teardown()).toEqual([]);
  });

  it(`the same pipeline with the wait in userspace (TIMELINE_WAIT, then submit) is quiet on ${WFS_DRIVER}`, async () => {
    const w = createWorld({ devices: [wfsProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    const { consumer, producer } = await w.exec("main", () => pipeline(app, true));
    await w.sim.run();
    expect(consumer.state).toBe("done");
    expect(producer.state).toBe("done");
    expect(w.sim.validator.findings).toEqual([]);
    expect(await w.teardown()).toEqual([]);
  });
});
