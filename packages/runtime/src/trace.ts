/**
 * Tracepoints and the trace exporter (the kernel's `TRACE_EVENT`s, read through Perfetto).
 *
 * A tracepoint is a typed name. Emitting costs one boolean test when tracing is off — callers
 * write `if (sim.tracer.on) sim.tracer.instant(tp, track, args)`, so argument objects are never
 * built for nobody. When on, events are kept in memory and exported to the Chrome/Perfetto
 * trace-event JSON format (`ui.perfetto.dev` opens it): one process per device or subsystem, one
 * thread track per context, ring or timeline, and flow arrows for fence dependencies.
 */

/** A typed tracepoint. `A` is the shape of its arguments. */
export class Tracepoint<A extends object = Record<string, unknown>> {
  declare readonly _args?: A;
  constructor(
    /** The kernel's event name: `dma_fence_signaled`, `drm_run_job`. */
    readonly name: string,
    /** The trace system: `dma_fence`, `gpu_scheduler`. */
    readonly category: string,
  ) {}
}

/** `TRACE_EVENT(name, …)`: declares a tracepoint with typed arguments. */
export function defineTracepoint<A extends object>(name: string, category: string): Tracepoint<A> {
  return new Tracepoint<A>(name, category);
}

/** Where an event is drawn: a process (device, subsystem) and a thread track inside it. */
export interface TrackRef {
  readonly process: string;
  readonly thread: string;
}

/** One recorded event, in simulator units (nanoseconds). */
export interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  /** Chrome phases: `i` instant, `X` complete slice, `s`/`f` flow start/end, `C` counter. */
  readonly ph: "i" | "X" | "s" | "f" | "C";
  readonly ts: number;
  readonly dur?: number;
  readonly track: TrackRef;
  readonly args?: object;
  readonly id?: number;
}

/** The per-simulator trace buffer. */
export class Tracer {
  /** Tracing is on. Check it before building arguments. */
  on = false;
  readonly events: TraceEvent[] = [];
  /** Events dropped because `limit` was reached. */
  dropped = 0;

  constructor(
    private readonly clock: { readonly now: number },
    /** Maximum number of events kept; later ones are counted in `dropped`. */
    public limit = 5_000_000,
  ) {}

  /** An instant event at the current virtual time. */
  instant<A extends object>(tp: Tracepoint<A>, track: TrackRef, args: A): void {
    this.push({ name: tp.name, cat: tp.category, ph: "i", ts: this.clock.now, track, args });
  }

  /** A slice (`X`) from `startNs` to now: a job on a ring, a wait. */
  slice<A extends object>(tp: Tracepoint<A>, track: TrackRef, startNs: number, args: A): void {
    const now = this.clock.now;
    this.push({ name: tp.name, cat: tp.category, ph: "X", ts: startNs, dur: now - startNs, track, args });
  }

  /** Starts a flow arrow (a fence a job depends on) at the current time on `track`. */
  flowStart(name: string, id: number, track: TrackRef): void {
    this.push({ name, cat: "flow", ph: "s", ts: this.clock.now, track, id });
  }

  /** Ends the flow arrow `id` at the current time on `track`. */
  flowEnd(name: string, id: number, track: TrackRef): void {
    this.push({ name, cat: "flow", ph: "f", ts: this.clock.now, track, id });
  }

  /** A counter sample (credits in use, memory used). */
  counter(name: string, track: TrackRef, values: Record<string, number>): void {
    this.push({ name, cat: "counter", ph: "C", ts: this.clock.now, track, args: values });
  }

  /** Events of one tracepoint, for tests. */
  eventsOf(tp: Tracepoint<object> | string): TraceEvent[] {
    const name = typeof tp === "string" ? tp : tp.name;
    return this.events.filter((e) => e.name === name);
  }

  /**
   * The trace as a Chrome/Perfetto trace-event object. Process and thread ids are assigned in
   * order of first appearance, so the same run always exports the same bytes.
   */
  toChromeTrace(): { traceEvents: object[]; displayTimeUnit: "ns"; otherData: object } {
    const pids = new Map<string, number>();
    const tids = new Map<string, number>();
    const meta: object[] = [];
    const out: object[] = [];
    const ids = (track: TrackRef): [number, number] => {
      let pid = pids.get(track.process);
      if (pid === undefined) {
        pid = pids.size + 1;
        pids.set(track.process, pid);
        meta.push({ name: "process_name", ph: "M", pid, tid: 0, args: { name: track.process } });
      }
      const key = `${track.process}\u0000${track.thread}`;
      let tid = tids.get(key);
      if (tid === undefined) {
        tid = tids.size + 1;
        tids.set(key, tid);
        meta.push({ name: "thread_name", ph: "M", pid, tid, args: { name: track.thread } });
      }
      return [pid, tid];
    };
    for (const e of this.events) {
      const [pid, tid] = ids(e.track);
      const ev: Record<string, unknown> = { name: e.name, cat: e.cat, ph: e.ph, ts: e.ts / 1000, pid, tid };
      if (e.ph === "X") ev.dur = (e.dur ?? 0) / 1000;
      if (e.ph === "i") ev.s = "t";
      if (e.ph === "s" || e.ph === "f") {
        ev.id = e.id;
        if (e.ph === "f") ev.bp = "e";
      }
      if (e.args !== undefined) ev.args = e.args;
      out.push(ev);
    }
    return { traceEvents: [...meta, ...out], displayTimeUnit: "ns", otherData: { dropped: this.dropped } };
  }

  /** `toChromeTrace()` as a JSON string. */
  toJSON(): string {
    return JSON.stringify(this.toChromeTrace());
  }

  private push(e: TraceEvent): void {
    // Callers guard with `if (tracer.on)` so no arguments are built; this catches a call that
    // forgot the guard, so "off records nothing" holds either way.
    if (!this.on) return;
    if (this.events.length >= this.limit) {
      this.dropped++;
      return;
    }
    this.events.push(e);
  }
}
