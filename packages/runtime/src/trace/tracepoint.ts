/**
 * The vocabulary of tracing: tracepoints (the kernel's `TRACE_EVENT`s), tracks (where an event
 * is drawn) and recorded events. Emitting lives in `tracer.ts`; exporting in `chrome-json.ts`.
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

/**
 * Where an event is drawn: a process (a device, a userspace process, a subsystem) and a thread
 * track inside it (a ring, a fence timeline, a context). Two refs with the same names are the
 * same track.
 */
export interface TrackRef {
  readonly process: string;
  readonly thread: string;
}

/**
 * One recorded event, in simulator units (nanoseconds). Phases follow the Chrome trace-event
 * format: `i` instant, `X` complete slice, `s`/`f` the two ends of a flow arrow, `C` counter.
 */
export interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly ph: "i" | "X" | "s" | "f" | "C";
  readonly ts: number;
  /** `X`: duration in ns. */
  readonly dur?: number;
  readonly track: TrackRef;
  /**
   * `X`, `s`, `f`: the lane of the track. Slices that overlap without nesting cannot share a
   * thread in the trace-event format, so a track is drawn as lanes (0, 1, …), each a thread.
   * Absent means lane 0.
   */
  readonly lane?: number;
  readonly args?: object;
  /** `s`/`f`: the flow's id (both ends share it). */
  readonly id?: number;
  /** `X` of a span: the span's number. `s`/`f`: the span the end is bound to. */
  readonly span?: number;
}

/**
 * A consumer of recorded events: memory, a ring buffer, a streamed file, a summary. The tracer
 * hands every event to every sink in the order recorded.
 */
export interface TraceSink {
  write(e: TraceEvent): void;
  /** The run is over (`tracer.finish()`): flush what is buffered. */
  close?(): void;
}
