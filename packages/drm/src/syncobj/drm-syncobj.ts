/**
 * `struct drm_syncobj` (`include/drm/drm_syncobj.h`, `drivers/gpu/drm/drm_syncobj.c`): a container
 * for one dma_fence pointer, which may be null.
 *
 * A *binary* syncobj is used by replacing that fence (`replaceFence`): signal = install a
 * signalled fence, reset = install null, submit = install the job's fence. A *timeline* syncobj
 * holds a `DmaFenceChain`: every submission adds a link for a 64-bit point (`addPoint`), and
 * waiting on point N finds the oldest link that must still signal for N to be reached. Point 0
 * always means "the fence as it is", so binary use works on any syncobj.
 *
 * Waiting for a fence to *appear* (WAIT_FOR_SUBMIT, WAIT_AVAILABLE, eventfd notification) is
 * done with wait entries on the syncobj, re-checked every time its fence changes — never by
 * creating a fence that signals when userspace gets round to submitting. Such a fence would wait
 * on userspace, an indefinite fence (seed 004: the stall for a not-yet-submitted point belongs in
 * the waiting process, where it is bounded by a timeout and interruptible, not inside a
 * dma_fence that memory management may end up waiting on).
 *
 * The kernel guards the fence pointer and the wait lists with `syncobj->lock`, a spinlock; the
 * simulator is single-threaded and every update here runs to completion, so no lock is modelled.
 */
import {
  type DmaFence,
  type DmaFenceCb,
  DmaFenceChain,
  dmaFenceAllocatePrivateStub,
  dmaFenceChainAlloc,
  dmaFenceChainFindSeqno,
  dmaFenceChainWalk,
  dmaFenceGetStub,
} from "@drmsim/dma-fence";
import {
  type Allocation,
  frameList,
  GFP_KERNEL,
  KernelError,
  RefCounted,
  type Simulator,
  type Sleeper,
} from "@drmsim/runtime";
import type { EventfdCtx } from "./eventfd.js";
import { installSyncobjProgress } from "./syncobj-progress.js";
import {
  DRM_SYNCOBJ_CREATE_SIGNALED,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE,
  DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
  DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS,
} from "./uapi.js";

declare module "@drmsim/runtime" {
  interface FindingKinds {
    /**
     * A wait for a syncobj fence to be submitted (WAIT_FOR_SUBMIT) with locks held. The submitter
     * is userspace, which may need those locks (or a page fault under them) to submit: the kernel
     * asserts that no lock is held (`lockdep_assert_none_held_once`).
     */
    "syncobj-wait-with-locks-held": true;
    /**
     * A driver's own ioctl (a submission) looked up an in-syncobj with WAIT_FOR_SUBMIT: the
     * kernel would block until another process submits. Seed 004: that stall belongs in
     * userspace, even with no lock held.
     */
    "wait-for-submit-in-kernel": true;
  }
}

/**
 * `struct syncobj_wait_entry`: one waiter for a point to appear. When the syncobj's fence changes
 * and the point can be found, `fence` is set (a reference the waiter owns) and `wake` runs.
 * @internal
 */
export interface SyncobjWaitEntry {
  readonly point: bigint;
  fence: DmaFence | null;
  wake(): void;
}

/** `struct syncobj_eventfd_entry`: an eventfd to signal once a point appears (or signals). @internal */
interface SyncobjEventfdEntry {
  readonly point: bigint;
  readonly flags: number;
  readonly ev: EventfdCtx;
  /** The entry's memory (`drm_syncobj_eventfd_ioctl`'s kzalloc), freed with the entry. */
  readonly mem: Allocation;
}

/** `sizeof(struct syncobj_eventfd_entry)`, an estimate. */
const SYNCOBJ_EVENTFD_ENTRY_BYTES = 96;

/** Per-simulator key of the syncobj id counter, so two runs number their syncobjs alike. */
const IDS = {};

/** `sizeof(struct drm_syncobj)` (refcount, fence, cb and eventfd lists, lock, file), an estimate. */
const DRM_SYNCOBJ_BYTES = 96;

/**
 * `struct drm_syncobj`. `new DrmSyncobj(sim, flags, fence)` is `drm_syncobj_create`: the caller
 * holds the first reference; `DRM_SYNCOBJ_CREATE_SIGNALED` installs a signalled stub, `fence` (if
 * given) is installed after that (a new reference is taken). The struct is a `GFP_KERNEL`
 * allocation from site `drm_syncobj_create`: `ENOMEM` when it fails, nothing created.
 */
export class DrmSyncobj extends RefCounted {
  /** A stable number for reports: 1, 2, … per simulator. */
  readonly id: number;
  private fence: DmaFence | null = null;
  /** `syncobj->cb_list`: waiters for a point to appear. */
  private readonly cbList: SyncobjWaitEntry[] = [];
  /** `syncobj->ev_fd_list`: eventfds waiting for a point to appear. */
  private readonly evList: SyncobjEventfdEntry[] = [];
  /** The struct's memory (`drm_syncobj_create`'s kzalloc), freed on release. */
  private readonly mem: Allocation;

  constructor(
    readonly sim: Simulator,
    flags = 0,
    fence: DmaFence | null = null,
  ) {
    // Allocated first: on ENOMEM no syncobj (and no tracked reference) exists.
    const mem = sim.mm.kmalloc(DRM_SYNCOBJ_BYTES, GFP_KERNEL, "drm_syncobj_create");
    super(sim);
    this.id = sim.subsystem(IDS, () => ({ n: 1 })).n++;
    this.mem = mem;
    if ((flags & DRM_SYNCOBJ_CREATE_SIGNALED) !== 0) this.assignNullHandle();
    if (fence !== null) this.replaceFence(fence);
  }

  describe(): string {
    return `drm_syncobj #${this.id}`;
  }

  /** `drm_syncobj_fence_get()`: a new reference to the current fence, or null. */
  fenceGet(): DmaFence | null {
    return this.fence === null ? null : this.fence.get();
  }

  /** The current fence without a reference (for inspection; do not keep it). */
  get currentFence(): DmaFence | null {
    return this.fence;
  }

  /**
   * `drm_syncobj_replace_fence()`: installs `fence` (taking a reference; null resets) and drops
   * the old one. If the fence changed, waiters for a point to appear re-check.
   */
  replaceFence(fence: DmaFence | null): void {
    this.assertLive("drm_syncobj_replace_fence");
    fence?.get();
    const old = this.fence;
    this.fence = fence;
    if (fence !== old) this.wakeWaiters();
    old?.put();
  }

  /**
   * `drm_syncobj_add_point()`: makes `fence` timeline point `point`, as a new `DmaFenceChain` link
   * on top of the current fence (the caller keeps its reference to `fence`). Waiters for the point
   * wake. A point not later than the current head is accepted, as in the kernel, but starts a new
   * chain context, after which QUERY can no longer see past it.
   *
   * The kernel takes a pre-allocated chain so the call cannot fail once the submission is past its
   * point of no return: pass that memory (`dmaFenceChainAlloc`) as `chainMem` and the call
   * cannot fail with `ENOMEM` (it takes the memory over; on `EINVAL` it stays the caller's).
   * Without it the link is allocated here first (site `dma_fence_chain_alloc`), so `ENOMEM`
   * leaves the syncobj unchanged.
   */
  addPoint(fence: DmaFence, point: bigint, chainMem?: Allocation): void {
    this.assertLive("drm_syncobj_add_point");
    if (typeof point !== "bigint" || point < 0n || point > 0xffff_ffff_ffff_ffffn)
      throw new KernelError(
        "EINVAL",
        `drm_syncobj_add_point: point must be a __u64 bigint, got ${String(point)}`,
      );
    // The link's memory: the caller's preallocation, else allocated here before anything changes.
    const mem = chainMem ?? dmaFenceChainAlloc(this.sim);
    const prev = this.fenceGet();
    // The chain consumes one reference to prev and one to fence; the syncobj's own reference to
    // the old head passes to the chain's prev pointer through `prev`, so drop the syncobj's.
    let chain: DmaFenceChain;
    try {
      chain = new DmaFenceChain(this.sim, prev === null ? null : prev.get(), fence.get(), point, mem);
    } catch (e) {
      // Refused (a chain as the fence): nothing was consumed; give back what was taken here.
      fence.put();
      if (prev !== null) {
        prev.put();
        prev.put();
      }
      if (chainMem === undefined) mem.free();
      throw e;
    }
    const old = this.fence;
    this.fence = chain;
    this.wakeWaiters();
    old?.put();
    // Walk the chain once so links whose fences already signalled are collected.
    if (prev !== null) {
      for (let it: DmaFence | null = prev; it !== null; ) it = dmaFenceChainWalk(it);
    }
  }

  /**
   * `drm_syncobj_assign_null_handle()`: installs a new, already signalled private stub (what
   * CREATE_SIGNALED and the SIGNAL ioctl do).
   */
  assignNullHandle(): void {
    const stub = dmaFenceAllocatePrivateStub(this.sim, this.sim.now);
    this.replaceFence(stub);
    stub.put();
  }

  /**
   * The fence for `point` now, as a new reference: the current fence for point 0, else the chain
   * link `dma_fence_chain_find_seqno` finds — the stub when every link up to it has signalled and
   * been collected. Null when there is no fence or the point has not been submitted.
   */
  lookup(point: bigint): DmaFence | null {
    const f = this.fenceGet();
    if (f === null) return null;
    const ref = { fence: f as DmaFence | null };
    if (dmaFenceChainFindSeqno(ref, point) !== 0) {
      f.put();
      return null;
    }
    return ref.fence ?? dmaFenceGetStub(this.sim);
  }

  /**
   * The fence part of `drm_syncobj_find_fence()`: the fence at `point`, as a new reference.
   *
   * - `flags` other than `WAIT_FOR_SUBMIT` → `EINVAL`.
   * - A missing fence or a point not yet submitted → `EINVAL`, unless `WAIT_FOR_SUBMIT`: then the
   *   calling process sleeps (interruptibly) until the point appears, at most 5 s → `ETIME`;
   *   a signal → `ERESTARTSYS`. Waiting with any lock held is reported
   *   (`syncobj-wait-with-locks-held`) and refused with `EDEADLK`: the submitter is userspace.
   */
  async findFence(point: bigint, flags = 0): Promise<DmaFence> {
    this.assertLive("drm_syncobj_find_fence");
    if ((flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) !== 0)
      throw new KernelError("EINVAL", `drm_syncobj_find_fence: unknown flags 0x${flags.toString(16)}`);
    const forSubmit = (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) !== 0;
    if (forSubmit) assertNoLocksHeld(this.sim, `drm_syncobj_find_fence(${this.describe()}, point ${point})`);
    const now = this.lookup(point);
    if (now !== null) return now;
    if (!forSubmit)
      throw new KernelError(
        "EINVAL",
        point === 0n
          ? `${this.describe()} has no fence (nothing was submitted or it was reset)`
          : `timeline point ${point} of ${this.describe()} has not been submitted`,
      );
    return this.waitForSubmit(point, this.sim.now + DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS);
  }

  /**
   * Sleeps (interruptibly) until `point` can be looked up or `deadlineNs` passes; the fence found,
   * as a new reference. `ETIME` / `ERESTARTSYS`.
   */
  private async waitForSubmit(point: bigint, deadlineNs: number): Promise<DmaFence> {
    const sim = this.sim;
    const waiter = new PointWaiter(sim, `${this.describe()} point ${point} to be submitted`, [
      { syncobj: this, point },
    ]);
    const entry: SyncobjWaitEntry = { point, fence: null, wake: () => waiter.wake() };
    this.addWait(entry);
    try {
      for (;;) {
        if (entry.fence !== null) {
          const f = entry.fence;
          entry.fence = null;
          return f;
        }
        if (sim.now >= deadlineNs)
          throw new KernelError(
            "ETIME",
            `timeline point ${point} of ${this.describe()} was not submitted within the time limit`,
          );
        await waiter.sleep(deadlineNs);
      }
    } finally {
      this.removeWait(entry);
      entry.fence?.put();
    }
  }

  /**
   * `drm_syncobj_fence_add_wait()`: looks once more and, if the point is still missing, queues
   * `entry` to be filled in when the fence changes. No-op if `entry` already has its fence.
   * @internal
   */
  addWait(entry: SyncobjWaitEntry): void {
    if (entry.fence !== null) return;
    const f = this.lookup(entry.point);
    if (f === null) this.cbList.push(entry);
    else entry.fence = f;
  }

  /** `drm_syncobj_remove_wait()`. @internal */
  removeWait(entry: SyncobjWaitEntry): void {
    const i = this.cbList.indexOf(entry);
    if (i >= 0) this.cbList.splice(i, 1);
  }

  /** Number of waiters for a point to appear (for tests and dumps). */
  get pendingWaiters(): number {
    return this.cbList.length;
  }

  /** Number of eventfds still waiting for their point to appear (for tests and dumps). */
  get pendingEventfds(): number {
    return this.evList.length;
  }

  /**
   * `drm_syncobj_add_eventfd()`: signals `ev` once `point` has signalled (or, with
   * `WAIT_AVAILABLE`, once it exists). Takes over the caller's reference to the eventfd's file.
   * The entry is a `GFP_KERNEL` allocation (site `drm_syncobj_eventfd_ioctl`): on `ENOMEM` the
   * eventfd reference is dropped and nothing is queued.
   */
  addEventfd(ev: EventfdCtx, point: bigint, flags: number): void {
    this.assertLive("drm_syncobj_add_eventfd");
    let mem: Allocation;
    try {
      mem = this.sim.mm.kmalloc(SYNCOBJ_EVENTFD_ENTRY_BYTES, GFP_KERNEL, "drm_syncobj_eventfd_ioctl");
    } catch (e) {
      ev.file.put();
      throw e;
    }
    const entry: SyncobjEventfdEntry = { point, flags, ev, mem };
    this.evList.push(entry);
    this.eventfdEntryFunc(entry);
  }

  /** `syncobj_wait_syncobj_func` and `syncobj_eventfd_entry_func` for every queued entry. */
  private wakeWaiters(): void {
    if (this.cbList.length > 0) {
      for (const entry of [...this.cbList]) {
        const f = this.lookup(entry.point);
        if (f === null) continue;
        entry.fence = f;
        this.removeWait(entry);
        entry.wake();
      }
    }
    if (this.evList.length > 0) for (const entry of [...this.evList]) this.eventfdEntryFunc(entry);
  }

  /** `syncobj_eventfd_entry_func`: if the point exists, take the entry off and arm it. */
  private eventfdEntryFunc(entry: SyncobjEventfdEntry): void {
    const f = this.lookup(entry.point);
    if (f === null) return;
    const i = this.evList.indexOf(entry);
    if (i >= 0) this.evList.splice(i, 1);
    const fire = (): void => {
      entry.ev.signal(1);
      entry.ev.file.put();
      entry.mem.free();
    };
    if ((entry.flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) !== 0) {
      f.put();
      fire();
      return;
    }
    const cb: DmaFenceCb = {
      func: (fence) => {
        fire();
        fence.put();
      },
    };
    if (f.addCallback(cb) !== 0) {
      f.put();
      fire();
    }
  }

  /**
   * `drm_syncobj_free()`: the last reference is gone. Drops the fence and the eventfds still
   * waiting for a point (those already armed on a fence fire when it signals).
   */
  protected release(): void {
    const old = this.fence;
    this.fence = null;
    old?.put();
    for (const entry of this.evList.splice(0)) {
      entry.ev.file.put();
      entry.mem.free();
    }
    this.mem.free();
  }
}

/**
 * The sleeping half of a syncobj wait: one context, woken by fence callbacks or by a point
 * appearing. A wake that lands while the waiter is between sleeps is remembered, so none is lost.
 * @internal
 */
export class PointWaiter {
  private sleeper: Sleeper | null = null;
  private woken = false;

  constructor(
    private readonly sim: Simulator,
    private readonly what: string,
    /** The syncobj points waited for, in order (for forward-progress verdicts). */
    readonly targets: readonly { readonly syncobj: DrmSyncobj; readonly point: bigint }[] = [],
    /** True when every target must complete (WAIT_ALL), false for any one. */
    readonly waitAll = true,
  ) {
    if (sim.validator.enabled) installSyncobjProgress(sim);
  }

  /** What the waiter waits for, for messages. */
  describe(): string {
    return this.what;
  }

  /** `wake_up_process(wait->task)`. */
  wake(): void {
    this.woken = true;
    this.sleeper?.wake("woken");
  }

  /**
   * `schedule_timeout()` in `TASK_INTERRUPTIBLE`: sleeps until woken or `deadlineNs`. Throws
   * `ERESTARTSYS` for a pending or arriving signal (clearing it, as the runtime's waits do).
   */
  async sleep(deadlineNs: number): Promise<void> {
    const ctx = this.sim.current;
    if (ctx.signalPending) {
      ctx.signalPending = false;
      throw new KernelError("ERESTARTSYS", `wait for ${this.what} was interrupted by a signal`);
    }
    if (this.woken) {
      this.woken = false;
      return;
    }
    const s = this.sim.sleep(
      { kind: "drm_syncobj", what: this.what, object: this },
      { op: "drm_syncobj_wait", deadlineNs, wakeOn: "interruptible" },
    );
    this.sleeper = s;
    const why = await s.promise;
    this.sleeper = null;
    this.woken = false;
    if (why === "signal") {
      this.sim.current.signalPending = false;
      throw new KernelError("ERESTARTSYS", `wait for ${this.what} was interrupted by a signal`);
    }
  }
}

/**
 * Reports a WAIT_FOR_SUBMIT lookup made by a driver's own ioctl (`wait-for-submit-in-kernel`):
 * the kernel, halfway through a submission, would wait until another process submits
 * `point` of `syncobj`. Reported whether or not the point is there yet — the design is the bug,
 * not the timing — and the lookup then goes on as the kernel's would. @internal
 */
export function reportWaitForSubmitInKernel(sim: Simulator, syncobj: DrmSyncobj, point: bigint): void {
  const ctx = sim.current;
  const bt = frameList(ctx.frame);
  // The outermost frame is the ioctl the wait happens in.
  const where = bt[bt.length - 1] ?? "a driver ioctl";
  const missing = syncobj.lookup(point);
  missing?.put();
  sim.validator.report({
    kind: "wait-for-submit-in-kernel",
    title: `${where} waits in the kernel for userspace to submit (drm_syncobj_find_fence with WAIT_FOR_SUBMIT)`,
    context: ctx.label,
    backtrace: bt,
    held: sim.validator.describeHeld(ctx),
    details: [
      `${point === 0n ? "the fence" : `timeline point ${point}`} of ${syncobj.describe()}: ${
        missing === null
          ? "not submitted yet — this call blocks until another process submits it"
          : "already submitted this time"
      }`,
    ],
    explanation:
      "WAIT_FOR_SUBMIT inside a submission makes the kernel wait for another process's future " +
      "submission: a user fence, in effect, with the submission half-built and the submitting " +
      "task stuck in the kernel. The stall belongs in userspace (seed 004): wait first with " +
      "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT and WAIT_FOR_SUBMIT (or WAIT_AVAILABLE) — bounded, " +
      "interruptible, the caller's own choice — then submit with a point that exists.",
  });
}

/**
 * `lockdep_assert_none_held_once()` before waiting for userspace to submit: reported as
 * `syncobj-wait-with-locks-held` and refused with `EDEADLK` (the kernel WARNs and goes on to wait;
 * drmsim refuses so a collect-mode run does not go on to deadlock). @internal
 */
export function assertNoLocksHeld(sim: Simulator, op: string): void {
  const ctx = sim.current;
  if (ctx.held.length === 0) return;
  sim.validator.report({
    kind: "syncobj-wait-with-locks-held",
    title: `${op} waits for userspace to submit while holding ${ctx.held.length} lock${ctx.held.length === 1 ? "" : "s"}`,
    context: ctx.label,
    backtrace: frameList(ctx.frame),
    held: sim.validator.describeHeld(ctx),
    explanation:
      "WAIT_FOR_SUBMIT waits until another thread or process submits work. That submitter may need " +
      "the same locks, or fault in memory under them, so waiting with any lock held can deadlock. " +
      "Look up syncobj fences before taking locks (the kernel asserts that none is held).",
  });
  throw new KernelError("EDEADLK", `${op}: refusing to wait for a submission with locks held`);
}
