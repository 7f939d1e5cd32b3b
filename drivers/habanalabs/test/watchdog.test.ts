/**
 * Hangs on engine queues and who notices them (`common/command_submission.c` `cs_timedout`,
 * `common/hw_queue.c` `hl_hw_queue_update_ci`, `common/device.c` `hpriv_release` /
 * `hl_device_reset`):
 *
 * - a job on an external or H/W queue (`QUEUE_TYPE_HW`, Gaudi2's engine queues) gets a completion,
 *   so a hang there keeps the CS from completing: timeout detection fires, the CS fails with
 *   `ETIMEDOUT` and the device is hard-reset;
 * - a job on an internal queue (Gaudi1's TPCs) never reports: its CS completes without it, its
 *   queue slots come back at CS release, and the hang shows only when the user context goes away
 *   and the device is found busy — then it is reset (`reset_if_device_not_idle`).
 */
import { DrmPluginHost } from "@drmsim/drm";
import { type KernelError, msecs, Process, SA_RESTART, SIGUSR1, Simulator, WaitQueue } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  HL_GAUDI2_QUEUES,
  HL_WAIT_CS_STATUS_COMPLETED,
  type HlDeviceOptions,
  habanalabsProbe,
  hlDeviceOf,
} from "../src/index.js";
import {
  type HlthunkChunk,
  hlthunkDeviceMemoryAlloc,
  hlthunkDeviceMemoryMap,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { cs } from "./hl-user.js";

const TPC_2 = 9;

function setup(opts: HlDeviceOptions = {}) {
  const sim = new Simulator();
  const host = new DrmPluginHost(sim);
  const dev = habanalabsProbe(host, { csTimeoutNs: msecs(5), ...opts });
  return { sim, host, dev, hdev: hlDeviceOf(dev) };
}

/** An fd with a host CB (for DMA_0_0) and a mapped device buffer (for TPC command buffers). */
async function openWithBuffers(p: Process) {
  const fd = await p.open("/dev/accel/accel0");
  const cb = await hlthunkRequestCommandBuffer(p, fd, 4096);
  const va = await hlthunkDeviceMemoryMap(p, fd, await hlthunkDeviceMemoryAlloc(p, fd, 4096));
  const dma: HlthunkChunk = { queue_index: 0, cb_handle: cb, cb_size: 64, exec_ns: 10_000 };
  const tpc: HlthunkChunk = { queue_index: TPC_2, cb_handle: va, cb_size: 64, exec_ns: 20_000 };
  return { fd, dma, tpc };
}

const waitCs = hlthunkWaitForCs;

const nap = (sim: Simulator, ns: number) =>
  new WaitQueue(sim, "nap").waitEvent(() => false, { timeoutNs: ns });

describe("habanalabs: a hung engine job and the driver's watchdogs", () => {
  it("H/W queue (Gaudi2): a hung TPC job holds its CS, timeout detection fires — ETIMEDOUT, hard reset — and the device works again", async () => {
    const { sim, host, dev, hdev } = setup({ queues: HL_GAUDI2_QUEUES });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, dma, tpc } = await openWithBuffers(app);
      const hung = await cs(app, fd, [dma, { ...tpc, hang: true }]);
      await expect(waitCs(app, fd, hung, 1_000_000)).rejects.toMatchObject({ code: "ETIMEDOUT" });
      expect(sim.now).toBe(msecs(5)); // cs_timedout at the CS timeout, not at the wait's
      expect(hdev.lastCsTimeout).toEqual({ timestamp: msecs(5), seq: hung });
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      expect(hdev.hardResetCnt).toBe(1);
      expect(hdev.queues[TPC_2]!.engine!.busy).toBe(0); // the reset aborted the hung job
      const t0 = sim.now;
      const again = await cs(app, fd, [dma, tpc]);
      const ok = await waitCs(app, fd, again, 1_000_000);
      expect(ok.status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      expect(ok.timestamp_nsec).toBe(t0 + 20_000); // the TPC job (20 µs), not the DMA (10 µs), ended it
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("H/W queue: a CS's H/W-queue job gates its completion, and a CS of H/W-queue jobs only is accepted (int_queues_only is false)", async () => {
    const { sim, host, dev, hdev } = setup({ queues: HL_GAUDI2_QUEUES, csTimeoutNs: msecs(100) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const { fd, dma, tpc } = await openWithBuffers(app);
      const t0 = sim.now;
      const both = await cs(app, fd, [dma, { ...tpc, exec_ns: 50_000 }]);
      expect((await waitCs(app, fd, both, 1_000_000)).timestamp_nsec).toBe(t0 + 50_000);
      expect(hdev.queues[TPC_2]!.engine!.busy).toBe(0);
      const tpcOnly = await cs(app, fd, [tpc]);
      expect((await waitCs(app, fd, tpcOnly, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("internal queue (Gaudi1): the hang is invisible to timeout detection, the CS completes, the queue never fills; closing the fd finds the device busy and resets it", async () => {
    const { sim, host, dev, hdev } = setup({ queueLength: 2 });
    const app = new Process(sim, "app");
    let fd = -1;
    await sim.exec("app", async () => {
      const opened = await openWithBuffers(app);
      fd = opened.fd;
      const { dma, tpc } = opened;
      const first = await cs(app, fd, [dma, { ...tpc, hang: true }]);
      expect((await waitCs(app, fd, first, 1_000_000)).status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
      // hl_hw_queue_update_ci: the CS's release gave TPC_2's slot back, although the TPC hangs.
      expect(hdev.queues[TPC_2]!.inflight).toBe(0);
      // Many more TPC jobs than the queue holds: no EAGAIN (the driver never learns the TPC is stuck).
      for (let i = 0; i < 5; i++) await waitCs(app, fd, await cs(app, fd, [dma, tpc]), 1_000_000);
      await nap(sim, msecs(20));
      expect(hdev.hardResetCnt).toBe(0);
      expect(hdev.lastCsTimeout).toBeNull();
      expect(hdev.idle).toBe(false); // the TPC still runs the hung job, the rest queued behind it
    });
    // hpriv_release with reset_if_device_not_idle: the user context goes, the busy device is reset.
    app.close(fd);
    expect(hdev.inReset).toBe(false);
    await sim.run();
    expect(hdev.hardResetCnt).toBe(1);
    expect(hdev.idle).toBe(true);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("HL_WAIT_CS turns an interrupted wait into EINTR itself (hl_cs_wait_ioctl): never restarted, even with SA_RESTART", async () => {
    const { sim, host, dev } = setup({ csTimeoutNs: msecs(100) });
    const app = new Process(sim, "app");
    let handled = 0;
    app.sigaction(SIGUSR1, { handler: () => handled++, flags: SA_RESTART });
    const t = app.run(async () => {
      const { fd, dma } = await openWithBuffers(app);
      const seq = await cs(app, fd, [{ ...dma, exec_ns: msecs(10) }]);
      const e = await waitCs(app, fd, seq, 1_000_000).catch((x: KernelError) => x);
      return { e, at: sim.now, after: await waitCs(app, fd, seq, 1_000_000) };
    });
    sim.schedule(msecs(2), () => app.kill(SIGUSR1));
    await sim.run();
    const r = await t.result;
    expect((r.e as KernelError).code).toBe("EINTR");
    expect(r.at).toBe(msecs(2));
    expect(handled).toBe(1);
    expect(r.after.status).toBe(HL_WAIT_CS_STATUS_COMPLETED);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});

describe("habanalabs: one user at a time (hl_device_open)", () => {
  it("a second open while the device is in use is EBUSY; after a close the next user is admitted once the old context is released (EAGAIN until then)", async () => {
    const { sim, host, dev, hdev } = setup({ csTimeoutNs: msecs(100) });
    const first = new Process(sim, "first");
    const second = new Process(sim, "second");
    await sim.exec("t", async () => {
      const { fd, dma } = await openWithBuffers(first);
      await expect(second.open("/dev/accel/accel0")).rejects.toMatchObject({ code: "EBUSY" });
      await expect(first.open("/dev/accel/accel0")).rejects.toMatchObject({ code: "EBUSY" }); // per device, not per process
      expect(dev.files.size).toBe(1);
      // A CS in flight holds the context after the fd is closed: the device is still being released.
      await cs(first, fd, [{ ...dma, exec_ns: msecs(1) }]);
      first.close(fd);
      await expect(second.open("/dev/accel/accel0")).rejects.toMatchObject({ code: "EAGAIN" });
      await nap(sim, msecs(2));
      expect(hdev.computeCtx).toBeNull();
      const fd2 = await second.open("/dev/accel/accel0");
      expect(fd2).toBeGreaterThanOrEqual(3);
      // A passed fd is the same user: the receiver works through it, no new open is needed.
      const inFirst = second.sendFd(first, fd2);
      await expect(
        cs(first, inFirst, [{ queue_index: 0, cb_handle: 99, cb_size: 64 }]),
      ).rejects.toMatchObject({
        code: "EINVAL",
      });
    });
    first.exit();
    second.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an open while the device is in reset is EAGAIN", async () => {
    const { sim, host, dev, hdev } = setup();
    const a = new Process(sim, "a");
    await sim.exec("t", async () => {
      const { fd, dma } = await openWithBuffers(a);
      const seq = await cs(a, fd, [{ ...dma, hang: true }]);
      await expect(waitCs(a, fd, seq, 1_000_000)).rejects.toMatchObject({ code: "ETIMEDOUT" });
      a.close(fd);
      expect(hdev.inReset).toBe(true);
      await expect(a.open("/dev/accel/accel0")).rejects.toMatchObject({ code: "EAGAIN" });
      await hdev.resetDone.waitEvent(() => !hdev.inReset);
      a.close(await a.open("/dev/accel/accel0"));
    });
    a.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
