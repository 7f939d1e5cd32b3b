/**
 * Lanes of a track. The trace-event format (and Perfetto's importer) wants the slices of one
 * thread to nest strictly: a slice that starts inside another must end inside it too. A fence
 * timeline with several fences in flight, a scheduler with queued jobs or an engine running two
 * commands at once overlap without nesting, so each track is split into lanes, each exported as
 * its own thread, and every slice goes to the first lane where it nests cleanly.
 *
 * Slices reach the allocator when they end (a span when it is closed, a `slice()` after the
 * fact), so a new slice `[start, now]` ends after every slice already placed: on a lane it may
 * only follow the lane's top-level slices or strictly contain the last ones.
 */

/** How many top-level slices a lane remembers; older ones are summarised by their latest end. */
const HISTORY = 64;

class Lane {
  /** Top-level slices, oldest first, as flat [start, end] pairs. */
  readonly tops: number[] = [];
  /** Latest end among the top-level slices dropped from `tops`. */
  trimmedEnd = Number.NEGATIVE_INFINITY;

  /**
   * Whether `[start, end]` fits: every top-level slice ending after `start` must start strictly
   * after it (it becomes a child), and the one before must end no later than `start`. Two slices
   * starting at the same instant never share a lane: which one a flow event at that instant binds
   * to would depend on how the importer breaks the tie.
   */
  place(start: number, end: number): boolean {
    const tops = this.tops;
    let i = tops.length;
    while (i > 0 && tops[i - 2]! >= start) i -= 2;
    if (i < tops.length && tops[i] === start) return false;
    // The slice before (which starts earlier, by the loop above) must be over by `start`.
    if (i > 0 ? tops[i - 1]! > start : this.trimmedEnd >= start) return false;
    tops.length = i;
    tops.push(start, end);
    if (tops.length > 2 * HISTORY) {
      this.trimmedEnd = Math.max(this.trimmedEnd, tops[1]!);
      tops.splice(0, 2);
    }
    return true;
  }
}

/** The lanes of one track. */
export class TrackLanes {
  private readonly lanes: Lane[] = [];

  /** Places the slice `[start, end]` and returns its lane. */
  place(start: number, end: number): number {
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) if (lanes[i]!.place(start, end)) return i;
    const lane = new Lane();
    lane.place(start, end);
    lanes.push(lane);
    return lanes.length - 1;
  }

  /** Lanes used so far. */
  get count(): number {
    return this.lanes.length;
  }
}
