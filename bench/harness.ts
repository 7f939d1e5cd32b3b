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
}

export interface Rate {
  name: string;
  opsPerSec: number;
  msPerRun: number;
}

export interface Result {
  id: string;
  title: string;
  unit: string;
  baseline: Rate;
  subject: Rate;
  /** subject rate / baseline rate. */
  ratio: number;
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

const gc = (globalThis as { gc?: () => void }).gc;

/** Best-of-N timing: repeats until `minMs` of samples, returns the fastest run's rate. */
export async function measure(m: Measure, minMs = 400, maxRuns = 50): Promise<Rate> {
  await m.run(); // warm-up (JIT, hook compilation)
  let best = Number.POSITIVE_INFINITY;
  let total = 0;
  for (let i = 0; i < maxRuns && total < minMs; i++) {
    gc?.();
    const t0 = performance.now();
    await m.run();
    const dt = performance.now() - t0;
    total += dt;
    if (dt < best) best = dt;
  }
  return { name: m.name, opsPerSec: (m.ops / best) * 1000, msPerRun: best };
}

/** Runs one comparison, baseline first. */
export async function compare(c: Comparison): Promise<Result> {
  const baseline = await measure(c.baseline);
  const subject = await measure(c.subject);
  const r: Result = {
    id: c.id,
    title: c.title,
    unit: c.unit,
    baseline,
    subject,
    ratio: subject.opsPerSec / baseline.opsPerSec,
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
