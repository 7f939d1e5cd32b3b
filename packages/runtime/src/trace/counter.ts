/**
 * Counter tracks: a number sampled over virtual time (credits in flight, jobs queued, VRAM
 * used, fences pending), exported as Chrome `C` events. A counter writes only when its value
 * changes (starting from 0: a counter that stays at 0 writes nothing), and several changes at
 * one virtual instant collapse into the last one, so a busy counter costs an event per instant
 * at most.
 */
import type { TrackRef } from "./tracepoint.js";

/** What a counter needs from its tracer. @internal */
export interface CounterHost {
  readonly on: boolean;
  counterSet(c: TraceCounter, value: number): void;
}

/** One counter track; get it with `tracer.counterTrack(track, name, key)`. */
export class TraceCounter {
  /** @internal The value last written. A counter starts at 0: it writes nothing until it leaves 0. */
  last = 0;
  /** @internal The virtual time of the value waiting to be written, or -1. */
  pendingTs = -1;
  /** @internal */
  pendingValue = 0;

  constructor(
    private readonly host: CounterHost,
    /** The process (device) the counter belongs to; its `thread` names it in reports. */
    readonly track: TrackRef,
    /** The counter's name: `gfx_0.0.0`, `VRAM`. */
    readonly name: string,
    /** What it counts: `credits in flight`, `used bytes`. Perfetto names the track `name key`. */
    readonly key: string,
  ) {}

  /** Records the counter's value now. Free when tracing is off. */
  set(value: number): void {
    if (this.host.on) this.host.counterSet(this, value);
  }
}
