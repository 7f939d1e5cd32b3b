/**
 * Fault injection and recovery: a command that never completes, a command that fails, a firmware
 * crash. The TDR recovers the queue, the failing job's fences carry the error, the innocent jobs
 * of the same queue complete (their work stays on the firmware; nothing is re-run), and other
 * queues never notice. Also queue destroy and file close with work in flight.
 */
import { DrmHookStage, type DrmPlugin, drmSyncobjCreate, drmSyncobjWait } from "@drmsim/drm";
import { ERRNO, msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  agxComputeCommand,
  agxCreateCommandQueue,
  agxDestroyCommandQueue,
  agxOpenContext,
  agxRenderCommand,
} from "../src/user/index.js";
import { outSyncs, queueOf, setup, submit, syncobjError, syncobjFence } from "./helpers.js";

const FOREVER = 2n ** 62n;
const T = msecs(10);

async function twoQueues(app: Process) {
  const { fd, vm, queue: q1 } = await agxOpenContext(app);
  const q2 = await agxCreateCommandQueue(app, fd, vm, 0);
  const so = async () => drmSyncobjCreate(app, fd);
  return { fd, q1, q2, so };
}

describe("recovery", () => {
  it("a hung command: TDR after the timeout, -ETIMEDOUT on its job only, the queue goes on, other queues never stall", async () => {
    const { sim, host, dev } = setup({ timeoutNs: T });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, q1, q2, so } = await twoQueues(app);
      const [a, b, c, d] = [await so(), await so(), await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand({ hang: true })],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxComputeCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q2,
        commands: [agxRenderCommand(), agxComputeCommand({ vdm_barrier: 1 })],
        syncs: outSyncs(c),
        out_sync_count: 1,
      });
      // The other queue finishes on time while queue 1 is hung.
      await drmSyncobjWait(app, fd, [c], FOREVER);
      expect(sim.now).toBe(usecs(350));
      expect(syncobjError(dev, app, c)).toBe(0);
      await drmSyncobjWait(app, fd, [a, b], FOREVER, 1);
      expect(sim.now).toBeGreaterThanOrEqual(T);
      expect(syncobjError(dev, app, a)).toBe(-ERRNO.ETIMEDOUT);
      expect(syncobjError(dev, app, b)).toBe(0);
      const q = queueOf(dev, app, q1);
      expect(q.stats).toMatchObject({ timeouts: 1, resets: 1 });
      expect(q.rings.fragment.engine.stats.resets).toBe(1);
      expect(queueOf(dev, app, q2).stats.timeouts).toBe(0);
      // After recovery the queue takes new work.
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(d),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [d], FOREVER);
      expect(syncobjError(dev, app, d)).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a firmware crash: the running command aborts with -EIO at the TDR, queued work of later jobs survives", async () => {
    const { sim, host, dev } = setup({ timeoutNs: T });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, q1, q2, so } = await twoQueues(app);
      const [a, b, c] = [await so(), await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand({ fragment_ns: msecs(1) })],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      const q = queueOf(dev, app, q1);
      sim.schedule(usecs(500), () => q.rings.fragment.engine.crash());
      await submit(app, fd, {
        queue_id: q2,
        commands: [agxRenderCommand({ fragment_ns: msecs(2) })],
        syncs: outSyncs(c),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [c], FOREVER);
      expect(sim.now).toBe(usecs(2050));
      expect(syncobjError(dev, app, c)).toBe(0);
      await drmSyncobjWait(app, fd, [a, b], FOREVER, 1);
      expect(syncobjError(dev, app, a)).toBe(-ERRNO.EIO);
      expect(syncobjError(dev, app, b)).toBe(0);
      expect(q.rings.fragment.engine.stats).toMatchObject({ crashes: 1, resets: 1, aborted: 1 });
      expect(q.stats.timeouts).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a command that faults: the job carries its errno, its later commands are skipped (-ECANCELED), the next job runs", async () => {
    const { sim, host, dev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, q1, so } = await twoQueues(app);
      const [a, b] = [await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [
          agxRenderCommand({ error: -ERRNO.EFAULT }),
          agxComputeCommand({ vdm_barrier: 1 }),
          agxComputeCommand({ compute_ns: usecs(1) }),
        ],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxComputeCommand({ vdm_barrier: 0 })],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [a, b], FOREVER, 1);
      expect(syncobjError(dev, app, a)).toBe(-ERRNO.EFAULT);
      expect(syncobjError(dev, app, b)).toBe(0);
      const q = queueOf(dev, app, q1);
      // Compute 1 waited at its barrier for the render, which failed, so the firmware skipped it —
      // and compute 2 behind it on the in-order ring. Job 2's compute then ran normally.
      expect(q.rings.compute.stats).toMatchObject({ commands: 3, completed: 1, failed: 2 });
      expect(q.rings.fragment.stats).toMatchObject({ completed: 0, failed: 1 });
      expect(q.rings.compute.engine.stats.submitted).toBe(1);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("teardown with work in flight", () => {
  it("QUEUE_DESTROY cancels work on the firmware (-ECANCELED) and leaves nothing behind", async () => {
    const { sim, host, dev } = setup({ slots: 1 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, q1, so } = await twoQueues(app);
      const [a, b] = [await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand({ fragment_ns: msecs(50) })],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      // Needs the only slot: waits on a prepareJob fence until the first job retires.
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await agxDestroyCommandQueue(app, fd, q1);
      // The flush waited up to 1 s for job 2 to reach the firmware (it did at 50 ms), then the
      // scheduler teardown cancelled what was still there.
      expect(syncobjError(dev, app, a)).toBe(0);
      expect(syncobjError(dev, app, b)).toBe(-ERRNO.ECANCELED);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("closing the file kills queued jobs (-ESRCH), cancels firmware work, and frees queues and VMs", async () => {
    const { sim, host, dev } = setup({ slots: 1 });
    const app = new Process(sim, "app");
    const fences = await sim.exec("app", async () => {
      const { fd, q1, q2, so } = await twoQueues(app);
      const [a, b] = [await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand({ fragment_ns: msecs(50) })],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await submit(app, fd, { queue_id: q2, commands: [agxComputeCommand()] });
      // Let 100 µs pass: job 1 is on the firmware, job 2 waits for the only slot.
      await expect(drmSyncobjWait(app, fd, [a], sim.now + usecs(100))).rejects.toMatchObject({
        code: "ETIME",
      });
      const held = [syncobjFence(dev, app, a)!, syncobjFence(dev, app, b)!];
      app.exit();
      return held;
    });
    // The file's release kills the queued job from the scheduler's work, after the exit returned.
    await sim.run();
    expect(fences.map((f) => [f.signaled, f.error])).toEqual([
      [true, -ERRNO.ECANCELED],
      [true, -ERRNO.ESRCH],
    ]);
    for (const f of fences) f.put();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("a plugin that bypasses prepareJob", () => {
  it("cannot overflow a ring: runJob refuses the job with -ENOSPC before writing anything, later jobs are unaffected", async () => {
    // prepare_job answered "ready" ahead of the driver, whose own prepare_job never runs.
    const noPrepare: DrmPlugin = {
      apply: (hooks) =>
        hooks.sched.prepareJob.tap({ name: "no-prepare", stage: DrmHookStage.EARLY }, () => null),
    };
    const { sim, host, dev } = setup({ slots: 2, plugins: [noPrepare] });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, q1, so } = await twoQueues(app);
      const [a, b, c] = [await so(), await so(), await so()];
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand(), agxRenderCommand()],
        syncs: outSyncs(a),
        out_sync_count: 1,
      });
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(b),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [a, b], FOREVER, 1);
      expect(syncobjError(dev, app, a)).toBe(0);
      expect(syncobjError(dev, app, b)).toBe(-ERRNO.ENOSPC);
      const q = queueOf(dev, app, q1);
      expect(q.rings.vertex.stats.commands).toBe(2);
      await submit(app, fd, {
        queue_id: q1,
        commands: [agxRenderCommand()],
        syncs: outSyncs(c),
        out_sync_count: 1,
      });
      await drmSyncobjWait(app, fd, [c], FOREVER);
      expect(syncobjError(dev, app, c)).toBe(0);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
