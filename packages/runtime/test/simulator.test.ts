import { describe, expect, it } from "vitest";
import { KernelError, MAX_SCHEDULE_TIMEOUT, msecs, Simulator, WaitQueue } from "../src/index.js";

describe("Simulator event loop", () => {
  it("runs events in time order, FIFO on equal times", async () => {
    const sim = new Simulator();
    const order: string[] = [];
    sim.schedule(20, () => order.push("c@20"));
    sim.schedule(10, () => order.push("a@10"));
    sim.schedule(10, () => order.push("b@10"));
    sim.at(5, () => order.push("z@5"));
    const r = await sim.run();
    expect(order).toEqual(["z@5", "a@10", "b@10", "c@20"]);
    expect(r).toMatchObject({ reason: "idle", events: 4, nowNs: 20 });
  });

  it("cancels timers and reports whether they were pending", async () => {
    const sim = new Simulator();
    let fired = 0;
    const t = sim.schedule(10, () => fired++);
    expect(t.pending).toBe(true);
    expect(t.cancel()).toBe(true);
    expect(t.cancel()).toBe(false);
    const t2 = sim.schedule(5, () => fired++);
    await sim.run();
    expect(fired).toBe(1);
    expect(t2.pending).toBe(false);
    expect(t2.cancel()).toBe(false);
  });

  it("survives heavy cancellation (heap compaction) without losing live events", async () => {
    const sim = new Simulator();
    const fired: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const h = sim.schedule(i, () => fired.push(i));
      if (i % 10 !== 0) h.cancel();
    }
    await sim.run();
    expect(fired).toEqual(Array.from({ length: 100 }, (_, k) => k * 10));
  });

  it("stops at untilNs and at maxEvents, and resumes", async () => {
    const sim = new Simulator();
    const seen: number[] = [];
    for (const t of [10, 20, 30, 40]) sim.at(t, () => seen.push(t));
    expect(await sim.run({ untilNs: 25 })).toMatchObject({ reason: "until", nowNs: 25 });
    expect(seen).toEqual([10, 20]);
    expect(await sim.run({ maxEvents: 1 })).toMatchObject({ reason: "maxEvents", events: 1, nowNs: 30 });
    await sim.runFor(100);
    expect(seen).toEqual([10, 20, 30, 40]);
    expect(sim.now).toBe(130);
  });

  it("rejects a negative delay with EINVAL and schedules nothing", () => {
    const sim = new Simulator();
    expect(() => sim.schedule(-1, () => {})).toThrow(KernelError);
    expect(sim.pendingEvents).toBe(0);
  });

  it("is not re-entrant", async () => {
    const sim = new Simulator();
    let inner: Promise<unknown> | undefined;
    sim.schedule(1, () => {
      // Catch at once: the outer run goes on across macrotasks, and a rejection left without a
      // handler that long is an unhandled rejection that fails the whole test file.
      inner = sim.run().then(
        () => "resolved",
        (e: unknown) => e,
      );
    });
    await sim.run();
    expect(String(await inner)).toMatch(/not re-entrant/);
  });

  it("gives the same random stream for the same seed, a different one otherwise", () => {
    const a = new Simulator({ seed: 7 }).random;
    const b = new Simulator({ seed: 7 }).random;
    const c = new Simulator({ seed: 8 }).random;
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
    expect(new Simulator({ seed: "abc" }).seed).toBe(new Simulator({ seed: "abc" }).seed);
  });
});

describe("tasks and execution contexts", () => {
  it("keeps current across await and resumes at the virtual time of the wake-up", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "wq");
    let flag = false;
    sim.schedule(msecs(3), () => {
      flag = true;
      wq.wakeUpAll();
    });
    const log: string[] = [];
    const t = sim.spawn("waiter", async () => {
      log.push(`${sim.current.name}@${sim.now}`);
      await wq.waitEvent(() => flag);
      log.push(`${sim.current.name}@${sim.now}`);
      return 42;
    });
    const other = sim.spawn("other", async () => {
      log.push(`${sim.current.name}@${sim.now}`);
    });
    await sim.run();
    expect(await t.result).toBe(42);
    await other.result;
    expect(log).toEqual(["waiter@0", "other@0", `waiter@${msecs(3)}`]);
    expect(sim.current).toBe(sim.mainContext);
  });

  it("runs irq callbacks in irq context and tasks in process context", async () => {
    const sim = new Simulator();
    const kinds: string[] = [];
    sim.schedule(1, () => kinds.push(sim.current.kind), sim.irqContext("gpu0"));
    await sim.execUntilIdle("p", () => kinds.push(sim.current.kind));
    expect(kinds).toEqual(["process", "irq"]);
  });

  it("reports a failed system call as the task's result, not as a crash", async () => {
    const sim = new Simulator();
    const t = sim.spawn("p", () => {
      throw new KernelError("EINVAL", "bad args");
    });
    const r = await sim.run();
    expect(r.reason).toBe("idle");
    expect(t.state).toBe("failed");
    await expect(t.result).rejects.toMatchObject({ code: "EINVAL", errno: -22 });
  });

  it("refuses to sleep outside the simulation", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "wq");
    await expect(wq.waitEvent(() => false)).rejects.toThrow(/outside the simulation/);
  });
});

describe("exec runs until its task settles, execUntilIdle until nothing is left", () => {
  it("exec returns when the task ends: a timer armed for after that has not fired (vgem's 10 s safety timer)", async () => {
    const sim = new Simulator();
    const log: string[] = [];
    const r = await sim.exec("app", async () => {
      sim.schedule(msecs(10_000), () => log.push(`safety timer@${sim.now}`));
      await new WaitQueue(sim, "nap").waitEvent(() => false, { timeoutNs: msecs(2) });
      log.push(`task ends@${sim.now}`);
      return 7;
    });
    expect(r).toBe(7);
    expect(log).toEqual([`task ends@${msecs(2)}`]);
    expect(sim.now).toBe(msecs(2));
    expect(sim.pendingEvents).toBe(1);
    expect(sim.nextEventNs).toBe(msecs(10_000));
    // The timer is still there for whoever runs the simulation next.
    await sim.run();
    expect(log).toEqual([`task ends@${msecs(2)}`, `safety timer@${msecs(10_000)}`]);
  });

  it("exec runs every event the task waits for, however late, and other tasks' events up to its end", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "late");
    let ready = false;
    const log: string[] = [];
    sim.schedule(msecs(1), () => log.push("before@1ms"));
    sim.schedule(msecs(50), () => {
      ready = true;
      wq.wakeUpAll();
    });
    sim.schedule(msecs(60), () => log.push("after@60ms"));
    const other = sim.spawn("other", async () => {
      await new WaitQueue(sim, "other").waitEvent(() => false, { timeoutNs: msecs(100) });
      log.push(`other@${sim.now}`);
    });
    await sim.exec("waiter", async () => {
      await wq.waitEvent(() => ready);
      log.push(`waiter@${sim.now}`);
    });
    expect(log).toEqual(["before@1ms", `waiter@${msecs(50)}`]);
    expect(other.state).toBe("running");
    await sim.run();
    expect(log).toEqual(["before@1ms", `waiter@${msecs(50)}`, "after@60ms", `other@${msecs(100)}`]);
  });

  it("exec lets the instant's continuations finish before it returns", async () => {
    const sim = new Simulator();
    const log: string[] = [];
    const wq = new WaitQueue(sim, "same-instant");
    let go = false;
    // Woken by the same event as the exec'd task: it runs to its end at that instant too.
    sim.spawn("sibling", async () => {
      await wq.waitEvent(() => go);
      await Promise.resolve();
      log.push(`sibling@${sim.now}`);
    });
    sim.schedule(msecs(1), () => {
      go = true;
      wq.wakeUpAll();
    });
    await sim.exec("main", async () => {
      await wq.waitEvent(() => go);
      log.push(`main@${sim.now}`);
    });
    expect(log.sort()).toEqual([`main@${msecs(1)}`, `sibling@${msecs(1)}`]);
    expect(sim.pendingEvents).toBe(0);
  });

  it("exec still reports a deadlock when nothing can wake the task", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "&never->wq");
    sim.schedule(msecs(5), () => {});
    await expect(sim.exec("stuck", () => wq.waitEvent(() => false))).rejects.toThrow(
      /deadlock: no event is pending/,
    );
  });

  it("exec returns the task's error; a sleeper elsewhere is no verdict while later events remain", async () => {
    const sim = new Simulator();
    sim.schedule(msecs(5), () => {});
    await expect(
      sim.exec("p", () => {
        throw new KernelError("EINVAL", "bad args");
      }),
    ).rejects.toMatchObject({ code: "EINVAL" });
    expect(sim.pendingEvents).toBe(1);
  });

  it("execUntilIdle runs the timer armed after the task's end before it returns", async () => {
    const sim = new Simulator();
    const log: string[] = [];
    const r = await sim.execUntilIdle("app", () => {
      sim.schedule(msecs(10_000), () => log.push(`safety timer@${sim.now}`));
      return "done";
    });
    expect(r).toBe("done");
    expect(log).toEqual([`safety timer@${msecs(10_000)}`]);
    expect(sim.pendingEvents).toBe(0);
  });
});

describe("deadlock at quiescence", () => {
  it("reports every stuck context with what it waits on, never a silent hang", async () => {
    const sim = new Simulator({ validator: "collect" });
    const wq = new WaitQueue(sim, "&never->wq");
    const t = sim.spawn("stuck", () => wq.waitEvent(() => false));
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    expect(r.finding?.kind).toBe("deadlock");
    expect(r.finding?.waitFor[0]).toMatchObject({
      context: t.context.label,
      waitsFor: "wait_queue &never->wq",
    });
    expect(r.finding?.toString()).toContain("&never->wq");
    expect(sim.validator.findingsOf("deadlock")).toHaveLength(1);
  });

  it("throws the report in throw mode", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "q");
    sim.spawn("stuck", () => wq.waitEvent(() => false));
    await expect(sim.run()).rejects.toThrow(/deadlock: no event is pending/);
  });

  it("names a task blocked on a promise the simulator does not know", async () => {
    const sim = new Simulator({ validator: "collect" });
    sim.spawn("lost", () => new Promise(() => {}));
    const r = await sim.run();
    expect(r.reason).toBe("deadlock");
    expect(r.finding?.waitFor[0]?.waitsFor).toMatch(/does not know/);
  });

  it("is not a verdict when the caller bounds the run with untilNs", async () => {
    const sim = new Simulator();
    const wq = new WaitQueue(sim, "q");
    let go = false;
    const t = sim.spawn("w", () => wq.waitEvent(() => go));
    expect((await sim.run({ untilNs: 100 })).reason).toBe("until");
    go = true;
    wq.wakeUpAll();
    await sim.run();
    expect(await t.result).toBe(MAX_SCHEDULE_TIMEOUT);
  });
});

describe("continuations of promises the runtime does not own", () => {
  it("resume at the virtual time their promise was resolved by an event", async () => {
    const sim = new Simulator();
    const times: number[] = [];
    sim.spawn("sleeper", async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve) => sim.schedule(10, resolve));
        times.push(sim.now);
      }
    });
    // Unrelated events keep the loop busy, so a missed drain would show up as late wake-ups.
    for (let t = 1; t < 100; t += 3) sim.at(t, () => {});
    await sim.run();
    expect(times).toEqual([10, 20, 30, 40, 50]);
  });
});
