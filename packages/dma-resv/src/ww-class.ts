/**
 * `struct ww_class` (`include/linux/ww_mutex.h`): the family a set of wound/wait mutexes belongs
 * to. All mutexes of one class share one lock class for the validator and one ticket counter, so
 * acquire contexts of that class can be ordered by age.
 *
 * Only the Wait-Die flavour (`DEFINE_WD_CLASS`) is modelled: it is what `reservation_ww_class`
 * uses, and so what every dma_resv and drm_exec user in the kernel runs on.
 */
import type { LockClass, Simulator } from "@drmsim/runtime";

/**
 * `struct ww_class`, defined with `DEFINE_WD_CLASS(name)`. Create one per kind of object you lock
 * together; use `reservationWwClass(sim)` for dma_resv objects.
 */
export class WwClass {
  /** `ww_class.stamp`: the last ticket handed out; tickets only grow, so lower means older. */
  stamp = 0;
  /** The validator class of every mutex in this ww class (`<name>_mutex`, like lockdep names it). */
  readonly mutexClass: LockClass;
  /** The validator class of the acquire contexts (`<name>_acquire`), held from init to fini. */
  readonly acquireClass: LockClass;
  /** `ww_class.is_wait_die`: always true here (Wait-Die). */
  readonly isWaitDie = true;

  constructor(
    readonly sim: Simulator,
    /** The class name, e.g. `reservation_ww_class`. */
    readonly name: string,
  ) {
    this.mutexClass = sim.validator.lockClass(`${name}_mutex`, "ww_mutex");
    this.acquireClass = sim.validator.lockClass(`${name}_acquire`, "map");
  }
}

const RESERVATION = {};

/**
 * `reservation_ww_class` (`drivers/dma-buf/dma-resv.c`): the Wait-Die class of every dma_resv
 * lock, one per simulator. Its mutex class is the validator's own `reservation` class, so the
 * boot-time `dma_resv_lockdep()` priming applies to every dma_resv lock.
 */
export function reservationWwClass(sim: Simulator): WwClass {
  return sim.subsystem(RESERVATION, () => new WwClass(sim, "reservation_ww_class"));
}
