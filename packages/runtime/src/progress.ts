/**
 * Forward-progress verdicts that say why: when a run ends with contexts still waiting (a
 * `deadlock` at quiescence) or with fences never signalled, follow what each one waits for back to
 * the thing nothing will ever move — the root — and name which kind of mistake it is.
 *
 * Knowledge of "what does X wait for" lives where X is defined, so every package adds an
 * explainer (`registerProgressExplainer`) for its own objects: the runtime knows contexts, wait
 * targets, mutex owners and work items; `@drmsim/dma-fence` knows fences and their containers;
 * `@drmsim/drm-sched` knows which job a scheduler fence belongs to and where that job is stuck;
 * `@drmsim/drm` knows syncobj waits. The walk asks them in turn, one step at a time, until a step
 * is a root, leads back onto the chain (a loop — the step that closed it says which kind), or
 * nobody knows the next object.
 *
 * Each root is reported once as a finding of its own stable kind (`indefinite-fence`,
 * `job-in-driver-backlog`, `ordered-wq-self-wait`, `sched-stopped`,
 * `syncobj-point-never-submitted`, …), carrying the chain that led to it.
 */
import { type ExecutionContext, frameList } from "./context.js";
import { HardwareEngine } from "./hw/engine.js";
import type { Finding, FindingKind } from "./lockdep/finding.js";
import type { Simulator } from "./simulator.js";
import { Work } from "./workqueue.js";

declare module "./lockdep/finding.js" {
  interface FindingKinds {
    /**
     * A work item waits, directly or through fences and jobs, for another item queued behind it
     * on the same ordered (or saturated) workqueue: the item it waits for cannot start.
     */
    "ordered-wq-self-wait": true;
    /**
     * Hardware that hung (or crashed) holds commands that will never complete, and nothing resets
     * it: no job timeout, or a timeout handler that does not recover.
     */
    "hw-hang-unrecovered": true;
  }
}

/** What a root cause is: its stable kind, a title naming the culprit, and the rule it breaks. */
export interface ProgressRoot {
  readonly kind: FindingKind;
  /** One line, stable for one culprit (findings with the same kind and title are one report). */
  readonly title: string;
  readonly explanation: string;
}

/** One step of a chain: what an object is waiting for. */
export interface ProgressStep {
  /** One line for the chain: `job 3 (gfx/0 ctx 5#3) waits for its dependency …`. */
  readonly what: string;
  /** What it waits on next, best candidate first; none when this is a root or a dead end. */
  readonly next?: readonly object[];
  /** Set when nothing will ever move this object: the end of the chain. */
  readonly root?: ProgressRoot;
  /** The kind of loop this step makes when the walk comes back through it onto the chain. */
  readonly onCycle?: ProgressRoot;
}

/** What explainers can ask the walk. */
export interface ProgressWalk {
  readonly sim: Simulator;
  /** True if an explainer other than a fallback one knows `obj` (something specific stands behind it). */
  isKnown(obj: object): boolean;
}

/** Explains `obj` if this explainer knows it, else returns undefined. */
export type ProgressExplainer = (obj: object, walk: ProgressWalk) => ProgressStep | undefined;

/** A chain from a stuck object to its root, or to where the trail ends. */
export interface ProgressChain {
  /** One line per step, the stuck object first. */
  readonly steps: readonly string[];
  /** The root cause, or null when the trail ran out before one was found. */
  readonly root: ProgressRoot | null;
}

interface Explainers {
  readonly specific: ProgressExplainer[];
  readonly fallback: ProgressExplainer[];
}

const EXPLAINERS = {};
/** Longest chain followed before giving up (a chain is a few steps in practice). */
const MAX_STEPS = 64;

function explainersOf(sim: Simulator): Explainers {
  return sim.subsystem(EXPLAINERS, (): Explainers => ({ specific: [], fallback: [] }));
}

/**
 * Adds an explainer for this simulator's forward-progress verdicts. A `fallback` explainer is
 * asked only when no other knows the object (`@drmsim/dma-fence`'s "a fence nothing stands
 * behind"). Register once per simulator (from a `sim.subsystem` initialiser).
 */
export function registerProgressExplainer(
  sim: Simulator,
  explainer: ProgressExplainer,
  opts: { fallback?: boolean } = {},
): void {
  const e = explainersOf(sim);
  (opts.fallback === true ? e.fallback : e.specific).push(explainer);
}

/** Follows what `start` (a context, fence, job, work item…) waits for, back to its root. */
export function explainProgress(sim: Simulator, start: object): ProgressChain {
  const ex = explainersOf(sim);
  const walk: ProgressWalk = {
    sim,
    isKnown: (obj) =>
      builtin(obj) !== undefined || ex.specific.some((e) => attempt(e, obj, walk) !== undefined),
  };
  const explain = (obj: object): ProgressStep | undefined => {
    const b = builtin(obj);
    if (b !== undefined) return b;
    for (const e of ex.specific) {
      const s = attempt(e, obj, walk);
      if (s !== undefined) return s;
    }
    for (const e of ex.fallback) {
      const s = attempt(e, obj, walk);
      if (s !== undefined) return s;
    }
    return undefined;
  };
  const steps: ProgressStep[] = [];
  const onChain = new Map<object, number>();
  let cur: object = start;
  for (let n = 0; n < MAX_STEPS; n++) {
    const step = explain(cur);
    if (step === undefined) break;
    onChain.set(cur, steps.length);
    steps.push(step);
    if (step.root !== undefined) return { steps: steps.map((s) => s.what), root: step.root };
    const next = step.next?.[0];
    if (next === undefined) break;
    const back = onChain.get(next);
    if (back !== undefined) {
      // A loop: the first step on it that knows what such a loop means names the root.
      const loop = steps.slice(back);
      const named = loop.find((s) => s.onCycle !== undefined)?.onCycle ?? null;
      return { steps: [...steps.map((s) => s.what), `… back to: ${loop[0]!.what}`], root: named };
    }
    cur = next;
  }
  return { steps: steps.map((s) => s.what), root: null };
}

/**
 * Explains every object in `starts` and reports each distinct root once, as a finding of the
 * root's kind with the chain that led to it (in the validator's current mode). Returns the chains,
 * in order, for the caller's own report.
 */
export function reportProgressRoots(sim: Simulator, starts: readonly object[]): ProgressChain[] {
  const chains: ProgressChain[] = [];
  for (const s of starts) {
    const chain = explainProgress(sim, s);
    chains.push(chain);
    if (chain.root !== null) reportRoot(sim, chain);
  }
  return chains;
}

/** Reports the root of `chain` (if it has one) as a finding of its kind, with the chain. */
export function reportProgressRoot(sim: Simulator, chain: ProgressChain): Finding | undefined {
  if (chain.root === null) return undefined;
  return reportRoot(sim, chain);
}

function reportRoot(sim: Simulator, chain: ProgressChain): Finding | undefined {
  const root = chain.root!;
  return sim.validator.report({
    kind: root.kind,
    title: root.title,
    context: sim.mainContext.label,
    progress: chain.steps,
    explanation: root.explanation,
  });
}

/** An explainer that throws explains nothing: a verdict must never fail because of one. */
function attempt(e: ProgressExplainer, obj: object, walk: ProgressWalk): ProgressStep | undefined {
  try {
    return e(obj, walk);
  } catch {
    return undefined;
  }
}

/** The runtime's own objects: contexts (what they sleep on), arrays (any of), work items, engines. */
function builtin(obj: object): ProgressStep | undefined {
  if (Array.isArray(obj)) return { what: `any of ${obj.length} objects`, next: obj as object[] };
  if (obj instanceof Work) return workStep(obj);
  if (obj instanceof HardwareEngine) return engineStep(obj);
  if (isContext(obj)) return contextStep(obj);
  return undefined;
}

function isContext(obj: object): obj is ExecutionContext {
  return (
    (obj as { held?: unknown }).held !== undefined && typeof (obj as { label?: unknown }).label === "string"
  );
}

function contextStep(ctx: ExecutionContext): ProgressStep {
  const w = ctx.waiting;
  const where = frameList(ctx.frame)[0];
  const inFn = where === undefined ? "" : ` in ${where}`;
  if (w === null) {
    const running = ctx.exited ? "has exited" : "waits on a promise the simulator does not know about";
    return { what: `${ctx.label}${inFn} ${running}` };
  }
  const next: object[] = [];
  if (w.object !== undefined) next.push(w.object);
  const owner = w.blockedBy?.() ?? null;
  if (owner !== null) next.push(owner);
  const on = w.what.startsWith(w.kind) ? w.what : `${w.kind} ${w.what}`;
  return { what: `${ctx.label} sleeps${inFn} on ${on}`, next };
}

function engineStep(e: HardwareEngine): ProgressStep {
  const what = e.crashed
    ? `hardware engine ${e.name} crashed with ${e.busy + e.queued} command(s) on it`
    : `hardware engine ${e.name} has ${e.busy} command(s) that never complete (hung)`;
  return {
    what,
    root: {
      kind: "hw-hang-unrecovered",
      title: `${what}, and nothing resets it`,
      explanation:
        "The hardware stopped — a hang or a firmware crash — and nothing recovers it: the job " +
        "timeout is disabled (MAX_SCHEDULE_TIMEOUT), or the timeout handler does not reset the " +
        "engine and complete what it held. A dma_fence must signal in bounded time even when the " +
        "hardware does not: every driver needs a timeout and a recovery path that signals the " +
        "lost work with an error.",
    },
  };
}

function workStep(work: Work): ProgressStep | undefined {
  const q = work.queue;
  if (q === null || !work.pending) return undefined;
  const busy = q.busyWorkers();
  if (busy.length < q.maxActive) return { what: `work item ${work.name} is queued on workqueue ${q.name}` };
  const ahead = busy.map((b) => b.work.name).join(", ");
  const ordered = q.maxActive === 1 ? "ordered workqueue" : `workqueue (all ${q.maxActive} workers busy)`;
  return {
    what: `work item ${work.name} is queued on ${ordered} ${q.name} behind ${ahead}, running on ${busy.map((b) => b.ctx.label).join(", ")}`,
    next: busy.map((b) => b.ctx),
    onCycle: {
      kind: "ordered-wq-self-wait",
      title: `work item ${work.name} is queued on ${ordered} ${q.name} behind the item that waits for it (${ahead})`,
      explanation:
        "An ordered workqueue runs one item at a time, in queueing order: an item that waits — on a " +
        "fence, a completion, a flush — for something only a later item of the same queue can do " +
        "waits forever, because that item cannot start until the waiter returns. Drivers that share " +
        "the scheduler's ordered submit_wq for their own work hit this as soon as that work waits on a " +
        "job fence. Run such work on another queue, or do not wait in it.",
    },
  };
}
