/**
 * Lanes of a track. The trace-event format (and Perfetto's importer) wants the slices of one
 * thread to nest strictly: a slice that starts inside another must end inside it too. A fence
 * timeline with several fences in flight, a scheduler with queued jobs or an engine running two
 * commands at once overlap without nesting, so each track is split into lanes, each exported as
 * its own thread, and every slice goes to the first lane where it nests cleanly.
 *
 * Slices reach the allocator when they end (a span when it is closed, a `slice()` after the
 * fact, an instant at once as a slice of no length), so a new slice `[start, now]` ends after
 * every slice already placed: on a lane it may only follow the lane's top-level slices or
 * contain the last ones.
 *
 * A flow arrow binds to the slice on top of its thread at the arrow's time, which is the start
 * of the span it belongs to. So a span with arrows never shares a lane with a slice starting at
 * the same instant: which of the two is on top then depends on how the importer breaks the tie.
 */

/** How many top-level slices a lane remembers; older ones are summarised by their latest end. */
const HISTORY = 64;

/** Fields per top-level slice in `Lane.tops`: start, end, has arrows (1/0). */
const F = 3;

class Lane {
  /** Top-level slices, oldest first, as flat [start, end, arrows] triples. */
  readonly tops: number[] = [];
  /** Latest end among the top-level slices dropped from `tops`. */
  trimmedEnd = Number.NEGATIVE_INFINITY;

  /**
   * Whether `[start, end]` fits: the top-level slices starting at or after `start` become its
   * children (they end before it), the one before must be over by `start`, and no slice starting
   * with it may have arrows if it has.
   */
  place(start: number, end: number, arrows: boolean): boolean {
    const tops = this.tops;
    let i = tops.length;
    while (i > 0 && tops[i - F]! >= start) {
      i -= F;
      if (tops[i] === start && (arrows || tops[i + 2] === 1)) return false;
    }
    if (i > 0 ? tops[i - 2]! > start : this.trimmedEnd > start) return false;
    tops.length = i;
    tops.push(start, end, arrows ? 1 : 0);
    if (tops.length > F * HISTORY) {
      // Forget the oldest; a slice starting before its end may no longer come here. Equality is
      // refused too, as the forgotten one might have had arrows at that instant.
      this.trimmedEnd = Math.max(this.trimmedEnd, tops[1]! + (tops[2] === 1 ? 0.5 : 0));
      tops.splice(0, F);
    }
    return true;
  }
}

/** The lanes of one track. */
export class TrackLanes {
  private readonly lanes: Lane[] = [];

  /** Places the slice `[start, end]` (`arrows`: flow arrows bind to it) and returns its lane. */
  place(start: number, end: number, arrows = false): number {
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) if (lanes[i]!.place(start, end, arrows)) return i;
    const lane = new Lane();
    lane.place(start, end, arrows);
    lanes.push(lane);
    return lanes.length - 1;
  }

  /** Lanes used so far. */
  get count(): number {
    return this.lanes.length;
  }
}
