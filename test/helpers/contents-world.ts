/**
 * A world holding one device of each driver for the contents suites: amdgpu and habanalabs behind
 * one PCIe switch (peer-to-peer allowed between them), asahi and vgem as platform devices. Agents
 * (`agents.ts`) are opened on it by driver name.
 */
import { amdgpuProbe } from "@drmsim/amdgpu";
import { asahiProbe } from "@drmsim/asahi";
import { type PciDev, PciHostBridge } from "@drmsim/dma-buf";
import { type DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { habanalabsProbe } from "@drmsim/habanalabs";
import { Process, Simulator, type SimulatorOptions } from "@drmsim/runtime";
import { vgemProbe } from "@drmsim/vgem";
import { type Agent, type AgentKind, amdgpuAgent, asahiAgent, habanalabsAgent, vgemAgent } from "./agents.js";

/** The drivers in the order the suites walk them. */
export const AGENT_KINDS: readonly AgentKind[] = ["vgem", "asahi", "amdgpu", "habanalabs"];

/** What `contentsWorld` returns. */
export interface ContentsWorld {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly devs: Record<AgentKind, DrmDevice>;
  /** The node an agent of `kind` opens (vgem's primary node: dumb buffers are not render-allowed). */
  path(kind: AgentKind): string;
  /** A new process driving a device of `kind`, opened inside its own task (inside `exec`). */
  agent(kind: AgentKind, name?: string): Promise<Agent>;
  /** Runs `fn` as a task and drives the simulator until it settles (`sim.exec`). */
  exec<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` in `a`'s process and waits for it (inside `exec`). */
  on<T>(a: Agent, fn: () => Promise<T>): Promise<T>;
  /** Exits every process, removes the devices still present and returns the teardown findings. */
  teardown(): Promise<readonly unknown[]>;
}

/** One simulator with one device of each driver. */
export function contentsWorld(opts: SimulatorOptions = {}): ContentsWorld {
  const sim = new Simulator(opts);
  const host = new DrmPluginHost(sim);
  const [a, b] = new PciHostBridge("pci0000:00").addRootPort("00:01.0").addSwitch("sw0", 2) as [
    PciDev,
    PciDev,
  ];
  const devs: Record<AgentKind, DrmDevice> = {
    amdgpu: amdgpuProbe(host, { pci: a.addEndpoint("03:00.0") }),
    habanalabs: habanalabsProbe(host, { pci: b.addEndpoint("04:00.0") }),
    asahi: asahiProbe(host),
    vgem: vgemProbe(host),
  };
  const procs: Process[] = [];
  const path = (k: AgentKind) => {
    const d = devs[k];
    const m = k === "vgem" ? d.primary : (d.render ?? d.accel);
    if (m === undefined) throw new Error(`${d} has no node for ${k}`);
    return m.path;
  };
  const open = { vgem: vgemAgent, asahi: asahiAgent, amdgpu: amdgpuAgent, habanalabs: habanalabsAgent };
  return {
    sim,
    host,
    devs,
    path,
    async agent(kind, name = `${kind}-user`) {
      const p = new Process(sim, `${name}.${procs.length}`);
      procs.push(p);
      return p.run(() => open[kind](p, path(kind))).result;
    },
    exec: (fn) => sim.exec("test", fn),
    on: (a, fn) => a.proc.run(fn).result,
    async teardown() {
      for (const p of procs) if (!p.exited) p.exit();
      for (const d of [...host.devices]) host.remove(d);
      await sim.run();
      return sim.teardown().findings;
    },
  };
}
