/**
 * Progress display for long runs. On a terminal: one line redrawn in place, with a bar, the
 * percentage, the caller's label, the rate and the time left — shown only once a run has taken
 * `delayMs`, so short runs print nothing. Otherwise (a log, a pipe, CI): a plain line at each
 * quarter, without wall-clock figures, so the output stays the same from run to run.
 */

/** A progress display (see {@link createProgress}). */
export interface Progress {
  /** `fraction` of the work is done (0..1); `label` says what, e.g. `900/2000 runs`. */
  update(fraction: number, label: string): void;
  /** The work is over: finishes the bar's line (if one was drawn). */
  done(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** The rate shown on a terminal, from the fraction done and the seconds elapsed (e.g. `25.1 runs/s`). */
  rate?: (fraction: number, elapsedSec: number) => string;
  /** Milliseconds since some fixed point (default `performance.now`); tests pass a fake clock. */
  now?: () => number;
  /** How long a run goes before the bar appears, in ms (default 250). */
  delayMs?: number;
}

const BAR_WIDTH = 30;
/** Redraws at most this often (ms) when the percentage has not moved (the time left still does). */
const REDRAW_MS = 500;

/** `95 s` → `1m35s`: the time left, as a person reads it. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A progress reporter for work called `title`, writing to `stream` (a bar when it is a TTY). */
export function createProgress(
  stream: NodeJS.WriteStream,
  title: string,
  opts: ProgressOptions = {},
): Progress {
  if (stream.isTTY) {
    const now = opts.now ?? (() => performance.now());
    const delayMs = opts.delayMs ?? 250;
    const start = now();
    let drawn = false;
    let lastPct = -1;
    let lastDraw = Number.NEGATIVE_INFINITY;
    let last: [number, string] = [0, ""];
    const draw = (fraction: number, label: string, final: boolean): void => {
      const t = now();
      const pct = Math.floor(fraction * 100);
      if (!final && (t - start < delayMs || (pct === lastPct && t - lastDraw < REDRAW_MS))) return;
      lastPct = pct;
      lastDraw = t;
      drawn = true;
      const elapsed = (t - start) / 1000;
      const full = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
      const parts = [label];
      if (opts.rate !== undefined && elapsed > 0) parts.push(opts.rate(fraction, elapsed));
      parts.push(
        final
          ? `${formatEta(elapsed)} elapsed`
          : `ETA ${fraction > 0 ? formatEta((elapsed * (1 - fraction)) / fraction) : "?"}`,
      );
      // \x1b[K clears what a longer previous line left behind.
      stream.write(
        `\r${title} [${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}] ${String(pct).padStart(3)}% ${parts.filter(Boolean).join(" · ")}\x1b[K`,
      );
    };
    return {
      update(fraction, label) {
        last = [fraction, label];
        draw(fraction, label, false);
      },
      done() {
        if (!drawn) return;
        draw(last[0], last[1], true);
        stream.write("\n");
      },
    };
  }
  let nextQuarter = 0.25;
  return {
    update(fraction, label) {
      while (fraction >= nextQuarter && nextQuarter <= 1) {
        stream.write(`${title}: ${Math.round(nextQuarter * 100)}% (${label})\n`);
        nextQuarter += 0.25;
      }
    },
    done() {},
  };
}
