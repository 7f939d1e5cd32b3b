/**
 * Where recorded events go. `MemorySink` keeps them all (tests, small runs); `RingSink` keeps
 * the last stretch of virtual time, like ftrace's ring buffer (`buffer_size_kb`), so a long run
 * can be traced in bounded memory and its end looked at; streaming to a file is
 * `ChromeTraceStream` (`chrome-json.ts`).
 */
import type { TraceEvent, TraceSink } from "./tracepoint.js";

/** Keeps every event, up to `limit`; later ones are counted in `dropped`. */
export class MemorySink implements TraceSink {
  readonly events: TraceEvent[] = [];
  dropped = 0;
  constructor(public limit = 5_000_000) {}

  write(e: TraceEvent): void {
    if (this.events.length >= this.limit) this.dropped++;
    else this.events.push(e);
  }
}

/**
 * Keeps the events recorded during the last `windowNs` of virtual time (and at most
 * `maxEvents` of them). An event's age is when it was recorded — a slice when it ended — so a
 * long slice that ended inside the window is kept whole.
 */
export class RingSink implements TraceSink {
  private buf: (TraceEvent | undefined)[] = [];
  private at: number[] = [];
  private head = 0;
  /** Events evicted so far. */
  evicted = 0;

  constructor(
    private readonly clock: { readonly now: number },
    readonly windowNs: number,
    readonly maxEvents = 2_000_000,
  ) {
    if (!(windowNs > 0)) throw new RangeError(`RingSink: the window must be > 0 ns, got ${windowNs}`);
  }

  write(e: TraceEvent): void {
    const now = this.clock.now;
    this.buf.push(e);
    this.at.push(now);
    const oldest = now - this.windowNs;
    while (this.head < this.buf.length && (this.at[this.head]! < oldest || this.size > this.maxEvents)) {
      this.buf[this.head] = undefined;
      this.head++;
      this.evicted++;
    }
    // Compact once the evicted prefix is as large as what is kept: amortised O(1) per event.
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.at = this.at.slice(this.head);
      this.head = 0;
    }
  }

  /** Events kept now. */
  get size(): number {
    return this.buf.length - this.head;
  }

  /**
   * The events recorded in the window ending now, oldest first (exporters leave out flow arrows
   * whose other end or slice was evicted).
   */
  events(): TraceEvent[] {
    const oldest = this.clock.now - this.windowNs;
    let i = this.head;
    while (i < this.buf.length && this.at[i]! < oldest) i++;
    return this.buf.slice(i) as TraceEvent[];
  }
}
