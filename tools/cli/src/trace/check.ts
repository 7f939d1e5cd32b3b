/**
 * A strict checker of Chrome trace-event JSON, as Perfetto's JSON importer reads it — there is
 * no Perfetto trace processor on npm or in Debian to load a trace with, so the tests check the
 * rules it applies:
 *
 * - the format: known phases, and the fields each phase requires (`name`, integer `pid`/`tid`,
 *   finite `ts` and `dur`, flow `id`s, numeric counter values, metadata `args`);
 * - timestamps: the importer multiplies microseconds by 1000 and truncates, so a `ts` must
 *   truncate to the nanosecond it stands for (`1234.567` becomes 1234566 ns; `1234.56701` does
 *   not);
 * - nesting per thread: events are replayed in the importer's order (time; at one instant `E`
 *   first, then longer `X` before shorter, then file order), and a slice must end inside the one
 *   it starts in;
 * - flows: each end binds to the slice on top of its thread when the importer meets it — it must
 *   lie inside that slice — and every flow has exactly one start before its end (`f` with
 *   `bp: "e"`, binding to the enclosing slice);
 * - every process and thread with events is named.
 */

/** What the checker found. */
export interface TraceCheckResult {
  ok: boolean;
  /** Problems, each a sentence naming the event (first 50). */
  errors: string[];
  stats: {
    events: number;
    slices: number;
    instants: number;
    counters: number;
    flows: number;
    /** Flows whose two ends each bound to a slice. */
    boundFlows: number;
    threads: number;
  };
}

type Ev = Record<string, unknown>;

const PHASES = new Set(["B", "E", "X", "i", "I", "s", "t", "f", "C", "M", "b", "e", "n"]);
const METADATA = new Set([
  "process_name",
  "thread_name",
  "process_sort_index",
  "thread_sort_index",
  "process_labels",
]);

interface Slice {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly index: number;
  /** An instant (a zero-length slice the importer makes of it): no flow may bind to it. */
  readonly instant: boolean;
}

interface Item {
  readonly e: Ev;
  readonly index: number;
  readonly ts: number;
  readonly key: number;
}

/** Checks a parsed trace (the object form, or a bare event array). */
export function checkChromeTrace(trace: unknown): TraceCheckResult {
  const errors: string[] = [];
  const err = (s: string) => {
    if (errors.length < 50) errors.push(s);
  };
  const stats = { events: 0, slices: 0, instants: 0, counters: 0, flows: 0, boundFlows: 0, threads: 0 };
  let events: unknown[];
  if (Array.isArray(trace)) events = trace;
  else if (typeof trace === "object" && trace !== null && Array.isArray((trace as Ev).traceEvents)) {
    events = (trace as Ev).traceEvents as unknown[];
    const unit = (trace as Ev).displayTimeUnit;
    if (unit !== undefined && unit !== "ms" && unit !== "ns")
      err(`displayTimeUnit must be "ms" or "ns", got ${JSON.stringify(unit)}`);
  } else return { ok: false, errors: ["a trace is an object with a traceEvents array, or an array"], stats };

  const procNames = new Set<number>();
  const threadNames = new Set<string>();
  const used = new Set<string>();
  const items: Item[] = [];
  const where = (e: Ev, i: number) => `event #${i} (${String(e.ph)} ${JSON.stringify(e.name ?? "")})`;
  const isInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

  events.forEach((raw, i) => {
    stats.events++;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      err(`event #${i} is not an object`);
      return;
    }
    const e = raw as Ev;
    const ph = e.ph;
    if (typeof ph !== "string" || !PHASES.has(ph)) {
      err(`${where(e, i)}: unknown phase ${JSON.stringify(ph)}`);
      return;
    }
    if (ph !== "E" && typeof e.name !== "string") err(`${where(e, i)}: name must be a string`);
    if (e.cat !== undefined && typeof e.cat !== "string") err(`${where(e, i)}: cat must be a string`);
    if (e.args !== undefined && (typeof e.args !== "object" || e.args === null || Array.isArray(e.args)))
      err(`${where(e, i)}: args must be an object`);
    if (!isInt(e.pid) || !isInt(e.tid)) {
      err(`${where(e, i)}: pid and tid must be non-negative integers`);
      return;
    }
    const thread = `${e.pid}/${e.tid}`;
    if (ph === "M") {
      const name = e.name as string;
      const args = (e.args ?? {}) as Ev;
      if (!METADATA.has(name)) err(`${where(e, i)}: unknown metadata event`);
      else if (name.endsWith("_name")) {
        if (typeof args.name !== "string") err(`${where(e, i)}: args.name must be a string`);
        else if (name === "process_name") procNames.add(e.pid as number);
        else threadNames.add(thread);
      } else if (name.endsWith("_sort_index") && !Number.isInteger(args.sort_index))
        err(`${where(e, i)}: args.sort_index must be an integer`);
      return;
    }
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts) || e.ts < 0) {
      err(`${where(e, i)}: ts must be a finite number >= 0`);
      return;
    }
    const ts = importerNs(e.ts);
    if (ts !== Math.round(e.ts * 1000))
      err(
        `${where(e, i)}: ts ${e.ts} µs truncates to ${ts} ns in the importer, not ${Math.round(e.ts * 1000)}`,
      );
    used.add(thread);
    let key = Number.MAX_SAFE_INTEGER;
    if (ph === "X") {
      if (typeof e.dur !== "number" || !Number.isFinite(e.dur) || e.dur < 0) {
        err(`${where(e, i)}: an X slice needs a finite dur >= 0`);
        return;
      }
      const dur = importerNs(e.dur);
      if (dur !== Math.round(e.dur * 1000))
        err(`${where(e, i)}: dur ${e.dur} µs truncates to ${dur} ns in the importer`);
      key = Number.MAX_SAFE_INTEGER - dur;
      stats.slices++;
    } else if (ph === "E") key = Number.MIN_SAFE_INTEGER;
    else if (ph === "i" || ph === "I") {
      if (e.s !== undefined && e.s !== "t" && e.s !== "p" && e.s !== "g")
        err(`${where(e, i)}: instant scope must be "t", "p" or "g"`);
      stats.instants++;
    } else if (ph === "s" || ph === "t" || ph === "f") {
      if (typeof e.id !== "number" && typeof e.id !== "string")
        err(`${where(e, i)}: a flow event needs an id`);
      if (ph === "f" && e.bp !== "e")
        err(`${where(e, i)}: a flow end without bp "e" binds to the next slice, not the enclosing one`);
    } else if (ph === "C") {
      const args = e.args as Ev | undefined;
      if (args === undefined || Object.keys(args).length === 0) err(`${where(e, i)}: a counter needs values`);
      else
        for (const [k, v] of Object.entries(args))
          if (typeof v !== "number" || !Number.isFinite(v))
            err(`${where(e, i)}: counter value ${k} is not a number`);
      stats.counters++;
    }
    items.push({ e, index: i, ts, key });
  });

  for (const t of used) {
    const pid = Number(t.split("/")[0]);
    if (!procNames.has(pid)) {
      err(`process ${pid} has events but no process_name`);
      procNames.add(pid);
    }
    if (!threadNames.has(t)) err(`thread ${t} has events but no thread_name`);
  }
  stats.threads = used.size;

  // Replay in the importer's order.
  items.sort((a, b) => a.ts - b.ts || a.key - b.key || a.index - b.index);
  const stacks = new Map<string, Slice[]>();
  const flows = new Map<string, { started: boolean; ended: boolean; bound: number }>();
  const stackOf = (e: Ev) => {
    const k = `${e.pid}/${e.tid}`;
    let s = stacks.get(k);
    if (s === undefined) {
      s = [];
      stacks.set(k, s);
    }
    return s;
  };
  const close = (stack: Slice[], ts: number) => {
    while (stack.length > 0 && stack[stack.length - 1]!.end <= ts) stack.pop();
  };
  for (const { e, index, ts } of items) {
    const ph = e.ph as string;
    const name = String(e.name ?? "");
    if (ph === "X" || ph === "B" || ((ph === "i" || ph === "I") && (e.s ?? "t") === "t")) {
      const stack = stackOf(e);
      close(stack, ts);
      const end = ph === "X" ? ts + importerNs(e.dur as number) : ph === "B" ? Infinity : ts;
      const parent = stack[stack.length - 1];
      if (parent !== undefined && end > parent.end)
        err(
          `${where(e, index)} on thread ${e.pid}/${e.tid} [${ts}, ${end}] ns starts inside "${parent.name}" [${parent.start}, ${parent.end}] and ends after it`,
        );
      // An instant too becomes a zero-length slice, on top until the next event closes it.
      stack.push({ start: ts, end, name, index, instant: ph === "i" || ph === "I" });
    } else if (ph === "E") {
      const stack = stackOf(e);
      close(stack, ts);
      const top = stack.pop();
      if (top === undefined || top.end !== Infinity) err(`${where(e, index)}: an E without its B`);
    } else if (ph === "s" || ph === "t" || ph === "f") {
      const id = `${String(e.cat ?? "")}/${name}/${String(e.id)}`;
      let f = flows.get(id);
      if (f === undefined) {
        f = { started: false, ended: false, bound: 0 };
        flows.set(id, f);
      }
      if (ph === "s") {
        if (f.started) err(`${where(e, index)}: flow ${id} starts twice`);
        f.started = true;
      } else if (ph === "f") {
        if (!f.started) err(`${where(e, index)}: flow ${id} ends before it starts`);
        if (f.ended) err(`${where(e, index)}: flow ${id} ends twice`);
        f.ended = true;
      }
      // The importer binds to the top of the stack as it is (it does not close finished slices first).
      const stack = stackOf(e);
      const top = stack[stack.length - 1];
      const inside =
        top !== undefined && top.start <= ts && (ts < top.end || (top.start === top.end && ts === top.start));
      if (!inside)
        err(
          `${where(e, index)} at ${ts} ns on thread ${e.pid}/${e.tid} is not inside a slice${top === undefined ? "" : ` (the top one is "${top.name}" [${top.start}, ${top.end}])`}`,
        );
      else if (top.instant)
        err(`${where(e, index)} at ${ts} ns on thread ${e.pid}/${e.tid} binds to the instant "${top.name}"`);
      else f.bound++;
    }
  }
  for (const [id, f] of flows) {
    stats.flows++;
    if (!f.started || !f.ended) err(`flow ${id} has ${f.started ? "no end" : "no start"}`);
    else if (f.bound === 2) stats.boundFlows++;
  }
  return { ok: errors.length === 0, errors, stats };
}

/** How Perfetto's importer turns microseconds into nanoseconds: × 1000, truncated. */
export function importerNs(us: number): number {
  return Math.trunc(us * 1000);
}
