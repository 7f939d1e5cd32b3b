/** Test rig for the amdgpu tests; the userspace side is `@drmsim/amdgpu/user` (`src/user`). */
import { DrmPluginHost } from "@drmsim/drm";
import { Process, Simulator, type SimulatorOptions, WaitQueue } from "@drmsim/runtime";
import { type AmdgpuConfig, type AmdgpuDevice, amdgpuDeviceOf, amdgpuProbe } from "../src/index.js";

export interface Rig {
  sim: Simulator;
  host: DrmPluginHost;
  dev: ReturnType<typeof amdgpuProbe>;
  adev: AmdgpuDevice;
}

export function rig(config: AmdgpuConfig = {}, simOpts: SimulatorOptions = {}): Rig {
  const sim = new Simulator(simOpts);
  const host = new DrmPluginHost(sim);
  const dev = amdgpuProbe(host, config);
  return { sim, host, dev, adev: amdgpuDeviceOf(dev) };
}

/** Expect a promise to reject with a KernelError of `code`. */
export async function errno(pr: Promise<unknown>): Promise<string> {
  try {
    await pr;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "no error";
}

export { Process };

/** Sleep `ns` of virtual time inside a task. */
export async function nap(sim: Simulator, ns: number): Promise<void> {
  await new WaitQueue(sim, "nap").waitEvent(() => false, { timeoutNs: ns });
}
