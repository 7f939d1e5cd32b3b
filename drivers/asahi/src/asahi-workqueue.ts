/**
 * A firmware work queue (the Asahi driver's `workqueue.rs`): one of the three rings — vertex,
 * fragment, compute — that the firmware executes for a user queue. The driver writes work
 * commands into the ring; the firmware runs them in order on a `HardwareEngine` (built by the
 * device's `HW_ENGINE_FACTORY`, so a test can plan faults into it) and raises a completion
 * interrupt for each, which signals the command's fence. A lost interrupt leaves the command
 * finished on the hardware but pending here, until the timeout handler reads the completion
 * stamps (`reapLostCompletions`).
 *
 * The limits are the firmware's, and they are what seed 002 was about: at most `slots` (128)
 * work commands may be in flight per queue — "barriers don't count" — or a fixed-size firmware
 * buffer overflows; and the ring itself has `ringSize` entries, which barrier commands do take.
 * The driver never asks the firmware "is there room?" (a boolean the scheduler could not wait
 * on): `AsahiQueue.prepareJob` computes it from `freeSlots`/`freeSpace` and, when a job does not
 * fit, hands the scheduler the fence of the oldest pending command here (`oldestPendingFence`).
 *
 * Barriers: a command may wait for a command on another ring (the firmware's `Barrier` command
 * waiting on a stamp). The firmware front-end stops at a barrier whose target has not completed;
 * everything behind it on this ring waits too, as on the real ring. Targets are always earlier
 * commands, so waiting cannot form a cycle.
 */
import { DmaFence, type DmaFenceOps, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  defineTracepoint,
  ERRNO,
  type HardwareEngine,
  type HwCommandHandle,
  KernelError,
  type Simulator,
} from "@drmsim/runtime";

/** Which firmware ring. */
export type AsahiWorkQueueKind = "vertex" | "fragment" | "compute";

/** Per-command statistics, filled in as the command moves through the firmware. */
export interface AsahiCommandStats {
  /** Virtual time the driver wrote it into the ring (`runJob`). */
  queuedNs: number;
  /** Virtual time the firmware started executing it, -1 if it never did. */
  startNs: number;
  /** Virtual time its completion was handled, -1 while pending. */
  endNs: number;
  /** 0, or the negative errno it completed with. */
  status: number;
  /** Time spent stopped at a barrier before it could be handed to the hardware, ns. */
  barrierWaitNs: number;
}

/** One work command on a firmware ring (a sub-job of an `AsahiJob`). */
export class AsahiWorkItem {
  /** The completion fence; null until the item is written into a ring. */
  fence: DmaFence | null = null;
  /** Where it is. */
  state: "built" | "ring" | "hw" | "done" = "built";
  readonly stats: AsahiCommandStats = { queuedNs: -1, startNs: -1, endNs: -1, status: 0, barrierWaitNs: 0 };
  /** @internal The hardware engine's handle while it is there. */
  handle: HwCommandHandle | null = null;
  /** @internal Virtual time the front-end first found it blocked at a barrier. */
  blockedSince = -1;

  constructor(
    /** The ring it runs on. */
    readonly kind: AsahiWorkQueueKind,
    /** Its index among the job's items (for labels). */
    readonly label: string,
    readonly durationNs: number,
    /** Items (on any ring) that must complete before this one starts: the firmware barriers. */
    readonly barriers: AsahiWorkItem[],
    readonly hang: boolean,
    readonly error: number | undefined,
    /** Called when it completes (irq context): its job's bookkeeping. */
    readonly onDone: (item: AsahiWorkItem) => void,
    /** True once the job it belongs to failed: the firmware skips it (completes it with -ECANCELED). */
    readonly skip: () => number,
  ) {}

  /** Completed (with or without error). */
  get done(): boolean {
    return this.state === "done";
  }
}

/** Counters of one firmware queue. */
export interface AsahiWorkQueueStats {
  /** Work commands written into the ring. */
  commands: number;
  /** Barrier commands written into the ring. */
  barriers: number;
  /** Work commands completed without error. */
  completed: number;
  /** Completed with an error (fault, timeout, reset, skipped after an earlier failure). */
  failed: number;
  /** Highest number of work slots in use at once. */
  maxSlotsInUse: number;
  /** Times `prepareJob` had to hand out this queue's oldest fence because a job did not fit. */
  fullWaits: number;
  /**
   * Commands the firmware finished whose completion interrupt never arrived, found by the
   * timeout handler from the ring's completion stamps and completed then.
   */
  lostIrqs: number;
}

/**
 * The completion fence of one firmware command (the driver's per-command event stamp). Its ops are
 * the device's `fenceOps`, i.e. the driver's `hooks.fence` taps: driver "asahi", timeline the
 * ring's engine name.
 */
export class AsahiFwFence extends DmaFence {
  constructor(
    readonly ring: AsahiWorkQueue,
    ops: DmaFenceOps,
    seqno: number,
  ) {
    super(ring.sim, ops, ring.context, seqno);
  }
}

/** The `asahi_fw_command` trace slice on the ring's track: a command from ring write to completion. */
export const traceAsahiFwCommand = defineTracepoint<{ label: string; status: number }>(
  "asahi_fw_command",
  "asahi",
);

/** `WorkQueue` of the Asahi driver: one firmware ring. See the module comment. */
export class AsahiWorkQueue {
  readonly engine: HardwareEngine;
  readonly stats: AsahiWorkQueueStats = {
    commands: 0,
    barriers: 0,
    completed: 0,
    failed: 0,
    maxSlotsInUse: 0,
    fullWaits: 0,
    lostIrqs: 0,
  };
  /** Fence context of this ring's command fences: completions are in order, so seqnos are too. */
  readonly context: number;
  /** Items written and not yet completed, oldest first (what holds slots). */
  private readonly pending: AsahiWorkItem[] = [];
  /** Ring entries held by pending items and their barriers. */
  private ringUsed = 0;
  private readonly ringCost = new Map<AsahiWorkItem, number>();
  /** Index in `pending` of the next item the front-end hands to the hardware. */
  private next = 0;
  private seqno = 0;
  /** The most recent item written (barrier 0's target), until it completes. */
  last: AsahiWorkItem | null = null;

  constructor(
    readonly sim: Simulator,
    readonly kind: AsahiWorkQueueKind,
    /** Work slots ("the firmware can only support up to 128 work commands in flight per queue"). */
    readonly slots: number,
    /** Ring entries (work commands + barriers). */
    readonly ringSize: number,
    /** The firmware's execution of this ring (from the device's `HW_ENGINE_FACTORY`). */
    engine: HardwareEngine,
    /** The device's `dma_fence_ops` (the driver's `hooks.fence` taps), for the command fences. */
    private readonly fenceOps: DmaFenceOps,
    /** Called after any completion, so the other rings of the queue can pass their barriers. */
    private readonly onRetire: () => void,
  ) {
    this.engine = engine;
    this.context = dmaFenceContextAlloc(sim);
  }

  /** The ring's name: its engine's (`asahi-q1-frag`). */
  get name(): string {
    return this.engine.name;
  }

  /** Work slots in use. */
  get slotsInUse(): number {
    return this.pending.length;
  }

  /** Work slots free. */
  freeSlots(): number {
    return this.slots - this.pending.length;
  }

  /** Ring entries free. */
  freeSpace(): number {
    return this.ringSize - this.ringUsed;
  }

  /**
   * The fence of the oldest pending command, with a new reference: what must retire before
   * anything more fits. Null if nothing is pending (then everything fits).
   */
  oldestPendingFence(): DmaFence | null {
    const head = this.pending[0];
    return head?.fence?.get() ?? null;
  }

  /**
   * Writes `item` (preceded by its barriers) into the ring. The caller (`runJob`) checked room in
   * `prepareJob`; running out here is a driver bug, so it throws `ENOSPC` instead of overflowing
   * the firmware's buffer.
   */
  push(item: AsahiWorkItem, barrierEntries: number): void {
    const cost = 1 + barrierEntries;
    if (this.freeSlots() < 1 || this.freeSpace() < cost)
      throw new KernelError(
        "ENOSPC",
        `asahi ${this.engine.name}: firmware ring overflow (${this.pending.length}/${this.slots} slots, ${this.ringUsed}/${this.ringSize} entries)`,
      );
    item.fence = new AsahiFwFence(this, this.fenceOps, ++this.seqno);
    item.state = "ring";
    item.stats.queuedNs = this.sim.now;
    this.pending.push(item);
    this.ringCost.set(item, cost);
    this.ringUsed += cost;
    this.stats.commands++;
    this.stats.barriers += barrierEntries;
    if (this.pending.length > this.stats.maxSlotsInUse) this.stats.maxSlotsInUse = this.pending.length;
    this.last = item;
  }

  /**
   * The firmware front-end: hands ring items to the hardware in order, stopping at the first one
   * whose barrier targets have not completed. Items of a failed job are completed at once with
   * the job's error (the firmware skips them). Call after pushing and after any completion.
   */
  pump(): void {
    while (this.next < this.pending.length) {
      const item = this.pending[this.next]!;
      if (item.state !== "ring") {
        this.next++;
        continue;
      }
      const skip = item.skip();
      if (skip === 0 && item.barriers.some((b) => !b.done)) {
        if (item.blockedSince < 0) item.blockedSince = this.sim.now;
        return;
      }
      if (item.blockedSince >= 0) item.stats.barrierWaitNs = this.sim.now - item.blockedSince;
      this.next++;
      if (skip !== 0) {
        this.complete(item, skip);
        continue;
      }
      item.state = "hw";
      const h = this.engine.submit({
        durationNs: item.durationNs,
        label: item.label,
        hang: item.hang,
        error: item.error,
        onComplete: (status) => this.complete(item, status),
      });
      item.handle = h;
      item.stats.startNs = h.startNs;
    }
  }

  /** The item the hardware is executing now (width 1), if any. */
  running(): AsahiWorkItem | undefined {
    for (const item of this.pending) if (item.state === "hw") return item;
    return undefined;
  }

  /**
   * Reads the ring's completion stamps: every command the firmware finished whose interrupt was
   * lost is completed now (with the status it was to complete with: its injected error, else 0),
   * as the interrupt handler would have. Returns how many there were.
   */
  reapLostCompletions(): number {
    let n = 0;
    for (const item of [...this.pending])
      if (item.state === "hw" && item.handle?.state === "done") {
        n++;
        this.stats.lostIrqs++;
        this.complete(item, item.error ?? 0);
      }
    return n;
  }

  /**
   * Firmware recovery for this ring: if the engine crashed, or is executing `guilty`'s command,
   * reset it — the running command completes with `err` (`-EIO` for a crash), queued ones go on.
   * Returns true if it reset.
   */
  recover(isGuilty: (item: AsahiWorkItem) => boolean, err: number): boolean {
    const run = this.running();
    if (this.engine.crashed) {
      this.engine.reset(-ERRNO.EIO);
      return true;
    }
    if (run !== undefined && isGuilty(run)) {
      this.engine.reset(err);
      return true;
    }
    return false;
  }

  /**
   * Teardown (`cancel_job` at queue destroy): every pending command completes with `err`, in
   * order; commands on the hardware are taken back first.
   */
  cancelAll(err: number): void {
    for (const item of [...this.pending]) {
      if (item.state === "hw") item.handle?.cancel();
      if (item.state !== "done") this.complete(item, err);
    }
  }

  private complete(item: AsahiWorkItem, status: number): void {
    if (item.state === "done") return;
    const sim = this.sim;
    if (item.state === "hw" && item.handle !== null) item.stats.startNs = item.handle.startNs;
    item.state = "done";
    item.handle = null;
    item.stats.endNs = sim.now;
    item.stats.status = status;
    if (status === 0) this.stats.completed++;
    else this.stats.failed++;
    // Commands retire in ring order (the front-end is in order and the engine is serial), so
    // this is the head; search anyway, a reset may complete one the head is still waiting on.
    const i = this.pending.indexOf(item);
    if (i >= 0) {
      this.pending.splice(i, 1);
      if (i < this.next) this.next--;
    }
    this.ringUsed -= this.ringCost.get(item) ?? 1;
    this.ringCost.delete(item);
    if (this.last === item) this.last = null;
    if (sim.tracer.on && item.stats.startNs >= 0)
      sim.tracer.slice(traceAsahiFwCommand, this.engine.track, item.stats.startNs, {
        label: item.label,
        status,
      });
    const f = item.fence!;
    if (status !== 0) f.setError(status);
    f.signal();
    item.onDone(item);
    this.onRetire();
  }

  /** @internal Drops the fence references of completed items (called by the job when freed). */
  static release(item: AsahiWorkItem): void {
    item.fence?.put();
    item.fence = null;
  }
}
