/**
 * @drmsim/runtime benchmarks: the event loop against a bare heap, the validator's cost against
 * `off`, and the cost of a disabled tracepoint. Run with `pnpm bench runtime`.
 */
import { performance } from "node:perf_hooks";
import {
  defineTracepoint,
  Mutex,
  NSEC_PER_SEC,
  Simulator,
  SpinLock,
  type TrackRef,
  type ValidatorMode,
  withDmaFenceSignalling,
} from "@drmsim/runtime";
import type { Comparison, Figure } from "./harness.js";

// --- (a) event loop ------------------------------------------------------------------------------

const EVENTS = 100_000;
const SPAN_NS = 10 * NSEC_PER_SEC;

/**
 * Event times spread over 10 simulated seconds in a scrambled order (a fixed LCG, so both sides
 * see the same heap shape), with some equal times to exercise the FIFO tie-break.
 */
const eventTimes: number[] = (() => {
  const out: number[] = [];
  let x = 12345;
  for (let i = 0; i < EVENTS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(Math.floor((x / 4294967296) * (SPAN_NS / 1000)) * 1000);
  }
  return out;
})();

let sink = 0;

async function simulatorEvents(): Promise<void> {
  const sim = new Simulator({ validator: "off" });
  let n = 0;
  const fn = (): void => {
    n++;
  };
  for (let i = 0; i < EVENTS; i++) sim.at(eventTimes[i]!, fn);
  const r = await sim.run();
  if (r.events !== EVENTS || n !== EVENTS)
    throw new Error(`simulator ran ${r.events} events, callbacks ${n}`);
  sink += n;
}

interface BareEvent {
  time: number;
  seq: number;
  fn: () => void;
}

/** The baseline: a hand-written binary min-heap on (time, seq), push all, pop and call each. */
function bareHeapEvents(): void {
  const heap: BareEvent[] = [];
  let n = 0;
  const fn = (): void => {
    n++;
  };
  for (let s = 0; s < EVENTS; s++) {
    const ev: BareEvent = { time: eventTimes[s]!, seq: s, fn };
    let i = heap.length;
    heap.push(ev);
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const p = heap[pi]!;
      if (p.time < ev.time || (p.time === ev.time && p.seq < ev.seq)) break;
      heap[i] = p;
      i = pi;
    }
    heap[i] = ev;
  }
  let now = 0;
  while (heap.length > 0) {
    const top = heap[0]!;
    const last = heap.pop()!;
    const len = heap.length;
    if (len > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        let c = l;
        let child = heap[l]!;
        if (l + 1 < len) {
          const rc = heap[l + 1]!;
          if (rc.time < child.time || (rc.time === child.time && rc.seq < child.seq)) {
            c = l + 1;
            child = rc;
          }
        }
        if (last.time < child.time || (last.time === child.time && last.seq < child.seq)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    now = top.time;
    top.fn();
  }
  if (n !== EVENTS) throw new Error(`bare heap ran ${n}`);
  sink += n + (now > 0 ? 0 : 1);
}

// --- (b) validator throw vs off --------------------------------------------------------------------

const LOCK_ITERS = 100_000;

/** One sync event: 3 nested spinlocks and a trylock mutex inside a fence-signalling section, 100,000 times. */
async function lockLoop(mode: ValidatorMode): Promise<void> {
  const sim = new Simulator({ validator: mode });
  const a = new SpinLock(sim, "&ring->lock");
  const b = new SpinLock(sim, "&fence->lock");
  const c = new SpinLock(sim, "&sched->job_list_lock");
  const m = new Mutex(sim, "&vm->status_lock");
  let done = 0;
  sim.schedule(
    0,
    () => {
      for (let i = 0; i < LOCK_ITERS; i++) {
        withDmaFenceSignalling(sim, () => {
          if (!m.trylock()) throw new Error("trylock failed");
          a.lock();
          b.lock();
          c.lock();
          c.unlock();
          b.unlock();
          a.unlock();
          m.unlock();
        });
        done++;
      }
    },
    sim.createContext("kworker/gpu-submit:0", "worker"),
  );
  await sim.run();
  if (done !== LOCK_ITERS) throw new Error(`lock loop ran ${done}`);
  if (sim.validator.findings.length > 0) throw new Error(String(sim.validator.findings[0]));
}

// --- (c) tracing off -----------------------------------------------------------------------------

const TRACE_ITERS = 1_000_000;
const tp = defineTracepoint<{ seqno: number; context: number }>("dma_fence_signaled", "dma_fence");
const track: TrackRef = { process: "gpu0", thread: "gfx ring" };
const traceSim = new Simulator({ validator: "off" });

/**
 * Both loops do the same hot-path work — what `dma_fence_signal()` does around its tracepoint:
 * in irq context, take the fence's spinlock (validator off, as in a benchmark build), bump the seqno, stamp the
 * time, set a flag, unlock — so the comparison is "the same loop with and without the
 * tracepoint", not a tracepoint against an empty loop the JIT reduces to nothing. (Against an
 * empty loop the guard's two loads and a branch cost about 0.3 ns per iteration.)
 */
interface FenceLike {
  seqno: number;
  timestamp: number;
  flags: number;
}
const fences: FenceLike[] = Array.from({ length: 64 }, () => ({ seqno: 0, timestamp: 0, flags: 0 }));
const fenceLock = new SpinLock(traceSim, "&fence->lock");
/** Run as an interrupt handler signalling fences, as `dma_fence_signal()` from a ring's irq. */
const signalCtx = traceSim.irqContext("gpu0-irq");

function tracedLoop(): void {
  traceSim.runAs(signalCtx, tracedBody);
}

function untracedLoop(): void {
  traceSim.runAs(signalCtx, untracedBody);
}

function tracedBody(): void {
  const sim = traceSim;
  const lock = fenceLock;
  for (let i = 0; i < TRACE_ITERS; i++) {
    const f = fences[i & 63]!;
    lock.lock();
    f.seqno++;
    f.timestamp = i;
    f.flags |= 1 << (i & 7);
    if (sim.tracer.on) sim.tracer.instant(tp, track, { seqno: f.seqno, context: i & 63 });
    lock.unlock();
  }
  if (sim.tracer.events.length !== 0) throw new Error("tracer recorded while off");
  sink += fences[0]!.seqno;
}

function untracedBody(): void {
  const lock = fenceLock;
  for (let i = 0; i < TRACE_ITERS; i++) {
    const f = fences[i & 63]!;
    lock.lock();
    f.seqno++;
    f.timestamp = i;
    f.flags |= 1 << (i & 7);
    lock.unlock();
  }
  sink += fences[0]!.seqno;
}

// --- exports ---------------------------------------------------------------------------------------

export const comparisons: Comparison[] = [
  {
    id: "runtime.event-loop",
    title: "event loop: 100,000 timer events over 10 simulated seconds",
    unit: "event",
    baseline: { name: "bare binary heap", ops: EVENTS, run: bareHeapEvents },
    subject: { name: "Simulator.run", ops: EVENTS, run: simulatorEvents },
    target: "ratio >= 0.5",
    meets: (r) => r.ratio >= 0.5,
  },
  {
    id: "runtime.validator-throw-vs-off",
    // The worst case: a loop that does nothing but take and drop locks, so every operation pays
    // the validator and nothing dilutes it. Issue #28 sets a target on it (≥ 0.5 of `off`) beside
    // the one on a real workload, the scheduler (drm-sched.bench.ts, ≥ 0.6).
    title: "validator throw vs off: lock-only loop (worst case)",
    unit: "iteration",
    baseline: { name: "validator off", ops: LOCK_ITERS, run: () => lockLoop("off") },
    subject: { name: "validator throw", ops: LOCK_ITERS, run: () => lockLoop("throw") },
    target: "ratio ≥ 0.5 (issue #28)",
    meets: (r) => r.ratio >= 0.5,
  },
  {
    id: "runtime.tracing-off",
    title: "tracing off costs nothing",
    unit: "iteration",
    baseline: { name: "no tracepoint", ops: TRACE_ITERS, run: untracedLoop },
    subject: { name: "guarded tracepoint, off", ops: TRACE_ITERS, run: tracedLoop },
    // Judged on the absolute cost per disabled tracepoint (best-of CPU time of each side): the
    // guard is one load and a branch, which no JavaScript can make free, and as a ratio against a
    // loop this small it swings with the loop's own code generation (0.88–0.97 across runs).
    target: "≤ 1 ns per disabled tracepoint",
    meets: (r) => 1e9 / r.subject.cpuOpsPerSec - 1e9 / r.baseline.cpuOpsPerSec <= 1,
  },
];

/** Wall time of the 10-simulated-second workload, and how much faster than real time it runs. */
export async function figures(): Promise<Figure[]> {
  await simulatorEvents(); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    await simulatorEvents();
    best = Math.min(best, performance.now() - t0);
  }
  const simulatedMs = SPAN_NS / 1e6;
  if (sink === -1) console.log(sink); // keep the results observable
  return [
    {
      id: "runtime.event-loop.wall-ms",
      title: "event loop: wall time for 10 simulated seconds (100k events)",
      value: best,
      unit: "ms",
    },
    {
      id: "runtime.event-loop.sim-to-wall",
      title: "event loop: simulated time / wall time",
      value: simulatedMs / best,
      unit: "× real time",
    },
  ];
}
