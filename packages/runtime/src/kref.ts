/**
 * Reference counting (`struct kref`, `include/linux/kref.h`) with the checks KASAN and
 * `CONFIG_DEBUG_OBJECTS` give the kernel: a get or put after the count reached zero is reported
 * as `use-after-free`, and every object still referenced at `sim.teardown()` is reported as a
 * `leak`, grouped by type.
 */

import type { ExecutionContext } from "./context.js";
import { frameList } from "./context.js";
import type { LiveRefs } from "./live-refs.js";
import type { Validator } from "./lockdep/validator.js";

/** What reference counting needs from the simulator. */
export interface RefHost {
  readonly validator: Validator;
  readonly current: ExecutionContext;
  /** Live objects, tracked only while the validator is enabled. */
  readonly liveRefs: LiveRefs;
}

/**
 * Base class for reference-counted simulator objects (fences, buffers, GEM objects). The count
 * starts at 1 (`kref_init`); `release()` runs when it drops to 0.
 */
export abstract class RefCounted {
  // Fields are `declare`d and assigned in the constructor rather than written as class fields:
  // V8 does not inline a base-class constructor that has field initializers, which made every
  // subclass (fences, files, buffers) about 2× slower to construct.
  /** `kref.refcount`. */
  declare private refs: number;
  /** The simulator (or test host) the object lives in. */
  declare protected readonly refHost: RefHost;

  constructor(refHost: RefHost) {
    this.refs = 1;
    this.refHost = refHost;
    if (refHost.validator.enabled) refHost.liveRefs.add(this);
  }

  /** `kref_read()`. */
  get refcount(): number {
    return this.refs;
  }

  /** A short name for leak and use-after-free reports, e.g. `dma_fence amdgpu:gfx#3`. */
  abstract describe(): string;

  /** Called once when the last reference is dropped (`kref_put`'s release function). */
  protected abstract release(): void;

  /** `kref_get()`. Reports `use-after-free` on an object whose count already reached 0. */
  get(): this {
    if (this.refs <= 0) {
      this.useAfterFree("get");
      return this;
    }
    this.refs++;
    return this;
  }

  /** `kref_get_unless_zero()`: takes a reference only if the object is still live. */
  getUnlessZero(): boolean {
    if (this.refs <= 0) return false;
    this.refs++;
    return true;
  }

  /** `kref_put()`. Returns true if this dropped the last reference and released the object. */
  put(): boolean {
    const refs = this.refs;
    if (refs > 1) {
      this.refs = refs - 1;
      return false;
    }
    return this.putLast(refs);
  }

  /** The last reference, or one too many: kept out of `put()` so the common case stays tiny. */
  private putLast(refs: number): boolean {
    if (refs <= 0) {
      this.useAfterFree("put");
      return false;
    }
    this.refs = 0;
    // A count of 0 is what takes it off the live list; the registry only counts the release.
    const host = this.refHost;
    if (host.validator.enabled) host.liveRefs.noteReleased();
    this.release();
    return true;
  }

  /** Reports `use-after-free` if the object was released; call at the top of operations. */
  assertLive(op: string): void {
    if (this.refs <= 0) this.useAfterFree(op);
  }

  private useAfterFree(op: string): void {
    const ctx = this.refHost.current;
    this.refHost.validator.report({
      kind: "use-after-free",
      title: `${op} on ${this.describe()} after its last reference was dropped`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation:
        "Every user of a reference-counted object must hold its own reference (get) for as long " +
        "as it uses the object, and drop it (put) exactly once.",
    });
  }
}

/** A standalone `struct kref` for objects that do not extend `RefCounted`. */
export class Kref extends RefCounted {
  constructor(
    host: RefHost,
    private readonly label: string,
    private readonly onRelease: () => void = () => {},
  ) {
    super(host);
  }

  describe(): string {
    return this.label;
  }

  protected release(): void {
    this.onRelease();
  }
}
