/** Test rig for the asahi tests; the userspace side is `@drmsim/asahi/user` (`src/user`). */
import { type DrmDevice, DrmPluginHost, type DrmProbeOptions } from "@drmsim/drm";
import { type Process, Simulator } from "@drmsim/runtime";
import { processFile, syncobjFence } from "@drmsim/testing";
import {
  type AsahiGpuConfig,
  asahiFileOf,
  asahiProbe,
  DRM_IOCTL_ASAHI_SUBMIT,
  type DrmAsahiSubmit,
} from "../src/index.js";
import {
  AGX_KERNEL_VA_START,
  type AgxCommand,
  agxEncodeCmdbuf,
  agxSimHwNext,
  agxSimOverrides,
  agxSyncobj,
  agxTimelineSyncobj,
} from "../src/user/index.js";

export const KERNEL_START = AGX_KERNEL_VA_START;

/**
 * A simulator with one asahi device. `providers` and `plugins` go to `asahiProbe` (container
 * overrides, test plugins); the rest of `opts` is the GPU configuration.
 */
export function setup(
  opts: Partial<AsahiGpuConfig> & {
    validator?: "throw" | "collect";
    trace?: boolean;
    seed?: number;
    providers?: (sim: Simulator) => DrmProbeOptions["providers"];
    plugins?: DrmProbeOptions["plugins"];
  } = {},
) {
  const { validator, trace, seed, providers, plugins, ...config } = opts;
  const sim = new Simulator({ validator, trace, seed });
  const host = new DrmPluginHost(sim);
  const dev = asahiProbe(host, config, { providers: providers?.(sim), plugins });
  return { sim, host, dev };
}

// Kernel-side peeks: one copy, in @drmsim/testing.
export { processFile as fileOf, syncobjFence };

/** A raw SUBMIT argument, with `commands` the library encodes into `cmdbuf`/`cmdbuf_size`. */
export type TestSubmit = DrmAsahiSubmit & { commands?: readonly AgxCommand[] };

/**
 * `DRM_IOCTL_ASAHI_SUBMIT` with `args` as given (the error-path tests build every member);
 * `commands` become the byte command buffer (a `cmdbuf`/`cmdbuf_size` given too wins), and their
 * simulation knobs go through the side channel first, cleared again if the submit fails.
 */
export async function submit(p: Process, fd: number, args: TestSubmit): Promise<DrmAsahiSubmit> {
  const { commands, ...raw } = args;
  const cmdbuf = commands === undefined ? undefined : agxEncodeCmdbuf(commands);
  const overrides = commands === undefined ? null : agxSimOverrides(commands);
  if (overrides !== null) await agxSimHwNext(p, fd, raw.queue_id ?? 0, overrides);
  try {
    return await p.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, { cmdbuf, cmdbuf_size: cmdbuf?.length, ...raw });
  } catch (e) {
    if (overrides !== null) await agxSimHwNext(p, fd, raw.queue_id ?? 0, []);
    throw e;
  }
}

/** Out-sync entries: binary handles, or [handle, point] for timelines. */
export function outSyncs(...s: (number | [number, number])[]) {
  return s.map((x) => (typeof x === "number" ? agxSyncobj(x) : agxTimelineSyncobj(x[0], x[1])));
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
  asahiFileOf(processFile(dev, p)).queue(id, "test");
