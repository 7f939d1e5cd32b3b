/**
 * Tracepoints and the trace exporter (the kernel's `TRACE_EVENT`s, read through Perfetto):
 * see `trace/tracer.ts` for what is recorded and `trace/chrome-json.ts` for the output.
 */
export {
  type ChromeTrace,
  ChromeTraceEncoder,
  type ChromeTraceEvent,
  ChromeTraceStream,
  chromeMicros,
  chromeTraceOf,
  exportableEvents,
} from "./trace/chrome-json.js";
export { contextTrack } from "./trace/context-track.js";
export { TraceCounter } from "./trace/counter.js";
export { TrackLanes } from "./trace/lanes.js";
export { MemorySink, RingSink } from "./trace/sinks.js";
export {
  defineTracepoint,
  type TraceEvent,
  Tracepoint,
  type TraceSink,
  type TrackRef,
} from "./trace/tracepoint.js";
export { Tracer } from "./trace/tracer.js";
