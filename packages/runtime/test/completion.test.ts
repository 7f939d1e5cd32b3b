import { describe, expect, it } from "vitest";
import { Completion, isKernelError, MAX_SCHEDULE_TIMEOUT, msecs, Simulator } from "../src/index.js";

describe("Completion (struct completion)", () => {
  it("complete() lets exactly one waiter through", async () => {
    const sim = new Simulator({ validator: "collect" });
    const c = new Completion(sim, "&job->done");
    const through: string[] = [];
    for (const name of ["a", "b", "c"]) {
      sim.spawn(name, async () => {
        await c.wait();
        through.push(`${name}@${sim.now}`);
      });
    }
    sim.schedule(10, () => c.complete());
    const r = await sim.run();
    expect(through).toEqual(["a@10"]);
    expect(c.isDone).toBe(false);
    expect(r.reason).toBe("deadlock"); // b and c still wait, and nothing can complete them
    expect(r.finding?.waitFor.map((w) => w.waitsFor)).toEqual([
      "wait_queue &job->done",
      "wait_queue &job->done",
    ]);
  });

  it("each complete() releases one more waiter, in order", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    const through: string[] = [];
    for (const name of ["a", "b"]) {
      sim.spawn(name, async () => {
        await c.wait();
        through.push(`${name}@${sim.now}`);
      });
    }
    sim.schedule(10, () => c.complete());
    sim.schedule(20, () => c.complete());
    await sim.run();
    expect(through).toEqual(["a@10", "b@20"]);
  });

  it("completeAll() lets every present and future waiter through until reinit()", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    const through: string[] = [];
    for (const name of ["a", "b", "c"]) {
      sim.spawn(name, async () => {
        await c.wait();
        through.push(`${name}@${sim.now}`);
      });
    }
    sim.schedule(10, () => c.completeAll());
    await sim.run();
    expect(through).toEqual(["a@10", "b@10", "c@10"]);
    expect(await sim.exec("late", () => c.wait())).toBe(MAX_SCHEDULE_TIMEOUT);
    expect(c.isDone).toBe(true);
    c.reinit();
    expect(c.isDone).toBe(false);
    expect(await sim.exec("after-reinit", () => c.wait({ timeoutNs: 5 }))).toBe(0);
  });

  it("a complete() before the wait is remembered (counting)", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    c.complete();
    c.complete();
    expect(await sim.exec("a", () => c.wait({ timeoutNs: 5 }))).toBe(5);
    expect(await sim.exec("b", () => c.wait({ timeoutNs: 5 }))).toBe(5);
    expect(await sim.exec("c", () => c.wait({ timeoutNs: 5 }))).toBe(0);
    expect(sim.now).toBe(5);
  });

  it("tryWait() consumes a completion without sleeping, false if none", () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    expect(c.tryWait()).toBe(false);
    c.complete();
    expect(c.isDone).toBe(true);
    expect(c.tryWait()).toBe(true);
    expect(c.tryWait()).toBe(false);
    c.completeAll();
    expect(c.tryWait()).toBe(true);
    expect(c.tryWait()).toBe(true);
  });

  it("reinit() forgets pending completions", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    c.complete();
    c.reinit();
    expect(c.tryWait()).toBe(false);
  });

  it("a timed wait returns 0 when nobody completes in time, and the remaining time otherwise", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    expect(await sim.exec("timeout", () => c.wait({ timeoutNs: msecs(10) }))).toBe(0);
    expect(sim.now).toBe(msecs(10));
    sim.schedule(msecs(4), () => c.complete());
    expect(await sim.exec("in-time", () => c.wait({ timeoutNs: msecs(10) }))).toBe(msecs(6));
    expect(c.isDone).toBe(false);
  });

  it("an interruptible wait throws ERESTARTSYS on a signal and consumes nothing", async () => {
    const sim = new Simulator();
    const c = new Completion(sim);
    const t = sim.spawn("w", () => c.wait({ interruptible: true }));
    sim.schedule(3, () => t.signal());
    await sim.run();
    expect(isKernelError(t.error, "ERESTARTSYS")).toBe(true);
    c.complete();
    expect(c.tryWait()).toBe(true);
  });
});
