/**
 * Sync streams from userspace: signal and wait CSs order work across the accelerator's own queues
 * without dma_fence — a wait holds its queue, and what queues behind it, until the signal ran.
 */
import { msecs, Process, usecs } from "@drmsim/runtime";
import { describe, expect, it } from "vitest";
import {
  DRM_IOCTL_HL_CS,
  DRM_IOCTL_HL_WAIT_CS,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_WAIT,
  HL_CS_SEQ_NONE,
  HL_SYNC_STREAM_JOB_NS,
  type HlCsArgs,
} from "../src/index.js";
import {
  type HlthunkChunk,
  hlthunkCommandSubmission,
  hlthunkRequestCommandBuffer,
  hlthunkWaitForCs,
} from "../src/user/index.js";
import { errno as code, rig as setup } from "./hl-user.js";

const DMA_0_0 = 0;
const DMA_1_0 = 2;
const DMA_0_1 = 1;
const TPC_0 = 7;

async function open(app: Process) {
  const fd = await app.open("/dev/accel/accel0");
  const cb_handle = await hlthunkRequestCommandBuffer(app, fd);
  return {
    fd,
    /** A default CS: one job of `ns` on `queue`. */
    work: async (queue: number, ns: number) =>
      Number(
        (
          await hlthunkCommandSubmission(app, fd, [
            { queue_index: queue, cb_handle, cb_size: 64, exec_ns: ns },
          ])
        ).seq,
      ),
    signal: (queue: number, extra: HlthunkChunk = {}) =>
      hlthunkCommandSubmission(app, fd, [{ queue_index: queue, ...extra }], { cs_flags: HL_CS_FLAGS_SIGNAL }),
    wait: (queue: number, signalSeq: number | bigint, extra: HlthunkChunk = {}) =>
      hlthunkCommandSubmission(
        app,
        fd,
        [{ queue_index: queue, signal_seq_arr: [signalSeq], num_signal_seq_arr: 1, ...extra }],
        { cs_flags: HL_CS_FLAGS_WAIT },
      ),
    /** `HL_CS` with `in` exactly as given (the argument checks). */
    raw: async (input: NonNullable<HlCsArgs["in"]>) =>
      (await app.ioctl<HlCsArgs>(fd, DRM_IOCTL_HL_CS, { in: input })).out!,
    done: async (seq: number | bigint) => (await hlthunkWaitForCs(app, fd, seq, 10_000_000)).timestamp_nsec,
  };
}

describe("habanalabs sync streams (signal and wait CSs)", () => {
  it("a wait CS holds its queue, and the work queued behind it, until the signal CS's job ran", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    const at = await sim.exec("app", async () => {
      const h = await open(app);
      const before = await h.work(DMA_0_0, usecs(50)); // the signal waits behind this on its queue
      const s1 = await h.signal(DMA_0_0);
      expect(s1).toMatchObject({
        seq: 2,
        status: 0,
        sob_base_addr_offset: 0,
        sob_count_before_submission: 0,
      });
      const w = await h.wait(DMA_0_1, s1.seq!);
      expect(w.seq).toBe(3);
      const after = await h.work(DMA_0_1, usecs(10)); // queued behind the wait
      expect(hdev.queues[DMA_0_1]!.heldJobs).toBe(2);
      const free = await h.work(DMA_1_0, usecs(10)); // another queue is not held
      const s2 = await h.signal(DMA_0_0);
      expect(s2).toMatchObject({ sob_base_addr_offset: 0, sob_count_before_submission: 1 });
      return {
        before: await h.done(before),
        signal: await h.done(s1.seq!),
        wait: await h.done(w.seq!),
        after: await h.done(after),
        free: await h.done(free),
      };
    });
    const sig = usecs(50) + HL_SYNC_STREAM_JOB_NS;
    expect(at).toEqual({
      before: usecs(50),
      signal: sig,
      wait: sig + HL_SYNC_STREAM_JOB_NS,
      after: sig + HL_SYNC_STREAM_JOB_NS + usecs(10),
      free: usecs(10),
    });
    expect(hdev.queues[DMA_0_1]!.heldJobs).toBe(0);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a wait on a signal that already completed creates no CS; bad waits are refused and change nothing", async () => {
    const { sim, host, dev, hdev } = setup();
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const h = await open(app);
      const s = await h.signal(DMA_0_0);
      await h.done(s.seq!);
      const plain = await h.work(DMA_0_0, 1000);
      const submitted = () => hdev.queues.map((q) => q.engine?.stats.submitted ?? 0);
      expect((await h.wait(DMA_0_1, s.seq!)).seq).toBe(HL_CS_SEQ_NONE);
      const snapshot = submitted();
      expect(await code(h.wait(DMA_0_1, plain))).toBe("EINVAL"); // not a signal CS
      expect(await code(h.wait(DMA_0_1, 99))).toBe("EINVAL"); // not handed out yet
      expect(await code(h.wait(DMA_0_1, s.seq!, { num_signal_seq_arr: 2 }))).toBe("EINVAL");
      expect(await code(h.wait(DMA_0_1, s.seq!, { signal_seq_arr: null }))).toBe("EFAULT");
      expect(await code(h.wait(DMA_0_1, s.seq!, { signal_seq_arr: [] }))).toBe("EFAULT"); // nothing to read
      expect(await code(h.wait(DMA_0_1, s.seq!, { cb_handle: 1 }))).toBe("EINVAL"); // one union, two members
      expect(await code(h.wait(TPC_0, s.seq!))).toBe("EINVAL"); // no sync stream on an internal queue
      expect(await code(h.signal(4))).toBe("EINVAL"); // the CPU queue is the driver's
      expect(
        await code(
          h.raw({
            cs_flags: HL_CS_FLAGS_SIGNAL,
            chunks_execute: [{ queue_index: 0 }, { queue_index: 1 }],
            num_chunks_execute: 2,
          }),
        ),
      ).toBe("EINVAL"); // one chunk only
      expect(submitted()).toEqual(snapshot);
      // Nothing refused took a sequence number: the next CS gets the next one.
      expect(await h.work(DMA_0_0, 1000)).toBe(plain + 1);
      expect(
        await code(app.ioctl(h.fd, DRM_IOCTL_HL_WAIT_CS, { in: { seq: HL_CS_SEQ_NONE, timeout_us: 0 } })),
      ).toBe("EINVAL");
    });
    await sim.run(); // the last CS completes
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("near the SOB's maximum signals move to the queue's other SOB, but never onto one still in use", async () => {
    const { sim, host, dev } = setup({ maxSobVal: 3 });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const h = await open(app);
      await h.work(DMA_0_0, msecs(1)); // holds the queue: every signal below stays outstanding
      const got: [number | undefined, number | undefined][] = [];
      for (let i = 0; i < 4; i++) {
        const s = await h.signal(DMA_0_0);
        got.push([s.sob_base_addr_offset, s.sob_count_before_submission]);
      }
      // SOB 0 (offset 0) counts 1 and 2, then signals move to SOB 1 (offset 4).
      expect(got).toEqual([
        [0, 0],
        [0, 1],
        [4, 0],
        [4, 1],
      ]);
      // Back to SOB 0 would reset it under its two outstanding signals: refused, as the kernel
      // does after allocating the CS (its sequence number is spent; it completes unsubmitted).
      expect(await code(h.signal(DMA_0_0))).toBe("EINVAL");
      // Once they ran, SOB 0 is free again.
      await h.done(await h.work(DMA_0_0, 1000));
      const s = await h.signal(DMA_0_0);
      expect([s.sob_base_addr_offset, s.sob_count_before_submission]).toEqual([0, 0]);
      await h.done(s.seq!);
    });
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a signal that never runs: the timeout resets the device, the held wait and the work behind it fail, the stream starts over", async () => {
    const { sim, host, dev, hdev } = setup({ csTimeoutNs: msecs(5), resetDurationNs: msecs(1) });
    const app = new Process(sim, "app");
    await sim.exec("app", async () => {
      const h = await open(app);
      const s = await h.signal(DMA_0_0, { hang: true });
      const w = await h.wait(DMA_0_1, s.seq!);
      const after = await h.work(DMA_0_1, 1000);
      expect(await code(h.done(s.seq!))).toBe("ETIMEDOUT");
      expect(await code(h.done(w.seq!))).toBe("EIO");
      expect(await code(h.done(after))).toBe("EIO");
      expect(hdev.hardResetCnt).toBe(0); // still resetting
      expect(hdev.queues[DMA_0_1]!.heldJobs).toBe(0);
      while (hdev.inReset) await new Promise<void>((r) => sim.schedule(msecs(1), r));
      const s2 = await h.signal(DMA_0_0);
      expect(s2.sob_count_before_submission).toBe(0);
      const w2 = await h.wait(DMA_0_1, s2.seq!);
      await h.done(w2.seq!);
    });
    expect(hdev.hardResetCnt).toBe(1);
    app.exit();
    host.remove(dev);
    expect(sim.teardown().findings).toEqual([]);
  });
});
