/**
 * Export to the Chrome trace-event JSON format, which ui.perfetto.dev and chrome://tracing open.
 *
 * - One process per trace process (a device, a userspace process, a subsystem) and one thread
 *   per track lane, ids in order of first appearance; `process_name`/`thread_name` metadata
 *   where a track first appears, and `process_sort_index`/`thread_sort_index` at the end
 *   (devices first, then by name, a track's lanes together), so a device's rings, its job
 *   queues, fence timelines and counters sit together.
 * - Timestamps are microseconds. Perfetto's importer multiplies a number by 1000 and truncates,
 *   so a bare `1234.567` can land on 1234566 ns; every `ts`/`dur` is written as the exact
 *   nanosecond plus 10 ps (`1234.56701`), which truncates back to the nanosecond it was.
 * - Flow ends are written only when the slice they are bound to is in the output.
 *
 * `ChromeTraceStream` writes a run as it goes (bounded memory); `chromeTraceOf` converts events
 * in memory.
 */
import type { TraceEvent, TraceSink } from "./tracepoint.js";

/** A trace-event object. */
export type ChromeTraceEvent = Record<string, unknown>;

/** The Chrome/Perfetto JSON object. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ns";
  otherData: object;
}

/** Nanoseconds as the microseconds the format wants (see the module comment). */
export function chromeMicros(ns: number): number {
  if (Number.isSafeInteger(ns) && ns >= 0)
    return Number(`${Math.floor(ns / 1000)}.${String(ns % 1000).padStart(3, "0")}01`);
  return Number((ns / 1000).toFixed(5));
}

interface ProcessInfo {
  readonly name: string;
  readonly pid: number;
  device: boolean;
  readonly threads: { name: string; lane: number; tid: number }[];
}

/** Assigns pids and tids and turns events into trace-event objects. Stateful: one per output. */
export class ChromeTraceEncoder {
  private readonly processes = new Map<string, ProcessInfo>();
  private readonly tids = new Map<string, number>();

  /** Appends `e` (and the metadata of a track seen for the first time) to `out`. */
  encode(e: TraceEvent, out: ChromeTraceEvent[]): void {
    const lane = e.lane ?? 0;
    const p = this.process(e.track.process, out);
    if (e.cat === "hw") p.device = true;
    const key = `${e.track.process}\u0000${e.track.thread}\u0000${lane}`;
    let tid = this.tids.get(key);
    if (tid === undefined) {
      tid = this.tids.size + 1;
      this.tids.set(key, tid);
      p.threads.push({ name: e.track.thread, lane, tid });
      // A lane's thread says which track it belongs to, so readers (the HTML report) rejoin them.
      const args =
        lane === 0
          ? { name: e.track.thread }
          : { name: `${e.track.thread} #${lane + 1}`, track: e.track.thread, lane };
      out.push({ name: "thread_name", ph: "M", pid: p.pid, tid, args });
    }
    const ev: ChromeTraceEvent = {
      name: e.name,
      cat: e.cat,
      ph: e.ph,
      ts: chromeMicros(e.ts),
      pid: p.pid,
      tid,
    };
    if (e.ph === "X") ev.dur = chromeMicros(e.dur ?? 0);
    else if (e.ph === "i") ev.s = "t";
    else if (e.ph === "s" || e.ph === "f") {
      ev.id = e.id;
      // Bind the end to the enclosing slice (the one it was written after), not the next one.
      if (e.ph === "f") ev.bp = "e";
    }
    if (e.args !== undefined) ev.args = e.args;
    out.push(ev);
  }

  /** Sort-index metadata for every process and thread seen: devices first, then by name. */
  sortIndices(): ChromeTraceEvent[] {
    const out: ChromeTraceEvent[] = [];
    const procs = [...this.processes.values()].sort((a, b) =>
      a.device !== b.device ? (a.device ? -1 : 1) : a.name.localeCompare(b.name),
    );
    procs.forEach((p, i) => {
      out.push({ name: "process_sort_index", ph: "M", pid: p.pid, tid: 0, args: { sort_index: i } });
      const threads = [...p.threads].sort((a, b) => a.name.localeCompare(b.name) || a.lane - b.lane);
      threads.forEach((t, j) => {
        out.push({ name: "thread_sort_index", ph: "M", pid: p.pid, tid: t.tid, args: { sort_index: j } });
      });
    });
    return out;
  }

  private process(name: string, out: ChromeTraceEvent[]): ProcessInfo {
    let p = this.processes.get(name);
    if (p === undefined) {
      p = { name, pid: this.processes.size + 1, device: false, threads: [] };
      this.processes.set(name, p);
      out.push({ name: "process_name", ph: "M", pid: p.pid, tid: 0, args: { name } });
    }
    return p;
  }
}

/**
 * The events of `events` an exporter writes: flow ends are kept only when both ends and the
 * slices they are bound to are there (a ring buffer or a capped memory sink may have lost them).
 */
export function* exportableEvents(events: readonly TraceEvent[]): Generator<TraceEvent> {
  const spans = new Set<number>();
  for (const e of events) if (e.ph === "X" && e.span !== undefined) spans.add(e.span);
  const ends = new Map<number, number>();
  for (const e of events)
    if ((e.ph === "s" || e.ph === "f") && e.id !== undefined && (e.span === undefined || spans.has(e.span)))
      ends.set(e.id, (ends.get(e.id) ?? 0) + 1);
  for (const e of events) if (!((e.ph === "s" || e.ph === "f") && ends.get(e.id!) !== 2)) yield e;
}

/** Recorded events as a Chrome trace object (see `exportableEvents` for what is left out). */
export function chromeTraceOf(events: readonly TraceEvent[], otherData: object = {}): ChromeTrace {
  const enc = new ChromeTraceEncoder();
  const out: ChromeTraceEvent[] = [];
  for (const e of exportableEvents(events)) enc.encode(e, out);
  out.push(...enc.sortIndices());
  return { traceEvents: out, displayTimeUnit: "ns", otherData };
}

/**
 * A sink that writes the trace as it is recorded, one event per line, through `write` (a
 * file descriptor, a stream): Perfetto's long-trace mode. Memory stays bounded whatever the
 * length of the run. `close()` writes the sort indices and the closing brackets.
 */
export class ChromeTraceStream implements TraceSink {
  private readonly enc = new ChromeTraceEncoder();
  private readonly scratch: ChromeTraceEvent[] = [];
  private buf: string[] = [];
  private bytes = 0;
  private first = true;
  private closed = false;
  /** Events written. */
  count = 0;

  constructor(
    private readonly out: (chunk: string) => void,
    /** `otherData` of the trace, read at close (drop counts, the seed). */
    private readonly otherData: () => object = () => ({}),
    /** Characters buffered before a write. */
    private readonly chunk = 1 << 20,
  ) {
    this.buf.push('{"traceEvents":[\n');
  }

  write(e: TraceEvent): void {
    if (this.closed) return;
    this.count++;
    this.enc.encode(e, this.scratch);
    this.emit(this.scratch);
    this.scratch.length = 0;
  }

  close(): void {
    if (this.closed) return;
    this.emit(this.enc.sortIndices());
    this.closed = true;
    this.buf.push(`\n],"displayTimeUnit":"ns","otherData":${JSON.stringify(this.otherData())}}\n`);
    this.flush();
  }

  private emit(events: ChromeTraceEvent[]): void {
    for (const ev of events) {
      const line = JSON.stringify(ev);
      const s = this.first ? line : `,\n${line}`;
      this.first = false;
      this.buf.push(s);
      this.bytes += s.length;
    }
    if (this.bytes >= this.chunk) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    this.out(this.buf.join(""));
    this.buf = [];
    this.bytes = 0;
  }
}
