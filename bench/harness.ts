/**
 * The benchmark harness behind `pnpm bench`. Every figure is a ratio against a baseline measured
 * in the same run, with the absolute rates beside it, so a slower or busier machine moves both
 * numbers together and the ratio stays meaningful. Benchmarks may read the wall clock; framework
 * code never does.
 */
import { performance } from "node:perf_hooks";

/** One side of a comparison: `run()` performs `ops` operations. */
export interface Measure {
  name: string;
  ops: number;
  run: () => void | Promise<void>;
}

/** A benchmark: a subject measured against a baseline in the same run. */
export interface Comparison {
  id: string;
  title: string;
  /** What one operation is: `fence`, `event`, `job`. */
  unit: string;
  baseline: Measure;
  subject: Measure;
  /** The target, stated for the table: `ratio >= 0.33`. */
  target?: string;
  /** Whether the target is met. */
  meets?: (r: Result) => boolean;
  /** Sampling limits for this comparison (more pairs where one run's GC pause moves the median). */
  sampling?: SampleOptions;
}

export interface Rate {
  name: string;
  /** Best-of CPU-time rate (user + system of this process): the absolute figure targets use. */
  cpuOpsPerSec: number;
  /** Best-of wall-clock rate. */
  opsPerSec: number;
  /** Wall time of the best run. */
  msPerRun: number;
}

export interface Result {
  id: string;
  title: string;
  unit: string;
  baseline: Rate;
  subject: Rate;
  /**
   * subject rate / baseline rate in CPU time (user + system of this process): the median over
   * paired samples (each pair one baseline run and one subject run back to back), so a burst of
   * load hits both sides of a pair and cancels out instead of skewing one side. Targets are judged
   * on this: on a shared machine wall time also counts the time other processes had the CPU.
   */
  ratio: number;
  /** The same median paired ratio in wall-clock time. */
  wallRatio: number;
  /** Paired samples taken (the same number on both sides). */
  samples: number;
  target?: string;
  met?: boolean;
}

/** A standalone figure that is not a rate (memory per object, simulated-to-wall ratio). */
export interface Figure {
  id: string;
  title: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  target?: string;
  met?: boolean;
}

/** One timed run: wall and CPU milliseconds. */
interface Sample {
  wallMs: number;
  cpuMs: number;
}

/**
 * No forced `gc()` before a sample, on purpose: a forced full collection makes the run after it
 * up to 2.5× slower on the allocation-heavy scheduler benchmark (measured: 0.30 vs 0.85 M jobs/s),
 * which no real workload sees. Garbage a run leaves is collected during later runs of both sides
 * alike; the paired, alternating samples spread that cost evenly.
 */
async function sample(m: Measure): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await m.run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Sampling limits of `compare`. */
export interface SampleOptions {
  /** Stop once both sides together ran this long (wall ms)… */
  minMs?: number;
  /** …and at least this many pairs were taken. */
  minPairs?: number;
  maxPairs?: number;
}

/**
 * Runs one comparison: a warm-up of each side (JIT, hook compilation), then paired samples,
 * baseline and subject interleaved A/B/B/A… (the order alternates so neither side always runs on
 * a heap the other just filled), the same number on both sides. The ratio is the median of the
 * per-pair ratios; the absolute rates beside it are best-of, the least disturbed run of each side.
 */
export async function compare(c: Comparison, opts: SampleOptions = {}): Promise<Result> {
  const minMs = opts.minMs ?? 1000;
  const minPairs = opts.minPairs ?? 7;
  const maxPairs = opts.maxPairs ?? 40;
  await c.baseline.run();
  await c.subject.run();
  const base: Sample[] = [];
  const subj: Sample[] = [];
  let total = 0;
  for (let i = 0; i < maxPairs && (i < minPairs || total < minMs); i++) {
    let b: Sample;
    let s: Sample;
    if (i % 2 === 0) {
      b = await sample(c.baseline);
      s = await sample(c.subject);
    } else {
      s = await sample(c.subject);
      b = await sample(c.baseline);
    }
    base.push(b);
    subj.push(s);
    total += b.wallMs + s.wallMs;
  }
  const rate = (m: Measure, xs: Sample[]): Rate => {
    const wall = Math.min(...xs.map((x) => x.wallMs));
    // A run shorter than the CPU clock's resolution reads as 0: floor it at 1 µs.
    const cpu = Math.max(1e-3, Math.min(...xs.map((x) => x.cpuMs)));
    return {
      name: m.name,
      opsPerSec: (m.ops / wall) * 1000,
      msPerRun: wall,
      cpuOpsPerSec: (m.ops / cpu) * 1000,
    };
  };
  // Per pair: (subject ops / subject time) / (baseline ops / baseline time).
  const k = c.subject.ops / c.baseline.ops;
  const r: Result = {
    id: c.id,
    title: c.title,
    unit: c.unit,
    baseline: rate(c.baseline, base),
    subject: rate(c.subject, subj),
    ratio: median(base.map((b, i) => (k * Math.max(1e-3, b.cpuMs)) / Math.max(1e-3, subj[i]!.cpuMs))),
    wallRatio: median(base.map((b, i) => (k * b.wallMs) / subj[i]!.wallMs)),
    samples: base.length,
  };
  if (c.target !== undefined) r.target = c.target;
  if (c.meets !== undefined) r.met = c.meets(r);
  return r;
}

/** Formats a rate as `12.3 M/s`. */
export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k/s`;
  return `${n.toFixed(1)} /s`;
}
