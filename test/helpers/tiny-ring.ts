/**
 * A driver small enough to read in one sitting: one hardware ring (a serial `HardwareEngine`
 * from the device's engine factory) behind one `DrmGpuScheduler` (from its scheduler factory)
 * and one entity, the way a simple GPU driver (v3d, etnaviv) is built, written as a plugin like
 * every drmsim driver. The seed fixtures break it with a plugin of their own that taps one of
 * its ops — at `DrmHookStage.EARLY`, so the mistake runs inside the op, before the driver's own
 * tap — and each fixture shows only its mistake. The framework names every op in backtraces
 * (`alloc_in_runjob: drm_sched_backend_ops.run_job`); nothing here pushes a frame by hand.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  DRM_DEVICE,
  DRM_SCHED_FACTORY,
  type DrmDevice,
  DrmDriverFeature,
  type DrmHooks,
  type DrmPlugin,
  DrmPluginHost,
  type DrmSchedFactory,
  drmToken,
  HW_ENGINE_FACTORY,
} from "@drmsim/drm";
import {
  DrmGpuSchedStat,
  type DrmGpuScheduler,
  DrmSchedEntity,
  DrmSchedJob,
  DrmSchedPriority,
} from "@drmsim/drm-sched";
import { type HardwareEngine, type HardwareEngineFactory, type Simulator, usecs } from "@drmsim/runtime";
import { inject } from "tsyringe";

/** Options of `tinyRingProbe`. */
export interface TinyRingOptions {
  /** Ring time per job (default 100 µs). */
  jobNs?: number;
  /** TDR timeout (default none). */
  timeoutNs?: number;
  /** Plugins applied after the driver: a fixture's mistake, tapped at `DrmHookStage.EARLY`. */
  plugins?: readonly DrmPlugin[];
}

const TINY_OPTIONS = drmToken<TinyRingOptions>("TINY_OPTIONS");

/** The driver's hardware fence. */
class TinyFence extends DmaFence {}

/** The tiny driver plugin: its scheduler ops and fence ops are taps, like any driver's. */
class TinyDriver {
  readonly engine: HardwareEngine;
  readonly sched: DrmGpuScheduler;
  readonly entity: DrmSchedEntity;
  /** Hardware fences not yet signalled, oldest first (what a shrinker would wait on). */
  readonly inflight: DmaFence[] = [];
  private readonly context: number;
  private seqno = 0;

  constructor(
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(HW_ENGINE_FACTORY) engines: HardwareEngineFactory,
    @inject(DRM_SCHED_FACTORY) scheds: DrmSchedFactory,
    @inject(TINY_OPTIONS) private readonly opts: TinyRingOptions,
  ) {
    const name = device.driver.name;
    this.engine = engines.create(`${name}-ring`, { device: name });
    this.context = dmaFenceContextAlloc(device.sim);
    this.sched = scheds.create({
      name: `${name}-ring`,
      creditLimit: 16,
      ...(opts.timeoutNs !== undefined ? { timeoutNs: opts.timeoutNs } : {}),
    });
    this.entity = new DrmSchedEntity(device.sim, DrmSchedPriority.NORMAL, [this.sched]);
  }

  apply(hooks: DrmHooks): void {
    const name = this.device.driver.name;
    hooks.sched.runJob.tap(name, () => this.emit());
    hooks.sched.timedoutJob.tap(name, () => DrmGpuSchedStat.RESET);
    hooks.sched.freeJob.tap(name, (job) => job.cleanup());
    hooks.fence.getDriverName.tap(name, (f) => (f instanceof TinyFence ? name : undefined));
    hooks.fence.getTimelineName.tap(name, (f) => (f instanceof TinyFence ? "ring" : undefined));
  }

  private emit(): DmaFence {
    const sim = this.device.sim;
    const hw = new TinyFence(sim, this.device.fenceOps, this.context, ++this.seqno);
    const mine = hw.get();
    this.inflight.push(mine);
    this.engine.submit({
      durationNs: this.opts.jobNs ?? usecs(100),
      label: `${this.device.driver.name} job ${this.seqno}`,
      onComplete: (status) => {
        if (status !== 0) mine.setError(status);
        mine.signal();
        this.inflight.splice(this.inflight.indexOf(mine), 1);
        mine.put();
      },
    });
    return hw;
  }
}

/** One ring, one scheduler, one entity on a probed device; `submit()` returns the job's finished fence. */
export class TinyRing {
  constructor(
    readonly host: DrmPluginHost,
    readonly device: DrmDevice,
    private readonly driver: TinyDriver,
  ) {}

  get sim(): Simulator {
    return this.device.sim;
  }
  get engine(): HardwareEngine {
    return this.driver.engine;
  }
  get sched(): DrmGpuScheduler {
    return this.driver.sched;
  }
  get entity(): DrmSchedEntity {
    return this.driver.entity;
  }
  /** Hardware fences not yet signalled, oldest first. */
  get inflight(): readonly DmaFence[] {
    return this.driver.inflight;
  }

  /** Queues one job after `deps` (references are taken); returns its finished fence (a reference for the caller). */
  submit(deps: readonly DmaFence[] = []): DmaFence {
    const job = new DrmSchedJob(this.entity, 1);
    for (const d of deps) job.addDependency(d.get());
    job.arm();
    const done = job.finished.get();
    this.entity.pushJob(job);
    return done;
  }

  /** Flushes the entity, tears the scheduler down and removes the device. */
  fini(): void {
    this.entity.fini();
    this.sched.fini();
    this.host.remove(this.device);
  }
}

/** Probes the tiny driver as `name` on a host of its own over `sim`. */
export function tinyRingProbe(sim: Simulator, name: string, opts: TinyRingOptions = {}): TinyRing {
  const host = new DrmPluginHost(sim);
  const device = host.probe(TinyDriver, {
    name,
    desc: `${name} (tiny ring)`,
    features: DrmDriverFeature.GEM,
    providers: [{ provide: TINY_OPTIONS, useValue: opts }],
    plugins: opts.plugins ?? [],
  });
  return new TinyRing(host, device, host.driverOf<TinyDriver>(device));
}
