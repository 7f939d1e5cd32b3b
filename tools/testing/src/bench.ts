/**
 * The world one conformance check runs in: a fresh simulator in the validator's `collect` mode,
 * a plugin host with one device of the driver, and userspace processes (recording their ioctls)
 * with the driver's node open; closed in the kernel's order. And the list a check collects its
 * problems in, so one check reports every problem it sees. There is no kernel counterpart.
 */
import { type DrmDevice, type DrmFile, DrmPluginHost } from "@drmsim/drm";
import { type Finding, Simulator } from "@drmsim/runtime";
import {
  type ConformanceDriver,
  type ConformanceWork,
  conformanceNode,
  DEFAULT_FENCE_TIMEOUT_NS,
} from "./conformance-driver.js";
import { RecordingProcess } from "./recording-process.js";

/** A problem found by a check: collected, not thrown, so a check can report several. */
export class Problems {
  readonly list: string[] = [];
  add(text: string): void {
    this.list.push(text);
  }
  findings(fs: readonly Finding[], when: string): void {
    for (const f of fs) this.add(`${when}: ${f.toString()}`);
  }
}

/** A process of a bench: records its ioctls. */
export interface BenchWork extends ConformanceWork {
  readonly proc: RecordingProcess;
}

/** One check's world (see the module comment). */
export class Bench {
  readonly sim: Simulator;
  readonly host: DrmPluginHost;
  readonly device: DrmDevice;
  readonly procs: RecordingProcess[] = [];

  constructor(
    readonly driver: ConformanceDriver,
    seed: number | string,
  ) {
    this.sim = new Simulator({ seed, validator: "collect" });
    this.host = new DrmPluginHost(this.sim);
    this.device = driver.probe(this.host);
  }

  /** A new process of this world, with nothing open. */
  process(name: string): RecordingProcess {
    const proc = new RecordingProcess(this.sim, name);
    this.procs.push(proc);
    return proc;
  }

  /** A new process with the driver's node open (call from a task). */
  async open(name: string): Promise<BenchWork> {
    const proc = this.process(name);
    const fd = await proc.open(conformanceNode(this.driver, this.device));
    return { sim: this.sim, device: this.device, proc, fd };
  }

  /** Runs `fn` as a task until it settles (`sim.exec`). */
  exec<T>(fn: () => Promise<T>): Promise<T> {
    return this.sim.exec("conformance", fn);
  }

  /** Lets the jobs submitted so far complete: runs the simulation for the driver's fence bound. */
  settle(): Promise<unknown> {
    return this.sim.run({ untilNs: this.sim.now + (this.driver.fenceTimeoutNs ?? DEFAULT_FENCE_TIMEOUT_NS) });
  }

  /** Exits the processes, removes the device, drains, tears down; returns the teardown findings. */
  async close(): Promise<Finding[]> {
    for (const p of this.procs) if (!p.exited) p.exit();
    if (this.host.devices.includes(this.device)) this.host.remove(this.device);
    await this.sim.run();
    return this.sim.teardown().findings;
  }
}

/** The DRM file behind `work.fd` (kernel side). */
export const drmFileOf = (work: ConformanceWork): DrmFile => work.proc.file(work.fd).priv as DrmFile;
