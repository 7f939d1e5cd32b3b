/**
 * The run summary's view of the trace: engine work, fences, waits — counted as events go by,
 * nothing kept. `drmsim run` and `demo` trace every run into it (so the table is the same with
 * or without `--trace`), and record events only when an output asks for them.
 */
import type { Simulator, TraceEvent, TraceSink } from "@drmsim/runtime";

/** One hardware engine's work. */
export interface EngineWork {
  commands: number;
  busyNs: number;
}

/** Counts of what a run did, by trace event. */
export class SummarySink implements TraceSink {
  events = 0;
  /** `device/engine` → commands and busy time (`hw` slices). */
  readonly engines = new Map<string, EngineWork>();
  /** Fences signalled by driver (hardware fences) or `drm_sched <timeline>` (scheduler fences). */
  readonly fencesByDriver = new Map<string, number>();
  fencesSignalled = 0;
  fenceErrors = 0;
  waits = 0;

  write(e: TraceEvent): void {
    this.events++;
    if (e.ph !== "X") return;
    if (e.cat === "hw") {
      const key = `${e.track.process}/${e.track.thread}`;
      const w = this.engines.get(key) ?? { commands: 0, busyNs: 0 };
      w.commands++;
      w.busyNs += e.dur ?? 0;
      this.engines.set(key, w);
    } else if (e.name === "dma_fence") {
      const a = e.args as { driver?: string; timeline?: string; error?: number; unfinished?: boolean };
      if (a.unfinished === true) return;
      this.fencesSignalled++;
      if (a.error !== undefined && a.error !== 0) this.fenceErrors++;
      const key = a.driver === "drm_sched" ? `drm_sched ${a.timeline}` : String(a.driver);
      this.fencesByDriver.set(key, (this.fencesByDriver.get(key) ?? 0) + 1);
    } else if (e.name === "dma_fence_wait") this.waits++;
  }
}

const SUMMARY = {};

/** Attaches `sink` to `sim` so scenarios find it (`traceSummary`). */
export function attachSummary(sim: Simulator, sink: SummarySink): void {
  sim.subsystem(SUMMARY, () => sink);
}

/** The summary sink of a run traced by `runScenario`, or null for an untraced run. */
export function traceSummary(sim: Simulator): SummarySink | null {
  return sim.subsystem<SummarySink | null>(SUMMARY, () => null);
}
