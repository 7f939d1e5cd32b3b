/**
 * The data of the HTML report, built from a trace in two passes with bounded memory, so a
 * one-hour run's streamed trace still makes a report that opens:
 *
 * 1. An **overview** of every track at a fixed resolution (`buckets` across the run): how busy
 *    each slice track is, how many events each has, each counter's range.
 * 2. The **detail** — every slice, instant, counter sample and flow arrow — for up to
 *    `detailBudget` events: the whole run when it fits, else windows of time grown around the
 *    first finding, the other findings and the end of the run.
 *
 * The page draws the overview when zoomed out (a bucket narrower than a pixel) and the detail
 * when zoomed in, so drawing stays fast at any size (level of detail).
 */
import type { Finding } from "@drmsim/runtime";
import type { Summary } from "../summary.js";
import type { TraceEventJson } from "../trace/read-trace.js";

/** Reads the trace, calling back once per event (again on each call). */
export type TraceSource = (fn: (e: TraceEventJson) => void) => void;

/** One row of the report: a track (with its lanes) or a counter. */
export interface ReportRow {
  /** The trace process: a device, a userspace process, a subsystem. */
  group: string;
  /** The track or counter name. */
  label: string;
  kind: "slices" | "counter";
  lanes: number;
  /** Detail slices, sorted by start: start (delta-coded ns), dur, lane, name, args (indices into `strings`). */
  s: { ts: number[]; dur: number[]; lane: number[]; name: number[]; args: number[] };
  /** Detail instants, sorted: ts (delta-coded), lane, name, args. */
  i: { ts: number[]; lane: number[]; name: number[]; args: number[] };
  /** Counter samples, sorted: ts (delta-coded), value. */
  c: { ts: number[]; v: number[] };
  /** Arguments every event of one name shares on this row (name index → args JSON index). */
  common: Record<number, number>;
  /** Overview: busy fraction per bucket (0–255), events per bucket (log-scaled 0–255), base64. */
  busy: string;
  count: string;
  /** Counters: per bucket max and min (Float32, NaN when no sample), base64. */
  max?: string;
  min?: string;
}

/** One finding as the page lists it. */
export interface ReportFinding {
  kind: string;
  title: string;
  text: string;
  timeNs: number;
  /** Contexts involved: the one that hit it, both sides of a cycle, the stuck ones. */
  contexts: string[];
}

/** What the page renders (also handy for tests). */
export interface ReportData {
  title: string;
  seed: number | string;
  endNs: number;
  buckets: number;
  strings: string[];
  rows: ReportRow[];
  /** Dependency and wait arrows between detail slices: fromRow, fromSlice, toRow, toSlice, name. */
  flows: number[][];
  /** Time ranges whose detail is in the page; `complete` when that is the whole run. */
  windows: [number, number][];
  complete: boolean;
  /** Events in the trace, and in the page's detail. */
  events: number;
  detailEvents: number;
  findings: ReportFinding[];
  summary: Summary;
  /** The view the page opens with ([start, end] ns), e.g. around the first finding. */
  focus: [number, number] | null;
}

/** Options of `buildReportData`. */
export interface ReportDataOptions {
  title: string;
  seed: number | string;
  endNs: number;
  findings: readonly Finding[];
  summary: Summary;
  /** Open zoomed on the first finding (the failure report of `drmsim explore`). */
  focusFirstFinding?: boolean;
  /** Events kept in full (default 400,000). */
  detailBudget?: number;
  /** Overview resolution (default 8192). */
  buckets?: number;
}

interface RowAcc {
  readonly index: number;
  readonly row: ReportRow;
  readonly busy: Float64Array;
  readonly count: Uint32Array;
  readonly cmax: Float32Array | null;
  readonly cmin: Float32Array | null;
  /** name → (key → JSON of the value, or null once it varies). */
  readonly shared: Map<string, Map<string, string | null>>;
  /** Detail rows before sorting. */
  readonly slices: { ts: number; dur: number; lane: number; name: number; args: number; id: number }[];
  readonly instants: { ts: number; lane: number; name: number; args: number }[];
  readonly samples: { ts: number; v: number }[];
  /** Counter: last sample before the current window (to draw the step entering it). */
  last: { ts: number; v: number } | null;
}

const ns = (us: unknown): number => Math.round((us as number) * 1000);

/** Builds the page's data from `source` (read twice). */
export function buildReportData(source: TraceSource, opts: ReportDataOptions): ReportData {
  const B = opts.buckets ?? 8192;
  const budget = opts.detailBudget ?? 400_000;
  const endNs = Math.max(1, opts.endNs);
  const bucketOf = (t: number) => Math.min(B - 1, Math.max(0, Math.floor((t / endNs) * B)));
  const width = endNs / B;

  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };

  const processes = new Map<number, string>();
  const threads = new Map<string, { track: string; lane: number }>();
  const rows = new Map<string, RowAcc>();
  const order: RowAcc[] = [];
  const devices = new Set<string>();
  const totals = new Uint32Array(B);
  let events = 0;

  const rowOf = (e: TraceEventJson, counterName?: string): RowAcc => {
    const group = processes.get(e.pid as number) ?? `pid ${e.pid}`;
    const th = threads.get(`${e.pid}/${e.tid}`);
    const label = counterName ?? th?.track ?? `tid ${e.tid}`;
    const key = `${counterName === undefined ? "s" : "c"}\u0000${group}\u0000${label}`;
    let r = rows.get(key);
    if (r === undefined) {
      const kind = counterName === undefined ? "slices" : "counter";
      r = {
        index: -1,
        row: {
          group,
          label,
          kind,
          lanes: 1,
          s: { ts: [], dur: [], lane: [], name: [], args: [] },
          i: { ts: [], lane: [], name: [], args: [] },
          c: { ts: [], v: [] },
          common: {},
          busy: "",
          count: "",
        },
        busy: new Float64Array(B),
        count: new Uint32Array(B),
        cmax: kind === "counter" ? new Float32Array(B).fill(Number.NaN) : null,
        cmin: kind === "counter" ? new Float32Array(B).fill(Number.NaN) : null,
        shared: new Map(),
        slices: [],
        instants: [],
        samples: [],
        last: null,
      };
      rows.set(key, r);
      order.push(r);
    }
    return r;
  };
  const laneOf = (e: TraceEventJson) => threads.get(`${e.pid}/${e.tid}`)?.lane ?? 0;

  // Pass 1: tracks, overview, shared arguments, where the events are.
  source((e) => {
    const ph = e.ph;
    if (ph === "M") {
      const args = (e.args ?? {}) as { name?: string; track?: string; lane?: number };
      if (e.name === "process_name") processes.set(e.pid as number, String(args.name));
      else if (e.name === "thread_name")
        threads.set(`${e.pid}/${e.tid}`, { track: args.track ?? String(args.name), lane: args.lane ?? 0 });
      return;
    }
    events++;
    const ts = ns(e.ts);
    totals[bucketOf(ts)]!++;
    if (ph === "C") {
      for (const [k, v] of Object.entries((e.args ?? {}) as Record<string, number>)) {
        const r = rowOf(e, `${String(e.name)} ${k}`);
        const b = bucketOf(ts);
        r.count[b]!++;
        if (!(r.cmax![b]! >= v)) r.cmax![b] = v;
        if (!(r.cmin![b]! <= v)) r.cmin![b] = v;
      }
      return;
    }
    if (ph !== "X" && ph !== "i") return;
    const r = rowOf(e);
    const lane = laneOf(e);
    if (lane + 1 > r.row.lanes) r.row.lanes = lane + 1;
    if (e.cat === "hw") devices.add(r.row.group);
    r.count[bucketOf(ts)]!++;
    if (ph === "X") {
      const end = ts + ns(e.dur);
      for (let b = bucketOf(ts); b <= bucketOf(end); b++) {
        const lo = Math.max(ts, b * width);
        const hi = Math.min(end, (b + 1) * width);
        if (hi > lo) r.busy[b]! += hi - lo;
      }
    }
    const name = String(e.name);
    let shared = r.shared.get(name);
    const args = e.args as Record<string, unknown> | undefined;
    if (shared === undefined) {
      shared = new Map();
      for (const [k, v] of Object.entries(args ?? {})) shared.set(k, JSON.stringify(v));
      r.shared.set(name, shared);
    } else
      for (const [k, seen] of shared) {
        if (seen === null) continue;
        const v = args?.[k];
        if (v === undefined || JSON.stringify(v) !== seen) shared.set(k, null);
      }
  });

  const findings = opts.findings;
  const windows = chooseWindows(totals, budget, endNs, findings, events);
  const inWindow = (a: number, b: number): boolean => {
    for (const [w0, w1] of windows) if (a <= w1 && b >= w0) return true;
    return false;
  };

  // Pass 2: the detail inside the windows, and the flow arrows between detail slices.
  const sliceAt = new Map<string, { row: RowAcc; idx: number }>();
  const flowStart = new Map<string, { row: RowAcc; idx: number }>();
  const flowsRaw: { from: { row: RowAcc; idx: number }; to: { row: RowAcc; idx: number }; name: number }[] =
    [];
  let detailEvents = 0;
  const varying = (r: RowAcc, name: string, args: Record<string, unknown> | undefined): number => {
    if (args === undefined) return -1;
    const shared = r.shared.get(name);
    const own: Record<string, unknown> = {};
    let any = false;
    for (const [k, v] of Object.entries(args))
      if (shared?.get(k) === null || shared?.get(k) === undefined) {
        own[k] = v;
        any = true;
      }
    return any ? str(JSON.stringify(own)) : -1;
  };
  source((e) => {
    const ph = e.ph;
    if (ph === "M") return;
    const ts = ns(e.ts);
    if (ph === "C") {
      for (const [k, v] of Object.entries((e.args ?? {}) as Record<string, number>)) {
        const r = rowOf(e, `${String(e.name)} ${k}`);
        if (inWindow(ts, ts)) {
          r.samples.push({ ts, v });
          detailEvents++;
        } else if (r.last === null || ts > r.last.ts) {
          // The step in effect where a window starts comes from the last sample before it.
          if (windows.some(([w0]) => w0 > ts)) r.last = { ts, v };
        }
      }
      return;
    }
    if (ph === "X") {
      const dur = ns(e.dur);
      if (!inWindow(ts, ts + dur)) return;
      const r = rowOf(e);
      const name = String(e.name);
      const idx = r.slices.length;
      r.slices.push({
        ts,
        dur,
        lane: laneOf(e),
        name: str(name),
        args: varying(r, name, e.args as never),
        id: idx,
      });
      sliceAt.set(`${e.pid}/${e.tid}/${ts}`, { row: r, idx });
      detailEvents++;
    } else if (ph === "i") {
      if (!inWindow(ts, ts)) return;
      const r = rowOf(e);
      const name = String(e.name);
      r.instants.push({ ts, lane: laneOf(e), name: str(name), args: varying(r, name, e.args as never) });
      detailEvents++;
    } else if (ph === "s" || ph === "f") {
      const at = sliceAt.get(`${e.pid}/${e.tid}/${ts}`);
      const id = `${String(e.cat)}/${String(e.name)}/${String(e.id)}`;
      if (ph === "s") {
        if (at !== undefined) flowStart.set(id, at);
      } else {
        const from = flowStart.get(id);
        flowStart.delete(id);
        if (from !== undefined && at !== undefined)
          flowsRaw.push({ from, to: at, name: str(String(e.name)) });
      }
    }
  });

  // Rows in the page's order: devices first, then by name; a group's tracks, then its counters.
  const sorted = [...order].sort((a, b) => {
    const ga = devices.has(a.row.group);
    const gb = devices.has(b.row.group);
    if (ga !== gb) return ga ? -1 : 1;
    if (a.row.group !== b.row.group) return a.row.group.localeCompare(b.row.group);
    if (a.row.kind !== b.row.kind) return a.row.kind === "slices" ? -1 : 1;
    return a.row.label.localeCompare(b.row.label);
  });
  const outRows: ReportRow[] = [];
  const remap = new Map<RowAcc, Int32Array>();
  for (const r of sorted) {
    (r as { index: number }).index = outRows.length;
    const row = r.row;
    r.slices.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    stackNested(r);
    const pos = new Int32Array(r.slices.length);
    r.slices.forEach((s, k) => {
      pos[s.id] = k;
    });
    remap.set(r, pos);
    let prev = 0;
    for (const s of r.slices) {
      row.s.ts.push(s.ts - prev);
      prev = s.ts;
      row.s.dur.push(s.dur);
      row.s.lane.push(s.lane);
      row.s.name.push(s.name);
      row.s.args.push(s.args);
    }
    r.instants.sort((a, b) => a.ts - b.ts);
    prev = 0;
    for (const i of r.instants) {
      row.i.ts.push(i.ts - prev);
      prev = i.ts;
      row.i.lane.push(i.lane);
      row.i.name.push(i.name);
      row.i.args.push(i.args);
    }
    const samples = r.last === null ? r.samples : [r.last, ...r.samples];
    samples.sort((a, b) => a.ts - b.ts);
    prev = 0;
    for (const c of samples) {
      row.c.ts.push(c.ts - prev);
      prev = c.ts;
      row.c.v.push(c.v);
    }
    for (const [name, keys] of r.shared) {
      const fixed: Record<string, unknown> = {};
      let any = false;
      for (const [k, v] of keys)
        if (v !== null) {
          fixed[k] = JSON.parse(v);
          any = true;
        }
      if (any) row.common[str(name)] = str(JSON.stringify(fixed));
    }
    const busy = new Uint8Array(B);
    const count = new Uint8Array(B);
    let maxCount = 1;
    for (let b = 0; b < B; b++) maxCount = Math.max(maxCount, r.count[b]!);
    for (let b = 0; b < B; b++) {
      busy[b] = Math.min(255, Math.round((r.busy[b]! / width) * 255));
      count[b] =
        r.count[b] === 0
          ? 0
          : Math.max(1, Math.round((Math.log1p(r.count[b]!) / Math.log1p(maxCount)) * 255));
    }
    row.busy = Buffer.from(busy).toString("base64");
    row.count = Buffer.from(count).toString("base64");
    if (r.cmax !== null) {
      row.max = Buffer.from(r.cmax.buffer).toString("base64");
      row.min = Buffer.from(r.cmin!.buffer).toString("base64");
    }
    outRows.push(row);
  }
  const flows = flowsRaw.map((f) => [
    f.from.row.index,
    remap.get(f.from.row)![f.from.idx]!,
    f.to.row.index,
    remap.get(f.to.row)![f.to.idx]!,
    f.name,
  ]);

  const first = findings[0];
  let focus: [number, number] | null = null;
  if (opts.focusFirstFinding === true && first !== undefined)
    focus = focusAround(first.timeNs, windows, endNs);
  return {
    title: opts.title,
    seed: opts.seed,
    endNs: opts.endNs,
    buckets: B,
    strings,
    rows: outRows,
    flows,
    windows,
    complete: windows.length === 1 && windows[0]![0] <= 0 && windows[0]![1] >= endNs,
    events,
    detailEvents,
    findings: findings.map((f) => ({
      kind: f.kind,
      title: f.title,
      text: f.toString(),
      timeNs: f.timeNs,
      contexts: [
        ...new Set([f.context, ...f.chain.map((l) => l.context), ...f.waitFor.map((w) => w.context)]),
      ],
    })),
    summary: opts.summary,
    focus,
  };
}

/**
 * Slices nested on one lane (an ioctl and the driver ops it called) are drawn one under the
 * other, as Perfetto draws depth: each lane becomes as many rows as it nests deep, and `lane`
 * becomes the row. Instants go on their lane's first row. Slices must be sorted by start.
 */
function stackNested(r: RowAcc): void {
  const depthOf = new Int32Array(r.slices.length);
  const open: number[][] = [];
  const deepest: number[] = [];
  r.slices.forEach((s, k) => {
    if (open[s.lane] === undefined) open[s.lane] = [];
    const stack = open[s.lane]!;
    while (stack.length > 0 && stack[stack.length - 1]! <= s.ts) stack.pop();
    depthOf[k] = stack.length;
    deepest[s.lane] = Math.max(deepest[s.lane] ?? 0, stack.length);
    stack.push(s.ts + s.dur);
  });
  const base: number[] = [];
  let rowsUsed = 0;
  for (let lane = 0; lane < Math.max(deepest.length, r.row.lanes); lane++) {
    base[lane] = rowsUsed;
    rowsUsed += (deepest[lane] ?? 0) + 1;
  }
  r.slices.forEach((s, k) => {
    s.lane = base[s.lane]! + depthOf[k]!;
  });
  for (const i of r.instants) i.lane = base[i.lane] ?? 0;
  r.row.lanes = Math.max(1, rowsUsed);
}

/**
 * Time windows holding at most `budget` events: the whole run if it fits, else windows grown a
 * bucket at a time around the first finding, the other findings and the end of the run.
 */
export function chooseWindows(
  totals: Uint32Array,
  budget: number,
  endNs: number,
  findings: readonly { timeNs: number }[],
  events: number,
): [number, number][] {
  const B = totals.length;
  if (events <= budget) return [[0, endNs]];
  const bucketOf = (t: number) => Math.min(B - 1, Math.max(0, Math.floor((t / endNs) * B)));
  const anchors = [...new Set([...findings.map((f) => bucketOf(f.timeNs)), B - 1])];
  const taken = new Uint8Array(B);
  let used = 0;
  const lo = anchors.slice();
  const hi = anchors.slice();
  const take = (b: number): boolean => {
    if (taken[b] === 1) return true;
    if (used + totals[b]! > budget) return false;
    taken[b] = 1;
    used += totals[b]!;
    return true;
  };
  for (let a = 0; a < anchors.length; a++) if (!take(anchors[a]!)) break;
  for (let grew = true; grew; ) {
    grew = false;
    for (let a = 0; a < anchors.length; a++) {
      if (lo[a]! > 0 && taken[lo[a]! - 1] !== 1 && take(lo[a]! - 1)) {
        lo[a]!--;
        grew = true;
      } else if (lo[a]! > 0 && taken[lo[a]! - 1] === 1) {
        lo[a]!--;
        grew = true;
      }
      if (hi[a]! < B - 1 && taken[hi[a]! + 1] !== 1 && take(hi[a]! + 1)) {
        hi[a]!++;
        grew = true;
      } else if (hi[a]! < B - 1 && taken[hi[a]! + 1] === 1) {
        hi[a]!++;
        grew = true;
      }
    }
  }
  const out: [number, number][] = [];
  for (let b = 0; b < B; b++) {
    if (taken[b] !== 1) continue;
    const t0 = (b * endNs) / B;
    const t1 = ((b + 1) * endNs) / B;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] >= t0) last[1] = t1;
    else out.push([t0, t1]);
  }
  return out;
}

/** A view around `t`: a tenth of the run (at least 2 ms), inside the window holding `t`. */
function focusAround(t: number, windows: [number, number][], endNs: number): [number, number] {
  const half = Math.max(1_000_000, endNs / 20);
  let a = Math.max(0, t - half);
  let b = Math.min(endNs, t + half);
  const w = windows.find(([w0, w1]) => w0 <= t && t <= w1);
  if (w !== undefined) {
    a = Math.max(a, w[0]);
    b = Math.min(b, w[1]);
  }
  if (b - a < 1000) b = a + 1000;
  return [a, b];
}
