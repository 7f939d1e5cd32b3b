/**
 * What the syncobj tests (IGT's `syncobj_basic`, `syncobj_wait`, `syncobj_timeline` behaviours)
 * open: a render-node fd of a minimal device with syncobjs. Every ioctl goes through `drm_ioctl`
 * — declared layouts, driver features, permissions — and `table` is the file's syncobj table,
 * for what a driver does from the kernel side (`signalPoint`, `findFence`).
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_IOCTL_SYNCOBJ_CREATE,
  DRM_IOCTL_SYNCOBJ_DESTROY,
  DRM_IOCTL_SYNCOBJ_EVENTFD,
  DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  DRM_IOCTL_SYNCOBJ_QUERY,
  DRM_IOCTL_SYNCOBJ_RESET,
  DRM_IOCTL_SYNCOBJ_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  DRM_IOCTL_SYNCOBJ_TRANSFER,
  DRM_IOCTL_SYNCOBJ_WAIT,
  type DrmDevice,
  DrmDriverFeature,
  type DrmFile,
  DrmPluginHost,
  drmSyncobjTable,
  type SyncobjTable,
} from "../src/index.js";

/** The syncobj ioctls by their short names. */
export const SYNCOBJ_IOCTL = {
  CREATE: DRM_IOCTL_SYNCOBJ_CREATE,
  DESTROY: DRM_IOCTL_SYNCOBJ_DESTROY,
  HANDLE_TO_FD: DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD,
  FD_TO_HANDLE: DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE,
  WAIT: DRM_IOCTL_SYNCOBJ_WAIT,
  RESET: DRM_IOCTL_SYNCOBJ_RESET,
  SIGNAL: DRM_IOCTL_SYNCOBJ_SIGNAL,
  TIMELINE_WAIT: DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT,
  QUERY: DRM_IOCTL_SYNCOBJ_QUERY,
  TRANSFER: DRM_IOCTL_SYNCOBJ_TRANSFER,
  TIMELINE_SIGNAL: DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL,
  EVENTFD: DRM_IOCTL_SYNCOBJ_EVENTFD,
} as const;

/** Everything with both syncobj features. */
export const SYNCOBJ_FEATURES =
  DrmDriverFeature.GEM |
  DrmDriverFeature.RENDER |
  DrmDriverFeature.SYNCOBJ |
  DrmDriverFeature.SYNCOBJ_TIMELINE;

class SyncobjTestDevice {
  apply(): void {}
}

const DEVICES = new WeakMap<object, { host: DrmPluginHost; dev: DrmDevice }>();

/** The test device of `proc`'s simulator (probed on first use with `features`). */
export function syncobjDevice(
  proc: Process,
  features = SYNCOBJ_FEATURES,
): { host: DrmPluginHost; dev: DrmDevice } {
  let d = DEVICES.get(proc.sim);
  if (d === undefined) {
    const host = new DrmPluginHost(proc.sim);
    d = { host, dev: host.probe(SyncobjTestDevice, { name: "syncobj-test", features }) };
    DEVICES.set(proc.sim, d);
  }
  return d;
}

/** An open render-node fd of the test device for `proc`, with its file and syncobj table. */
export async function syncobjOpen(proc: Process, features = SYNCOBJ_FEATURES) {
  const { dev } = syncobjDevice(proc, features);
  const fd = await proc.sim.exec(`${proc.name}:open`, () => proc.open(dev.render!.path));
  const file = proc.file(fd).priv as DrmFile;
  const table: SyncobjTable = drmSyncobjTable(file);
  const ioctl = <R = Record<string, number>>(cmd: keyof typeof SYNCOBJ_IOCTL, arg: object) =>
    proc.ioctl<R>(fd, SYNCOBJ_IOCTL[cmd], arg);
  return { proc, fd, file, table, ioctl };
}
