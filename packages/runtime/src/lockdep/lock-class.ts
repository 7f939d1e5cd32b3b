/**
 * Lock classes (`struct lock_class` / `lock_class_key`). Lockdep reasons about classes, not
 * instances: every `&vm->lock` of every VM is one class, so an ordering seen on two VMs in two
 * contexts is an inversion even if no single pair of objects ever deadlocks.
 */

import type { Frame } from "../context.js";
import type { HeldLockEntry } from "./held-lock.js";

/** What kind of lock a class describes; decides the sleep rules. */
export type LockKind = "mutex" | "spinlock" | "rwsem" | "ww_mutex" | "map" | "workqueue";

let nextClassId = 1;

/**
 * Usage bits of a class (`enum lock_usage_bit`, the write-side hardirq pair only): taken in
 * hardirq context, and taken in process context with hardirqs enabled. A class with both can
 * deadlock against itself on one CPU: the interrupt spins on a lock its own CPU's task holds.
 */
export const LOCK_USED_IN_HARDIRQ = 1;
/** See `LOCK_USED_IN_HARDIRQ`: `LOCK_ENABLED_HARDIRQ`. */
export const LOCK_ENABLED_HARDIRQ = 2;

/** The first acquisition that set a usage bit (`class->usage_traces[bit]`), for the report. */
export interface UsageWitness {
  readonly context: string;
  readonly op: string;
  readonly frame: Frame | null;
  readonly timeNs: number;
}

/** `struct lock_class` (`include/linux/lockdep_types.h`): one node of the dependency graph. */
export class LockClass {
  /** @internal Usage bits are tracked for spinlocks only: the other kinds sleep, and are refused in irq context anyway. */
  readonly irqTracked: boolean;
  /** @internal `class->usage_mask`: `LOCK_USED_IN_HARDIRQ | LOCK_ENABLED_HARDIRQ`. */
  usage = 0;
  /** @internal `class->usage_traces`: the acquisition that first set each bit. */
  usedInIrq: UsageWitness | null = null;
  /** @internal */
  enabledIrq: UsageWitness | null = null;

  /**
   * What is special about locks of this class, for reports that involve it (set by the code that
   * owns the class: a fence lock's callbacks run under it). Appended to the finding's explanation.
   */
  rule: string | null = null;

  /**
   * @internal The held-lock entry `Validator.acquireInstance` lends to one acquisition of this
   * class at a time (locks without an object of their own to keep a site on), made on first use.
   */
  instanceSite: HeldLockEntry | null = null;

  /** Unique per process; stable in creation order, and used as a graph key. */
  readonly id: number;

  constructor(
    /** The class name as lockdep prints it: `&vm->lock`, `reservation_ww_class_mutex`, `dma_fence_map`. */
    readonly name: string,
    readonly kind: LockKind,
  ) {
    this.id = nextClassId++;
    this.irqTracked = kind === "spinlock";
  }

  /** Spinlocks (and fake maps) do not sleep when contended; mutexes, rwsems and ww_mutexes do. */
  get sleeping(): boolean {
    return this.kind === "mutex" || this.kind === "rwsem" || this.kind === "ww_mutex";
  }

  /** The class name (`lockdep_print_held_locks` style). */
  toString(): string {
    return this.name;
  }
}
