/**
 * A reusable hardware engine: the part of every simulated device that executes commands on the
 * virtual clock and raises a completion interrupt for each one — a GPU ring, a firmware queue, a
 * DMA engine, an accelerator's compute queue, the drm_sched mock's timeline.
 *
 * Why one model instead of timers in each driver: completions must arrive in irq context (so the
 * validator checks fence callbacks where the kernel runs them), faults must be injectable the
 * same way everywhere (a hang, an error status, a firmware crash, a reset), and traces must show
 * every device's busy time on its own track. Drivers compose engines; they do not hand-roll
 * timers.
 *
 * The model: `width` execution slots (1 = a serial ring). A submitted command waits in FIFO order
 * for a free slot, runs for its `durationNs`, and then its `onComplete(status)` runs in the
 * engine's irq context (`sim.irqContext(name)`), after `irqLatencyNs` if one is set. The slot is
 * free again the moment the hardware finishes, before the interrupt is delivered.
 */

import type { ExecutionContext } from "../context.js";
import { ERRNO, KernelError } from "../errno.js";
import type { Simulator, TimerHandle } from "../simulator.js";
import { defineTracepoint, type TrackRef } from "../trace.js";

/** One command for the engine. */
export interface HwCommand {
  /** How long the command occupies its slot, in virtual ns (≥ 0). */
  durationNs: number;
  /**
   * The completion interrupt: runs in the engine's irq context with 0 on success or a negative
   * errno (an injected `error`, or the reset's error for an aborted command). Irq rules apply: it
   * must not sleep or allocate with reclaim.
   */
  onComplete(status: number): void;
  /** Shown in traces and debug dumps. */
  label?: string;
  /** Fault injection: the command starts but never completes (a GPU hang) until `reset()`. */
  hang?: boolean;
  /** Fault injection: the command completes with this negative errno instead of 0. */
  error?: number;
  /**
   * The command stalls: after `stall.afterNs` of execution the engine stops on it (it never
   * completes, like `hang`, until `reset()`) and raises `stall.irq` in its irq context — a
   * command processor meeting a packet it cannot execute and interrupting the driver.
   */
  stall?: { afterNs: number; irq(): void };
}

/** Where a command is in its life. */
export type HwCommandState = "queued" | "running" | "done" | "cancelled" | "aborted";

/** What `submit()` returns: the command's state, and a way to take it back. */
export interface HwCommandHandle {
  readonly label: string;
  readonly state: HwCommandState;
  /** Virtual time the command started executing, or -1 while queued. */
  readonly startNs: number;
  /**
   * Takes the command off the engine without a completion interrupt: a queued one is removed, a
   * running (or hung) one stops and frees its slot. Returns true if the command had not completed
   * (its `onComplete` will never run); false if it already completed or was aborted.
   */
  cancel(): boolean;
}

/**
 * Faults planned into an engine when it is built — what a test swaps in through the device
 * container (`HW_ENGINE_FACTORY`) to break hardware without touching the driver. Commands are
 * counted from 1 in submission order.
 */
export interface HwFaultPlan {
  /** These commands start but never complete (a hang), until `reset()`. */
  hang?: readonly number[];
  /** These commands complete with the given negative errno. */
  error?: Readonly<Record<number, number>>;
  /** These commands complete on the hardware, but their interrupt is lost: `onComplete` never runs. */
  dropIrq?: readonly number[];
}

/** Options of `new HardwareEngine()`. */
export interface HardwareEngineOptions {
  /** Planned faults (see `HwFaultPlan`). */
  faults?: HwFaultPlan;
  /** Commands executing at once (default 1: a serial ring). */
  width?: number;
  /** Delay between the hardware finishing a command and its interrupt being handled (default 0). */
  irqLatencyNs?: number;
  /** The trace process (device) the engine's track belongs to; default the engine name. */
  device?: string;
}

/** Counters of one engine. */
export interface HardwareEngineStats {
  submitted: number;
  /** Commands whose interrupt was delivered (with or without an error). */
  completed: number;
  /** Completed with an injected error status. */
  errors: number;
  /** Aborted by `reset()`. */
  aborted: number;
  /** Removed by `cancel()`. */
  cancelled: number;
  /** Virtual ns during which at least one command was executing. */
  busyNs: number;
  /** Sum over commands of the time each spent executing (slot-ns; `busyNs × width` at most). */
  slotBusyNs: number;
  /** Times the engine crashed. */
  crashes: number;
  /** Times it was reset. */
  resets: number;
  /** Completion interrupts lost by a planned `dropIrq` fault. */
  droppedIrqs: number;
}

const ENGINES = {};

/**
 * The engines of `sim` that hold commands which will never complete on their own: hung (an
 * injected hang) or stopped by a crash. Meaningful once nothing is left to run — a busy engine
 * with a completion pending is not stuck.
 */
export function stuckHardwareEngines(sim: Simulator): HardwareEngine[] {
  const all = sim.subsystem(ENGINES, (): HardwareEngine[] => []);
  return all.filter((e) => e.busy > 0 || (e.crashed && e.queued > 0));
}

/** The `hw_command` trace slice: one command's execution on its engine's track. */
export const traceHwCommand = defineTracepoint<{ label: string; status: number }>("hw_command", "hw");

class Cmd implements HwCommandHandle {
  state: HwCommandState = "queued";
  startNs = -1;
  timer: TimerHandle | null = null;
  /** The status its interrupt delivers, fixed when the hardware finished it. */
  status = 0;
  /** Never completes (the command's own `hang`, or a planned fault). */
  hang: boolean;
  /** The error it completes with, if any. */
  error: number | undefined;
  /** Its interrupt is lost (a planned fault). */
  dropIrq = false;
  constructor(
    readonly engine: HardwareEngine,
    readonly cmd: HwCommand,
    /** The engine's submission number: the default label, built only when someone reads it. */
    readonly id: number,
  ) {
    this.hang = cmd.hang === true || cmd.stall !== undefined;
    this.error = cmd.error;
  }
  /**
   * `cmd.label`, or `engine#id`. Built on demand (traces, debug dumps): formatting a string per
   * submitted command was a measurable share of the drm_sched hot path.
   */
  get label(): string {
    return this.cmd.label ?? `${this.engine.name}#${this.id}`;
  }
  cancel(): boolean {
    return this.engine.cancelCmd(this);
  }
}

function stallIrq(c: Cmd): void {
  c.timer = null;
  c.cmd.stall?.irq();
}

/** A command engine on the virtual clock. See the module comment. */
export class HardwareEngine {
  readonly width: number;
  readonly irqLatencyNs: number;
  /** The context completion interrupts run in. */
  readonly irq: ExecutionContext;
  /** The engine's trace track. */
  readonly track: TrackRef;
  readonly stats: HardwareEngineStats = {
    submitted: 0,
    completed: 0,
    errors: 0,
    aborted: 0,
    cancelled: 0,
    busyNs: 0,
    slotBusyNs: 0,
    crashes: 0,
    resets: 0,
    droppedIrqs: 0,
  };
  private readonly faults: HwFaultPlan | null;
  private queue: (Cmd | undefined)[] = [];
  private head = 0;
  /** Executing commands (at most `width`; an array: small, and cheaper than a Set per command). */
  private readonly running: Cmd[] = [];
  private busySince = 0;
  private isCrashed = false;
  private nextId = 1;
  /**
   * A timer whose completion event has fired, kept to be re-armed by the next command that
   * starts: a busy engine allocates no timer per command. Never a cancelled one (a cancelled
   * timer may still sit in the event queue).
   */
  private spareTimer: TimerHandle | null = null;
  /** The completion and interrupt callbacks, created once: no closure per command. */
  private readonly onHwDone = (c: Cmd): void => this.hwDone(c);
  private readonly onDeliver = (c: Cmd): void => this.deliver(c, c.status);

  constructor(
    private readonly sim: Simulator,
    readonly name: string,
    opts: HardwareEngineOptions = {},
  ) {
    const width = opts.width ?? 1;
    if (!Number.isInteger(width) || width < 1)
      throw new KernelError("EINVAL", `HardwareEngine ${name}: width must be an integer >= 1, got ${width}`);
    const lat = opts.irqLatencyNs ?? 0;
    if (!(lat >= 0))
      throw new KernelError("EINVAL", `HardwareEngine ${name}: irqLatencyNs must be >= 0, got ${lat}`);
    this.width = width;
    this.irqLatencyNs = lat;
    this.faults = opts.faults ?? null;
    if (this.faults !== null) checkFaultPlan(name, this.faults);
    this.irq = sim.irqContext(name);
    this.track = { process: opts.device ?? name, thread: name };
    sim.subsystem(ENGINES, (): HardwareEngine[] => []).push(this);
  }

  /** Commands executing now (including hung ones). */
  get busy(): number {
    return this.running.length;
  }

  /** Commands waiting for a slot. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** True between `crash()` and `reset()`. */
  get crashed(): boolean {
    return this.isCrashed;
  }

  /**
   * Queues a command. It starts at once if a slot is free (and the engine has not crashed).
   * `EINVAL` for a negative or non-finite duration or a non-negative `error`.
   */
  submit(cmd: HwCommand): HwCommandHandle {
    if (!(cmd.durationNs >= 0) || !Number.isFinite(cmd.durationNs))
      throw new KernelError(
        "EINVAL",
        `${this.name}: command duration must be a finite number >= 0 ns, got ${cmd.durationNs}`,
      );
    if (cmd.error !== undefined && !(Number.isInteger(cmd.error) && cmd.error < 0))
      throw new KernelError(
        "EINVAL",
        `${this.name}: an injected error must be a negative errno, got ${cmd.error}`,
      );
    if (typeof cmd.onComplete !== "function")
      throw new KernelError("EINVAL", `${this.name}: a command needs an onComplete interrupt handler`);
    const c = new Cmd(this, cmd, this.nextId++);
    this.stats.submitted++;
    if (this.faults !== null) this.planFaults(c);
    this.queue.push(c);
    this.pump();
    return c;
  }

  /** Applies the planned faults to the command just submitted (it is command `stats.submitted`). */
  private planFaults(c: Cmd): void {
    const f = this.faults!;
    const n = this.stats.submitted;
    if (f.hang?.includes(n) === true) c.hang = true;
    const err = f.error?.[n];
    if (err !== undefined) c.error = err;
    if (f.dropIrq?.includes(n) === true) c.dropIrq = true;
  }

  /**
   * Firmware crash: every executing command stops where it is and queued ones are not started;
   * no completion interrupt arrives until `reset()`. Idempotent.
   */
  crash(): void {
    if (this.isCrashed) return;
    this.isCrashed = true;
    this.stats.crashes++;
    for (const c of this.running) {
      c.timer?.cancel();
      c.timer = null;
    }
  }

  /**
   * Engine reset: aborts every executing command (hung, crashed or healthy) with `err` (a negative
   * errno, default `-EIO`), delivering each `onComplete(err)` in irq context now, oldest first.
   * Queued commands survive and start afterwards unless `abortQueued` is set, in which case they
   * are aborted too. Clears a crash. Returns the number of commands aborted.
   */
  reset(err: number = -ERRNO.EIO, opts: { abortQueued?: boolean } = {}): number {
    if (!(Number.isInteger(err) && err < 0))
      throw new KernelError("EINVAL", `${this.name}: reset error must be a negative errno, got ${err}`);
    this.stats.resets++;
    this.isCrashed = false;
    const victims = [...this.running];
    if (opts.abortQueued === true) {
      for (let i = this.head; i < this.queue.length; i++) victims.push(this.queue[i]!);
      this.queue = [];
      this.head = 0;
    }
    for (const c of victims) {
      c.timer?.cancel();
      c.timer = null;
      this.finishSlot(c);
      c.state = "aborted";
      this.stats.aborted++;
    }
    this.sim.runAs(this.irq, () => {
      for (const c of victims) c.cmd.onComplete(err);
    });
    this.pump();
    return victims.length;
  }

  /** @internal `handle.cancel()`. */
  cancelCmd(c: Cmd): boolean {
    if (c.state === "queued") {
      const i = this.queue.indexOf(c, this.head);
      if (i >= 0) this.queue.splice(i, 1);
    } else if (c.state === "running") {
      c.timer?.cancel();
      c.timer = null;
      this.finishSlot(c);
    } else return false;
    c.state = "cancelled";
    this.stats.cancelled++;
    this.pump();
    return true;
  }

  private pump(): void {
    if (this.isCrashed) return;
    while (this.running.length < this.width && this.head < this.queue.length) {
      const c = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.start(c);
    }
  }

  private start(c: Cmd): void {
    const sim = this.sim;
    if (this.running.length === 0) this.busySince = sim.now;
    this.running.push(c);
    c.state = "running";
    c.startNs = sim.now;
    if (c.hang) {
      // The stall interrupt; a reset or cancel drops it with the timer.
      const stall = c.cmd.stall;
      if (stall !== undefined) c.timer = sim.atWith(sim.now + stall.afterNs, stallIrq, c, this.irq);
      return;
    }
    let durationNs = c.cmd.durationNs;
    const p = sim.perturber;
    if (p !== null) {
      // Exploration: an injected hang, or a jittered execution time (see PerturbOptions).
      if (p.hang(this.name)) return;
      durationNs = p.hwDuration(durationNs);
    }
    const spare = this.spareTimer;
    this.spareTimer = null;
    c.timer = sim.atWith(sim.now + durationNs, this.onHwDone, c, this.irq, spare);
  }

  private finishSlot(c: Cmd): void {
    const now = this.sim.now;
    const r = this.running;
    const i = r.indexOf(c);
    if (i >= 0) {
      // Remove in place, oldest order kept: `splice` would allocate an array of the removed item.
      const last = r.length - 1;
      for (let k = i; k < last; k++) r[k] = r[k + 1]!;
      r.pop();
    }
    this.stats.slotBusyNs += now - c.startNs;
    if (r.length === 0) this.stats.busyNs += now - this.busySince;
  }

  private hwDone(c: Cmd): void {
    // The timer fired (it is out of the event queue): the next command may re-arm it.
    this.spareTimer = c.timer;
    c.timer = null;
    this.finishSlot(c);
    c.state = "done";
    const status = c.error ?? 0;
    c.status = status;
    const sim = this.sim;
    if (sim.tracer.on) sim.tracer.slice(traceHwCommand, this.track, c.startNs, { label: c.label, status });
    const latencyNs =
      sim.perturber === null ? this.irqLatencyNs : this.irqLatencyNs + sim.perturber.irqDelay();
    if (latencyNs > 0) sim.atWith(sim.now + latencyNs, this.onDeliver, c, this.irq);
    else this.deliver(c, status);
    this.pump();
  }

  private deliver(c: Cmd, status: number): void {
    if (c.dropIrq) {
      this.stats.droppedIrqs++;
      return;
    }
    this.stats.completed++;
    if (status !== 0) this.stats.errors++;
    c.cmd.onComplete(status);
  }
}

function checkFaultPlan(name: string, f: HwFaultPlan): void {
  const ordinal = (n: number) => Number.isInteger(n) && n >= 1;
  for (const n of [...(f.hang ?? []), ...(f.dropIrq ?? [])])
    if (!ordinal(n))
      throw new KernelError(
        "EINVAL",
        `HardwareEngine ${name}: fault plan command numbers start at 1, got ${n}`,
      );
  for (const [k, err] of Object.entries(f.error ?? {}))
    if (!ordinal(Number(k)) || !(Number.isInteger(err) && err < 0))
      throw new KernelError(
        "EINVAL",
        `HardwareEngine ${name}: fault plan error for command ${k} must be a negative errno, got ${err}`,
      );
}
