/** Per-simulator trace state of fences: timeline tracks, their devices, the pending count. @internal */
import type { Simulator, TraceCounter, TrackRef } from "@drmsim/runtime";

/** Trace process of fence timelines no device claimed. */
export const FENCE_TRACK_PROCESS = "dma_fence";

/** A fence context's track; named once the timeline's names can be read. @internal */
export interface FenceTrack {
  process: string;
  thread: string;
  named: boolean;
}

interface FenceTraceState {
  readonly tracks: Map<number, FenceTrack>;
  /** Device of a context, set before (or after) its track exists. */
  readonly devices: Map<number, string>;
  pending: number;
  counter: TraceCounter | null;
}

const FENCE_TRACE = {};

/** @internal Per-simulator trace state of fences. */
export function fenceTraceState(sim: Simulator): FenceTraceState {
  return sim.subsystem(FENCE_TRACE, () => ({
    tracks: new Map(),
    devices: new Map(),
    pending: 0,
    counter: null,
  }));
}

/** @internal One fence more (+1) or less (-1) pending, for the counter. */
export function notePendingFences(sim: Simulator, delta: number): void {
  const st = fenceTraceState(sim);
  st.pending += delta;
  st.counter ??= sim.tracer.counterTrack(PENDING_TRACK, "fences", "pending");
  st.counter.set(st.pending);
}

const PENDING_TRACK: TrackRef = { process: FENCE_TRACK_PROCESS, thread: "fences" };
