/**
 * Validator findings: what lockdep would print as a splat, as a typed object.
 *
 * Every finding has a stable `kind` tools can switch on, the context and simulated backtrace of
 * the operation that triggered it, and — for dependency cycles — every edge of the cycle with the
 * context and backtrace that first created it. `toString()` prints it for a terminal.
 */
import { formatTimeNs } from "../time.js";

/**
 * The kinds of finding. Packages that enforce more rules add their kinds by declaration merging:
 *
 * ```ts
 * declare module "@drmsim/runtime" {
 *   interface FindingKinds { "resv-no-slot": true }
 * }
 * ```
 */
export interface FindingKinds {
  /** A lock-order cycle (AB/BA), seen as an ordering even if it never deadlocked. */
  "circular-dependency": true;
  /** Allocation that may enter reclaim inside a dma-fence signalling section. */
  "alloc-in-signalling": true;
  /** A dma_resv (ww_mutex) lock taken inside a dma-fence signalling section. */
  "lock-in-signalling": true;
  /** A simulated page fault / user copy (mmap_lock) inside a dma-fence signalling section. */
  "fault-in-signalling": true;
  /** Waiting on a dma-fence inside a dma-fence signalling section. */
  "wait-in-signalling": true;
  /** Taking a lock class the context already holds, without a nesting annotation. */
  "recursive-locking": true;
  /** Sleeping (mutex, wait, blocking allocation) in irq context or with a spinlock held. */
  "sleep-in-atomic": true;
  /** Releasing a lock the context does not hold. */
  "unbalanced-unlock": true;
  /** A work item, task or ioctl returned with locks held. */
  "held-at-exit": true;
  /** Locks still held when the simulator was torn down. */
  "held-at-teardown": true;
  /** `dma_fence_end_signalling` without a matching begin, or a section left open. */
  "signalling-mismatch": true;
  /** The simulation can never make progress: contexts wait and no event is pending. */
  deadlock: true;
  /** Objects still referenced at teardown. */
  leak: true;
  /** An object used (or got) after its last reference was dropped. */
  "use-after-free": true;
  /** Memory freed twice. */
  "double-free": true;
}

/** A stable finding kind, e.g. `'circular-dependency'`. */
export type FindingKind = keyof FindingKinds;

/** One edge of a dependency chain: `to` was taken while `from` was held. */
export interface DependencyLink {
  readonly from: string;
  readonly to: string;
  /** The context that first took `to` while holding `from`. */
  readonly context: string;
  /** The acquisition of `to`, e.g. `kmalloc(GFP_KERNEL)`. */
  readonly op: string;
  /** How `from` was taken at the time. */
  readonly heldOp: string;
  /** Backtrace at the acquisition of `to`, innermost first. */
  readonly backtrace: readonly string[];
  readonly timeNs: number;
}

/** One stuck context in a deadlock report. */
export interface WaitForEntry {
  readonly context: string;
  readonly waitsFor: string;
  readonly backtrace: readonly string[];
  readonly holds: readonly string[];
}

/** Everything a finding can carry. Only `kind`, `title` and `context` are always present. */
export interface FindingInit {
  kind: FindingKind;
  /** One line: what happened. */
  title: string;
  /** The context that triggered it (`process:compositor/3`). */
  context: string;
  /** Its backtrace, innermost first. */
  backtrace?: readonly string[];
  /** Locks it held, outermost first, as `name (mode) — op`. */
  held?: readonly string[];
  /** For cycles: the new link first, then the existing chain that it closes, in order. */
  chain?: readonly DependencyLink[];
  /** For deadlocks: every stuck context. */
  waitFor?: readonly WaitForEntry[];
  /** Why this is a rule, and what to do instead. */
  explanation?: string;
  /** Free-form detail lines (objects leaked, values involved). */
  details?: readonly string[];
  /**
   * For forward-progress verdicts: what the stuck object waits for, step by step, to the root
   * cause (the first line is the stuck object).
   */
  progress?: readonly string[];
  timeNs: number;
}

/** A validator finding. Immutable; compare `kind`, read `chain`, print with `toString()`. */
export class Finding implements FindingInit {
  readonly kind: FindingKind;
  readonly title: string;
  readonly context: string;
  readonly backtrace: readonly string[];
  readonly held: readonly string[];
  readonly chain: readonly DependencyLink[];
  readonly waitFor: readonly WaitForEntry[];
  readonly explanation: string;
  readonly details: readonly string[];
  readonly progress: readonly string[];
  readonly timeNs: number;
  /** How many more times the same finding was seen and suppressed. */
  repeats = 0;

  constructor(init: FindingInit) {
    this.kind = init.kind;
    this.title = init.title;
    this.context = init.context;
    this.backtrace = init.backtrace ?? [];
    this.held = init.held ?? [];
    this.chain = init.chain ?? [];
    this.waitFor = init.waitFor ?? [];
    this.explanation = init.explanation ?? "";
    this.details = init.details ?? [];
    this.progress = init.progress ?? [];
    this.timeNs = init.timeNs;
  }

  /** The lock classes of a cycle, in order (empty for other kinds). */
  get cycle(): string[] {
    return this.chain.map((l) => l.from);
  }

  toString(): string {
    const rule = "=".repeat(72);
    const out: string[] = [
      rule,
      `drmsim validator: ${this.title} [${this.kind}]`,
      `  at ${formatTimeNs(this.timeNs)} s in ${this.context}`,
      "-".repeat(72),
    ];
    if (this.backtrace.length > 0) {
      out.push(`${this.context}:`);
      for (const f of this.backtrace) out.push(`    ${f}`);
    }
    if (this.held.length > 0) {
      out.push("", "while holding:");
      for (const h of this.held) out.push(`    ${h}`);
    }
    if (this.chain.length > 0) {
      out.push("", "the dependency cycle:");
      this.chain.forEach((link, i) => {
        const tag = i === 0 ? "new" : "seen";
        out.push(`  [${tag}] ${link.from} --> ${link.to}`);
        out.push(`        ${link.to} taken by ${link.op} while holding ${link.from} (${link.heldOp})`);
        out.push(`        in ${link.context} at ${formatTimeNs(link.timeNs)} s`);
        for (const f of link.backtrace) out.push(`          ${f}`);
      });
      out.push(`  cycle: ${[...this.cycle, this.chain[0]!.from].join(" --> ")}`);
    }
    if (this.waitFor.length > 0) {
      out.push("", "stuck contexts (wait-for chain):");
      for (const w of this.waitFor) {
        out.push(`  ${w.context} waits for ${w.waitsFor}`);
        if (w.holds.length > 0) out.push(`      holding ${w.holds.join(", ")}`);
        for (const f of w.backtrace) out.push(`          ${f}`);
      }
    }
    if (this.progress.length > 0) {
      out.push("", "what it waits for, back to the root cause:");
      for (let i = 0; i < this.progress.length; i++)
        out.push(i === 0 ? `    ${this.progress[i]}` : `    --> ${this.progress[i]}`);
    }
    if (this.details.length > 0) {
      out.push("");
      for (const d of this.details) out.push(`  ${d}`);
    }
    if (this.explanation !== "") out.push("", ...wrap(this.explanation, 70).map((l) => `  ${l}`));
    if (this.repeats > 0) out.push("", `  (seen ${this.repeats} more time${this.repeats === 1 ? "" : "s"})`);
    out.push(rule);
    return out.join("\n");
  }

  /** A plain-data form for JSON reports. */
  toJSON(): FindingInit & { repeats: number } {
    return {
      kind: this.kind,
      title: this.title,
      context: this.context,
      backtrace: this.backtrace,
      held: this.held,
      chain: this.chain,
      waitFor: this.waitFor,
      explanation: this.explanation,
      details: this.details,
      progress: this.progress,
      timeNs: this.timeNs,
      repeats: this.repeats,
    };
  }
}

/** Thrown in `throw` mode: carries the finding, prints it as its message. */
export class ValidatorError extends Error {
  override readonly name = "ValidatorError";
  constructor(readonly finding: Finding) {
    super(`\n${finding.toString()}`);
  }
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(" ")) {
      if (line.length > 0 && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line.length > 0 ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}
