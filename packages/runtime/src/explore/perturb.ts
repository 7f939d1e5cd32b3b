/**
 * Schedule perturbation: the knobs that make one simulated run take a different — but still
 * legal and still reproducible — interleaving, so that a race which the plain FIFO schedule never
 * hits can be found, shrunk and replayed.
 *
 * There is no single kernel counterpart. The kernel's nearest relatives are the things people use
 * to shake races out of real hardware: `CONFIG_DEBUG_ATOMIC_SLEEP`-style delay injection, fault
 * injection (`fail_page_alloc`, `failslab`), KCSAN's random delays and the scheduler's own
 * nondeterminism. Here every deviation is chosen from a seed and written down, so the run can be
 * replayed exactly from the list and the list can be shrunk.
 *
 * Every point where the perturbed run may differ from the plain one is a numbered *choice point*
 * of one kind (the n-th tie, the n-th hardware command, …). A {@link Decision} names a choice point
 * and the value taken there; choice points without a decision take the plain value. So the empty
 * list is the unperturbed schedule, and the decisions recorded by a seeded run replay that run.
 */
import { KernelError } from "../errno.js";
import { normalizeSeed, Prng } from "../prng.js";

/**
 * One deviation from the unperturbed schedule (compact, JSON-safe: it travels in replay tokens).
 *
 * - `["t", n, j]`: at the n-th point where several events were due at the same virtual time, run
 *   the j-th of them (in FIFO order) first instead of the 0-th.
 * - `["h", n, ns]`: the n-th hardware command (over all engines) runs `ns` longer.
 * - `["i", n, ns]`: the n-th completion interrupt is delivered `ns` later.
 * - `["w", n, order]`: the n-th `wakeUpAll` with several sleepers wakes them in `order`.
 * - `["a", site, nth]`: the nth allocation attempt at `site` fails with `ENOMEM`.
 * - `["g", engine, nth]`: the nth command started on `engine` hangs (never completes until reset).
 */
export type Decision =
  | readonly ["t", number, number]
  | readonly ["h", number, number]
  | readonly ["i", number, number]
  | readonly ["w", number, readonly number[]]
  | readonly ["a", string, number]
  | readonly ["g", string, number];

/** An allocation failure to inject: the `nth` (from 1) `kmalloc` attempt at `site` fails. */
export interface AllocFailureSpec {
  site: string;
  nth: number;
}

/** A GPU hang to inject: the `nth` (from 1) command started on `engine` never completes. */
export interface HangSpec {
  engine: string;
  nth: number;
}

/**
 * `new Simulator({ perturb })`. Everything is off unless set; with no `perturb` option at all the
 * simulator runs exactly as it always did (same events, same order, same trace).
 */
export interface PerturbOptions {
  /** Seeds the perturbation's own random stream (not `sim.random`). Default: the simulator's seed. */
  seed?: number | string;
  /** Events due at the same virtual time run in a seeded random order instead of FIFO. */
  tieBreak?: boolean;
  /** Each hardware command runs up to this fraction longer (0.1 = up to +10%), chosen per command. */
  hwJitter?: number;
  /** Each completion interrupt is delivered up to this many ns later, chosen per interrupt. */
  irqJitterNs?: number;
  /** `wakeUpAll` wakes its sleepers in a seeded random order instead of queue order. */
  wakeOrder?: boolean;
  /** Allocation failures to inject (by call site and attempt number at that site). */
  allocFailures?: readonly AllocFailureSpec[];
  /** GPU hangs to inject (by engine name and command number on that engine). */
  hangs?: readonly HangSpec[];
  /**
   * Replay: apply exactly these decisions and nothing random (the knobs above are ignored). The
   * decisions a seeded run recorded replay that run event for event.
   */
  decisions?: readonly Decision[];
}

/** At most this many events due at the same time are considered for one tie-break (bounded cost). */
const MAX_TIED = 16;

/**
 * The per-simulator perturbation state (`sim.perturber`, null when perturbation is off): draws
 * or replays each choice and records every deviation in `decisions`. No kernel counterpart.
 */
export class Perturber {
  /** Every deviation taken so far, in the order the choice points were reached. */
  readonly decisions: Decision[] = [];
  /** True if the run loop must gather events due at the same time and ask {@link pickTie}. */
  readonly collectTies: boolean;
  /** How many tied events a tie-break considers at most. @internal */
  readonly maxTied = MAX_TIED;

  private readonly rng: Prng | null;
  private readonly tieBreak: boolean;
  private readonly hwJitter: number;
  private readonly irqJitterNs: number;
  private readonly shuffleWakes: boolean;
  private nTie = 0;
  private nHw = 0;
  private nIrq = 0;
  private nWake = 0;
  private readonly replay = new Map<string, number | readonly number[]>();
  private readonly failures = new Set<string>();
  private readonly siteCounts = new Map<string, number>();
  private readonly engineCounts = new Map<string, number>();

  constructor(opts: PerturbOptions, defaultSeed: number) {
    const hwJitter = opts.hwJitter ?? 0;
    const irqJitterNs = opts.irqJitterNs ?? 0;
    if (!(hwJitter >= 0) || !Number.isFinite(hwJitter))
      throw new KernelError("EINVAL", `perturb.hwJitter must be a finite fraction >= 0, got ${hwJitter}`);
    if (!(irqJitterNs >= 0) || !Number.isFinite(irqJitterNs))
      throw new KernelError(
        "EINVAL",
        `perturb.irqJitterNs must be a finite number of ns >= 0, got ${irqJitterNs}`,
      );
    const injected: Decision[] = [
      ...(opts.allocFailures ?? []).map((f): Decision => ["a", f.site, f.nth]),
      ...(opts.hangs ?? []).map((h): Decision => ["g", h.engine, h.nth]),
    ];
    if (opts.decisions !== undefined) {
      // Replay: no randomness at all, only the listed deviations.
      this.rng = null;
      this.tieBreak = false;
      this.hwJitter = 0;
      this.irqJitterNs = 0;
      this.shuffleWakes = false;
      for (const d of opts.decisions) this.addDecision(d);
      this.collectTies = opts.decisions.some((d) => d[0] === "t");
    } else {
      this.rng = new Prng(opts.seed === undefined ? defaultSeed : normalizeSeed(opts.seed));
      this.tieBreak = opts.tieBreak ?? false;
      this.hwJitter = hwJitter;
      this.irqJitterNs = irqJitterNs;
      this.shuffleWakes = opts.wakeOrder ?? false;
      for (const d of injected) this.addDecision(d);
      this.collectTies = this.tieBreak;
    }
  }

  private addDecision(d: Decision): void {
    const [kind, at, value] = d;
    if (kind === "a" || kind === "g") {
      if (!Number.isInteger(value) || (value as number) < 1)
        throw new KernelError(
          "EINVAL",
          `perturb: injected ${kind === "a" ? "allocation failure" : "hang"} at ${at} needs nth >= 1, got ${value}`,
        );
      this.failures.add(`${kind}\0${at}\0${value}`);
    } else this.replay.set(`${kind}${at}`, value);
    this.decisions.push(d);
  }

  /**
   * `m` events are due at the same virtual time (FIFO order); returns the index of the one to run
   * first. 0 keeps the plain order.
   */
  pickTie(m: number): number {
    const n = this.nTie++;
    let j: number;
    if (this.rng !== null) {
      if (!this.tieBreak) return 0;
      j = this.rng.int(0, m - 1);
      if (j !== 0) this.decisions.push(["t", n, j]);
    } else j = Math.min((this.replay.get(`t${n}`) as number | undefined) ?? 0, m - 1);
    return j;
  }

  /** The duration a hardware command of `durationNs` actually runs for. */
  hwDuration(durationNs: number): number {
    const n = this.nHw++;
    let extra: number;
    if (this.rng !== null) {
      if (this.hwJitter === 0) return durationNs;
      extra = Math.floor(this.rng.next() * this.hwJitter * durationNs);
      if (extra > 0) this.decisions.push(["h", n, extra]);
    } else extra = (this.replay.get(`h${n}`) as number | undefined) ?? 0;
    return durationNs + extra;
  }

  /** Extra latency of the next completion interrupt, in ns. */
  irqDelay(): number {
    const n = this.nIrq++;
    if (this.rng !== null) {
      if (this.irqJitterNs === 0) return 0;
      const extra = this.rng.int(0, Math.floor(this.irqJitterNs));
      if (extra > 0) this.decisions.push(["i", n, extra]);
      return extra;
    }
    return (this.replay.get(`i${n}`) as number | undefined) ?? 0;
  }

  /** Reorders `sleepers` (more than one, in queue order) in place into the order they are woken. */
  wakeOrder<T>(sleepers: T[]): void {
    const n = this.nWake++;
    let order: readonly number[] | undefined;
    if (this.rng !== null) {
      if (!this.shuffleWakes) return;
      const perm = this.rng.shuffle(sleepers.map((_, i) => i));
      if (perm.every((v, i) => v === i)) return;
      this.decisions.push(["w", n, perm]);
      order = perm;
    } else {
      order = this.replay.get(`w${n}`) as readonly number[] | undefined;
      // A replayed order that no longer fits (the shrinker removed what made this call different)
      // is ignored: the plain order is always a legal one.
      if (order === undefined || order.length !== sleepers.length) return;
    }
    const copy = sleepers.slice();
    for (let i = 0; i < order.length; i++) sleepers[i] = copy[order[i]!]!;
  }

  /** True if the run has allocation failures or hangs to inject (all known at construction). */
  get injectsFailures(): boolean {
    return this.failures.size > 0;
  }

  /** True if this `kmalloc` attempt at `site` is an injected failure. */
  failAlloc(site: string): boolean {
    if (this.failures.size === 0) return false;
    const nth = (this.siteCounts.get(site) ?? 0) + 1;
    this.siteCounts.set(site, nth);
    return this.failures.has(`a\0${site}\0${nth}`);
  }

  /** True if the command now starting on `engine` is an injected hang. */
  hang(engine: string): boolean {
    if (this.failures.size === 0) return false;
    const nth = (this.engineCounts.get(engine) ?? 0) + 1;
    this.engineCounts.set(engine, nth);
    return this.failures.has(`g\0${engine}\0${nth}`);
  }
}
