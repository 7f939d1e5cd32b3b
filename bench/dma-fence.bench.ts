/**
 * @drmsim/dma-fence benchmarks: the fence hot path (create, add one callback, signal) against a
 * minimal hand-written fence doing the same work, and the memory a pending fence costs. Run with
 * `pnpm bench dma-fence`.
 */
import { Simulator } from "@drmsim/runtime";
import {
  DmaFence,
  type DmaFenceCb,
  type DmaFenceOps,
  dmaFenceContextAlloc,
} from "../packages/dma-fence/src/index.js";
import type { Comparison, Figure } from "./harness.js";

const FENCES = 1_000_000;

const ops: DmaFenceOps = { getDriverName: () => "bench", getTimelineName: () => "ring0" };

/** The baseline: the least a fence can be — a seqno, a signalled flag and a callback list. */
class MinimalFence {
  signaled = false;
  timestamp = 0;
  private cbs: ((f: MinimalFence) => void)[] | null = null;
  constructor(
    readonly context: number,
    readonly seqno: number,
  ) {}
  addCallback(fn: (f: MinimalFence) => void): number {
    if (this.signaled) return -2;
    if (this.cbs === null) this.cbs = [fn];
    else this.cbs.push(fn);
    return 0;
  }
  signal(now: number): void {
    if (this.signaled) return;
    this.signaled = true;
    this.timestamp = now;
    const cbs = this.cbs;
    this.cbs = null;
    if (cbs !== null) for (let i = 0; i < cbs.length; i++) cbs[i]!(this);
  }
}

let sink = 0;
/**
 * The last fence of each loop, kept in a module variable: a fence in real use escapes (into a
 * reservation object, a job, a callback), and without this V8 may optimise the baseline's
 * allocations away entirely (escape analysis), which would measure nothing.
 */
export let lastFence: unknown = null;

function minimalFences(): void {
  const cb = (f: MinimalFence): void => {
    sink += f.seqno & 1;
  };
  for (let i = 1; i <= FENCES; i++) {
    const f = new MinimalFence(1, i);
    f.addCallback(cb);
    f.signal(i);
    lastFence = f;
  }
}

function drmsimFences(): void {
  const sim = new Simulator({ validator: "off" });
  const ctx = dmaFenceContextAlloc(sim);
  const cb: DmaFenceCb = {
    func: (f) => {
      sink += f.seqno & 1;
    },
  };
  for (let i = 1; i <= FENCES; i++) {
    const f = new DmaFence(sim, ops, ctx, i);
    f.addCallback(cb);
    f.signal();
    f.put();
    lastFence = f;
  }
}

export const comparisons: Comparison[] = [
  {
    id: "dma-fence.create-signal-callback",
    title: "fence create + one callback + signal (validator off)",
    unit: "fence",
    baseline: { name: "minimal fence", ops: FENCES, run: minimalFences },
    subject: { name: "DmaFence", ops: FENCES, run: drmsimFences },
    target: "ratio >= 0.33 and >= 5 M/s",
    meets: (r) => r.ratio >= 0.33 && r.subject.cpuOpsPerSec >= 5e6,
  },
];

const gc = (globalThis as { gc?: () => void }).gc;

/** Bytes of heap per object kept alive by `make`, over `n` objects. */
function heapPer(n: number, make: (i: number) => unknown): number {
  const keep: unknown[] = new Array(n);
  gc?.();
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) keep[i] = make(i);
  gc?.();
  gc?.();
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== n) console.log(keep.length); // keep them reachable until measured
  return (after - before) / n;
}

/** Memory per pending (unsignalled, referenced) fence, with the minimal fence beside it. */
export async function figures(): Promise<Figure[]> {
  if (gc === undefined) throw new Error("run with --expose-gc (pnpm bench does)");
  const sim = new Simulator({ validator: "off" });
  const ctx = dmaFenceContextAlloc(sim);
  // Warm-up, as for queued jobs: the first fences also pay for compiled code and feedback, which
  // landed in the figure as a fraction of a byte per fence (80.0–80.2 for an 80-byte object).
  for (let i = 0; i < 1000; i++) new DmaFence(sim, ops, ctx, i + 1).put();
  // The least of three measurements, as timings take the best: what else the process allocates
  // meanwhile only ever adds to a heap delta.
  const least = (make: (i: number) => unknown) =>
    Math.min(heapPer(FENCES, make), heapPer(FENCES, make), heapPer(FENCES, make));
  const perDrmsim = least((i) => new DmaFence(sim, ops, ctx, i + 1));
  const perMinimal = least((i) => new MinimalFence(ctx, i + 1));
  if (sink === -1) console.log(sink);
  return [
    {
      id: "dma-fence.pending-fence-bytes",
      title: "memory per pending fence (1M unsignalled, validator off)",
      value: perDrmsim,
      unit: "bytes",
      baseline: { name: "minimal fence", value: perMinimal },
      ratio: perDrmsim / perMinimal,
      target: "≤ 80 bytes",
      // Judged at the 0.1 B the figure is shown with: a pending fence is an 80-byte object (V8's
      // instance size, 10 words), and the heap delta adds a few thousandths of a byte per fence.
      met: Math.round(perDrmsim * 10) / 10 <= 80,
    },
  ];
}
