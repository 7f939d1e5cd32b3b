/**
 * Sync streams (`struct hl_sync_stream_properties`, `struct hl_hw_sob`, `common/hw_queue.c`):
 * how habanalabs orders work across its own queues without dma_fence. Every sync-stream queue owns
 * a small set of sync objects (SOBs, counters in the device's sync manager). A *signal* CS puts a
 * job on the queue that increments the queue's current SOB when it executes; a *wait* CS puts a
 * job on another queue that holds that queue — and everything queued behind it — until the SOB
 * reaches the value the signal was given. The driver hands out those values in order
 * (`next_sob_val`); near the counter's maximum it switches to the queue's next SOB
 * (`hl_cs_signal_sob_wraparound_handler`), so values never wrap under a waiter.
 */
import { KernelError } from "@drmsim/runtime";

/** `HL_MAX_SOB_VAL`: a SOB counts up to 2^15. */
export const HL_MAX_SOB_VAL = 1 << 15;
/** `HL_RSVD_SOBS`: SOBs reserved per sync-stream queue, used in turn. */
export const HL_RSVD_SOBS = 2;

/** `struct hl_hw_sob`: one sync object and the waits armed on it (the monitors). */
export class HlHwSob {
  /** The counter's current value. */
  value = 0;
  /**
   * `hw_sob->kref` less the stream's own: signal and wait CSs not yet retired that use this SOB.
   * The stream may only switch back to a SOB nobody uses, since switching resets it.
   */
  users = 0;
  private readonly monitors: { target: number; fire: () => void }[] = [];

  constructor(
    /** `hw_sob->sob_id`. */
    readonly id: number,
    /** `hw_sob->sob_addr`: its offset from the sync manager's base (what userspace is told). */
    readonly addrOffset: number,
  ) {}

  /** The hardware's increment (a signal job's `MSG_SHORT`); fires every monitor now satisfied. */
  increment(): void {
    this.value++;
    const ready = this.monitors.filter((m) => m.target <= this.value);
    if (ready.length === 0) return;
    for (const m of ready) this.monitors.splice(this.monitors.indexOf(m), 1);
    for (const m of ready) m.fire();
  }

  /** Arms a monitor: `fire` runs once the value reaches `target` (at once if it already has). */
  armMonitor(target: number, fire: () => void): void {
    if (this.value >= target) fire();
    else this.monitors.push({ target, fire });
  }

  /** Monitors still waiting (for tests and debug dumps). */
  get armed(): number {
    return this.monitors.length;
  }

  /** The sync manager's reset: the counter is 0, no monitor is armed, nobody uses it. */
  reset(): void {
    this.value = 0;
    this.users = 0;
    this.monitors.length = 0;
  }
}

/** `struct hl_sync_stream_properties`: the SOBs of one sync-stream queue and the next value to give. */
export class HlSyncStream {
  readonly sobs: HlHwSob[];
  /** `curr_sob_offset`: the SOB signals go to now. */
  curr = 0;
  /** `next_sob_val`: the value the next signal brings the current SOB to. */
  nextSobVal = 1;

  constructor(
    queueIndex: number,
    /** `HL_MAX_SOB_VAL`, smaller in tests that want to see the switch. */
    readonly maxSobVal = HL_MAX_SOB_VAL,
  ) {
    if (!Number.isInteger(maxSobVal) || maxSobVal < 2)
      throw new KernelError("EINVAL", `a SOB must count to at least 2, got ${maxSobVal}`);
    // Each queue's SOBs are consecutive 4-byte registers of the sync manager.
    this.sobs = Array.from({ length: HL_RSVD_SOBS }, (_, i) => {
      const id = queueIndex * HL_RSVD_SOBS + i;
      return new HlHwSob(id, id * 4);
    });
  }

  /** The SOB signals go to now. */
  get current(): HlHwSob {
    return this.sobs[this.curr]!;
  }

  /**
   * `init_signal_cs` with `hl_cs_signal_sob_wraparound_handler`: the SOB and value for the next
   * signal, and a use of that SOB (the caller drops it when the signal retires). When the value
   * would reach the counter's maximum, signals move to the queue's next SOB, which starts again
   * from 0 — `EINVAL` ("Cannot switch SOBs") while a signal or wait of its previous round is
   * still outstanding, since the reset would corrupt it.
   */
  nextSignal(): { sob: HlHwSob; val: number; countBefore: number } {
    if (this.nextSobVal >= this.maxSobVal) {
      const next = (this.curr + 1) % this.sobs.length;
      const sob = this.sobs[next]!;
      if (sob.users > 0)
        throw new KernelError(
          "EINVAL",
          `Cannot switch SOBs: SOB ${sob.id} is still in use (${sob.users} outstanding)`,
        );
      sob.reset();
      this.curr = next;
      this.nextSobVal = 1;
    }
    const sob = this.current;
    const val = this.nextSobVal++;
    sob.users++;
    return { sob, val, countBefore: val - 1 };
  }

  /** A hard reset clears the sync manager. */
  reset(): void {
    for (const s of this.sobs) s.reset();
    this.curr = 0;
    this.nextSobVal = 1;
  }
}
