/**
 * `struct dma_fence_array` (`include/linux/dma-fence-array.h`, `drivers/dma-buf/dma-fence-array.c`):
 * one fence standing for many. It signals when all of its members have signalled, or — with
 * `signalOnAny` — when the first one has. Its error is the first non-zero error a member reported.
 *
 * Why it exists: a job, a merged sync_file or a reservation object often has to expose several
 * fences where the API has room for one. The array holds a reference to each member and is
 * itself an ordinary fence, on a context of its own.
 *
 * Signalling is lazy, as in the kernel: the array only installs callbacks on its members once
 * somebody enables signalling on it (a wait, a callback, `enableSwSignaling`). Until then,
 * `isSignaled()` polls the members. The array's lock has a class of its own
 * (`&dma_fence_array_lock_key`, as 7.1 sets it), so taking members' locks under it while
 * enabling signalling is legal; the reverse is not, so — as in the kernel — the last member's
 * callback does not signal the array under the member's lock but hands that to an irq_work
 * (`irqWorkQueue`: run at once, in the irq_work context, holding nothing).
 *
 * A kernel quirk kept on purpose: member errors are collected by the member callbacks, so an
 * array that completes by being polled (`isSignaled()` before anyone enabled signalling) reports
 * no error. Arm it (`enableSwSignaling`, a callback or a wait) if the error matters.
 *
 * Arrays must not contain containers (arrays or chains): the kernel WARNs, because waiting code
 * and `dma_fence_unwrap` only look one level deep. Flatten with `dmaFenceUnwrapMerge` instead.
 */
import {
  frameList,
  GFP_KERNEL,
  type Gfp,
  irqWorkQueue,
  KernelError,
  type ProgressStep,
  type Simulator,
} from "@drmsim/runtime";
import { DmaFence, type DmaFenceCb, DmaFenceFlag, type DmaFenceOps } from "./dma-fence.js";
import { dmaFenceIsChain } from "./dma-fence-chain.js";
import { dmaFenceSetLockClass } from "./dma-fence-lock.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /** A container (array or chain) put inside a `dma_fence_array` (the kernel WARNs). */
    "fence-array-nested": true;
  }
}

/** The error value an array carries while no member has reported one (`PENDING_ERROR`). */
const PENDING_ERROR = 1;

/** Approximate `sizeof(struct dma_fence_array)` and of one member's callback, for memory accounting. */
const ARRAY_BYTES = 128;
const CB_BYTES = 32;

const arrayOps: DmaFenceOps<DmaFenceArray> = {
  getDriverName: () => "dma_fence_array",
  getTimelineName: () => "unbound",
  enableSignaling: (a) => a.enableSignalingMembers(),
  signaled: (a) => a.pollSignaled(),
  // Present so the ops stay attached after signal, as the kernel's do (the names detach anyway:
  // `dma_fence_driver_name()` answers "detached-driver" for every signalled fence).
  release: () => {},
  setDeadline: (a, deadlineNs) => {
    for (const f of a.fences) f.setDeadline(deadlineNs);
  },
};

/** One member's callback (`struct dma_fence_array_cb`). */
class ArrayCb implements DmaFenceCb {
  constructor(readonly array: DmaFenceArray) {}
  func(f: DmaFence): void {
    this.array.memberSignalled(f);
  }
}

/**
 * Memory reserved by `dmaFenceArrayAlloc` for an array of up to `capacity` fences, so that
 * `dmaFenceArrayInit` cannot fail and may run on a signalling path.
 */
export class DmaFenceArrayPrealloc {
  /** @internal */
  used = false;
  constructor(
    readonly sim: Simulator,
    /** How many fences the memory has room for. */
    readonly capacity: number,
    /** @internal */
    readonly allocation: ReturnType<Simulator["mm"]["kmalloc"]>,
  ) {}
}

/**
 * `struct dma_fence_array`. Create one with `dmaFenceArrayCreate` (or `dmaFenceArrayAlloc` +
 * `dmaFenceArrayInit`).
 */
export class DmaFenceArray extends DmaFence {
  /** `dma_fence_array.fences`: the members; the array owns one reference to each. */
  readonly fences: readonly DmaFence[];
  /** `dma_fence_array.num_pending`: members still to signal before the array does. */
  numPending: number;
  private readonly memberCbs: ArrayCb[] = [];
  private readonly allocation: DmaFenceArrayPrealloc["allocation"];

  /** @internal Use `dmaFenceArrayCreate` / `dmaFenceArrayInit`. */
  constructor(
    prealloc: DmaFenceArrayPrealloc,
    fences: readonly DmaFence[],
    context: number,
    seqno: number,
    /** `signal_on_any`. */
    readonly signalOnAny: boolean,
  ) {
    // dma_fence_array_init's lockdep_set_class: container -> member nesting is legal.
    dmaFenceSetLockClass(arrayOps, "&dma_fence_array_lock_key");
    super(prealloc.sim, arrayOps as DmaFenceOps, context, seqno);
    this.fences = fences;
    this.numPending = signalOnAny ? 1 : fences.length;
    this.allocation = prealloc.allocation;
    // Cleared to 0 when the array signals without any member having failed.
    this.error = PENDING_ERROR;
  }

  /** Forward-progress verdicts: an array waits for its unsignalled members. */
  override progressWaitsFor(): ProgressStep | undefined {
    if (this.signaled) return undefined;
    const waiting = this.fences.filter((m) => !m.signaled);
    return {
      what: `${this.describe()} waits for ${this.signalOnAny ? "any" : "all"} of ${waiting.length} unsignalled member(s)`,
      next: waiting,
    };
  }

  /** `dma_fence_array.num_fences`. */
  get numFences(): number {
    return this.fences.length;
  }

  /** @internal `dma_fence_array_enable_signaling`. */
  enableSignalingMembers(): boolean {
    const fences = this.fences;
    for (let i = 0; i < fences.length; i++) {
      let cb = this.memberCbs[i];
      if (cb === undefined) {
        cb = new ArrayCb(this);
        this.memberCbs[i] = cb;
      }
      // Each installed callback keeps the array alive until it has run: the core only holds the
      // array until it signals, which with signal-on-any is before every member has.
      this.get();
      if (fences[i]!.addCallback(cb) !== 0) {
        this.setPendingError(fences[i]!.error);
        this.put();
        if (--this.numPending === 0) {
          this.clearPendingError();
          return false;
        }
      }
    }
    return true;
  }

  /** @internal `dma_fence_array_cb_func`. */
  memberSignalled(f: DmaFence): void {
    this.setPendingError(f.error);
    // The last one hands the callback's reference to the irq_work (`dma_fence_array_irq_work`),
    // which signals the array once no member lock is held.
    if (--this.numPending === 0) irqWorkQueue(this.sim, () => this.signalWork());
    else this.put();
  }

  /** `dma_fence_array_irq_work`. */
  private signalWork(): void {
    this.clearPendingError();
    this.signal();
    this.put();
  }

  /** @internal `dma_fence_array_signaled`. */
  pollSignaled(): boolean {
    let pending = this.numPending;
    if ((this.flags & DmaFenceFlag.ENABLE_SIGNAL) !== 0) {
      // The member callbacks keep count; trust them.
      if (pending > 0) return false;
    } else {
      let done = false;
      for (const f of this.fences) {
        if (f.isSignaled() && --pending === 0) {
          done = true;
          break;
        }
      }
      if (!done) return false;
    }
    this.clearPendingError();
    return true;
  }

  private setPendingError(err: number): void {
    // Only the first error sticks: later ones would make the result depend on signal order.
    if (err !== 0 && this.error === PENDING_ERROR) this.error = err;
  }

  private clearPendingError(): void {
    if (this.error === PENDING_ERROR) this.error = 0;
  }

  override describe(): string {
    return `dma_fence_array of ${this.fences.length} ctx ${this.context}#${this.seqno}${this.signaled ? " (signaled)" : ""}`;
  }

  /** `dma_fence_array_release`: drops the member references and frees the memory. */
  protected override release(): void {
    super.release();
    for (const f of this.fences) f.put();
    this.sim.mm.kfree(this.allocation);
  }
}

/**
 * `dma_fence_array_alloc(num_fences)`: reserves memory for an array of `numFences` members
 * (allocates with `gfp`, GFP_KERNEL by default, so never inside a signalling section). Throws
 * `ENOMEM` when the allocation fails.
 */
export function dmaFenceArrayAlloc(
  sim: Simulator,
  numFences: number,
  gfp: Gfp = GFP_KERNEL,
): DmaFenceArrayPrealloc {
  if (!Number.isInteger(numFences) || numFences < 1)
    throw new KernelError("EINVAL", `dma_fence_array_alloc: need at least one fence, got ${numFences}`);
  const a = sim.mm.kmalloc(ARRAY_BYTES + CB_BYTES * numFences, gfp, "dma_fence_array_alloc");
  return new DmaFenceArrayPrealloc(sim, numFences, a);
}

/**
 * `dma_fence_array_init(array, num_fences, fences, context, seqno, signal_on_any)`: builds the
 * array in memory from `dmaFenceArrayAlloc`. Takes ownership of the caller's reference to every
 * fence in `fences`. Does not allocate.
 *
 * Refused with `EINVAL`, nothing consumed: no fences, more fences than were allocated for, memory
 * already used, or a member that is itself an array or chain (also reported as
 * `fence-array-nested`: flatten instead).
 */
export function dmaFenceArrayInit(
  prealloc: DmaFenceArrayPrealloc,
  fences: readonly DmaFence[],
  context: number,
  seqno: number,
  signalOnAny: boolean,
): DmaFenceArray {
  if (prealloc.used)
    throw new KernelError("EINVAL", "dma_fence_array_init: this memory already holds an array");
  if (fences.length === 0)
    throw new KernelError("EINVAL", "dma_fence_array_init: an array needs at least one fence");
  if (fences.length > prealloc.capacity)
    throw new KernelError(
      "EINVAL",
      `dma_fence_array_init: ${fences.length} fences do not fit in memory allocated for ${prealloc.capacity}`,
    );
  const sim = prealloc.sim;
  for (const f of fences) {
    if (!dmaFenceIsContainer(f)) continue;
    const ctx = sim.current;
    sim.validator.report({
      kind: "fence-array-nested",
      title: `dma_fence_array_init: member ${f.describe()} is itself a container`,
      context: ctx.label,
      backtrace: frameList(ctx.frame),
      explanation:
        "An array's members must be plain fences: code that unwraps fences looks one level deep. " +
        "Flatten the fences first (dmaFenceUnwrapMerge / dmaFenceUnwrap).",
    });
    throw new KernelError("EINVAL", `dma_fence_array_init: ${f.describe()} is a container; flatten it first`);
  }
  prealloc.used = true;
  return new DmaFenceArray(prealloc, [...fences], context, seqno, signalOnAny);
}

/**
 * `dma_fence_array_create(num_fences, fences, context, seqno, signal_on_any)`: allocates and
 * initialises an array, taking ownership of the caller's references to `fences`. Returns null
 * when the allocation fails (ENOMEM), with the references still the caller's. Refused like
 * `dmaFenceArrayInit`.
 */
export function dmaFenceArrayCreate(
  sim: Simulator,
  fences: readonly DmaFence[],
  context: number,
  seqno: number,
  signalOnAny: boolean,
): DmaFenceArray | null {
  if (fences.length === 0)
    throw new KernelError("EINVAL", "dma_fence_array_create: an array needs at least one fence");
  let prealloc: DmaFenceArrayPrealloc;
  try {
    prealloc = dmaFenceArrayAlloc(sim, fences.length);
  } catch (e) {
    if (e instanceof KernelError && e.code === "ENOMEM") return null;
    throw e;
  }
  try {
    return dmaFenceArrayInit(prealloc, fences, context, seqno, signalOnAny);
  } catch (e) {
    sim.mm.kfree(prealloc.allocation);
    throw e;
  }
}

/** `dma_fence_is_array()`. */
export function dmaFenceIsArray(f: DmaFence | null | undefined): f is DmaFenceArray {
  return f instanceof DmaFenceArray;
}

/** `to_dma_fence_array()`: the array, or null if `f` is not one. */
export function toDmaFenceArray(f: DmaFence | null | undefined): DmaFenceArray | null {
  return f instanceof DmaFenceArray ? f : null;
}

/** `dma_fence_is_container()`: an array or a chain. */
export function dmaFenceIsContainer(f: DmaFence | null | undefined): boolean {
  return dmaFenceIsArray(f) || dmaFenceIsChain(f);
}

/**
 * `dma_fence_array_first(head)`: the first member of an array, `head` itself if it is not an
 * array, null for null. No reference is taken.
 */
export function dmaFenceArrayFirst(head: DmaFence | null): DmaFence | null {
  if (head === null) return null;
  if (!(head instanceof DmaFenceArray)) return head;
  return head.fences[0] ?? null;
}

/** `dma_fence_array_next(head, index)`: member `index` of an array, or null past the end (or for a non-array). */
export function dmaFenceArrayNext(head: DmaFence | null, index: number): DmaFence | null {
  if (!(head instanceof DmaFenceArray)) return null;
  return head.fences[index] ?? null;
}

/** `dma_fence_array_for_each(fence, index, head)`: the members of an array, or `head` alone. */
export function* dmaFenceArrayForEach(head: DmaFence | null): Generator<DmaFence> {
  let index = 0;
  for (let f = dmaFenceArrayFirst(head); f !== null; f = dmaFenceArrayNext(head, ++index)) yield f;
}

/**
 * `dma_fence_match_context(fence, context)`: true if `fence` is on `context`, or — for an array —
 * if every member is.
 */
export function dmaFenceMatchContext(fence: DmaFence, context: number): boolean {
  if (!(fence instanceof DmaFenceArray)) return fence.context === context;
  for (const f of fence.fences) if (f.context !== context) return false;
  return true;
}
