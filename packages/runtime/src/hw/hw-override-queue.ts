/**
 * The overrides a driver's drmsim-only side channel (`DRMSIM_ASAHI_HW_NEXT`, `DRMSIM_HL_HW_NEXT`)
 * lines up for the next commands of one queue or context. No kernel counterpart: real hardware
 * does what the command says; a test says what the simulated hardware should do instead.
 */
import { KernelError } from "../errno.js";

/** Where a queue's overrides come from, for its refusals' messages and its bound. */
export interface HwOverrideQueueSpec {
  /** The side-channel ioctl, e.g. `DRMSIM_HL_HW_NEXT`. */
  readonly ioctl: string;
  /** The argument's array member, e.g. `jobs`. */
  readonly member: string;
  /** What the overrides wait on, e.g. `context`. */
  readonly owner: string;
  /** At most this many wait (so a test's mistake cannot grow it forever). */
  readonly max: number;
}

/** Converts one entry's `__u64` member to a number: `EINVAL` beyond 2^53. */
export type HwOverrideNumber = (v: bigint, field: string) => number;

const NONE: readonly never[] = Object.freeze([]);

/** The overrides waiting on one queue or context, oldest first; each submission takes its share. */
export class HwOverrideQueue<B extends object> {
  private readonly pending: Partial<B>[] = [];

  constructor(private readonly spec: HwOverrideQueueSpec) {}

  /** How many wait. */
  get size(): number {
    return this.pending.length;
  }

  /**
   * The side-channel ioctl: every entry is parsed (`parse` gets the entry's place for messages
   * and a checked `__u64` conversion) before any is queued, so a refused one queues nothing;
   * `ENOSPC` past the bound. No entries clears the queue.
   */
  push<E>(entries: readonly E[], parse: (e: E, where: string, num: HwOverrideNumber) => Partial<B>): void {
    const { ioctl, member, owner, max } = this.spec;
    if (entries.length === 0) {
      this.pending.length = 0;
      return;
    }
    if (this.pending.length + entries.length > max)
      throw new KernelError(
        "ENOSPC",
        `${ioctl}: ${this.pending.length} overrides already wait on this ${owner}; at most ${max}`,
      );
    const parsed = entries.map((e, i) => {
      const where = `${ioctl}: ${member}[${i}]`;
      return parse(e, where, (v, field) => {
        if (v > BigInt(Number.MAX_SAFE_INTEGER))
          throw new KernelError("EINVAL", `${where}.${field} ${v} is beyond 2^53`);
        return Number(v);
      });
    });
    this.pending.push(...parsed);
  }

  /** The first `n` overrides, without taking them (the submission may still be refused). */
  peek(n: number): readonly (Partial<B> | undefined)[] {
    // Indexes past the end read as undefined: no override for those commands.
    return this.pending.length === 0 ? NONE : this.pending.slice(0, n);
  }

  /** Takes the first `n` (the submission that used them got past the point of no return). */
  take(n: number): void {
    if (this.pending.length > 0) this.pending.splice(0, n);
  }
}
