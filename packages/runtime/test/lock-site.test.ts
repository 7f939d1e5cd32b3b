/**
 * The validator's cached acquisitions (`Validator.lockSite` / `acquireSite`): a lock operation
 * repeated on a held stack it was already checked on skips the checks, and everything it still
 * records — and everything it must still report — is what a first acquisition records and reports.
 */
import { describe, expect, it } from "vitest";
import {
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  Mutex,
  Simulator,
  SpinLock,
  WaitQueue,
  withDmaFenceSignalling,
} from "../src/index.js";

const heldOps = (ctx: { held: readonly { op: string }[] }): string[] => ctx.held.map((h) => h.op);

describe("cached lock acquisitions (lock sites)", () => {
  it("a repeated acquisition records its own backtrace, time and chain each time", async () => {
    const sim = new Simulator();
    const outer = new SpinLock(sim, "&ring->lock");
    const inner = new SpinLock(sim, "&fence->lock");
    const seen: string[] = [];
    await sim.exec("submit", async () => {
      for (const where of ["first_caller", "second_caller"]) {
        sim.withFrame(where, () =>
          outer.with(() =>
            inner.with(() => {
              const h = sim.current.held;
              seen.push(`${h[1]!.op} at ${h[1]!.frame?.name} t=${h[1]!.timeNs}`);
            }),
          ),
        );
        await new WaitQueue(sim, "msleep").waitEvent(() => false, { timeoutNs: 1000 });
      }
    });
    expect(seen).toEqual([
      "spin_lock(&fence->lock) at first_caller t=0",
      "spin_lock(&fence->lock) at second_caller t=1000",
    ]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an owner and a waiter of one mutex each hold their own entry, and the hand-off leaves both stacks right", async () => {
    const sim = new Simulator();
    const m = new Mutex(sim, "&vm->lock");
    const inner = new SpinLock(sim, "&vm->status_lock");
    const wq = new WaitQueue(sim, "release");
    let release = false;
    const stacks: string[] = [];
    const owner = sim.spawn("owner", async () => {
      await m.lock();
      await wq.waitEvent(() => release);
      stacks.push(`owner before unlock: ${heldOps(sim.current).join(", ")}`);
      m.unlock();
      stacks.push(`owner after unlock: ${heldOps(sim.current).join(", ")}`);
    });
    const waiter = sim.spawn("waiter", async () => {
      await m.lock(); // recorded before it blocks, as lockdep does
      stacks.push(`waiter owns: ${heldOps(sim.current).join(", ")}`);
      inner.with(() => stacks.push(`waiter nests: ${heldOps(sim.current).join(", ")}`));
      m.unlock();
    });
    sim.schedule(10, () => {
      stacks.push(`waiting: ${heldOps(waiter.context).join(", ")}`);
      release = true;
      wq.wakeUpAll();
    });
    await sim.run();
    await owner.result;
    await waiter.result;
    expect(stacks).toEqual([
      "waiting: mutex_lock(&vm->lock)",
      "owner before unlock: mutex_lock(&vm->lock)",
      "owner after unlock: ",
      "waiter owns: mutex_lock(&vm->lock)",
      "waiter nests: mutex_lock(&vm->lock), spin_lock(&vm->status_lock)",
    ]);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("an order checked and cached in one direction still reports the inversion the first time the other is taken", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new SpinLock(sim, "&a->lock");
    const b = new SpinLock(sim, "&b->lock");
    await sim.exec("p1", () => {
      for (let i = 0; i < 3; i++) a.with(() => b.with(() => 0));
    });
    expect(sim.validator.findings).toEqual([]);
    await sim.exec("p2", () => {
      for (let i = 0; i < 3; i++) b.with(() => a.with(() => 0));
    });
    expect(sim.validator.findings.map((f) => [f.kind, f.title, f.repeats])).toEqual([
      [
        "circular-dependency",
        "possible circular locking dependency: spin_lock(&a->lock) takes &a->lock while holding &b->lock",
        2, // a stack that closed a cycle is never cached: each repetition is checked and counted
      ],
    ]);
  });

  it("a cached spinlock still gets its irq usage checked on every acquisition", () => {
    const sim = new Simulator({ validator: "collect" });
    const lock = new SpinLock(sim, "&ring->lock");
    const p = sim.createContext("p", "process");
    sim.runAs(p, () => {
      for (let i = 0; i < 3; i++) lock.withIrqsave(() => 0);
      for (let i = 0; i < 3; i++) lock.with(() => 0);
    });
    expect(sim.validator.findings).toEqual([]);
    sim.runAs(sim.irqContext("gpu0-irq"), () => lock.with(() => 0));
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["inconsistent-lock-state"]);
  });

  it("taking a cached lock again while it is held is still reported (AA)", () => {
    const sim = new Simulator({ validator: "collect" });
    const m = new Mutex(sim, "&dev->lock");
    sim.runAs(sim.createContext("p", "process"), () => {
      for (let i = 0; i < 3; i++) {
        expect(m.trylock()).toBe(true);
        m.unlock();
      }
      expect(m.trylock()).toBe(true);
      void m.lock(); // the same mutex, from its owner: it would sleep forever
    });
    expect(sim.validator.findings.map((f) => f.kind)).toContain("recursive-locking");
  });

  it("a signalling section is found open from the chain after an entry below it is released out of order", () => {
    const sim = new Simulator();
    const a = new SpinLock(sim, "&a->lock");
    const m = new Mutex(sim, "&m->lock");
    sim.runAs(sim.createContext("kworker/0", "worker"), () => {
      expect(m.trylock()).toBe(true);
      const cookie = dmaFenceBeginSignalling(sim);
      expect(cookie).toBe(false);
      m.unlock(); // below the section: the section's entry is re-chained
      expect(sim.validator.inSignalling).toBe(true);
      expect(dmaFenceBeginSignalling(sim)).toBe(true); // nested: a no-op
      a.with(() => 0);
      dmaFenceEndSignalling(sim, cookie);
      expect(sim.validator.inSignalling).toBe(false);
      expect(sim.current.held).toEqual([]);
    });
    expect(sim.validator.findings).toEqual([]);
  });

  it("after a task returns holding locks, their cached entries are free for the next acquisition", async () => {
    const sim = new Simulator({ validator: "collect" });
    const a = new SpinLock(sim, "&a->lock");
    await sim.exec("leaky", () => {
      dmaFenceBeginSignalling(sim);
      a.lock();
    });
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["held-at-exit"]);
    a.owner = null; // the simulated lock itself stays taken; free it to reuse the instance
    const ctx = sim.createContext("kworker/1", "worker");
    sim.runAs(ctx, () => {
      withDmaFenceSignalling(sim, () => {
        a.lock();
        expect(heldOps(sim.current)).toEqual(["dma_fence_begin_signalling", "spin_lock(&a->lock)"]);
        a.unlock();
      });
    });
    expect(ctx.held).toEqual([]);
    expect(sim.validator.findings.map((f) => f.kind)).toEqual(["held-at-exit"]);
  });
});
