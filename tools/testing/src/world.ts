/**
 * A small world for interop tests: one simulator, a plugin host with N devices (any mix of
 * drivers) and named userspace processes, torn down in the kernel's order (processes exit, then
 * devices are unplugged, then the simulator checks for leaks). Interop suites start from here so
 * each test reads like the userspace it models.
 */
import { type DrmDevice, DrmPluginHost } from "@drmsim/drm";
import { type Finding, Process, Simulator, type SimulatorOptions } from "@drmsim/runtime";

/** Options of `createWorld`. */
export interface WorldOptions extends SimulatorOptions {
  /** One probe function per device, in probe order (`[vgemProbe, vgemProbe]` gives card0 and card1). */
  devices?: readonly ((host: DrmPluginHost) => DrmDevice)[];
  /** Names of the processes to create, e.g. `["renderer", "compositor"]`. */
  processes?: readonly string[];
}

/** What `createWorld` returns. */
export interface World {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly devices: DrmDevice[];
  /** The processes by name. */
  readonly procs: Record<string, Process>;
  /**
   * Runs `fn` as a task and drives the simulator until that task settles (`sim.exec`): events due
   * after its end (another device's job, a safety timer) stay pending.
   */
  exec<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /** Runs `fn` as a task, then the simulator until nothing is left to do (`sim.execUntilIdle`). */
  execUntilIdle<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /**
   * Exits every process still alive, removes every device still probed, drains the event queue
   * and tears the simulator down. Returns the teardown findings (leaks, unsignalled fences, held
   * locks) — `[]` for a clean world.
   */
  teardown(): Promise<Finding[]>;
}

/** Creates a world with `opts.devices` probed and `opts.processes` created. */
export function createWorld(opts: WorldOptions = {}): World {
  const { devices: probes = [], processes = [], ...simOpts } = opts;
  const sim = new Simulator(simOpts);
  const host = new DrmPluginHost(sim);
  const devices = probes.map((probe) => probe(host));
  const procs: Record<string, Process> = {};
  for (const name of processes) procs[name] = new Process(sim, name);
  return {
    sim,
    host,
    devices,
    procs,
    exec: (name, fn) => sim.exec(name, fn),
    execUntilIdle: (name, fn) => sim.execUntilIdle(name, fn),
    async teardown() {
      for (const p of Object.values(procs)) if (!p.exited) p.exit();
      for (const d of host.devices) host.remove(d);
      await sim.run();
      return sim.teardown().findings;
    },
  };
}
