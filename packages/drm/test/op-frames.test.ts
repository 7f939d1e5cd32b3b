/**
 * Every driver op passes through the host's interceptors: a validator report raised inside
 * `run_job`, `prepare_job`, `timedout_job` or an exporter's `map_dma_buf` names that op in its
 * backtrace (`opf: drm_sched_backend_ops.run_job`) although the driver adds no frame of its own.
 * The fixture driver below is a plain plugin; the mistake is a `GFP_KERNEL` allocation tapped
 * into one op at `DrmHookStage.EARLY`, inside the scheduler's fence-signalling section.
 */
import "reflect-metadata";
import { type DmaBufAttachment, DmaDataDirection, type SgTable } from "@drmsim/dma-buf";
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DrmGpuSchedStat, DrmSchedEntity, DrmSchedJob, DrmSchedPriority } from "@drmsim/drm-sched";
import {
  GFP_KERNEL,
  type HardwareEngine,
  HardwareEngineFactory,
  type HwFaultPlan,
  msecs,
  Simulator,
} from "@drmsim/runtime";
import { inject } from "tsyringe";
import { describe, expect, it } from "vitest";
import {
  DRM_DEVICE,
  DRM_SCHED_FACTORY,
  type DrmDevice,
  DrmDriverFeature,
  DrmHookStage,
  type DrmHooks,
  type DrmPlugin,
  DrmPluginHost,
  type DrmSchedFactory,
  HW_ENGINE_FACTORY,
  SIMULATOR,
} from "../src/index.js";

class OpfFence extends DmaFence {}

/** One ring on a factory engine, one scheduler from the factory; ops are taps, no frames. */
class Opf {
  readonly engine: HardwareEngine;
  readonly entity: DrmSchedEntity;
  private readonly ctx: number;
  private seqno = 0;
  /** What `run_job` maps before running, if set (a dynamic importer re-validating too late). */
  mapInRunJob: DmaBufAttachment | null = null;
  mapped: Promise<SgTable> | null = null;

  constructor(
    @inject(DRM_DEVICE) readonly device: DrmDevice,
    @inject(HW_ENGINE_FACTORY) engines: HardwareEngineFactory,
    @inject(DRM_SCHED_FACTORY) scheds: DrmSchedFactory,
  ) {
    this.engine = engines.create("opf-ring");
    const sched = scheds.create({ name: "opf-ring", creditLimit: 4, timeoutNs: msecs(5) });
    this.entity = new DrmSchedEntity(device.sim, DrmSchedPriority.NORMAL, [sched]);
    this.ctx = dmaFenceContextAlloc(device.sim);
  }

  apply(hooks: DrmHooks): void {
    hooks.sched.runJob.tap("opf", () => {
      const att = this.mapInRunJob;
      if (att?.dmabuf.resv.trylock()) {
        this.mapped = att.map(DmaDataDirection.BIDIRECTIONAL);
        att.dmabuf.resv.unlock();
      }
      const hw = new OpfFence(this.device.sim, this.device.fenceOps, this.ctx, ++this.seqno);
      const mine = hw.get();
      this.engine.submit({
        durationNs: msecs(1),
        onComplete: (status) => {
          if (status !== 0) mine.setError(status);
          mine.signal();
          mine.put();
        },
      });
      return hw;
    });
    hooks.sched.timedoutJob.tap("opf", () => {
      this.engine.reset();
      return DrmGpuSchedStat.RESET;
    });
    hooks.sched.freeJob.tap("opf", (job) => job.cleanup());
    hooks.fence.getDriverName.tap("opf", (f) => (f instanceof OpfFence ? "opf" : undefined));
    hooks.fence.getTimelineName.tap("opf", (f) => (f instanceof OpfFence ? "ring" : undefined));
  }

  submit(): DmaFence {
    const job = new DrmSchedJob(this.entity, 1);
    job.arm();
    const done = job.finished.get();
    this.entity.pushJob(job);
    return done;
  }
}

/** The mistake: a reclaiming allocation tapped into `op`, before the driver's own tap. */
function allocIn(op: "runJob" | "prepareJob" | "timedoutJob" | "mapDmaBuf"): DrmPlugin {
  return {
    apply(hooks: DrmHooks, device: DrmDevice) {
      const alloc = () => {
        device.sim.mm.kmalloc(256, GFP_KERNEL, `opf ${op} scratch`).free();
        return undefined;
      };
      const tap = { name: "alloc", stage: DrmHookStage.EARLY };
      if (op === "mapDmaBuf") hooks.dmaBuf.mapDmaBuf.tap(tap, alloc);
      else hooks.sched[op].tap(tap, alloc);
    },
  };
}

function probe(plugin: DrmPlugin, faults: HwFaultPlan = {}) {
  const sim = new Simulator({ validator: "collect" });
  const host = new DrmPluginHost(sim);
  const dev = host.probe(Opf, {
    name: "opf",
    desc: "op frames fixture",
    features: DrmDriverFeature.GEM,
    plugins: [plugin],
    providers: [
      {
        provide: HW_ENGINE_FACTORY,
        useFactory: (c) => new HardwareEngineFactory(c.resolve(SIMULATOR), { "opf-ring": faults }),
      },
    ],
  });
  return { sim, host, dev, opf: host.driverOf<Opf>(dev) };
}

describe("a validator report inside a driver op names the op, with no frame from the driver", () => {
  for (const [op, kernelOp, faults] of [
    ["runJob", "drm_sched_backend_ops.run_job", {}],
    ["prepareJob", "drm_sched_backend_ops.prepare_job", {}],
    ["timedoutJob", "drm_sched_backend_ops.timedout_job", { hang: [1] }],
  ] as const) {
    it(`${kernelOp}`, async () => {
      const { sim, host, dev, opf } = probe(allocIn(op), faults);
      const done = opf.submit();
      await sim.run();
      const [f] = sim.validator.findingsOf("alloc-in-signalling");
      expect(f?.backtrace[0]).toBe(`opf: ${kernelOp}`);
      expect(f?.title).toContain(`opf ${op} scratch`);
      expect(done.signaled).toBe(true);
      done.put();
      opf.entity.fini();
      host.remove(dev);
    });
  }

  it("dma_buf_ops.map_dma_buf (mapped from run_job)", async () => {
    const { sim, host, dev, opf } = probe(allocIn("mapDmaBuf"));
    const obj = dev.gemCreateObject(4096);
    const buf = dev.gemFuncs.export!(obj, 0);
    obj.put();
    const att = buf.dynamicAttach(dev.dmaDev, { invalidateMappings: () => {} }, null);
    opf.mapInRunJob = att;
    const done = opf.submit();
    await sim.run();
    const [f] = sim.validator.findingsOf("alloc-in-signalling");
    expect(f?.backtrace.slice(0, 2)).toEqual([
      "opf: dma_buf_ops.map_dma_buf",
      "opf: drm_sched_backend_ops.run_job",
    ]);
    done.put();
    await buf.resv.lock(null);
    att.unmap((await opf.mapped)!, DmaDataDirection.BIDIRECTIONAL);
    buf.resv.unlock();
    buf.detach(att);
    buf.put();
    opf.entity.fini();
    host.remove(dev);
  });

  it("the same driver without the mistake is quiet", async () => {
    const { sim, host, dev, opf } = probe({ apply() {} });
    const done = opf.submit();
    await sim.run();
    done.put();
    opf.entity.fini();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
