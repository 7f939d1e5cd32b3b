/**
 * vgem as `@drmsim/testing`'s conformance suite (and `drmsim validate drivers/vgem`) drives it: a
 * job is a vgem fence attached to the buffer, which the driver force-signals after its 10 s
 * timeout; both vgem ioctls (and the drmsim-only fence-error side channel) are called through
 * `@drmsim/vgem/user` and then corrupted — the pads
 * and flags the suite derives from their layouts, and the unknown ids `vgem_fence.c` answers with
 * `ENOENT`. A plain object of the suite's `ConformanceDriver` shape, so vgem needs no dependency
 * on the test package (whose own tests use vgem). There is no kernel counterpart.
 */
import type { DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { drmModeCreateDumbBuffer } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import { vgemFenceAttach, vgemFenceSignal } from "./user/vgem-fence.js";
import { VGEM_FENCE_WRITE } from "./vgem-drm.js";
import { vgemProbe } from "./vgem-drv.js";

/** What the suite hands each call: a process with vgem's node open. */
interface Work {
  readonly device: DrmDevice;
  readonly proc: Process;
  readonly fd: number;
}
type Ids = Readonly<Record<string, number>>;

/** `EIO`, the error a failed job's fence carries in the side channel's valid call. */
const EIO = 5;

/** The conformance description of vgem. */
export const driver = {
  name: "vgem",
  probe: (host: DrmPluginHost) => vgemProbe(host),
  async submit(work: Work, job: { handle: number; write: boolean }): Promise<void> {
    await vgemFenceAttach(work.proc, work.fd, job.handle, job.write ? VGEM_FENCE_WRITE : 0);
  },
  /** A dumb buffer for the fences to go on. */
  async setup({ proc, fd }: Work): Promise<Record<string, number>> {
    return { bo: (await drmModeCreateDumbBuffer(proc, fd, 16, 16, 32)).handle };
  },
  ioctls: [
    {
      name: "VGEM_FENCE_ATTACH",
      call: ({ proc, fd }: Work, ids: Ids) => vgemFenceAttach(proc, fd, ids.bo!, VGEM_FENCE_WRITE),
      // vgem_fence_attach_ioctl: drm_gem_object_lookup fails.
      invalid: [
        {
          what: "an unknown GEM handle",
          errno: "ENOENT",
          corrupt: (a: { handle: number }) => {
            a.handle = 99;
          },
        },
      ],
    },
    {
      name: "VGEM_FENCE_SIGNAL",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ fence: await vgemFenceAttach(proc, fd, ids.bo!) }),
      call: ({ proc, fd }: Work, ids: Ids) => vgemFenceSignal(proc, fd, ids.fence!),
      // vgem_fence_signal_ioctl: idr_find fails.
      invalid: [
        {
          what: "an unknown fence id",
          errno: "ENOENT",
          corrupt: (a: { fence: number }) => {
            a.fence = 99;
          },
        },
      ],
    },
    {
      // drmsim only: the side channel vgemFenceSignal uses for a fence that carries an error.
      name: "DRMSIM_VGEM_FENCE_ERROR",
      prepare: async ({ proc, fd }: Work, ids: Ids) => ({ fence: await vgemFenceAttach(proc, fd, ids.bo!) }),
      call: ({ proc, fd }: Work, ids: Ids) => vgemFenceSignal(proc, fd, ids.fence!, -EIO),
      invalid: [
        {
          what: "an unknown fence id",
          errno: "ENOENT",
          corrupt: (a: { fence: number }) => {
            a.fence = 99;
          },
        },
        {
          what: "an error that is not a negative errno",
          errno: "EINVAL",
          corrupt: (a: { error: number }) => {
            a.error = 5;
          },
        },
      ],
    },
  ],
};
