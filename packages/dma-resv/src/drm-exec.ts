/**
 * `struct drm_exec` (`include/drm/drm_exec.h`, `drivers/gpu/drm/drm_exec.c`): locks a set of
 * objects' reservations in any order, backing off and retrying on contention.
 *
 * The kernel writes it as a loop with a hidden `goto`:
 * `drm_exec_until_all_locked(exec) { ...; drm_exec_retry_on_contention(exec); }`. Each pass
 * starts with nothing locked; on `-EDEADLK` the contended object is remembered, the pass ends,
 * everything is unlocked, and the next pass slow-locks that object first. drmsim offers the same
 * primitives (`cleanup()` is the loop condition, `isContended` the retry test) for code that
 * mirrors a driver line by line, and `DrmExec.run()`, which cannot be misused: it loops, retries
 * and always finishes — unlock in reverse, references dropped, ticket released — even on error.
 */
import { ERRNO, KernelError, type RefCounted, type Simulator } from "@drmsim/runtime";
import type { DmaResv } from "./dma-resv.js";
import { WwAcquireCtx } from "./ww-acquire-ctx.js";
import { reservationWwClass } from "./ww-class.js";

/** What drm_exec locks: anything reference-counted with a reservation object (a GEM object). */
export interface DrmExecObject {
  /** `drm_gem_object.resv`. */
  readonly resv: DmaResv;
  /** `drm_gem_object_get`. */
  get(): RefCounted;
  /** `drm_gem_object_put`. */
  put(): boolean;
}

/** `DRM_EXEC_*` flags. */
export interface DrmExecFlags {
  /** `DRM_EXEC_INTERRUPTIBLE_WAIT`: lock waits are interruptible (`EINTR`). */
  interruptible?: boolean;
  /** `DRM_EXEC_IGNORE_DUPLICATES`: locking an object twice returns 0 instead of `-EALREADY`. */
  ignoreDuplicates?: boolean;
}

/** Options of `DrmExec.run`. */
export interface DrmExecRunOptions {
  flags?: DrmExecFlags;
  /** `nr`: how many objects to expect (sizes the first array). */
  nrHint?: number;
}

const EDEADLK = -ERRNO.EDEADLK;
const EALREADY = -ERRNO.EALREADY;
/** `DRM_EXEC_DUMMY`: "the ticket is not initialised yet". */
const DUMMY = Symbol("DRM_EXEC_DUMMY");

/** Thrown inside `DrmExec.run` callbacks on contention; `run` catches it and retries. */
class DrmExecContended extends Error {
  override readonly name = "DrmExecContended";
  constructor() {
    super("drm_exec: contended, the pass is retried (this error is internal to DrmExec.run)");
  }
}

/** One instance, thrown every time: contention is frequent, and a fresh stack trace each time is not free. */
const CONTENDED = new DrmExecContended();

/**
 * `struct drm_exec`. `new DrmExec(sim, flags, nrHint)` is `drm_exec_init`. Kernel-shaped use:
 *
 * ```ts
 * const exec = new DrmExec(sim, { interruptible: true });
 * while (exec.cleanup()) {            // drm_exec_until_all_locked
 *   const ret = await exec.prepareObj(obj, 1);
 *   if (exec.isContended) continue;   // drm_exec_retry_on_contention
 *   if (ret !== 0) break;
 * }
 * // ... add fences ...
 * exec.fini();
 * ```
 */
export class DrmExec {
  /** `drm_exec.flags`. */
  readonly flags: Readonly<DrmExecFlags>;
  /** `drm_exec.ticket`, created lazily by the first `cleanup()`. */
  ticket: WwAcquireCtx | null = null;
  private readonly objects: DrmExecObject[] = [];
  private contended: DrmExecObject | null | typeof DUMMY = DUMMY;
  private prelocked: DrmExecObject | null = null;
  private autoRetry = false;
  private finished = false;

  constructor(
    readonly sim: Simulator,
    flags: DrmExecFlags = {},
    /** `nr`: expected number of objects (a hint). */
    readonly nrHint = 0,
  ) {
    this.flags = { ...flags };
  }

  /**
   * The misuse-proof form of `drm_exec_until_all_locked`: runs `fn` until one pass locks
   * everything without contention, then finishes the exec (also when `fn` throws) and returns
   * what `fn` returned. Inside `fn`, `lockObj`/`prepareObj`/`prepareArray` resolve to 0 or throw:
   * contention restarts `fn` from the top with nothing locked (so take every lock before adding
   * fences); `-EALREADY` without `ignoreDuplicates` throws `EALREADY`; other errors propagate.
   */
  static async run<T>(
    sim: Simulator,
    opts: DrmExecRunOptions,
    fn: (exec: DrmExec) => Promise<T> | T,
  ): Promise<T> {
    const exec = new DrmExec(sim, opts.flags, opts.nrHint);
    exec.autoRetry = true;
    try {
      let result: T | undefined;
      while (exec.cleanup()) {
        try {
          result = await fn(exec);
        } catch (e) {
          if (e !== CONTENDED || !exec.isContended) throw e;
        }
      }
      return result as T;
    } finally {
      exec.fini();
    }
  }

  /** `drm_exec_is_contended()`: the pass hit `-EDEADLK` and must be retried. */
  get isContended(): boolean {
    return this.contended !== null && this.contended !== DUMMY;
  }

  /**
   * `drm_exec_cleanup()`, the condition of `drm_exec_until_all_locked`: true to run (another)
   * pass. The first call creates the ticket; after a contended pass it unlocks everything; after
   * a clean pass it closes the acquire phase (`ww_acquire_done`) and returns false.
   */
  cleanup(): boolean {
    if (this.finished) throw new KernelError("EINVAL", "drm_exec_cleanup after drm_exec_fini");
    if (this.contended === null) {
      this.ticket!.done();
      return false;
    }
    if (this.contended === DUMMY) {
      this.contended = null;
      this.ticket = new WwAcquireCtx(this.sim, reservationWwClass(this.sim));
      return true;
    }
    this.unlockAll();
    return true;
  }

  /**
   * `drm_exec_lock_obj(exec, obj)`: locks `obj`'s reservation and records it (taking a
   * reference). Resolves to 0, `-EDEADLK` (contended: end the pass; see `isContended`) or
   * `-EALREADY` (already locked by this exec; 0 with `ignoreDuplicates`). Throws `EINTR` when an
   * interruptible wait is signalled. Inside `run()`, see there.
   */
  async lockObj(obj: DrmExecObject): Promise<number> {
    const ticket = this.requireTicket("drm_exec_lock_obj");
    await this.lockContended(ticket);
    if (this.prelocked === obj) {
      this.prelocked.put();
      this.prelocked = null;
      return 0;
    }
    const ret =
      this.flags.interruptible === true
        ? await obj.resv.lockInterruptible(ticket)
        : await obj.resv.lock(ticket);
    if (ret === EDEADLK) {
      obj.get();
      this.contended = obj;
      if (this.autoRetry) throw CONTENDED;
      return EDEADLK;
    }
    if (ret === EALREADY) {
      if (this.flags.ignoreDuplicates === true) return 0;
      if (this.autoRetry)
        throw new KernelError(
          "EALREADY",
          `drm_exec_lock_obj: ${obj.resv.name} is already locked by this exec`,
        );
      return EALREADY;
    }
    this.objLocked(obj);
    return 0;
  }

  /** `drm_exec_unlock_obj(exec, obj)`: unlocks one object and forgets it, keeping the order of the rest. */
  unlockObj(obj: DrmExecObject): void {
    for (let i = this.objects.length - 1; i >= 0; i--) {
      if (this.objects[i] !== obj) continue;
      obj.resv.unlock();
      this.objects.splice(i, 1);
      obj.put();
      return;
    }
  }

  /**
   * `drm_exec_prepare_obj(exec, obj, numFences)`: `lockObj` + `reserveFences(numFences)`; if the
   * reservation fails (`ENOMEM`, thrown) the object is unlocked again. Returns `lockObj`'s status.
   */
  async prepareObj(obj: DrmExecObject, numFences: number): Promise<number> {
    const ret = await this.lockObj(obj);
    if (ret !== 0) return ret;
    try {
      obj.resv.reserveFences(numFences);
    } catch (e) {
      this.unlockObj(obj);
      throw e;
    }
    return 0;
  }

  /** `drm_exec_prepare_array(exec, objs, numFences)`: `prepareObj` for each, stopping at the first non-zero status. */
  async prepareArray(objs: readonly DrmExecObject[], numFences: number): Promise<number> {
    for (const obj of objs) {
      const ret = await this.prepareObj(obj, numFences);
      if (ret !== 0) return ret;
    }
    return 0;
  }

  /** `drm_exec_for_each_locked_object`: the locked objects, in locking order (a copy). */
  lockedObjects(): DrmExecObject[] {
    return this.objects.slice();
  }

  /** `drm_exec_for_each_locked_object_reverse`. */
  lockedObjectsReverse(): DrmExecObject[] {
    return this.objects.slice().reverse();
  }

  /** `drm_exec.num_objects`. */
  get numObjects(): number {
    return this.objects.length;
  }

  /**
   * `drm_exec_fini()`: unlocks every object in reverse order, drops the references (also the one
   * to a pending contended object) and releases the ticket. Safe to call once; later calls do
   * nothing.
   */
  fini(): void {
    if (this.finished) return;
    this.finished = true;
    this.unlockAll();
    if (this.contended !== DUMMY) {
      if (this.contended !== null) this.contended.put();
      this.contended = null;
      this.ticket!.fini();
    }
  }

  private requireTicket(op: string): WwAcquireCtx {
    if (this.finished) throw new KernelError("EINVAL", `${op} after drm_exec_fini`);
    if (this.ticket === null || this.contended === DUMMY)
      throw new KernelError("EINVAL", `${op} outside drm_exec_until_all_locked (call cleanup() first)`);
    return this.ticket;
  }

  /** `drm_exec_lock_contended()`: slow-locks the object that made the previous pass fail. */
  private async lockContended(ticket: WwAcquireCtx): Promise<void> {
    const obj = this.contended;
    if (obj === null || obj === DUMMY) return;
    this.contended = null;
    try {
      if (this.flags.interruptible === true) await obj.resv.lockSlowInterruptible(ticket);
      else await obj.resv.lockSlow(ticket);
    } catch (e) {
      obj.put();
      throw e;
    }
    this.objLocked(obj);
    this.prelocked = obj;
  }

  /** `drm_exec_obj_locked()`: records a locked object with a reference. */
  private objLocked(obj: DrmExecObject): void {
    obj.get();
    this.objects.push(obj);
  }

  /** `drm_exec_unlock_all()`. */
  private unlockAll(): void {
    const objs = this.objects;
    while (objs.length > 0) {
      const obj = objs.pop()!;
      obj.resv.unlock();
      obj.put();
    }
    if (this.prelocked !== null) {
      this.prelocked.put();
      this.prelocked = null;
    }
  }
}
