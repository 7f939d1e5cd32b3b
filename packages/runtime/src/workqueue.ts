/**
 * Workqueues (`kernel/workqueue.c`): `struct work_struct`, `struct delayed_work`,
 * `alloc_workqueue` / `alloc_ordered_workqueue`, queue, cancel and flush.
 *
 * Each queue has `maxActive` worker contexts (`kworker/…`, kind `worker`); an ordered queue has
 * one, so its items run strictly one after another. An item may be `async` (it may sleep); the
 * worker is busy until it settles. Every item runs inside the queue's lockdep map, and
 * `flush()` takes that map, so flushing a queue while holding a lock that one of its items takes
 * is reported — the kernel's `(wq_completion)` annotation.
 */
import type { ExecutionContext, Frame } from "./context.js";
import { KernelError } from "./errno.js";
import type { HeldLockEntry } from "./lockdep/held-lock.js";
import type { LockClass } from "./lockdep/lock-class.js";
import type { Simulator, TimerHandle } from "./simulator.js";
import { WaitQueue } from "./waitqueue.js";

/** A work function. Return a promise (declare it `async`) if it may sleep. */
export type WorkFn = (work: Work) => void | Promise<void>;

/** `struct work_struct`. */
export class Work {
  /** Queued and not yet started (`work_pending`). */
  pending = false;
  /** Currently executing. */
  running = false;
  /** @internal */ queue: WorkQueue | null = null;
  /**
   * @internal Instance numbers: `queuedSeq` of the pending instance, `runningSeq` of the running
   * one. A flush waits for the instances it saw, not for the item — the kernel's flush colours —
   * so an item that requeues itself cannot livelock it.
   */
  queuedSeq = 0;
  /** @internal */ runningSeq = 0;
  /** @internal Set while `cancelWorkSync` runs: queueing is refused, as the kernel's canceller holds PENDING. */
  canceling = 0;
  /** @internal The item's lockdep map (`work->lockdep_map`), created on first use by a queue. */
  lockClass: LockClass | null = null;
  /** @internal The item's backtrace frame on a worker with nothing below it, made on first run. */
  rootFrame: Frame | null = null;
  /** @internal The op names the item shows in lockdep reports, built on its first checked run. */
  opNames: WorkOpNames | null = null;
  /**
   * @internal The validator's prebuilt held-lock entry for `process_one_work` taking the item's
   * map (`Validator.lockSite`), made on its first checked run.
   */
  runSite: HeldLockEntry | null = null;
  /**
   * @internal `work->entry`: the next item on the queue's worklist while queued, null at the tail.
   * An item is queued at most once at a time (`pending`), so it can carry the link itself.
   */
  next: Work | null = null;

  constructor(
    readonly fn: WorkFn,
    /** The function name shown in backtraces: `drm_sched_run_job_work`. */
    readonly name: string = fn.name || "work",
  ) {}
}

/** `struct delayed_work`. */
export class DelayedWork extends Work {
  /** @internal */ timer: TimerHandle | null = null;
}

/** Options of `new WorkQueue()` (`alloc_workqueue` flags). */
export interface WorkQueueOptions {
  /** `alloc_ordered_workqueue`: one item at a time, in queueing order. */
  ordered?: boolean;
  /** `max_active`: concurrent items (default 1 if ordered, else 4). */
  maxActive?: number;
  /** `WQ_MEM_RECLAIM`: informational (the queue is usable from reclaim). */
  memReclaim?: boolean;
}

/** `struct workqueue_struct`. */
export class WorkQueue {
  readonly ordered: boolean;
  readonly maxActive: number;
  readonly memReclaim: boolean;
  /** The queue's lockdep map (`(wq_completion)name`). */
  readonly lockClass: LockClass;
  /**
   * The worklist, oldest first: linked through the items (`work->entry`), so queueing allocates
   * nothing — an array with a moving head had to be compacted every thousand items and then grew
   * again, a few dozen bytes of garbage and copying per item.
   */
  private first: Work | null = null;
  private last: Work | null = null;
  private count = 0;
  private readonly idle: Worker[] = [];
  /** Every worker, idle or busy: `flush()` collects the running items from them. */
  private readonly workers: Worker[] = [];
  private active = 0;
  private readonly flushed: WaitQueue;
  private destroyed = false;
  private nextSeq = 1;
  /** The lockdep op names of `process_one_work`, built once: the hot path builds no strings. */
  private readonly opRun: string;
  private readonly opDone: string;
  /** The validator's prebuilt held-lock entry for `process_one_work` taking the queue's map. */
  private runSite: HeldLockEntry | null = null;
  /** Items executed so far. */
  executed = 0;

  constructor(
    private readonly sim: Simulator,
    readonly name: string,
    opts: WorkQueueOptions = {},
  ) {
    this.ordered = opts.ordered ?? false;
    this.maxActive = this.ordered ? 1 : Math.max(1, opts.maxActive ?? 4);
    this.memReclaim = opts.memReclaim ?? false;
    this.lockClass = sim.validator.lockClass(`(wq_completion)${name}`, "workqueue");
    this.opRun = `process_one_work(${name})`;
    this.opDone = `process_one_work(${name}) done`;
    for (let i = 0; i < this.maxActive; i++) {
      const w = new Worker(this, sim.createContext(`kworker/${name}:${i}`, "worker"), sim);
      this.workers.push(w);
      this.idle.push(w);
    }
    this.flushed = new WaitQueue(sim, `flush ${name}`);
  }

  /** Items queued and not started. */
  get queued(): number {
    return this.count;
  }

  /** @internal The workers running an item now, with the item: what a queued item waits behind. */
  busyWorkers(): { ctx: ExecutionContext; work: Work }[] {
    const out: { ctx: ExecutionContext; work: Work }[] = [];
    for (const w of this.workers) if (w.work !== null) out.push({ ctx: w.ctx, work: w.work });
    return out;
  }

  /** True if nothing is queued or running. */
  get isIdle(): boolean {
    return this.queued === 0 && this.active === 0;
  }

  /** `queue_work()`: false if the item was already pending (or is being cancelled by `cancelWorkSync`). */
  queueWork(work: Work): boolean {
    if (this.destroyed) throw new KernelError("EINVAL", `queue_work on destroyed workqueue ${this.name}`);
    if (work.pending || work.canceling > 0) return false;
    work.pending = true;
    work.queue = this;
    work.queuedSeq = this.nextSeq++;
    const last = this.last;
    if (last === null) this.first = work;
    else last.next = work;
    this.last = work;
    this.count++;
    this.kick();
    return true;
  }

  /** `queue_delayed_work()`: false if already pending (queued or timer armed). */
  queueDelayedWork(dwork: DelayedWork, delayNs: number): boolean {
    if (dwork.pending || dwork.canceling > 0) return false;
    if (delayNs <= 0) return this.queueWork(dwork);
    dwork.pending = true;
    dwork.queue = this;
    dwork.timer = this.sim.schedule(delayNs, () => {
      dwork.timer = null;
      dwork.pending = false;
      this.queueWork(dwork);
    });
    return true;
  }

  /** `mod_delayed_work()`: (re)arms the timer to `delayNs` from now, whether or not it was pending. Returns true if it was pending. */
  modDelayedWork(dwork: DelayedWork, delayNs: number): boolean {
    const was = this.cancelWork(dwork);
    this.queueDelayedWork(dwork, delayNs);
    return was;
  }

  /**
   * `cancel_work()` / `cancel_delayed_work()`: removes a pending item (or disarms its timer).
   * Returns true if it was pending. Does not wait for a running instance (see `cancelWorkSync`).
   */
  cancelWork(work: Work): boolean {
    if (!work.pending) return false;
    if (work instanceof DelayedWork && work.timer !== null) {
      work.timer.cancel();
      work.timer = null;
      work.pending = false;
      return true;
    }
    // Off the worklist it was queued on (the kernel's cancel_work names no queue either).
    (work.queue ?? this).unlink(work);
    work.pending = false;
    return true;
  }

  /**
   * `cancel_work_sync()`: cancels and waits until no instance runs. May sleep. On return the item
   * is neither pending nor running, even if it requeues itself: queueing it is refused while this
   * waits, as in the kernel.
   */
  async cancelWorkSync(work: Work): Promise<boolean> {
    const was = this.cancelWork(work);
    if (!work.running) return was;
    // __cancel_work_sync() -> __flush_work(work, from_cancel): the item's map, not the queue's.
    this.sim.validator.acquireRelease(this.workClass(work), `cancel_work_sync(${work.name})`);
    work.canceling++;
    try {
      await this.flushed.waitEvent(() => !work.running, {}, `cancel_work_sync(${work.name})`);
    } finally {
      work.canceling--;
    }
    return was;
  }

  /**
   * `flush_work()`: waits until the instance of `work` pending or running at the call has finished.
   * Returns true if it had to wait. A requeue after the call is not waited for (the kernel: "idle on
   * return if it hasn't been requeued since flush started").
   */
  async flushWork(work: Work): Promise<boolean> {
    if (!work.pending && !work.running) return false;
    const v = this.sim.validator;
    const op = `flush_work(${work.name})`;
    // __flush_work(): the item's own map, so a lock the item takes, held here, is an inversion.
    v.acquireRelease(this.workClass(work), op);
    // start_flush_work(): the queue's map only where another item of the queue could be what
    // the flushed one waits behind — one at a time (ordered) or a rescuer (WQ_MEM_RECLAIM). On a
    // concurrent queue the kernel takes it as a recursive read, which orders nothing.
    if (this.maxActive === 1 || this.memReclaim) v.acquireRelease(this.lockClass, op);
    const seq = work.pending ? work.queuedSeq : work.runningSeq;
    await this.flushed.waitEvent(() => this.instanceDone(work, seq), {}, `flush_work(${work.name})`);
    return true;
  }

  /**
   * `flush_workqueue()`: waits until everything queued before the call has run. May sleep. Not
   * livelocked by work queued after the call, including items that requeue themselves.
   */
  async flush(): Promise<void> {
    this.sim.validator.acquireRelease(this.lockClass, `flush_workqueue(${this.name})`);
    const works: Work[] = [];
    const seqs: number[] = [];
    for (const worker of this.workers) {
      const w = worker.work;
      if (w === null) continue;
      works.push(w);
      seqs.push(w.runningSeq);
    }
    for (let w = this.first; w !== null; w = w.next) {
      works.push(w);
      seqs.push(w.queuedSeq);
    }
    await this.flushed.waitEvent(
      () => works.every((w, i) => this.instanceDone(w, seqs[i]!)),
      {},
      `flush_workqueue(${this.name})`,
    );
  }

  /**
   * The item's lockdep class, `(work_completion)name`: one per work function name, as the kernel
   * has one static key per `INIT_WORK()` site.
   */
  private workClass(work: Work): LockClass {
    let cls = work.lockClass;
    if (cls === null) {
      cls = this.sim.validator.lockClass(`(work_completion)${work.name}`, "workqueue");
      work.lockClass = cls;
    }
    return cls;
  }

  // Out of line: each runs once per queue or item.
  private newRunSite(): HeldLockEntry {
    const site = this.sim.validator.lockSite(this.lockClass, this, this.opRun, false);
    this.runSite = site;
    return site;
  }

  private newWorkSite(work: Work): HeldLockEntry {
    const site = this.sim.validator.lockSite(this.workClass(work), work, opNames(work).run, false);
    work.runSite = site;
    return site;
  }

  /** True once instance `seq` of `work` is neither pending on this queue nor running. */
  private instanceDone(work: Work, seq: number): boolean {
    return (
      !(work.running && work.runningSeq === seq) &&
      !(work.pending && work.queue === this && work.queuedSeq === seq)
    );
  }

  /** `destroy_workqueue()`: drains the queue, then refuses new work. May sleep. */
  async destroy(): Promise<void> {
    await this.flushed.waitEvent(() => this.isIdle, {}, `destroy_workqueue(${this.name})`);
    this.destroyed = true;
  }

  /**
   * Takes the first queued item that is not running right now. Work items are non-reentrant (since
   * Linux 3.7): an instance queued while the previous one still runs waits for it rather than run
   * beside it on another worker.
   */
  private take(): Work | undefined {
    let prev: Work | null = null;
    for (let work = this.first; work !== null; prev = work, work = work.next) {
      if (work.running) continue;
      this.unlinkAfter(prev, work);
      return work;
    }
    return undefined;
  }

  /** @internal Takes `work` off this queue's worklist if it is on it. */
  unlink(work: Work): void {
    let prev: Work | null = null;
    for (let w = this.first; w !== null; prev = w, w = w.next) {
      if (w !== work) continue;
      this.unlinkAfter(prev, w);
      return;
    }
  }

  /** Takes `work`, which follows `prev` (null: it is the first), off the worklist. */
  private unlinkAfter(prev: Work | null, work: Work): void {
    const next = work.next;
    if (prev === null) this.first = next;
    else prev.next = next;
    if (this.last === work) this.last = prev;
    work.next = null;
    this.count--;
  }

  private kick(): void {
    while (this.idle.length > 0 && this.queued > 0) {
      const worker = this.idle.pop()!;
      this.active++;
      worker.schedule();
    }
  }

  private goIdle(worker: Worker): void {
    this.active--;
    this.idle.push(worker);
    this.flushed.wakeUpAll();
  }

  /** @internal One worker step: take the next item and run it, or go idle. */
  runNext(worker: Worker): void | Promise<void> {
    const work = this.take();
    if (work === undefined) {
      this.goIdle(worker);
      return;
    }
    work.pending = false;
    work.running = true;
    work.runningSeq = work.queuedSeq;
    worker.work = work;
    const sim = this.sim;
    const v = sim.validator;
    const ctx = worker.ctx;
    // The item's frame on the worker's backtrace. Frames are immutable, so on an idle worker (no
    // frame below) the item reuses one frame object for every run instead of allocating one.
    if (ctx.frame === null) {
      let f = work.rootFrame;
      if (f === null) {
        f = { name: work.name, parent: null };
        work.rootFrame = f;
      }
      ctx.frame = f;
    } else ctx.pushFrame(work.name);
    // process_one_work(): the queue's map, then the item's, held across the function — as lock
    // sites, so an item run again on the same stack costs the validator a few stores. With the
    // validator off nothing is recorded; the item's op names are built only when it is on.
    if (v.enabled) {
      v.acquireSite(ctx, this.runSite ?? this.newRunSite());
      v.acquireSite(ctx, work.runSite ?? this.newWorkSite(work));
    }
    // Every item runs with the worker as its async-local context, so a function that returns a
    // promise without being declared `async` still resumes as the worker after its awaits.
    let r: unknown;
    try {
      r = sim.callInContext(ctx, worker.call);
    } catch (e) {
      this.finish(worker, work);
      throw e;
    }
    if (r instanceof Promise) {
      return r.then(
        () => sim.runAs(ctx, worker.done),
        (e: unknown) => {
          sim.runAs(ctx, worker.done);
          throw e;
        },
      );
    }
    this.finish(worker, work);
  }

  /** @internal The end of `process_one_work()` for `work`, run as `worker`. */
  finish(worker: Worker, work: Work): void {
    const sim = this.sim;
    const v = sim.validator;
    const ctx = worker.ctx;
    if (v.enabled) {
      const names = opNames(work);
      v.releaseIn(ctx, this.workClass(work), work, names.done);
      v.releaseIn(ctx, this.lockClass, this, this.opDone);
      ctx.popFrame();
      v.checkExit(ctx, names.exit);
    } else ctx.popFrame();
    work.running = false;
    worker.work = null;
    this.executed++;
    // This worker looks for more, including an instance of this item queued while it ran. With
    // nothing queued it goes idle at once, as a kworker finding its worklist empty does: a step
    // event only to learn that would cost an event per work item.
    if (this.queued === 0) this.goIdle(worker);
    else {
      this.flushed.wakeUpAll();
      worker.schedule();
    }
  }
}

/** @internal The op names a work item shows in lockdep reports, built on first use. */
export interface WorkOpNames {
  run: string;
  done: string;
  exit: string;
}

function opNames(work: Work): WorkOpNames {
  let n = work.opNames;
  if (n === null) {
    n = {
      run: `process_one_work(${work.name})`,
      done: `process_one_work(${work.name}) done`,
      exit: `work item ${work.name}`,
    };
    work.opNames = n;
  }
  return n;
}

/**
 * A `kworker`: its context and the item it runs. Its callbacks are created once per worker, so
 * running an item allocates no closures (the hot path of every scheduler job).
 */
class Worker {
  /** The item running now, null while idle. */
  work: Work | null = null;
  readonly runNext: () => void | Promise<void>;
  readonly call: () => void | Promise<void>;
  readonly done: () => void;
  /**
   * The worker's step event. A worker has at most one step pending (it is scheduled when the
   * worker leaves the idle list, and again only from the step it is running), so the timer that
   * fired is re-armed for the next step instead of allocating one per work item.
   */
  private timer: TimerHandle | null = null;

  constructor(
    queue: WorkQueue,
    readonly ctx: ExecutionContext,
    private readonly sim: Simulator,
  ) {
    this.runNext = () => queue.runNext(this);
    this.call = () => {
      const w = this.work!;
      return w.fn(w);
    };
    this.done = () => queue.finish(this, this.work!);
  }

  /** Queues the worker's next step at the current virtual time. */
  schedule(): void {
    const sim = this.sim;
    this.timer = sim.atWith(sim.now, this.runNext, undefined, this.ctx, this.timer);
  }
}
