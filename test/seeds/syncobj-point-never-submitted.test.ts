/**
 * A userspace wait (WAIT_FOR_SUBMIT, no timeout) for a timeline point nobody will submit. The
 * verdict names the syncobj and the point.
 */
import { createWorld } from "@drmsim/testing";
import { describe, expect, it } from "vitest";
import {
  frameLoop,
  wfsProbe,
} from "../fixtures/syncobj-point-never-submitted/syncobj-point-never-submitted.js";

describe("fixture: syncobj-point-never-submitted", () => {
  it("the consumer's last wait is for point 4 of a 3-frame producer: syncobj-point-never-submitted", async () => {
    const w = createWorld({ validator: "collect", devices: [wfsProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    const { producer, consumer } = await w.exec("main", () => frameLoop(app));
    const r = await w.sim.run();

    expect(r.reason).toBe("deadlock");
    expect(producer.state).toBe("done");
    expect(consumer.state).toBe("running");
    const dl = r.finding!;
    expect(dl.progress).toEqual([
      expect.stringMatching(
        /^process:app\/\d+ sleeps in ioctl\(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT\) on drm_syncobj any of drm_syncobj #1@4 to be submitted and signal$/,
      ),
      "the wait for any of drm_syncobj #1@4 to be submitted and signal needs point 4 of drm_syncobj #1, which has not been submitted",
    ]);
    const [root] = w.sim.validator.findingsOf("syncobj-point-never-submitted");
    expect(root!.title).toBe("a wait for point 4 of drm_syncobj #1, which nobody will submit");
    expect(root!.explanation).toMatch(/must submit \(or signal\) every point it promised/);
    expect(dl.details).toEqual([`root cause [syncobj-point-never-submitted]: ${root!.title}`]);
  });

  it("waiting for the points that are submitted completes quietly", async () => {
    const w = createWorld({ devices: [wfsProbe], processes: ["app"] });
    const app = w.procs["app"]!;
    const { consumer } = await w.exec("main", () => frameLoop(app, { fixed: true }));
    expect((await w.sim.run()).reason).toBe("idle");
    expect(await consumer.result).toBe(3);
    expect(await w.teardown()).toEqual([]);
  });
});
