/** The README example, verbatim (minus the imports vitest already provides), so it cannot rot. */
import { DrmPluginHost, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { Process, Simulator } from "@drmsim/runtime";
import { expect, it } from "vitest";
import {
  asahiProbe,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_CREATE,
} from "../src/index.js";

it("README example: create a queue, submit a render and a compute that waits for it, wait", async () => {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = asahiProbe(host);
  const app = new Process(sim, "app");
  const done = await sim.exec("app", async () => {
    const fd = await app.open("/dev/dri/renderD128");
    const { vm_id } = await app.ioctl<{ vm_id: number }>(fd, DRM_IOCTL_ASAHI_VM_CREATE, {
      kernel_start: 0x1_0000_0000,
      kernel_end: 0x1_2000_0000,
    });
    const { queue_id } = await app.ioctl<{ queue_id: number }>(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, {
      vm_id,
      priority: 1,
    });
    const syncobj = await drmSyncobjCreate(app, fd);
    const NONE = DRM_ASAHI_BARRIER_NONE;
    await app.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, {
      queue_id,
      commands: [
        { cmd_type: DRM_ASAHI_CMD_RENDER, vdm_barrier: NONE, cdm_barrier: NONE },
        // vdm_barrier 1: wait for the first render command of this submit.
        { cmd_type: DRM_ASAHI_CMD_COMPUTE, vdm_barrier: 1, cdm_barrier: NONE },
      ],
      syncs: [{ sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle: syncobj }],
      out_sync_count: 1,
    });
    await drmSyncobjWait(app, fd, [syncobj], sim.now + 1_000_000_000);
    return sim.now;
  });
  // vertex 50 µs + fragment 200 µs, then the compute's 100 µs.
  expect(done).toBe(350_000);
  app.exit();
  host.remove(dev);
  expect(sim.teardown().findings).toEqual([]);
});
