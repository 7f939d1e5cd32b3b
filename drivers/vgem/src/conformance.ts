/**
 * vgem as `@drmsim/testing`'s conformance suite (and `drmsim validate drivers/vgem`) drives it: a
 * job is a vgem fence attached to the buffer, which the driver force-signals after its 10 s
 * timeout. A plain object of the suite's `ConformanceDriver` shape, so vgem needs no dependency
 * on the test package. There is no kernel counterpart.
 */
import type { DrmPluginHost } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import { DRM_IOCTL_VGEM_FENCE_ATTACH, VGEM_FENCE_WRITE } from "./vgem-drm.js";
import { vgemProbe } from "./vgem-drv.js";

/** The conformance description of vgem. */
export const driver = {
  name: "vgem",
  probe: (host: DrmPluginHost) => vgemProbe(host),
  async submit(work: { proc: Process; fd: number }, job: { handle: number; write: boolean }): Promise<void> {
    await work.proc.ioctl(work.fd, DRM_IOCTL_VGEM_FENCE_ATTACH, {
      handle: job.handle,
      flags: job.write ? VGEM_FENCE_WRITE : 0,
    });
  },
};
