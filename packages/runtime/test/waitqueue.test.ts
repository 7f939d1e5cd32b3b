import { describe, expect, it } from "vitest";
import {
  isKernelError,
  KernelError,
  MAX_SCHEDULE_TIMEOUT,
  msecs,
  Simulator,
  WaitQueue,
} from "../src/index.js";

/** A wait queue with a flag a timer sets at `atNs`, waking the queue. */
function flagAt(sim: Simulator, wq: WaitQueue, atNs: number): { readonly value: boolean } {
  const flag = { value: false };
  sim.schedule(atNs, () => {
    flag.value = true;
    wq.wakeUpAll();
  });
  return flag;
}

describe("WaitQueue.waitEvent (wait_event_timeout family)", () => {
  it("returns the remaining time when the condition becomes true before the timeout", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const flag = flagAt(sim, wq, msecs(3));
    const ret = await sim.exec("waiter", () => wq.waitEvent(() => flag.value, { timeoutNs: msecs(10) }));
    expect(ret).toBe(msecs(7));
    expect(sim.now).toBe(msecs(3));
  });

  it("returns at least 1 when the condition becomes true exactly at the deadline", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const flag = flagAt(sim, wq, msecs(10));
    const ret = await sim.exec("waiter", () => wq.waitEvent(() => flag.value, { timeoutNs: msecs(10) }));
    expect(ret).toBe(1);
  });

  it("returns 0 when the timeout expires first, at the deadline", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    flagAt(sim, wq, msecs(20));
    let at = -1;
    const ret = await sim.exec("waiter", async () => {
      const r = await wq.waitEvent(() => false, { timeoutNs: msecs(10) });
      at = sim.now;
      return r;
    });
    expect(ret).toBe(0);
    expect(at).toBe(msecs(10));
  });

  it("returns MAX_SCHEDULE_TIMEOUT for a wait without a timeout", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const flag = flagAt(sim, wq, msecs(1));
    expect(await sim.exec("waiter", () => wq.waitEvent(() => flag.value))).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(await sim.exec("again", () => wq.waitEvent(() => true, { timeoutNs: MAX_SCHEDULE_TIMEOUT }))).toBe(
      MAX_SCHEDULE_TIMEOUT,
    );
  });

  it("timeout 0: 1 if the condition is already true, 0 otherwise, without sleeping", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    expect(await sim.exec("t", () => wq.waitEvent(() => true, { timeoutNs: 0 }))).toBe(1);
    expect(await sim.exec("f", () => wq.waitEvent(() => false, { timeoutNs: 0 }))).toBe(0);
    expect(sim.now).toBe(0);
    expect(wq.active).toBe(0);
  });

  it("rejects a negative or NaN timeout with EINVAL", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const neg = await sim
      .exec("neg", () => wq.waitEvent(() => false, { timeoutNs: -1 }))
      .catch((e: unknown) => e);
    expect(neg).toBeInstanceOf(KernelError);
    expect(neg).toMatchObject({ code: "EINVAL", errno: -22 });
    const nan = await sim
      .exec("nan", () => wq.waitEvent(() => true, { timeoutNs: Number.NaN }))
      .catch((e: unknown) => e);
    expect(isKernelError(nan, "EINVAL")).toBe(true);
  });

  it("an interruptible wait ends with ERESTARTSYS when the task is signalled", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const t = sim.spawn("waiter", () => wq.waitEvent(() => false, { interruptible: true }));
    sim.schedule(msecs(2), () => t.signal());
    await sim.run();
    expect(t.state).toBe("failed");
    expect(t.error).toBeInstanceOf(KernelError);
    expect((t.error as KernelError).code).toBe("ERESTARTSYS");
    expect(sim.now).toBe(msecs(2));
    expect(sim.sleepingContexts()).toEqual([]);
    expect(t.context.waiting).toBeNull();
  });

  it("an interruptible wait with a signal already pending does not sleep", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const t = sim.spawn("waiter", async () => {
      sim.current.signalPending = true;
      return wq.waitEvent(() => false, { interruptible: true });
    });
    await sim.run();
    expect(isKernelError(t.error, "ERESTARTSYS")).toBe(true);
    expect(wq.active).toBe(0);
  });

  it("a non-interruptible wait ignores signals", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const flag = flagAt(sim, wq, msecs(5));
    const t = sim.spawn("waiter", () => wq.waitEvent(() => flag.value));
    sim.schedule(msecs(1), () => t.signal());
    sim.schedule(msecs(2), () => t.signal({ fatal: true }));
    await sim.run();
    expect(t.state).toBe("done");
    expect(t.value).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(sim.now).toBe(msecs(5));
  });

  it("a killable wait ignores an ordinary signal and ends only on a fatal one", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    const t = sim.spawn("waiter", () => wq.waitEvent(() => false, { killable: true }));
    let stillWaitingAfterSigint = false;
    sim.schedule(msecs(1), () => t.signal());
    sim.schedule(msecs(2), () => {
      stillWaitingAfterSigint = t.state === "running" && t.context.waiting !== null;
      t.signal({ fatal: true });
    });
    await sim.run();
    expect(stillWaitingAfterSigint).toBe(true);
    expect(isKernelError(t.error, "ERESTARTSYS")).toBe(true);
    expect(sim.now).toBe(msecs(2));
  });

  it("keeps sleeping after a spurious wake-up while the condition is still false", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    let value = 0;
    const wakesSeen: number[] = [];
    sim.schedule(msecs(1), () => wq.wakeUpAll()); // spurious
    sim.schedule(msecs(2), () => {
      wakesSeen.push(wq.active);
      value = 1;
      wq.wakeUp(); // still not what the waiter wants
    });
    sim.schedule(msecs(3), () => {
      wakesSeen.push(wq.active);
      value = 2;
      wq.wakeUpAll();
    });
    let checks = 0;
    const ret = await sim.exec("waiter", () =>
      wq.waitEvent(() => {
        checks++;
        return value === 2;
      }),
    );
    expect(ret).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(sim.now).toBe(msecs(3));
    expect(checks).toBe(4); // initial check + one per wake-up
    expect(wakesSeen).toEqual([1, 1]); // the waiter went back on the queue each time
    expect(wq.active).toBe(0);
  });

  it("wakes every waiter of wakeUpAll, each re-checking its own condition", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&q");
    let level = 0;
    const done: string[] = [];
    for (const [name, need] of [
      ["a", 1],
      ["b", 2],
      ["c", 1],
    ] as const) {
      sim.spawn(name, async () => {
        await wq.waitEvent(() => level >= need);
        done.push(`${name}@${sim.now}`);
      });
    }
    sim.schedule(10, () => {
      level = 1;
      wq.wakeUpAll();
    });
    sim.schedule(20, () => {
      level = 2;
      wq.wakeUpAll();
    });
    await sim.run();
    expect(done).toEqual(["a@10", "c@10", "b@20"]);
  });

  it("reports a sleep from irq context (might_sleep) before sleeping", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WaitQueue(sim, "&q");
    sim.schedule(1, () => void wq.waitEvent(() => true).catch(() => {}), sim.irqContext("gpu-irq"));
    await sim.run();
    expect(sim.validator.findingsOf("sleep-in-atomic")[0]?.title).toMatch(
      /irq context: wait on wait_queue &q/,
    );
  });
});

describe("WaitQueue bookkeeping (finish_wait)", () => {
  it("takes sleepers that timed out or were interrupted off the queue", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&poll");
    const t = sim.spawn("poller", async () => {
      for (let i = 0; i < 100; i++) await wq.waitEvent(() => false, { timeoutNs: 10 });
      return wq.active;
    });
    const s = sim.spawn("interrupted", () => wq.waitEvent(() => false, { interruptible: true }));
    sim.schedule(5, () => s.signal());
    await sim.run();
    expect(t.value).toBe(0);
    expect(isKernelError(s.error, "ERESTARTSYS")).toBe(true);
    expect(wq.active).toBe(0);
  });
});
