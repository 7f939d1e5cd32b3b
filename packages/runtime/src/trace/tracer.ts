/**
 * The per-simulator tracer (the kernel's tracepoints, read through Perfetto).
 *
 * Emitting costs one boolean test when tracing is off — callers write
 * `if (sim.tracer.on) sim.tracer.instant(tp, track, args)`, so argument objects are never built
 * for nobody. When on, events go to the tracer's sinks: memory by default, or a ring buffer of
 * the last seconds, or a file streamed as the run goes (`chrome-json.ts`).
 *
 * What a GPU developer reads in a trace, and how it is recorded:
 * - **slices**: a command on an engine, an ioctl — `slice()` after the fact, or `begin()`/`end()`
 *   around a span whose end is not known yet (a fence from init to signal, a job from push to
 *   finish). Spans are keyed by the object they describe.
 * - **flow arrows** between two spans (`flow()`): a job and the fence it waited for. Both ends
 *   are bound to their span (written after it, at its start), so Perfetto's importer attaches
 *   the arrow to the slices and never to whatever else is on the track.
 * - **counters** (`counterTrack()`): written when the value changes, one sample per instant;
 *   `probe()` polls a number its owner already keeps each time virtual time moves on.
 * - **instants**: a tracepoint at one time.
 */
import { type ChromeTrace, chromeTraceOf } from "./chrome-json.js";
import { TraceCounter } from "./counter.js";
import { TrackLanes } from "./lanes.js";
import { MemorySink } from "./sinks.js";
import type { TraceEvent, Tracepoint, TraceSink, TrackRef } from "./tracepoint.js";

interface OpenSpan {
  readonly id: number;
  readonly tp: Tracepoint<object>;
  readonly track: TrackRef;
  readonly start: number;
  readonly args: object;
  lane: number;
  closed: boolean;
  flows: FlowRec[] | null;
}

interface FlowRec {
  readonly id: number;
  readonly name: string;
  readonly from: OpenSpan;
  readonly to: OpenSpan;
}

interface Probe {
  readonly counter: TraceCounter;
  readonly read: () => number;
}

const NO_EVENTS: readonly TraceEvent[] = Object.freeze([]);

/** The per-simulator trace recorder. */
export class Tracer {
  /** Tracing is on. Check it before building arguments. */
  on = false;
  /** Flow arrows not recorded: an end had no open span, or the source span started after the target. */
  flowsDropped = 0;
  private memory: MemorySink | null;
  private sinks: TraceSink[];
  private readonly lanes = new Map<string, TrackLanes>();
  private readonly open = new Map<object, OpenSpan>();
  private readonly probes: Probe[] = [];
  private dirty: TraceCounter[] = [];
  private spanSeq = 0;
  private flowSeq = 0;

  constructor(
    private readonly clock: { readonly now: number },
    /** Maximum number of events the default in-memory sink keeps; later ones are counted in `dropped`. */
    limit = 5_000_000,
  ) {
    this.memory = new MemorySink(limit);
    this.sinks = [this.memory];
  }

  /**
   * Sends events to `sinks` instead of memory (a ring buffer, a streamed file). Call before the
   * run records anything.
   */
  useSinks(sinks: readonly TraceSink[]): void {
    this.sinks = [...sinks];
    this.memory = (sinks.find((s) => s instanceof MemorySink) as MemorySink | undefined) ?? null;
  }

  /** Events kept in memory (empty when the tracer streams elsewhere). */
  get events(): readonly TraceEvent[] {
    return this.memory?.events ?? NO_EVENTS;
  }

  /** The in-memory sink's capacity. */
  get limit(): number {
    return this.memory?.limit ?? 0;
  }
  set limit(n: number) {
    if (this.memory !== null) this.memory.limit = n;
  }

  /** Events the in-memory sink dropped because `limit` was reached. */
  get dropped(): number {
    return this.memory?.dropped ?? 0;
  }

  /** An instant event at the current virtual time. */
  instant<A extends object>(tp: Tracepoint<A>, track: TrackRef, args: A): void {
    if (!this.on) return;
    const now = this.clock.now;
    // Placed like a slice of no length, so it never sits on top of a span an arrow binds to.
    const lane = this.lanesOf(track).place(now, now);
    const e: TraceEvent = { name: tp.name, cat: tp.category, ph: "i", ts: now, track, args };
    this.push(lane === 0 ? e : { ...e, lane });
  }

  /** A slice from `startNs` to now: a command on an engine, an ioctl. */
  slice<A extends object>(tp: Tracepoint<A>, track: TrackRef, startNs: number, args: A): void {
    if (!this.on) return;
    const now = this.clock.now;
    const lane = this.lanesOf(track).place(startNs, now);
    const e: TraceEvent = {
      name: tp.name,
      cat: tp.category,
      ph: "X",
      ts: startNs,
      dur: now - startNs,
      track,
      args,
    };
    this.push(lane === 0 ? e : { ...e, lane });
  }

  /**
   * Opens a span of `tp` on `track` now, keyed by `key` (the fence, the job). It is recorded
   * when `end(key)` closes it — or by `finish()`, marked unfinished.
   */
  begin<A extends object>(tp: Tracepoint<A>, track: TrackRef, key: object, args: A): void {
    if (!this.on) return;
    if (this.open.has(key)) this.end(key, { unfinished: true });
    this.open.set(key, {
      id: ++this.spanSeq,
      tp: tp as Tracepoint<object>,
      track,
      start: this.clock.now,
      args,
      lane: -1,
      closed: false,
      flows: null,
    });
  }

  /** Whether `key` has an open span. */
  isOpen(key: object): boolean {
    return this.open.has(key);
  }

  /** Closes the span of `key` now; `args` are added to the ones it was opened with. */
  end(key: object, args?: object): void {
    const s = this.open.get(key);
    if (s === undefined) return;
    this.open.delete(key);
    const now = this.clock.now;
    s.lane = this.lanesOf(s.track).place(s.start, now, s.flows !== null);
    s.closed = true;
    const e: TraceEvent = {
      name: s.tp.name,
      cat: s.tp.category,
      ph: "X",
      ts: s.start,
      dur: now - s.start,
      track: s.track,
      args: args === undefined ? s.args : { ...s.args, ...args },
      span: s.id,
    };
    this.push(s.lane === 0 ? e : { ...e, lane: s.lane });
    const flows = s.flows;
    if (flows === null) return;
    for (const f of flows) if (f.from.closed && f.to.closed) this.writeFlow(f);
  }

  /**
   * A flow arrow from the span of `fromKey` to the span of `toKey` (both open now): the fence a
   * job waited for, and the job. Written once both spans are closed, each end bound to its span.
   */
  flow(name: string, fromKey: object, toKey: object): void {
    if (!this.on) return;
    const from = this.open.get(fromKey);
    const to = this.open.get(toKey);
    // The importer meets the ends in time order: the source must not start after the target.
    if (from === undefined || to === undefined || from.start > to.start) {
      this.flowsDropped++;
      return;
    }
    const rec: FlowRec = { id: ++this.flowSeq, name, from, to };
    if (from.flows === null) from.flows = [rec];
    else from.flows.push(rec);
    if (to.flows === null) to.flows = [rec];
    else to.flows.push(rec);
  }

  /** A counter sample now, written as given (prefer `counterTrack`, which skips repeats). */
  counter(name: string, track: TrackRef, values: Record<string, number>): void {
    this.push({ name, cat: "counter", ph: "C", ts: this.clock.now, track, args: values });
  }

  /** A counter track `name` (`key` says what it counts) in `track.process`. */
  counterTrack(track: TrackRef, name: string, key: string): TraceCounter {
    return new TraceCounter(this, track, name, key);
  }

  /**
   * Polls `read` for `counter` each time virtual time moves on (while tracing), for numbers
   * their owner keeps anyway (VRAM used, credits in flight). Returns the unregister function.
   */
  probe(counter: TraceCounter, read: () => number): () => void {
    const p: Probe = { counter, read };
    this.probes.push(p);
    return () => {
      const i = this.probes.indexOf(p);
      if (i >= 0) this.probes.splice(i, 1);
    };
  }

  /**
   * `probe()` of a new counter track: the one call a memory manager makes to have its usage
   * drawn (`probeCounter(device, "VRAM", "used bytes", () => used)`).
   */
  probeCounter(track: TrackRef, name: string, key: string, read: () => number): () => void {
    return this.probe(this.counterTrack(track, name, key), read);
  }

  /** @internal Counter handles call this. */
  counterSet(c: TraceCounter, value: number): void {
    const now = this.clock.now;
    if (c.pendingTs === now) {
      c.pendingValue = value;
      return;
    }
    if (c.pendingTs >= 0) this.flushCounter(c);
    else this.dirty.push(c);
    c.pendingTs = now;
    c.pendingValue = value;
  }

  /**
   * The simulator calls this when virtual time is about to move on: probes are read and the
   * counters changed at this instant are written.
   */
  advance(): void {
    for (const p of this.probes) p.counter.set(p.read());
    if (this.dirty.length === 0) return;
    const dirty = this.dirty;
    this.dirty = [];
    for (const c of dirty) this.flushCounter(c);
  }

  /**
   * The run is over: samples the counters, closes open spans (marked `unfinished`), writes what
   * is pending and closes the sinks. Tracing is off afterwards.
   */
  finish(): void {
    if (!this.on) return;
    this.advance();
    for (const key of [...this.open.keys()]) this.end(key, { unfinished: true });
    this.on = false;
    for (const s of this.sinks) s.close?.();
  }

  /** Events of one tracepoint kept in memory, for tests. */
  eventsOf(tp: Tracepoint<object> | string): TraceEvent[] {
    const name = typeof tp === "string" ? tp : tp.name;
    return this.events.filter((e) => e.name === name);
  }

  /**
   * The events kept in memory as a Chrome/Perfetto trace. Process and thread ids are assigned in
   * order of first appearance, so the same run always exports the same bytes. Spans still open
   * are not in it: `finish()` first to close them.
   */
  toChromeTrace(): ChromeTrace {
    return chromeTraceOf(this.events, { dropped: this.dropped, flowsDropped: this.flowsDropped });
  }

  /** `toChromeTrace()` as a JSON string. */
  toJSON(): string {
    return JSON.stringify(this.toChromeTrace());
  }

  private flushCounter(c: TraceCounter): void {
    const v = c.pendingValue;
    const ts = c.pendingTs;
    c.pendingTs = -1;
    if (v === c.last) return;
    c.last = v;
    this.push({ name: c.name, cat: "counter", ph: "C", ts, track: c.track, args: { [c.key]: v } });
  }

  private writeFlow(f: FlowRec): void {
    const { from, to } = f;
    const s: TraceEvent = {
      name: f.name,
      cat: "flow",
      ph: "s",
      ts: from.start,
      track: from.track,
      id: f.id,
      span: from.id,
    };
    const e: TraceEvent = {
      name: f.name,
      cat: "flow",
      ph: "f",
      ts: to.start,
      track: to.track,
      id: f.id,
      span: to.id,
    };
    this.push(from.lane === 0 ? s : { ...s, lane: from.lane });
    this.push(to.lane === 0 ? e : { ...e, lane: to.lane });
  }

  private lanesOf(track: TrackRef): TrackLanes {
    const key = `${track.process}\u0000${track.thread}`;
    let l = this.lanes.get(key);
    if (l === undefined) {
      l = new TrackLanes();
      this.lanes.set(key, l);
    }
    return l;
  }

  private push(e: TraceEvent): void {
    // Callers guard with `if (tracer.on)` so no arguments are built; this catches a call that
    // forgot the guard, so "off records nothing" holds either way.
    if (!this.on) return;
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.write(e);
  }
}
