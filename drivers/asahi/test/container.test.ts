/**
 * The device's hardware comes from its container: a test replaces a firmware ring through
 * `HW_ENGINE_FACTORY` (a planned hang, a lost completion interrupt), the schedulers through
 * `DRM_SCHED_FACTORY` and the limits through `ASAHI_CONFIG` — without touching the driver — and
 * observes the driver's timeout handling and recovery. Also: the fences the driver creates carry
 * the device's hook-routed `dma_fence_ops`.
 */
import {
  DRM_DEVICE,
  DRM_SCHED_FACTORY,
  DrmSchedFactory,
  type DrmSchedFactoryArgs,
  drmSyncobjCreate,
  drmSyncobjWait,
  HW_ENGINE_FACTORY,
} from "@drmsim/drm";
import type { DrmGpuScheduler } from "@drmsim/drm-sched";
import {
  ERRNO,
  HardwareEngineFactory,
  type HwFaultPlans,
  msecs,
  Process,
  type Simulator,
  usecs,
} from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  ASAHI_CONFIG,
  ASAHI_DEFAULT_CONFIG,
  AsahiFwFence,
  AsahiJobFence,
  AsahiQueue,
  asahiDeviceOf,
} from "../src/index.js";
import { agxOpenContext, agxRenderCommand } from "../src/user/index.js";
import { outSyncs, queueOf, setup, submit, syncobjError } from "./helpers.js";

const FOREVER = 2n ** 62n;
const T = msecs(10);

/** A device whose firmware rings get the fault `plans` (by engine name). */
function faulty(plans: HwFaultPlans) {
  let factory: HardwareEngineFactory | null = null;
  const world = setup({
    timeoutNs: T,
    providers: (sim: Simulator) => {
      factory = new HardwareEngineFactory(sim, plans);
      return [{ provide: HW_ENGINE_FACTORY, useValue: factory }];
    },
  });
  return { ...world, factory: factory! };
}

describe("firmware rings from HW_ENGINE_FACTORY", () => {
  it("a ring that hangs on its 2nd command: the TDR resets it, that job fails with -ETIMEDOUT, the rest completes", async () => {
    const { sim, host, dev, factory } = faulty({ "asahi-q1-frag": { hang: [2] } });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const [a, b, c] = [
        await drmSyncobjCreate(app, fd),
        await drmSyncobjCreate(app, fd),
        await drmSyncobjCreate(app, fd),
      ];
      for (const so of [a, b, c])
        await submit(app, fd, {
          queue_id: queue,
          commands: [agxRenderCommand()],
          syncs: outSyncs(so),
          out_sync_count: 1,
        });
      await drmSyncobjWait(app, fd, [a], FOREVER);
      // Job a's fragment is the ring's first command: 50 µs vertex + 200 µs fragment, on time.
      expect(sim.now).toBe(usecs(250));
      await drmSyncobjWait(app, fd, [b, c], FOREVER, 1);
      // b hung from 250 µs; the TDR (re-armed for b when a retired) fired T later.
      expect(sim.now).toBe(usecs(250) + T + usecs(200));
      expect([a, b, c].map((h) => syncobjError(dev, app, h))).toEqual([0, -ERRNO.ETIMEDOUT, 0]);
      const q = queueOf(dev, app, queue);
      // The driver's ring runs on the engine the test's factory built.
      expect(factory.engines.get("asahi-q1-frag")).toBe(q.rings.fragment.engine);
      expect(q.stats).toMatchObject({ timeouts: 1, resets: 1, lostIrqs: 0 });
      expect(q.rings.fragment.engine.stats).toMatchObject({ resets: 1, aborted: 1, submitted: 3 });
      expect(q.rings.vertex.engine.stats.resets).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a ring that loses its 1st completion interrupt: the timeout handler finds the work done and completes it, no reset", async () => {
    const { sim, host, dev } = faulty({ "asahi-q1-frag": { dropIrq: [1] } });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const [a, b, c] = [
        await drmSyncobjCreate(app, fd),
        await drmSyncobjCreate(app, fd),
        await drmSyncobjCreate(app, fd),
      ];
      for (const so of [a, b])
        await submit(app, fd, {
          queue_id: queue,
          commands: [agxRenderCommand()],
          syncs: outSyncs(so),
          out_sync_count: 1,
        });
      await drmSyncobjWait(app, fd, [a, b], FOREVER, 1);
      // Both commands finished on the hardware by 450 µs, but a's interrupt never came, and b's
      // job fence signals after a's: both complete when the TDR reads the completion stamps.
      expect(sim.now).toBe(T);
      expect([a, b].map((h) => syncobjError(dev, app, h))).toEqual([0, 0]);
      const q = queueOf(dev, app, queue);
      expect(q.stats).toMatchObject({ timeouts: 1, resets: 0, lostIrqs: 1 });
      expect(q.rings.fragment.stats).toMatchObject({ lostIrqs: 1, completed: 2, failed: 0 });
      expect(q.rings.fragment.engine.stats).toMatchObject({ droppedIrqs: 1, resets: 0, completed: 1 });
      // The queue goes on.
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand()],
        syncs: outSyncs(c),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [c], FOREVER);
      expect(sim.now).toBe(T + usecs(250));
      expect(syncobjError(dev, app, c)).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("without a timeout a lost interrupt is a hang nobody recovers: the job never signals", async () => {
    const sim0 = { now: 0 };
    const { sim, host, dev } = setup({
      timeoutNs: Number.POSITIVE_INFINITY,
      providers: (s) => [
        {
          provide: HW_ENGINE_FACTORY,
          useValue: new HardwareEngineFactory(s, { "asahi-q1-frag": { dropIrq: [1] } }),
        },
      ],
    });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const a = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand()],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await expect(drmSyncobjWait(app, fd, [a], msecs(50))).rejects.toMatchObject({ code: "ETIME" });
      sim0.now = sim.now;
      expect(queueOf(dev, app, queue).stats.timeouts).toBe(0);
    });
    expect(sim0.now).toBe(msecs(50));
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("schedulers from DRM_SCHED_FACTORY, limits from ASAHI_CONFIG", () => {
  it("a test's scheduler factory and configuration are the ones the queues use", async () => {
    const made: DrmGpuScheduler[] = [];
    class RecordingFactory extends DrmSchedFactory {
      override create(args: DrmSchedFactoryArgs): DrmGpuScheduler {
        const s = super.create(args);
        made.push(s);
        return s;
      }
    }
    const { sim, host, dev } = setup({
      providers: () => [
        { provide: DRM_SCHED_FACTORY, useFactory: (c) => new RecordingFactory(c.resolve(DRM_DEVICE)) },
        // The last provider of a token wins over asahiProbe's own config.
        { provide: ASAHI_CONFIG, useValue: { ...ASAHI_DEFAULT_CONFIG, slots: 2 } },
      ],
    });
    expect(asahiDeviceOf(dev).config.slots).toBe(2);
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const q = queueOf(dev, app, queue);
      expect(made).toEqual([q.sched]);
      expect(q.sched.name).toBe("asahi-q1");
      // Three render commands need three vertex slots: more than the 2-slot ring has.
      await expect(
        submit(app, fd, {
          queue_id: queue,
          commands: [agxRenderCommand(), agxRenderCommand(), agxRenderCommand()],
        }),
      ).rejects.toThrow(/could never run/);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("the driver's fences", () => {
  it("job and firmware-command fences use the device's fence ops: driver asahi, timelines named after the queue and the ring", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, queue } = await agxOpenContext(app);
      const so = await drmSyncobjCreate(app, fd);
      await submit(app, fd, {
        queue_id: queue,
        commands: [agxRenderCommand()],
        syncs: outSyncs(so),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [so], sim.now + usecs(100)).catch(() => undefined);
      const q = queueOf(dev, app, queue);
      const [job] = q.sched.pendingJobs();
      const hw = AsahiQueue.jobOf(job!).hwFence!;
      expect(hw).toBeInstanceOf(AsahiJobFence);
      expect(hw.ops).toBe(dev.fenceOps);
      expect([hw.driverName, hw.timelineName]).toEqual(["asahi", "asahi-q1"]);
      const fw = q.rings.fragment.oldestPendingFence()!;
      expect(fw).toBeInstanceOf(AsahiFwFence);
      expect(fw.ops).toBe(dev.fenceOps);
      expect([fw.driverName, fw.timelineName]).toEqual(["asahi", "asahi-q1-frag"]);
      fw.put();
      await drmSyncobjWait(app, fd, [so], FOREVER);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
