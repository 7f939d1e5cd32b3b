/**
 * Parsers for the command-line options, as commander `argParser`s: each returns the typed value or
 * throws commander's `InvalidArgumentError` with what is wrong and what would be right, so a
 * misuse ends with a usage error (exit 2) before anything runs.
 */
import { parseShard, type Shard } from "@drmsim/runtime";
import { InvalidArgumentError } from "commander";
import { parseDuration } from "./duration.js";

/** The largest seed: seeds are 32-bit (`Simulator` folds anything larger into 32 bits). */
export const MAX_SEED = 0xffff_ffff;

/**
 * `--seed`: an integer from 0 to 2^32 − 1, taken as is, or a name (which the simulator hashes,
 * e.g. `frame-pacing`). A negative, fractional or too-large number is an error rather than a
 * seed it would silently wrap to (`-5` would run as 4294967291).
 */
export function parseSeedOption(value: string): number | string {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n > MAX_SEED)
      throw new InvalidArgumentError(`A numeric seed is at most ${MAX_SEED} (32 bits); got ${value}.`);
    return n;
  }
  if (/^[-+.\d]/.test(value) || value.trim() === "")
    throw new InvalidArgumentError(
      `A seed is an integer from 0 to ${MAX_SEED}, or a name that starts with a letter (e.g. frame-pacing).`,
    );
  return value;
}

/** `--duration`: a positive simulated time, e.g. `10s`, `500ms`, `250us`, `1000ns` (ns returned). */
export function parseDurationOption(value: string): number {
  let ns: number;
  try {
    ns = parseDuration(value);
  } catch {
    throw new InvalidArgumentError("Use a number with a unit, e.g. 10s, 500ms, 250us or 1000ns.");
  }
  if (!(ns >= 1)) throw new InvalidArgumentError("A duration must be longer than 0 (at least 1ns).");
  if (!Number.isSafeInteger(ns)) throw new InvalidArgumentError("That duration is too long to simulate.");
  return ns;
}

/** A count (`--runs`, `--workers`): a whole number from 1 up. */
export function parseCountOption(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("Expected a whole number from 1 up (e.g. 100).");
  return n;
}

/** `--hw-jitter`: a fraction of each hardware command's duration, a finite number from 0 up. */
export function parseFractionOption(value: string): number {
  const n = value.trim() === "" ? Number.NaN : Number(value);
  if (!(n >= 0) || !Number.isFinite(n))
    throw new InvalidArgumentError("Expected a fraction from 0 up (0.1 adds up to 10%).");
  return n;
}

/** `--irq-jitter`: nanoseconds, a whole number from 0 up. */
export function parseNanosecondsOption(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError("Expected a whole number of nanoseconds from 0 up (e.g. 50000).");
  return n;
}

/** `--shard i/n`: this machine's slice, 1 ≤ i ≤ n. */
export function parseShardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch {
    throw new InvalidArgumentError("A shard is i/n with 1 <= i <= n (e.g. 2/4).");
  }
}

/**
 * A parser for a repeatable option whose values come from `choices`: `--only a --only b` and
 * `--only a,b` both give `[a, b]`. It takes one value per occurrence, so an argument after it
 * stays an argument (`validate --only prime drivers/vgem`).
 */
export function choiceListOption(
  choices: readonly string[],
): (value: string, previous?: string[]) => string[] {
  return (value, previous) => {
    const picked = value.split(",").map((v) => v.trim());
    for (const v of picked)
      if (!choices.includes(v)) throw new InvalidArgumentError(`Choose from ${choices.join(", ")}.`);
    return [...(previous ?? []), ...picked];
  };
}
