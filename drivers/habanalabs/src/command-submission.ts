/**
 * Command submission (`common/command_submission.c`): `HL_CS` puts the jobs of one CS on their
 * queues and returns a sequence number; `HL_WAIT_CS` waits for it by that number.
 *
 * The rules mirrored here:
 * - **A bounded ring of pending CSs per context.** CS `seq` owns slot `seq & (max_pending_cs-1)`
 *   of `ctx->cs_pending`. A new CS whose slot still holds an unfinished fence is refused with
 *   `EAGAIN` ("too many in-flight CSs") before it takes a sequence number. Once a slot is reused
 *   the old CS is "gone": waiting on it answers COMPLETED with `HL_WAIT_CS_STATUS_FLAG_GONE`.
 * - **Completions, not dma_fence** (seed 000): each CS has an `HlFence`; nothing outside the
 *   driver ever waits on it.
 * - **Errors a CS ends with:** `-ETIMEDOUT` when timeout detection fired for it, `-EIO` when a
 *   reset aborted it, `-EBUSY` when it got a sequence number but never reached the hardware
 *   (queue full). `HL_WAIT_CS` fails with `ETIMEDOUT`/`EIO` for the first two (the kernel's
 *   `hl_wait_for_fence` turns only those into errors) and reports `-EBUSY` ones as completed.
 * - **Timeout detection (TDR):** the oldest in-flight CS of the device (`cs_mirror_list` head)
 *   has a delayed work armed for its timeout; when the head completes, the next one's is armed.
 *   If it fires, the CS is marked timed out and the device is hard-reset (unless the CS asked
 *   for `HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT`).
 * - The CS completes when all its jobs that get a completion — on external queues, through their
 *   completion queues, and on H/W queues (Gaudi2+) — retired; internal jobs do not gate it, and a
 *   CS made only of internal jobs is `EINVAL` (nothing would complete it). When it completes, the
 *   slots its internal jobs took are given back whatever those jobs are doing
 *   (`hl_hw_queue_update_ci`): the driver never learns of an internal job's end.
 * - **Hangs.** A job that hangs on an external or H/W queue holds its CS, so the CS's timeout
 *   detection fires (`-ETIMEDOUT`, hard reset). One that hangs on an internal queue is invisible
 *   to timeout detection, exactly as in the kernel; the engine stays busy, and when the user
 *   context goes away the device is found not idle and reset (`hpriv_release`, `hl-device.ts`).
 *
 * - **Sync streams** (`HL_CS_FLAGS_SIGNAL` / `HL_CS_FLAGS_WAIT`, one chunk naming a sync-stream
 *   queue): a signal CS's job increments its queue's sync object when it executes; a wait CS's job
 *   holds its queue — and all queued behind it — until that SOB reaches the signal's value. A wait
 *   on a signal CS that already completed (or left the ring) creates no CS and answers
 *   `HL_CS_SEQ_NONE`; a wait naming a CS that is not a signal CS is `EINVAL`. See `sync-stream.ts`.
 *
 * Not modelled (refused with `EOPNOTSUPP`): collective waits, staged submission, encapsulated
 * signals, engine(-core) commands, the restore phase and multi-CS waits.
 */
import {
  DelayedWork,
  ERRNO,
  KernelError,
  MAX_SCHEDULE_TIMEOUT,
  secs,
  type UapiValue,
  usecs,
} from "@drmsim/runtime";
import type { HlCb, HlCtx } from "./context.js";
import {
  HL_CS_FLAGS_ALL,
  HL_CS_FLAGS_CUSTOM_TIMEOUT,
  HL_CS_FLAGS_SIGNAL,
  HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT,
  HL_CS_FLAGS_SUPPORTED,
  HL_CS_FLAGS_TYPE_MASK,
  HL_CS_FLAGS_WAIT,
  HL_CS_SEQ_NONE,
  HL_CS_STATUS_SUCCESS,
  HL_MAX_CB_SIZE,
  HL_MAX_JOBS_PER_CS,
  HL_WAIT_CS_STATUS_ABORTED,
  HL_WAIT_CS_STATUS_BUSY,
  HL_WAIT_CS_STATUS_COMPLETED,
  HL_WAIT_CS_STATUS_FLAG_GONE,
  HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD,
  HL_WAIT_CS_STATUS_TIMEDOUT,
  type hl_cs_args,
  type hl_cs_chunk,
  type hl_wait_cs_args,
} from "./habanalabs-accel.js";
import { type HlCsMemOp, hlCsMemApply, hlCsMemResolve } from "./hl-cs-mem.js";
import type { HlDevice } from "./hl-device.js";
import { type HlCsType, HlFence } from "./hl-fence.js";
import { type HlHwBehaviour, type HlHwJob, hlHwBehaviour } from "./hl-hw-model.js";
import { type HlHwQueue, HlQueueType, type HlSobWait, hlQueueGetsCompletion } from "./hw-queue.js";
import type { HlHwSob } from "./sync-stream.js";

/** One `struct hl_cs_chunk` as the handler reads it. */
type Chunk = UapiValue<typeof hl_cs_chunk>;

/** `struct hl_cs_job`: one chunk of a CS, on one queue. */
export class HlCsJob {
  /** Retired (its completion arrived, or a reset aborted it). */
  done = false;
  constructor(
    readonly cs: HlCs,
    readonly queue: HlHwQueue,
    /** The host CB of an external job (null for the kernel's own signal and wait CBs). */
    readonly cb: HlCb | null,
    /** How long it runs and whether it hangs: the hardware model's answer (`hl-hw-model.ts`). */
    readonly hw: HlHwBehaviour,
    /** A signal job: the SOB it increments when it executes. */
    readonly signals: HlHwSob | null = null,
    /** A wait job: what holds its queue until it may run. */
    readonly waitsFor: HlSobWait | null = null,
  ) {}

  /** drmsim extension: what the job writes to device memory when it completes (`hl-cs-mem.ts`). */
  mem: readonly HlCsMemOp[] = [];

  /** External and H/W-queue jobs complete the CS (`cs_needs_completion`); internal ones never report. */
  get getsCompletion(): boolean {
    return hlQueueGetsCompletion(this.queue.props.type);
  }
}

/** `struct hl_cs`. */
export class HlCs {
  readonly jobs: HlCsJob[] = [];
  /** `cs->submitted`: the jobs reached the hardware queues. */
  submitted = false;
  /** `cs->completed`. */
  completed = false;
  /** `cs->timedout`: timeout detection fired for it. */
  timedout = false;
  /** `cs->aborted`: a reset aborted it. */
  aborted = false;
  /** Its timeout detection work (`cs->work_tdr`). */
  readonly tdr: DelayedWork;
  /** The first error status a job completed with (an engine error), 0 if none. */
  jobError = 0;
  private extPending = 0;

  constructor(
    readonly ctx: HlCtx,
    /** `cs->sequence`. */
    readonly sequence: number,
    /** `cs->fence`: the ring's fence (the CS holds its own reference). */
    readonly fence: HlFence,
    /** `cs->timeout_jiffies`, in ns. */
    readonly timeoutNs: number,
    /** `cs->skip_reset_on_timeout`. */
    readonly skipResetOnTimeout: boolean,
  ) {
    this.tdr = new DelayedWork(() => csTimedout(this), "hl_cs_timedout");
  }

  /** @internal The hardware retired `job` with `status` (0 or a negative errno): `hl_irq_handler_cq` → job finish. */
  jobDone(job: HlCsJob, status: number): void {
    if (job.done) return;
    job.done = true;
    job.queue.inflight--;
    if (job.cb !== null) {
      job.cb.csCnt--;
      if (job.cb.destroyed && job.cb.csCnt === 0) this.ctx.cbs.delete(job.cb.handle);
    }
    if (status < 0) {
      if (status === -ERRNO.EIO && this.ctx.hdev.inReset) this.aborted = true;
      else if (this.jobError === 0) this.jobError = status;
    }
    if (job.getsCompletion && --this.extPending === 0) csComplete(this);
  }

  /** @internal */
  countExt(): void {
    this.extPending = this.jobs.filter((j) => j.getsCompletion).length;
  }

  toString(): string {
    return `CS ${this.ctx.asid}.${this.sequence}`;
  }
}

/**
 * `cs_do_release`: the CS is over. Sets the fence's error (timed out > aborted > not submitted >
 * an engine error) and timestamp, completes it for every waiter, takes the CS off the mirror
 * list (arming the next CS's timeout) and drops the CS's references.
 */
function csComplete(cs: HlCs): void {
  if (cs.completed) return;
  cs.completed = true;
  const hdev = cs.ctx.hdev;
  const wasHead = hdev.csMirrorList[0] === cs;
  const i = hdev.csMirrorList.indexOf(cs);
  if (i >= 0) hdev.csMirrorList.splice(i, 1);
  hdev.tdrWq.cancelWork(cs.tdr);
  if (wasHead && !hdev.inReset) armTdr(hdev);
  hlHwQueueUpdateCi(cs);
  const error = cs.timedout
    ? -ERRNO.ETIMEDOUT
    : cs.aborted
      ? -ERRNO.EIO
      : !cs.submitted
        ? -ERRNO.EBUSY
        : cs.jobError;
  cs.fence.signal(hdev.sim, error);
  cs.fence.put();
  cs.ctx.put();
}

/**
 * `hl_hw_queue_update_ci`: internal queues never get a completion, so when their CS is released
 * the driver takes their jobs as consumed — the slots come back even if the engine is still (or
 * forever) busy with them. The job's own end, if it ever comes, then changes nothing.
 */
function hlHwQueueUpdateCi(cs: HlCs): void {
  for (const j of cs.jobs)
    if (!j.done && j.queue.props.type === HlQueueType.INT) {
      j.done = true;
      j.queue.inflight--;
    }
}

/** `cs_handle_tdr`: arms the timeout of the mirror list's head, if it has one not yet armed. */
function armTdr(hdev: HlDevice): void {
  const head = hdev.csMirrorList[0];
  if (head !== undefined && head.timeoutNs !== MAX_SCHEDULE_TIMEOUT)
    hdev.tdrWq.queueDelayedWork(head.tdr, head.timeoutNs);
}

/**
 * `cs_timedout`: the head CS exceeded its timeout. Marks it (its fence will carry `-ETIMEDOUT`)
 * and, unless it asked to skip it, hard-resets the device, which aborts every in-flight CS.
 */
function csTimedout(cs: HlCs): void {
  if (cs.completed) return;
  cs.timedout = true;
  const hdev = cs.ctx.hdev;
  hdev.lastCsTimeout = { timestamp: hdev.sim.now, seq: cs.sequence };
  if (cs.skipResetOnTimeout || !hdev.resetOnLockup) return;
  // hl_device_cond_reset: the reset runs in its own kthread-like task (device_reset_work), since
  // it sleeps (reservation locks, the reset itself) and must not hold up the timeout work.
  hdev.sim.spawn(
    `hl_device_reset ${hdev.name}`,
    () => hdev.hardReset(`${cs} got stuck (timeout detection)`),
    {
      kind: "worker",
    },
  );
}

interface ParsedJob {
  queue: HlHwQueue;
  cb: HlCb | null;
  chunk: Chunk;
}

/** `cs_validate` + `get_cb_from_cs_chunk`: checks one chunk against the queue table, the CBs and the MMU. */
function parseChunk(ctx: HlCtx, c: Chunk, i: number): ParsedJob {
  const what = `CS chunk ${i}`;
  if (c.cs_chunk_flags !== 0 || c.collective_engine_id !== 0 || c.pad.some((p) => p !== 0))
    throw new KernelError("EINVAL", `${what}: cs_chunk_flags, collective_engine_id and pad must be 0`);
  const queue = ctx.hdev.validateQueueIndex(c.queue_index);
  const cbSize = c.cb_size;
  const handle = c.cb_handle;
  const job = { queue, chunk: c };
  if (queue.props.type === HlQueueType.EXT) {
    const cb = ctx.cb(handle);
    if (cb.destroyed) throw new KernelError("EINVAL", `CB handle 0x${handle.toString(16)} invalid`);
    if (cbSize === 0 || cbSize > cb.size)
      throw new KernelError(
        "EINVAL",
        `${what}: cb_size ${cbSize} does not fit CB 0x${handle.toString(16)} of ${cb.size} bytes`,
      );
    return { ...job, cb };
  }
  // An internal queue's engine fetches its command buffer from device memory through the MMU.
  if (cbSize === 0 || cbSize > HL_MAX_CB_SIZE)
    throw new KernelError("EINVAL", `${what}: cb_size ${cbSize} is not in 1..${HL_MAX_CB_SIZE}`);
  const va = handle <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(handle) : -1;
  if (va < 0 || ctx.mmu.translate(va) === undefined || ctx.mmu.translate(va + cbSize - 1) === undefined)
    throw new KernelError(
      "EINVAL",
      `${what}: internal CB at device VA 0x${handle.toString(16)} (+${cbSize}) is not mapped in the device MMU`,
    );
  return { ...job, cb: null };
}

/**
 * `hl_cs_ioctl`: `hl_cs_sanity_checks`, then `cs_ioctl_default` or `cs_ioctl_signal_wait`. See the
 * module comment. Errors: `EBUSY` while the device is in reset (nothing changes); `EINVAL` for
 * unknown flags, more than one CS-type flag, a non-zero `ctx_id`/`pad`, 0 or more than
 * `HL_MAX_JOBS_PER_CS` chunks (exactly one for a signal or wait CS), a bad queue index, CB handle
 * or size, only internal jobs, a sync-stream CS on a queue without sync streams, a wait naming
 * anything but one signal CS (nothing changes); `EFAULT` for a `chunks_execute` or
 * `signal_seq_arr` that cannot be read; `EOPNOTSUPP` for the kernel's CS types drmsim does not
 * model; `EAGAIN` when the CS's ring slot is still busy (nothing changes) or when a queue has no
 * room for its jobs — then, as in the kernel, the sequence number is consumed and its fence
 * completes with `-EBUSY` (not submitted).
 */
export function hlCsIoctl(ctx: HlCtx, args: UapiValue<typeof hl_cs_args>): void {
  const hdev = ctx.hdev;
  const a = args.in;
  if (hdev.inReset) {
    ctx.countDrop("deviceInResetDropCnt");
    throw new KernelError("EBUSY", `Device is in reset; CS rejected`);
  }
  const flags = a.cs_flags;
  if ((flags & ~HL_CS_FLAGS_ALL) !== 0)
    throw new KernelError("EINVAL", `HL_CS: unknown flags 0x${(flags & ~HL_CS_FLAGS_ALL).toString(16)}`);
  const typeFlags = flags & HL_CS_FLAGS_TYPE_MASK;
  if ((typeFlags & (typeFlags - 1)) !== 0)
    throw new KernelError("EINVAL", `CS type flags are mutually exclusive, context ${ctx.asid}`);
  if ((flags & ~HL_CS_FLAGS_SUPPORTED) !== 0)
    throw new KernelError(
      "EOPNOTSUPP",
      `HL_CS: flags 0x${(flags & ~HL_CS_FLAGS_SUPPORTED).toString(16)} select a CS type drmsim does not model`,
    );
  const type: HlCsType =
    typeFlags === HL_CS_FLAGS_SIGNAL ? "signal" : typeFlags === HL_CS_FLAGS_WAIT ? "wait" : "default";
  if (a.ctx_id !== 0) throw new KernelError("EINVAL", `HL_CS: ctx_id must be 0, got ${a.ctx_id}`);
  if (a.pad.some((p) => p !== 0)) throw new KernelError("EINVAL", "HL_CS: pad must be 0");
  if (a.num_chunks_restore !== 0)
    throw new KernelError("EOPNOTSUPP", "HL_CS: the restore phase (num_chunks_restore) is not modelled");
  const n = a.num_chunks_execute;
  if (type !== "default" && n !== 1)
    throw new KernelError("EINVAL", `Sync stream CS mandates one chunk only, context ${ctx.asid}`);
  if (n === 0) throw new KernelError("EINVAL", "Got execute CS with 0 chunks");
  if (n > HL_MAX_JOBS_PER_CS)
    throw new KernelError(
      "EINVAL",
      `Number of chunks ${n} exceeds HL_MAX_JOBS_PER_CS (${HL_MAX_JOBS_PER_CS})`,
    );
  let timeoutNs = hdev.csTimeoutNs;
  if ((flags & HL_CS_FLAGS_CUSTOM_TIMEOUT) !== 0) {
    if (a.timeout === 0)
      throw new KernelError("EINVAL", "HL_CS: HL_CS_FLAGS_CUSTOM_TIMEOUT with a timeout of 0 seconds");
    timeoutNs = secs(a.timeout);
  }
  // hl_cs_copy_chunk_array: copy_from_user of the whole array (EFAULT).
  const chunks = a.chunks_execute.read(n);
  const skip = (flags & HL_CS_FLAGS_SKIP_RESET_ON_TIMEOUT) !== 0;
  const out =
    type === "default"
      ? csIoctlDefault(ctx, chunks, timeoutNs, skip)
      : csIoctlSignalWait(ctx, type, chunks[0]!, timeoutNs, skip);
  args.out.seq = out.seq;
  args.out.status = HL_CS_STATUS_SUCCESS;
  args.out.sob_base_addr_offset = out.sobAddrOffset;
  args.out.sob_count_before_submission = out.sobCountBefore;
}

/** What a CS ioctl hands back. */
interface CsOut {
  seq: bigint;
  sobAddrOffset: number;
  sobCountBefore: number;
}

/** `cs_ioctl_default`: a CS of user jobs. */
function csIoctlDefault(ctx: HlCtx, chunks: Chunk[], timeoutNs: number, skip: boolean): CsOut {
  const parsed = chunks.map((c, i) => parseChunk(ctx, c, i));
  // int_queues_only && cs_needs_completion: a CS with no job that reports its end.
  if (parsed.every((p) => p.queue.props.type === HlQueueType.INT)) {
    ctx.countDrop("validationDropCnt");
    throw new KernelError(
      "EINVAL",
      `Reject CS ${ctx.asid}.${ctx.csSequence} since it contains only internal queues jobs and needs completion`,
    );
  }
  checkRingSlot(ctx);
  const hw = behaviours(
    ctx,
    parsed.map((p, i) => hwJob(p.queue, i, "user", p.chunk)),
  );
  // What each job's engine writes, resolved through the device MMU before the CS takes a sequence.
  const mem = hw.map((b, i) => hlCsMemResolve(ctx, b, `CS chunk ${i}`));
  const cs = createCs(ctx, "default", timeoutNs, skip);
  parsed.forEach((p, i) => {
    const job = new HlCsJob(cs, p.queue, p.cb, hw[i]!);
    job.mem = mem[i]!;
    cs.jobs.push(job);
  });
  scheduleCs(cs);
  ctx.hwOverrides.take(parsed.length);
  return { seq: BigInt(cs.sequence), sobAddrOffset: 0, sobCountBefore: 0 };
}

/** `cs_ioctl_signal_wait` for signal and wait CSs (one chunk, on a sync-stream queue). */
function csIoctlSignalWait(
  ctx: HlCtx,
  type: "signal" | "wait",
  c: Chunk,
  timeoutNs: number,
  skip: boolean,
): CsOut {
  const hdev = ctx.hdev;
  const q = hdev.validateQueueIndex(c.queue_index);
  const stream = q.syncStream;
  if (stream === null) {
    ctx.countDrop("validationDropCnt");
    throw new KernelError("EINVAL", `Queue index ${q.index} does not support sync stream operations`);
  }
  const [hw] = behaviours(ctx, [hwJob(q, 0, type, null)]);
  if (hw!.fill !== undefined || hw!.copy !== undefined)
    throw new KernelError("EINVAL", "HL_CS: a signal or wait job writes no memory (fill/copy)");
  const none: CsOut = { seq: HL_CS_SEQ_NONE, sobAddrOffset: 0, sobCountBefore: 0 };
  let wait: HlSobWait | null = null;
  if (type === "wait") {
    const signalSeq = extractSignalSeq(c);
    // hl_ctx_get_fence: EINVAL for a sequence not handed out yet; null when it left the ring.
    const sig = ctx.getFence(signalSeq);
    if (sig === null) return none;
    try {
      if (sig.csType !== "signal") {
        ctx.countDrop("validationDropCnt");
        throw new KernelError(
          "EINVAL",
          `CS seq 0x${signalSeq.toString(16)} is not of a signal/encaps-signal CS`,
        );
      }
      // The signal CS already finished (or never reached the hardware): nothing to wait for.
      if (sig.done || sig.sobSignal === null) return none;
      wait = { sob: sig.sobSignal.sob, target: sig.sobSignal.val };
    } finally {
      sig.put();
    }
  }
  checkRingSlot(ctx);
  const cs = createCs(ctx, type, timeoutNs, skip);
  if (type === "signal") {
    // init_signal_cs runs while the CS is scheduled, after the queue's room check: either failing
    // completes the CS as not submitted, its sequence number spent.
    let signal: ReturnType<typeof stream.nextSignal>;
    try {
      checkRoom(ctx, new Map([[q, 1]]));
      signal = stream.nextSignal();
    } catch (e) {
      csComplete(cs);
      throw e;
    }
    cs.jobs.push(new HlCsJob(cs, q, null, hw!, signal.sob, null));
    cs.fence.sobSignal = { sob: signal.sob, val: signal.val };
    scheduleCs(cs);
    ctx.hwOverrides.take(1);
    return {
      seq: BigInt(cs.sequence),
      sobAddrOffset: signal.sob.addrOffset,
      sobCountBefore: signal.countBefore,
    };
  }
  wait!.sob.users++;
  cs.jobs.push(new HlCsJob(cs, q, null, hw!, null, wait));
  try {
    scheduleCs(cs);
  } catch (e) {
    wait!.sob.users--;
    throw e;
  }
  ctx.hwOverrides.take(1);
  return { seq: BigInt(cs.sequence), sobAddrOffset: 0, sobCountBefore: 0 };
}

/** What the hardware model is told about the job of chunk `index` (`chunk` null: the kernel's own signal/wait job). */
function hwJob(queue: HlHwQueue, index: number, kind: HlHwJob["kind"], chunk: Chunk | null): HlHwJob {
  return {
    queue: queue.props.name,
    queueIndex: queue.index,
    index,
    kind,
    cbHandle: chunk?.cb_handle ?? 0n,
    cbSize: chunk?.cb_size ?? 0,
  };
}

/**
 * Each job's behaviour: the device's hardware model under the context's queued overrides, peeked
 * (the caller takes them once the CS is queued, so a refused CS consumes none).
 */
function behaviours(ctx: HlCtx, jobs: readonly HlHwJob[]): HlHwBehaviour[] {
  const over = ctx.hwOverrides.peek(jobs.length);
  return jobs.map((j, i) => hlHwBehaviour(ctx.hdev.hwModel, j, over[i]));
}

/** `cs_ioctl_extract_signal_seq`: exactly one signal sequence number, read from `signal_seq_arr` (`EFAULT`). */
function extractSignalSeq(c: Chunk): bigint {
  if (c.num_signal_seq_arr !== 1)
    throw new KernelError("EINVAL", "Wait for signal CS supports only one signal CS seq");
  return c.signal_seq_arr.read(1)[0]!;
}

/** `allocate_cs`'s check: the ring slot of the next sequence must be free (`EAGAIN`, nothing changed). */
function checkRingSlot(ctx: HlCtx): void {
  const seq = ctx.csSequence;
  const old = ctx.csPending[seq & (ctx.csPending.length - 1)];
  if (old !== null && old !== undefined && !old.done) {
    ctx.countDrop("maxCsInFlightDropCnt");
    throw new KernelError(
      "EAGAIN",
      `Rejecting CS because of too many in-flights CS (${ctx.csPending.length} pending, slot of ${old.csSequence} busy)`,
    );
  }
}

/** `allocate_cs`: the next sequence number, its fence in the ring, the CS. Call `checkRingSlot` first. */
function createCs(ctx: HlCtx, type: HlCsType, timeoutNs: number, skip: boolean): HlCs {
  const seq = ctx.csSequence;
  const slot = seq & (ctx.csPending.length - 1);
  const fence = new HlFence(ctx.hdev.sim, seq, ctx.asid, type);
  ctx.csPending[slot]?.put();
  ctx.csPending[slot] = fence;
  ctx.csSequence++;
  return new HlCs(ctx.get(), seq, fence.get(), timeoutNs, skip);
}

/** `hl_hw_queue_schedule_cs`'s check: every queue must have room for its jobs (`EAGAIN`). */
function checkRoom(ctx: HlCtx, want: Map<HlHwQueue, number>): void {
  for (const [q, k] of want)
    if (q.inflight + k > q.length) {
      ctx.countDrop("queueFullDropCnt");
      throw new KernelError("EAGAIN", `Queue ${q.index} (${q.props.name}) doesn't have room for ${k} CBs`);
    }
}

/** `hl_hw_queue_schedule_cs`: the jobs go onto their queues; the CS joins the mirror list (TDR). */
function scheduleCs(cs: HlCs): void {
  const hdev = cs.ctx.hdev;
  cs.countExt();
  // No room: nothing runs; the CS completes as not submitted (-EBUSY), its sequence number spent.
  const want = new Map<HlHwQueue, number>();
  for (const j of cs.jobs) want.set(j.queue, (want.get(j.queue) ?? 0) + 1);
  try {
    checkRoom(cs.ctx, want);
  } catch (e) {
    csComplete(cs);
    throw e;
  }
  cs.submitted = true;
  hdev.csMirrorList.push(cs);
  if (hdev.csMirrorList.length === 1) armTdr(hdev);
  for (const j of cs.jobs) {
    j.queue.inflight++;
    if (j.cb !== null) j.cb.csCnt++;
    j.queue.enqueue(
      {
        durationNs: j.hw.execNs,
        label: `${cs} ${j.queue.props.name}${j.signals !== null ? " signal" : j.waitsFor !== null ? " wait" : ""}`,
        ...(j.hw.hang ? { hang: true } : {}),
        onComplete: (done) => {
          // A job the engine completed writes what it describes (hl-cs-mem.ts).
          const status = done === 0 && j.mem.length > 0 ? hlCsMemApply(j.mem) : done;
          const aborted = status === -ERRNO.EIO && hdev.inReset;
          // The signal packet's write to the sync object, then the sync-stream uses end.
          if (j.signals !== null) {
            j.signals.users--;
            if (!aborted) j.signals.increment();
          }
          if (j.waitsFor !== null) j.waitsFor.sob.users--;
          // An external job's completion lands in its queue's CQ; the CQ interrupt retires it.
          const cq = j.queue.cq;
          if (cq !== null) {
            cq.pi++;
            cq.ci++;
          }
          cs.jobDone(j, status);
        },
      },
      j.waitsFor ?? undefined,
    );
  }
}

/**
 * `hl_cs_wait_ioctl`'s signal rule: an interrupted wait (`-ERESTARTSYS`) becomes `-EINTR` in the
 * driver ("user process got signal while waiting for CS handle"), so the syscall layer never
 * restarts `HL_WAIT_CS`.
 */
async function hlWaitInterrupted<T>(wait: Promise<T>, seq: number | bigint): Promise<T> {
  try {
    return await wait;
  } catch (e) {
    if (e instanceof KernelError && e.code === "ERESTARTSYS")
      throw new KernelError("EINTR", `user process got signal while waiting for CS handle ${seq}`);
    throw e;
  }
}

/**
 * `hl_wait_ioctl` → `hl_cs_wait_ioctl` → `hl_wait_for_fence`. `timeout_us` 0 only looks;
 * otherwise the caller sleeps (interruptibly) on the fence's completion until it completes or the
 * timeout expires. Answers (`out`): COMPLETED (with the completion timestamp), COMPLETED + GONE for
 * a CS whose slot was reused, BUSY when the wait's own timeout expired. Fails with `ETIMEDOUT` if
 * the CS timed out on the device, `EIO` if a reset aborted it (with `out.status` TIMEDOUT or ABORTED
 * and the rest of `out` cleared, which the ioctl core copies back on failure), `EINVAL` for a sequence not handed
 * out yet or a non-zero `ctx_id`, `EOPNOTSUPP` for interrupt and multi-CS waits, and `EINTR` when
 * a signal interrupts the wait — `hl_cs_wait_ioctl` turns `-ERESTARTSYS` into `-EINTR` itself, so
 * the call is never restarted, `SA_RESTART` or not (see `hlWaitInterrupted`).
 */
export async function hlWaitCsIoctl(ctx: HlCtx, args: UapiValue<typeof hl_wait_cs_args>): Promise<void> {
  const a = args.in;
  const out = args.out;
  if (a.flags !== 0)
    throw new KernelError(
      "EOPNOTSUPP",
      `HL_WAIT_CS: flags 0x${a.flags.toString(16)} (interrupt and multi-CS waits) are not modelled`,
    );
  if (a.ctx_id !== 0) throw new KernelError("EINVAL", `HL_WAIT_CS: ctx_id must be 0, got ${a.ctx_id}`);
  const seq = a.seq;
  if (seq === 0n) throw new KernelError("EINVAL", "HL_WAIT_CS: sequence 0 is never handed out");
  const fence = ctx.getFence(seq);
  out.status = HL_WAIT_CS_STATUS_COMPLETED;
  out.flags = 0;
  out.timestamp_nsec = 0n;
  if (fence === null) {
    out.flags = HL_WAIT_CS_STATUS_FLAG_GONE;
    return;
  }
  try {
    let done: boolean;
    if (a.timeout_us === 0n) done = fence.done;
    else {
      const forever = a.timeout_us >= BigInt(Math.floor(MAX_SCHEDULE_TIMEOUT / 1000));
      const ns = forever ? MAX_SCHEDULE_TIMEOUT : usecs(Number(a.timeout_us));
      // wait_for_completion_interruptible_timeout, without consuming: complete_all keeps it done.
      done =
        (await hlWaitInterrupted(fence.completion.wait({ timeoutNs: ns, interruptible: true }), seq)) > 0;
    }
    const error = fence.error;
    if (error === -ERRNO.ETIMEDOUT || error === -ERRNO.EIO) {
      // hl_cs_wait_ioctl clears the argument and still reports the status: drm_ioctl copies it
      // back although the ioctl fails.
      out.status = error === -ERRNO.ETIMEDOUT ? HL_WAIT_CS_STATUS_TIMEDOUT : HL_WAIT_CS_STATUS_ABORTED;
      throw new KernelError(
        error === -ERRNO.ETIMEDOUT ? "ETIMEDOUT" : "EIO",
        error === -ERRNO.ETIMEDOUT
          ? `CS ${ctx.asid}.${seq} caused a timeout on the device`
          : `CS ${ctx.asid}.${seq} was aborted by a device reset`,
      );
    }
    if (done) {
      out.flags = HL_WAIT_CS_STATUS_FLAG_TIMESTAMP_VLD;
      out.timestamp_nsec = BigInt(fence.timestamp);
    } else out.status = HL_WAIT_CS_STATUS_BUSY;
  } finally {
    fence.put();
  }
}
