/** The reusable hardware engine: serial and N-wide execution, irq delivery, faults and reset. */
import { describe, expect, it } from "vitest";
import { errno, HardwareEngine, KernelError, Simulator, usecs, ValidatorError } from "../src/index.js";

function recorder(sim: Simulator) {
  const log: { label: string; status: number; t: number; ctx: string }[] = [];
  const cmd = (label: string, durationNs: number, extra: { hang?: boolean; error?: number } = {}) => ({
    label,
    durationNs,
    ...extra,
    onComplete: (status: number) => log.push({ label, status, t: sim.now, ctx: sim.current.label }),
  });
  return { log, cmd };
}

describe("HardwareEngine", () => {
  it("runs commands serially, each completing in the engine's irq context", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "gfx0");
    const { log, cmd } = recorder(sim);
    eng.submit(cmd("a", usecs(10)));
    eng.submit(cmd("b", usecs(5)));
    eng.submit(cmd("c", 0));
    expect(eng.busy).toBe(1);
    expect(eng.queued).toBe(2);
    await sim.run();
    expect(log.map((e) => [e.label, e.t, e.status])).toEqual([
      ["a", usecs(10), 0],
      ["b", usecs(15), 0],
      ["c", usecs(15), 0],
    ]);
    expect(log.every((e) => e.ctx === eng.irq.label && eng.irq.kind === "irq")).toBe(true);
    expect(eng.stats).toMatchObject({ submitted: 3, completed: 3, errors: 0, busyNs: usecs(15) });
    expect(eng.busy + eng.queued).toBe(0);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("a stalled command raises its interrupt after afterNs and never completes until reset; a reset before drops the interrupt", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "gfx0");
    const { log, cmd } = recorder(sim);
    const irqs: [number, string][] = [];
    eng.submit(cmd("a", usecs(5)));
    eng.submit({
      ...cmd("bad", usecs(100)),
      stall: { afterNs: usecs(3), irq: () => irqs.push([sim.now, sim.current.label]) },
    });
    eng.submit(cmd("c", usecs(1)));
    await sim.run();
    expect(irqs).toEqual([[usecs(8), eng.irq.label]]);
    expect(log.map((e) => e.label)).toEqual(["a"]); // "bad" holds the engine: c never starts
    expect(eng.busy).toBe(1);
    eng.reset(-5, { abortQueued: true });
    await sim.run();
    expect(log.map((e) => [e.label, e.status])).toEqual([
      ["a", 0],
      ["bad", -5],
      ["c", -5],
    ]);
    // Reset while the stalled command is still short of its bad packet: no interrupt.
    eng.submit({ ...cmd("bad2", 0), stall: { afterNs: usecs(10), irq: () => irqs.push([sim.now, "late"]) } });
    sim.schedule(usecs(2), () => eng.reset());
    await sim.run();
    expect(irqs).toHaveLength(1);
    expect(sim.teardown().findings).toEqual([]);
  });

  it("runs N-wide with width, and accounts busy time once per overlap", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "dma", { width: 2 });
    const { log, cmd } = recorder(sim);
    for (const [l, d] of [
      ["a", 10],
      ["b", 4],
      ["c", 3],
      ["d", 10],
    ] as const)
      eng.submit(cmd(l, usecs(d)));
    await sim.run();
    // b finishes at 4 -> c runs 4..7 -> d runs 7..17; a finishes at 10.
    expect(log.map((e) => [e.label, e.t / 1000])).toEqual([
      ["b", 4],
      ["c", 7],
      ["a", 10],
      ["d", 17],
    ]);
    expect(eng.stats.busyNs).toBe(usecs(17));
    expect(eng.stats.slotBusyNs).toBe(usecs(27));
  });

  it("delivers the interrupt after irqLatencyNs, with the slot already free", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "ring", { irqLatencyNs: usecs(2) });
    const { log, cmd } = recorder(sim);
    eng.submit(cmd("a", usecs(10)));
    eng.submit(cmd("b", usecs(10)));
    await sim.run();
    expect(log.map((e) => [e.label, e.t / 1000])).toEqual([
      ["a", 12],
      ["b", 22],
    ]);
  });

  it("reports an injected error status on completion", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "ring");
    const { log, cmd } = recorder(sim);
    eng.submit(cmd("bad", usecs(1), { error: errno("EIO") }));
    await sim.run();
    expect(log[0]!.status).toBe(-5);
    expect(eng.stats.errors).toBe(1);
  });

  it("a hung command never completes and blocks the ring until reset, which aborts it", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "ring");
    const { log, cmd } = recorder(sim);
    eng.submit(cmd("hang", usecs(1), { hang: true }));
    eng.submit(cmd("next", usecs(1)));
    await sim.runFor(usecs(1000));
    expect(log).toEqual([]);
    expect(eng.busy).toBe(1);
    sim.schedule(0, () => eng.reset(errno("ETIMEDOUT")));
    await sim.run();
    expect(log.map((e) => [e.label, e.status])).toEqual([
      ["hang", errno("ETIMEDOUT")],
      ["next", 0],
    ]);
    expect(log[0]!.ctx).toBe(eng.irq.label);
    expect(eng.stats.aborted).toBe(1);
  });

  it("a crash stops in-flight and queued commands until reset; abortQueued aborts those too", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "fw", { width: 2 });
    const { log, cmd } = recorder(sim);
    for (const l of ["a", "b", "c"]) eng.submit(cmd(l, usecs(10)));
    sim.schedule(usecs(5), () => eng.crash());
    await sim.runFor(usecs(100));
    expect(log).toEqual([]);
    expect(eng.crashed).toBe(true);
    expect([eng.busy, eng.queued]).toEqual([2, 1]);
    expect(eng.reset(errno("EIO"), { abortQueued: true })).toBe(3);
    expect(log.map((e) => [e.label, e.status])).toEqual([
      ["a", -5],
      ["b", -5],
      ["c", -5],
    ]);
    expect(eng.crashed).toBe(false);
    // The engine works again after the reset.
    eng.submit(cmd("d", usecs(1)));
    await sim.run();
    expect(log.at(-1)).toMatchObject({ label: "d", status: 0 });
  });

  it("cancel takes back a queued or running command without an interrupt", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "ring");
    const { log, cmd } = recorder(sim);
    const a = eng.submit(cmd("a", usecs(10)));
    const b = eng.submit(cmd("b", usecs(10)));
    const c = eng.submit(cmd("c", usecs(10)));
    expect(b.cancel()).toBe(true);
    expect(b.state).toBe("cancelled");
    sim.schedule(usecs(3), () => expect(a.cancel()).toBe(true));
    await sim.run();
    expect(log.map((e) => [e.label, e.t / 1000])).toEqual([["c", 13]]);
    expect(c.cancel()).toBe(false);
    expect(eng.stats.cancelled).toBe(2);
  });

  it("traces each command as a slice on the engine's track", async () => {
    const sim = new Simulator({ trace: true });
    const eng = new HardwareEngine(sim, "gfx", { device: "card0" });
    eng.submit({ label: "job1", durationNs: usecs(7), onComplete: () => {} });
    await sim.run();
    const ev = sim.tracer.eventsOf("hw_command");
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({
      ph: "X",
      ts: 0,
      dur: usecs(7),
      track: { process: "card0", thread: "gfx" },
    });
  });

  it("refuses bad arguments with EINVAL and leaves the engine unchanged", () => {
    const sim = new Simulator();
    expect(() => new HardwareEngine(sim, "x", { width: 0 })).toThrow(KernelError);
    expect(() => new HardwareEngine(sim, "x", { irqLatencyNs: -1 })).toThrow(KernelError);
    const eng = new HardwareEngine(sim, "ring");
    expect(() => eng.submit({ durationNs: -1, onComplete: () => {} })).toThrow(/EINVAL/);
    expect(() => eng.submit({ durationNs: 1, error: 5, onComplete: () => {} })).toThrow(/EINVAL/);
    expect(() => eng.reset(0)).toThrow(/EINVAL/);
    expect(eng.stats.submitted).toBe(0);
  });

  it("the interrupt handler runs in irq context: sleeping there is reported", async () => {
    const sim = new Simulator();
    const eng = new HardwareEngine(sim, "ring");
    eng.submit({ durationNs: 1, onComplete: () => sim.validator.mightSleep("mutex_lock") });
    await expect(sim.run()).rejects.toThrow(ValidatorError);
    expect(sim.validator.findingsOf("sleep-in-atomic")).toHaveLength(1);
  });
});
