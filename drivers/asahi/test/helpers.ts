/** Userspace-side helpers for the asahi tests: what Mesa's asahi winsys does, in a few calls. */
import type { DmaFence } from "@drmsim/dma-fence";
import { type DrmDevice, DrmPluginHost, drmSyncobjTable } from "@drmsim/drm";
import { type Process, Simulator } from "@drmsim/runtime";
import {
  ASAHI_VM_KERNEL_MIN_SIZE,
  type AsahiProbeOptions,
  asahiFileOf,
  asahiProbe,
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_IOCTL_ASAHI_GEM_CREATE,
  DRM_IOCTL_ASAHI_QUEUE_CREATE,
  DRM_IOCTL_ASAHI_SUBMIT,
  DRM_IOCTL_ASAHI_VM_CREATE,
  type DrmAsahiCommand,
  type DrmAsahiSubmit,
} from "../src/index.js";

export const KERNEL_START = 0x1_0000_0000;

export function setup(
  opts: AsahiProbeOptions & { validator?: "throw" | "collect"; trace?: boolean; seed?: number } = {},
) {
  const { validator, trace, seed, ...probe } = opts;
  const sim = new Simulator({ validator, trace, seed });
  const host = new DrmPluginHost(sim);
  const dev = asahiProbe(host, probe);
  return { sim, host, dev };
}

export const fileOf = (dev: DrmDevice, proc: Process) => [...dev.files].find((f) => f.proc === proc)!;

export async function vmCreate(p: Process, fd: number): Promise<number> {
  const r = await p.ioctl<{ vm_id: number }>(fd, DRM_IOCTL_ASAHI_VM_CREATE, {
    kernel_start: KERNEL_START,
    kernel_end: KERNEL_START + ASAHI_VM_KERNEL_MIN_SIZE,
  });
  return r.vm_id;
}

export async function queueCreate(p: Process, fd: number, vm_id: number, priority = 1): Promise<number> {
  return (await p.ioctl<{ queue_id: number }>(fd, DRM_IOCTL_ASAHI_QUEUE_CREATE, { vm_id, priority }))
    .queue_id;
}

export async function gemCreate(p: Process, fd: number, size: number, flags = 0, vm_id = 0): Promise<number> {
  return (await p.ioctl<{ handle: number }>(fd, DRM_IOCTL_ASAHI_GEM_CREATE, { size, flags, vm_id })).handle;
}

/** Opens the render node and sets up one VM and one queue. */
export async function openQueue(p: Process, path = "/dev/dri/renderD128") {
  const fd = await p.open(path);
  const vm = await vmCreate(p, fd);
  const queue = await queueCreate(p, fd, vm);
  return { fd, vm, queue };
}

export const render = (extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand => ({
  cmd_type: DRM_ASAHI_CMD_RENDER,
  vdm_barrier: DRM_ASAHI_BARRIER_NONE,
  cdm_barrier: DRM_ASAHI_BARRIER_NONE,
  ...extra,
});

export const compute = (extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand => ({
  cmd_type: DRM_ASAHI_CMD_COMPUTE,
  vdm_barrier: DRM_ASAHI_BARRIER_NONE,
  cdm_barrier: DRM_ASAHI_BARRIER_NONE,
  ...extra,
});

export function submit(p: Process, fd: number, args: DrmAsahiSubmit): Promise<DrmAsahiSubmit> {
  return p.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, args);
}

/** Out-sync entries: binary handles, or [handle, point] for timelines. */
export function outSyncs(...s: (number | [number, number])[]) {
  return s.map((x) =>
    typeof x === "number"
      ? { sync_type: 0, handle: x, timeline_value: 0 }
      : { sync_type: 1, handle: x[0], timeline_value: x[1] },
  );
}

/** The fence a syncobj holds now (kernel side; a new reference). */
export function syncobjFence(dev: DrmDevice, p: Process, handle: number): DmaFence | null {
  const s = drmSyncobjTable(fileOf(dev, p)).find(handle);
  if (s === null) return null;
  const f = s.fenceGet();
  s.put();
  return f;
}

/** The error a syncobj's fence carries (after it signalled). */
export function syncobjError(dev: DrmDevice, p: Process, handle: number): number {
  const f = syncobjFence(dev, p, handle);
  if (f === null) throw new Error(`syncobj ${handle} has no fence`);
  const e = f.error;
  f.put();
  return e;
}

export const queueOf = (dev: DrmDevice, p: Process, id: number) =>
  asahiFileOf(fileOf(dev, p)).queue(id, "test");
