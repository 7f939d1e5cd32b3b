/**
 * Lock classes (`struct lock_class` / `lock_class_key`). Lockdep reasons about classes, not
 * instances: every `&vm->lock` of every VM is one class, so an ordering seen on two VMs in two
 * contexts is an inversion even if no single pair of objects ever deadlocks.
 */

/** What kind of lock a class describes; decides the sleep rules. */
export type LockKind = "mutex" | "spinlock" | "rwsem" | "ww_mutex" | "map" | "workqueue";

let nextClassId = 1;

export class LockClass {
  /** Unique per process; stable in creation order, and used as a graph key. */
  readonly id: number;

  constructor(
    /** The class name as lockdep prints it: `&vm->lock`, `reservation_ww_class_mutex`, `dma_fence_map`. */
    readonly name: string,
    readonly kind: LockKind,
  ) {
    this.id = nextClassId++;
  }

  /** Spinlocks (and fake maps) do not sleep when contended; mutexes, rwsems and ww_mutexes do. */
  get sleeping(): boolean {
    return this.kind === "mutex" || this.kind === "rwsem" || this.kind === "ww_mutex";
  }

  toString(): string {
    return this.name;
  }
}
