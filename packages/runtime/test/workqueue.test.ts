import { describe, expect, it } from "vitest";
import {
  DelayedWork,
  KernelError,
  Mutex,
  msecs,
  Simulator,
  WaitQueue,
  Work,
  WorkQueue,
} from "../src/index.js";

/** `msleep`-like helper: sleeps `ns` of virtual time in the current context. */
function sleepNs(sim: Simulator, ns: number): Promise<number> {
  return new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: ns });
}

/** An async work item that sleeps `ns` and logs its start and end. */
function sleepingWork(sim: Simulator, log: string[], name: string, ns: number): Work {
  return new Work(async () => {
    log.push(`${name}+${sim.now}`);
    await sleepNs(sim, ns);
    log.push(`${name}-${sim.now}`);
  }, name);
}

describe("WorkQueue: execution", () => {
  it("an ordered queue runs items one at a time, in queueing order", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "ordered", { ordered: true });
    const log: string[] = [];
    for (const [name, ns] of [
      ["a", 30],
      ["b", 10],
      ["c", 20],
    ] as const)
      wq.queueWork(sleepingWork(sim, log, name, ns));
    expect(wq.maxActive).toBe(1);
    await sim.run();
    expect(log).toEqual(["a+0", "a-30", "b+30", "b-40", "c+40", "c-60"]);
    expect(wq.executed).toBe(3);
    expect(wq.isIdle).toBe(true);
  });

  it("an unordered queue with maxActive 2 runs two sleeping items at once", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "wide", { maxActive: 2 });
    const log: string[] = [];
    wq.queueWork(sleepingWork(sim, log, "a", 30));
    wq.queueWork(sleepingWork(sim, log, "b", 10));
    wq.queueWork(sleepingWork(sim, log, "c", 10));
    await sim.run();
    // a and b start together; c takes b's worker when b finishes at 10.
    expect(log).toEqual(["a+0", "b+0", "b-10", "c+10", "c-20", "a-30"]);
  });

  it("runs items in a worker context named kworker/<queue>:N, with the item on the backtrace", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "gpu-submit", { maxActive: 2 });
    const seen: string[] = [];
    const probe = (w: Work) => {
      const ctx = sim.current;
      seen.push(`${ctx.kind} ${ctx.name} ${ctx.backtrace()[0]} ${w.name}`);
    };
    wq.queueWork(new Work(probe, "sync_probe"));
    wq.queueWork(
      new Work(async (w) => {
        await sleepNs(sim, 5);
        probe(w);
      }, "async_probe"),
    );
    await sim.run();
    expect(seen).toHaveLength(2);
    for (const line of seen) expect(line).toMatch(/^worker kworker\/gpu-submit:[01] (\w+) \1$/);
  });

  it("queueWork on a pending item returns false and runs it once; it may be queued again once started", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    let runs = 0;
    const w = new Work(() => {
      runs++;
    }, "count");
    expect(wq.queueWork(w)).toBe(true);
    expect(w.pending).toBe(true);
    expect(wq.queueWork(w)).toBe(false);
    await sim.run();
    expect(runs).toBe(1);
    expect(w.pending).toBe(false);
    expect(wq.queueWork(w)).toBe(true);
    await sim.run();
    expect(runs).toBe(2);
  });

  it("a work function that returns a promise without being declared async still sleeps as its worker", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WorkQueue(sim, "events");
    const m = new Mutex(sim, "&dev->lock");
    const seen: string[] = [];
    const body = async (): Promise<void> => {
      await m.lock();
      seen.push(sim.current.name);
      m.unlock();
    };
    sim.spawn("holder", async () => {
      await m.lock();
      wq.queueWork(new Work(() => body(), "arrow_returning_promise"));
      await new Promise<void>((r) => sim.schedule(50, r));
      m.unlock();
    });
    await sim.run();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^kworker\/events:/);
    expect(sim.validator.findings).toEqual([]);
    expect(wq.isIdle).toBe(true);
  });

  it("an error thrown by a sync item fails the run; the worker is released", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { ordered: true });
    wq.queueWork(
      new Work(() => {
        throw new Error("oops");
      }, "bad"),
    );
    await expect(sim.run()).rejects.toThrow("oops");
    await sim.run();
    expect(wq.isIdle).toBe(true);
    expect(wq.executed).toBe(1);
  });
});

describe("WorkQueue: delayed work", () => {
  it("fires at the right virtual time", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const at: number[] = [];
    const dw = new DelayedWork(() => {
      at.push(sim.now);
    }, "timeout_work");
    expect(wq.queueDelayedWork(dw, msecs(5))).toBe(true);
    expect(dw.pending).toBe(true);
    expect(wq.queueDelayedWork(dw, msecs(1))).toBe(false);
    await sim.run();
    expect(at).toEqual([msecs(5)]);
    expect(dw.pending).toBe(false);
  });

  it("a zero delay queues at once", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const at: number[] = [];
    wq.queueDelayedWork(new DelayedWork(() => void at.push(sim.now)), 0);
    await sim.run();
    expect(at).toEqual([0]);
  });

  it("modDelayedWork re-arms a pending item: it fires once, at the new time", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const at: number[] = [];
    const dw = new DelayedWork(() => void at.push(sim.now), "tdr");
    wq.queueDelayedWork(dw, msecs(5));
    const results: boolean[] = [];
    sim.schedule(msecs(2), () => results.push(wq.modDelayedWork(dw, msecs(10))));
    await sim.run();
    expect(at).toEqual([msecs(12)]);
    expect(results).toEqual([true]);
    // On an idle item, mod arms it and reports it was not pending.
    expect(wq.modDelayedWork(dw, msecs(1))).toBe(false);
    await sim.run();
    expect(at).toEqual([msecs(12), msecs(13)]);
  });
});

describe("WorkQueue: cancel", () => {
  it("cancelWork removes a pending item, and reports whether it was pending", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { ordered: true });
    const ran: string[] = [];
    const a = new Work(() => void ran.push("a"), "a");
    const b = new Work(() => void ran.push("b"), "b");
    wq.queueWork(a);
    wq.queueWork(b);
    expect(wq.cancelWork(a)).toBe(true);
    expect(wq.cancelWork(a)).toBe(false);
    expect(a.pending).toBe(false);
    await sim.run();
    expect(ran).toEqual(["b"]);
    expect(wq.isIdle).toBe(true);
  });

  it("cancelWork disarms a delayed item's timer", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    let ran = false;
    const dw = new DelayedWork(() => {
      ran = true;
    }, "d");
    wq.queueDelayedWork(dw, msecs(5));
    sim.schedule(msecs(1), () => expect(wq.cancelWork(dw)).toBe(true));
    await sim.run();
    expect(ran).toBe(false);
    expect(dw.pending).toBe(false);
    expect(sim.now).toBe(msecs(1));
  });

  it("cancelWorkSync waits for a running async item to finish", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const log: string[] = [];
    const w = sleepingWork(sim, log, "w", 50);
    wq.queueWork(w);
    const t = sim.spawn("canceller", async () => {
      await sleepNs(sim, 10);
      expect(w.running).toBe(true);
      const was = await wq.cancelWorkSync(w);
      log.push(`cancelled@${sim.now} was=${was}`);
    });
    await sim.run();
    expect(t.state).toBe("done");
    expect(log).toEqual(["w+0", "w-50", "cancelled@50 was=false"]);
  });

  it("cancelWorkSync of a pending item removes it and returns at once", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const log: string[] = [];
    const w = sleepingWork(sim, log, "w", 50);
    const was = await sim.exec("canceller", async () => {
      wq.queueWork(w);
      return wq.cancelWorkSync(w);
    });
    expect(was).toBe(true);
    expect(log).toEqual([]);
    expect(sim.now).toBe(0);
  });
});

describe("WorkQueue: flush", () => {
  it("flush waits for the items queued before it, not for later ones", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { ordered: true });
    const log: string[] = [];
    wq.queueWork(sleepingWork(sim, log, "a", 30));
    wq.queueWork(sleepingWork(sim, log, "b", 20));
    const t = sim.spawn("flusher", async () => {
      const p = wq.flush();
      wq.queueWork(sleepingWork(sim, log, "late", 100));
      await p;
      log.push(`flushed@${sim.now}`);
    });
    await sim.run();
    expect(t.state).toBe("done");
    expect(log).toEqual(["a+0", "a-30", "b+30", "b-50", "flushed@50", "late+50", "late-150"]);
  });

  it("flush is not livelocked by an item that requeues itself", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "poll", { ordered: true });
    let runs = 0;
    const w: Work = new Work(async () => {
      runs++;
      await sleepNs(sim, 10);
      if (runs < 20) wq.queueWork(w);
    }, "poll_work");
    wq.queueWork(w);
    let flushedAt = -1;
    sim.spawn("flusher", async () => {
      await sleepNs(sim, 15);
      await wq.flush();
      flushedAt = sim.now;
    });
    await sim.run();
    expect(runs).toBe(20);
    // At 15 the second instance (10..20) runs and a third is not yet queued: flush waits for it only.
    expect(flushedAt).toBe(20);
  });

  it("flush of an idle queue returns at once", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    await sim.exec("p", () => wq.flush());
    expect(sim.now).toBe(0);
  });

  it("flushWork waits until one item is neither pending nor running", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { maxActive: 2 });
    const log: string[] = [];
    const a = sleepingWork(sim, log, "a", 100);
    const b = sleepingWork(sim, log, "b", 20);
    wq.queueWork(a);
    wq.queueWork(b);
    const waited = await sim.exec("p", async () => {
      const r = await wq.flushWork(b);
      log.push(`flushed b@${sim.now}`);
      return r;
    });
    expect(waited).toBe(true);
    // flushWork(b) returned at 20 ns, with `a` still running.
    expect(log).toEqual(["a+0", "b+0", "b-20", "flushed b@20"]);
    await sim.run();
    expect(log).toEqual(["a+0", "b+0", "b-20", "flushed b@20", "a-100"]);
    expect(await sim.exec("q", () => wq.flushWork(b))).toBe(false);
  });

  it("destroy drains the queue, then refuses new work with EINVAL", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events");
    const log: string[] = [];
    wq.queueWork(sleepingWork(sim, log, "a", 10));
    await sim.exec("p", () => wq.destroy());
    expect(log).toEqual(["a+0", "a-10"]);
    expect(() => wq.queueWork(new Work(() => {}))).toThrow(KernelError);
  });
});

describe("WorkQueue: self-requeueing items", () => {
  it("an item requeued while it runs never runs beside itself (non-reentrant), even with idle workers", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "wide", { maxActive: 4 });
    const log: string[] = [];
    let runs = 0;
    const w: Work = new Work(async () => {
      const n = ++runs;
      log.push(`+${n}@${sim.now}`);
      if (n < 3) wq.queueWork(w); // requeue at once, while still running
      await sleepNs(sim, 10);
      log.push(`-${n}@${sim.now}`);
    }, "self_requeue");
    wq.queueWork(w);
    await sim.run();
    expect(log).toEqual(["+1@0", "-1@10", "+2@10", "-2@20", "+3@20", "-3@30"]);
  });

  it("flushWork waits for the instance it saw, not for later requeues", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "poll", { ordered: true });
    let runs = 0;
    const w: Work = new Work(async () => {
      runs++;
      await sleepNs(sim, 10);
      if (runs < 10) wq.queueWork(w);
    }, "poll_work");
    wq.queueWork(w);
    let flushedAt = -1;
    sim.spawn("flusher", async () => {
      await sleepNs(sim, 5);
      await wq.flushWork(w);
      flushedAt = sim.now;
    });
    await sim.run();
    expect(runs).toBe(10);
    expect(flushedAt).toBe(10);
  });

  it("cancelWorkSync leaves a self-requeueing item neither pending nor running", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "poll", { ordered: true });
    let runs = 0;
    const w: Work = new Work(async () => {
      runs++;
      await sleepNs(sim, 10);
      wq.queueWork(w); // tries to requeue while being cancelled: refused
    }, "poll_work");
    wq.queueWork(w);
    const state = await sim.exec("canceller", async () => {
      await sleepNs(sim, 25);
      await wq.cancelWorkSync(w);
      return { pending: w.pending, running: w.running, at: sim.now };
    });
    expect(state).toEqual({ pending: false, running: false, at: 30 });
    await sim.run();
    expect(runs).toBe(3);
    expect(wq.isIdle).toBe(true);
    // Once cancelled, it can be queued again.
    expect(wq.queueWork(w)).toBe(true);
    expect(wq.cancelWork(w)).toBe(true);
  });
});

describe("WorkQueue: idle workers", () => {
  it("a worker whose worklist is empty goes idle as its item returns: one event per item", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { ordered: true });
    const seen: boolean[] = [];
    const later = new Work(() => {}, "later");
    const first = new Work(() => {
      sim.schedule(0, () => seen.push(wq.isIdle));
      sim.schedule(5, () => wq.queueWork(later));
    }, "first");
    wq.queueWork(first);
    const r = await sim.run();
    // first's step, the idle probe, later's queueing, later's step: no idle-step events between.
    expect(r.events).toBe(4);
    expect(seen).toEqual([true]);
    expect(wq.executed).toBe(2);
    expect(wq.isIdle).toBe(true);
  });

  it("a worker finishing with more queued keeps going, in queueing order", async () => {
    const sim = new Simulator();
    const wq = new WorkQueue(sim, "events", { ordered: true });
    const log: string[] = [];
    const b = new Work(() => {
      log.push(`b@${sim.now}`);
    }, "b");
    const a = new Work(() => {
      log.push(`a@${sim.now}`);
      wq.queueWork(b);
    }, "a");
    wq.queueWork(a);
    await sim.run();
    expect(log).toEqual(["a@0", "b@0"]);
    expect(wq.isIdle).toBe(true);
  });
});
