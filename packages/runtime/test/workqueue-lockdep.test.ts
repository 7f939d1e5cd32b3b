import { describe, expect, it } from "vitest";
import { Mutex, Simulator, WaitQueue, Work, WorkQueue } from "../src/index.js";

function sleepNs(sim: Simulator, ns: number): Promise<number> {
  return new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

/** An item that takes `lock` (after a short sleep, so it is still running when flushed). */
function lockingWork(sim: Simulator, lock: Mutex, name: string): Work {
  return new Work(async () => {
    await sleepNs(sim, 1000);
    await lock.lock();
    lock.unlock();
  }, name);
}

/** A task that flushes `work` while holding `lock`, which the item takes: a real deadlock. */
function flushUnderLock(sim: Simulator, wq: WorkQueue, work: Work, lock: Mutex): void {
  sim.spawn("flusher", async () => {
    await lock.lock();
    await wq.flushWork(work);
    lock.unlock();
  });
}

describe("workqueue lockdep maps (process_one_work, __flush_work, start_flush_work)", () => {
  it("flush_work while holding a lock the item takes is reported, on a concurrent queue too", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "events", { maxActive: 4 });
    const lock = new Mutex(sim, "&dev->lock");
    const work = lockingWork(sim, lock, "reset_work");
    wq.queueWork(work);
    await sim.exec("teardown", async () => {
      await lock.lock();
      await sleepNs(sim, 2000); // the item now runs and waits for &dev->lock: both orders seen
      lock.unlock();
    });
    expect(sim.validator.findings).toEqual([]);
    wq.queueWork(work);
    // This run really deadlocks (the item waits for the lock the flusher holds); lockdep names
    // the order when flush_work is called, before anything blocks.
    flushUnderLock(sim, wq, work, lock);
    expect((await sim.run()).reason).toBe("deadlock");
    const f = sim.validator.findingsOf("circular-dependency");
    expect(f).toHaveLength(1);
    expect(f[0]?.chain.map((l) => `${l.from} -> ${l.to}`)).toEqual([
      "&dev->lock -> (work_completion)reset_work",
      "(work_completion)reset_work -> &dev->lock",
    ]);
  });

  it("cancel_work_sync while holding a lock the running item takes is reported", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "events", { maxActive: 4 });
    const lock = new Mutex(sim, "&dev->lock");
    const work = lockingWork(sim, lock, "hotplug_work");
    wq.queueWork(work);
    await sim.runFor(10_000); // the item has taken &dev->lock once
    wq.queueWork(work);
    sim.spawn("remove", async () => {
      await sleepNs(sim, 500); // the item is running, sleeping before its lock
      await lock.lock();
      await wq.cancelWorkSync(work);
      lock.unlock();
    });
    expect((await sim.run()).reason).toBe("deadlock");
    expect(sim.validator.findingsOf("circular-dependency")[0]?.title).toMatch(
      /\(work_completion\)hotplug_work/,
    );
  });

  it("an item flushing itself, or its own ordered queue, is reported as recursion", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "gpu-reset", { ordered: true });
    const self = new Work(async (w) => {
      await wq.flushWork(w).catch(() => {});
    }, "self_flush");
    wq.queueWork(self);
    await sim.run().catch(() => {});
    expect(sim.validator.findingsOf("recursive-locking").map((f) => f.title)).toEqual([
      expect.stringMatching(/takes \(work_completion\)self_flush/),
      expect.stringMatching(/takes \(wq_completion\)gpu-reset/),
    ]);
    const sim2 = new Simulator({ validator: "collect" });
    const wq2 = new WorkQueue(sim2, "ordered", { ordered: true });
    wq2.queueWork(
      new Work(async () => {
        await wq2.flush().catch(() => {});
      }, "flush_own_queue"),
    );
    await sim2.run().catch(() => {});
    expect(sim2.validator.findingsOf("recursive-locking")[0]?.title).toMatch(/\(wq_completion\)ordered/);
  });

  it("flush_work of another item of a concurrent queue, from an item of that queue, is not reported (the kernel's read map)", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { maxActive: 4 });
    const other = new Work(async () => {
      await sleepNs(sim, 1000);
    }, "other_work");
    const waiter = new Work(async () => {
      await wq.flushWork(other);
    }, "waiter_work");
    wq.queueWork(other);
    wq.queueWork(waiter);
    await sim.run();
    expect(wq.executed).toBe(2);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an item run many times from its cached lock sites still orders what it takes: the inversion is reported the first time", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "events", { maxActive: 4 });
    const lock = new Mutex(sim, "&dev->lock");
    const work = lockingWork(sim, lock, "status_work");
    for (let i = 0; i < 100; i++) {
      wq.queueWork(work);
      await sim.run();
    }
    expect(wq.executed).toBe(100);
    expect(sim.validator.findings).toEqual([]);
    // Every run above took the item's map on the same stack: the cached path, after the first.
    wq.queueWork(work);
    flushUnderLock(sim, wq, work, lock);
    expect((await sim.run()).reason).toBe("deadlock");
    expect(
      sim.validator.findingsOf("circular-dependency").map((f) => f.chain.map((l) => `${l.from} -> ${l.to}`)),
    ).toEqual([["&dev->lock -> (work_completion)status_work", "(work_completion)status_work -> &dev->lock"]]);
  });

  it("two workers running items of one queue at once each hold the queue's map, and release it cleanly", async () => {
    const sim = new Simulator({ validator: "throw" });
    const wq = new WorkQueue(sim, "events", { maxActive: 2 });
    const seen: string[] = [];
    const sleeper = (name: string) =>
      new Work(async () => {
        seen.push(`${name} holds the queue map: ${sim.validator.isHeld(wq.lockClass, wq)}`);
        await sleepNs(sim, 1000);
        seen.push(`${name} still: ${sim.validator.isHeld(wq.lockClass, wq)}`);
      }, name);
    const a = sleeper("a");
    const b = sleeper("b");
    for (let round = 0; round < 3; round++) {
      wq.queueWork(a);
      wq.queueWork(b);
      await sim.run();
    }
    expect(seen).toEqual(
      Array.from({ length: 3 }, () => [
        "a holds the queue map: true",
        "b holds the queue map: true",
        "a still: true",
        "b still: true",
      ]).flat(),
    );
    expect(sim.validator.findings).toEqual([]);
  });

  it("an item returning with a lock held is reported after many clean runs, and the next run starts clean", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "events", { ordered: true });
    const lock = new Mutex(sim, "&obj->lock");
    const leaked = new Mutex(sim, "&obj->other_lock");
    let leak = false;
    const work = new Work(() => {
      if (!lock.trylock()) throw new Error("trylock failed");
      lock.unlock();
      if (leak && !leaked.trylock()) throw new Error("trylock failed");
    }, "leaky_work");
    const runOnce = async (): Promise<void> => {
      wq.queueWork(work);
      await sim.run();
    };
    for (let i = 0; i < 50; i++) await runOnce();
    expect(sim.validator.findings).toEqual([]);
    leak = true;
    await runOnce();
    expect(sim.validator.findings.map((f) => [f.kind, f.title])).toEqual([
      ["held-at-exit", "work item leaky_work returned with 1 lock held"],
    ]);
    // The validator dropped the leaked entry with the report: the item's own maps and lock are
    // taken and released as before, with nothing new to report.
    leak = false;
    for (let i = 0; i < 5; i++) await runOnce();
    expect(sim.validator.findings).toHaveLength(1);
    expect(sim.validator.findings[0]?.repeats).toBe(0);
  });
});
