/**
 * Reads a Chrome trace-event JSON file event by event without holding it whole: the files drmsim
 * writes have one event per line (`ChromeTraceStream`), so a one-hour trace of gigabytes is read
 * in fixed memory. Any other JSON trace is parsed whole.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** A trace-event object as read. */
export type TraceEventJson = Record<string, unknown>;

/** Calls `fn` with every event of the trace file at `path`, in file order. */
export function forEachTraceEvent(path: string, fn: (e: TraceEventJson) => void): void {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    let rest = "";
    let first = true;
    let whole: string[] | null = null;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + buf.toString("utf8", 0, n);
      const lines = text.split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (whole !== null) {
          whole.push(line);
          continue;
        }
        if (first) {
          first = false;
          if (line !== '{"traceEvents":[') {
            // Not one of ours: parse it whole.
            whole = [line];
            continue;
          }
          continue;
        }
        eventOfLine(line, fn);
      }
    }
    if (whole !== null) {
      whole.push(rest);
      const parsed = JSON.parse(whole.join("\n")) as { traceEvents?: TraceEventJson[] } | TraceEventJson[];
      for (const e of Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? [])) fn(e);
    } else if (rest !== "") eventOfLine(rest, fn);
  } finally {
    closeSync(fd);
  }
}

/** One line of `ChromeTraceStream` output: an event, with the comma that separates it from the next. */
function eventOfLine(line: string, fn: (e: TraceEventJson) => void): void {
  const s = line.endsWith(",") ? line.slice(0, -1) : line;
  if (s === "" || s.startsWith("]")) return;
  fn(JSON.parse(s) as TraceEventJson);
}
