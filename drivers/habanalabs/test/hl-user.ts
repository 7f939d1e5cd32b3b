/** Test rig for the habanalabs tests; the userspace side is `@drmsim/habanalabs/user` (`src/user`). */
import { DrmPluginHost } from "@drmsim/drm";
import { type KernelError, type Process, Simulator, WaitQueue } from "@drmsim/runtime";
import { type HlCsArgs, type HlDeviceOptions, habanalabsProbe, hlDeviceOf } from "../src/index.js";
import { type HlthunkChunk, hlthunkCommandSubmission } from "../src/user/index.js";

/** A simulator, a host and one habanalabs device. */
export function rig(options: HlDeviceOptions = {}, probe: Parameters<typeof habanalabsProbe>[2] = {}) {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = habanalabsProbe(host, options, probe);
  return { sim, host, dev, hdev: hlDeviceOf(dev) };
}

/** `hlthunk_command_submission` of `chunks`: just the sequence number. */
export async function cs(
  p: Process,
  fd: number,
  chunks: HlthunkChunk[],
  extra: NonNullable<HlCsArgs["in"]> = {},
) {
  return Number((await hlthunkCommandSubmission(p, fd, chunks, extra)).seq);
}

/** msleep() in a simulated task. */
export const sleep = (sim: Simulator, ns: number) =>
  new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });

/** The errno a promise rejects with ("ok" if it resolves). */
export const errno = (pr: Promise<unknown>) =>
  pr.then(
    () => "ok",
    (e: KernelError) => e.code,
  );
