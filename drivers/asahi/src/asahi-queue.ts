/**
 * A user queue (the Asahi driver's `queue/mod.rs`): what `ASAHI_QUEUE_CREATE` makes. Each user
 * queue owns one `DrmGpuScheduler` with one run queue and one entity ("priorities are handled by
 * the AGX scheduler", i.e. the firmware), and three firmware rings — vertex, fragment, compute —
 * of `slots` (128) work commands each.
 *
 * The rings are `HardwareEngine`s from the device's `HW_ENGINE_FACTORY` and the scheduler comes
 * from its `DRM_SCHED_FACTORY`, so `drm_sched_backend_ops` are the driver's `hooks.sched` taps
 * (`asahi-drv.ts`), which call `prepareJob`, `runJob`, `timedoutJob`, `freeJob` and `cancelJob` here.
 *
 * Every job costs one credit. The firmware's real limit — work slots and ring space per ring — is
 * not a credit count and must never be a boolean the scheduler polls (seed 002: `can_run_job` was
 * NAKed because a boolean has no wake-up). `prepareJob` checks each ring the job uses and, if it
 * lacks slots or ring space, returns the fence of the oldest pending command on that ring; the
 * scheduler waits for it and calls `prepareJob` again, until it returns null. Nothing else can
 * make a job wait: a job depends on fences and nothing else.
 *
 * Timeouts: `timedoutJob` first reads the rings' completion stamps — a command the firmware
 * finished whose interrupt was lost is completed there, and the timeout was a false alarm
 * (`NO_HANG`). Otherwise it stops the scheduler, resets the ring(s) that crashed or that execute the
 * guilty job (its running command completes with `-ETIMEDOUT`, or `-EIO` after a firmware crash),
 * lets the firmware skip the job's remaining commands, re-attaches the innocent jobs to their
 * hardware fences — the firmware still has their work; nothing is re-run — and restarts. Other
 * user queues have their own rings and never notice.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import {
  DrmGpuSchedStat,
  type DrmGpuScheduler,
  DrmSchedEntity,
  type DrmSchedJob,
  DrmSchedPriority,
} from "@drmsim/drm-sched";
import { ERRNO, HwOverrideQueue, KernelError, type Simulator } from "@drmsim/runtime";
import { asahiCmdMemApply } from "./asahi-cmd-mem.js";
import type { AsahiDevice, AsahiGpuConfig } from "./asahi-device.js";
import { ASAHI_HW_NEXT_QUEUE, type AsahiHwBehaviour } from "./asahi-hw-model.js";
import { ASAHI_SKIPPED, type AsahiJob } from "./asahi-job.js";
import type { AsahiVm } from "./asahi-vm.js";
import { AsahiWorkItem, AsahiWorkQueue, type AsahiWorkQueueKind } from "./asahi-workqueue.js";

/** Counters of a user queue. */
export interface AsahiQueueStats {
  /** Jobs handed to the firmware (`runJob`). */
  jobs: number;
  /** Times `prepareJob` returned a ring's oldest fence. */
  prepareFences: number;
  /** Timeouts handled. */
  timeouts: number;
  /** Ring resets done by recovery. */
  resets: number;
  /** Lost completion interrupts the timeout handler found on the rings' completion stamps. */
  lostIrqs: number;
}

/**
 * The hardware fence of one job (`run_job`'s return), signalled when all its firmware commands
 * completed, in job order. Its ops are the device's `fenceOps` (the driver's `hooks.fence` taps:
 * driver "asahi", timeline the queue's name).
 */
export class AsahiJobFence extends DmaFence {
  constructor(
    readonly queue: AsahiQueue,
    seqno: number,
  ) {
    super(queue.sim, queue.adev.drm.fenceOps, queue.jobContext, seqno);
  }
}

/** `asahi::queue::Queue`. */
export class AsahiQueue {
  /** `asahi-q<N>`, N numbering the device's queues: the scheduler's name and its rings' prefix. */
  readonly name: string;
  readonly sim: Simulator;
  readonly config: AsahiGpuConfig;
  /** The scheduler (from the device's `DRM_SCHED_FACTORY`: its ops are the driver's `hooks.sched` taps). */
  readonly sched: DrmGpuScheduler;
  readonly entity: DrmSchedEntity;
  /** The three firmware rings. */
  readonly rings: Readonly<Record<AsahiWorkQueueKind, AsahiWorkQueue>>;
  readonly stats: AsahiQueueStats = { jobs: 0, prepareFences: 0, timeouts: 0, resets: 0, lostIrqs: 0 };
  /** Per-command overrides of the hardware model a caller queued (`DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`). */
  readonly hwNext = new HwOverrideQueue<AsahiHwBehaviour>(ASAHI_HW_NEXT_QUEUE);
  /** @internal Fence context of the job fences. */
  readonly jobContext: number;
  private jobSeqno = 0;
  /** Jobs on the firmware whose hardware fence has not signalled, oldest first. */
  private readonly inflight: AsahiJob[] = [];
  private pumping = false;
  private pumpAgain = false;

  constructor(
    readonly adev: AsahiDevice,
    /** The device-wide queue number (names, trace labels). */
    readonly seq: number,
    /** The `queue_id` of the file that created it. */
    readonly id: number,
    readonly vm: AsahiVm,
    /** `drm_asahi_priority`: forwarded to the firmware (recorded; each queue has its own rings). */
    readonly priority: number,
  ) {
    const sim = adev.sim;
    const config = adev.config;
    this.sim = sim;
    this.config = config;
    this.name = `asahi-q${seq}`;
    vm.get();
    const retire = () => this.pumpAll();
    const ring = (kind: AsahiWorkQueueKind, suffix: string) =>
      new AsahiWorkQueue(
        sim,
        kind,
        config.slots,
        config.ringSize,
        adev.engines.create(`${this.name}-${suffix}`, { device: adev.name }),
        adev.drm.fenceOps,
        retire,
      );
    this.rings = {
      vertex: ring("vertex", "vtx"),
      fragment: ring("fragment", "frag"),
      compute: ring("compute", "comp"),
    };
    this.jobContext = dmaFenceContextAlloc(sim);
    this.sched = adev.scheds.create({
      name: this.name,
      numRqs: 1,
      // WQ_SIZE credits, one per job: credits are not where the firmware limit lives.
      creditLimit: config.ringSize,
      timeoutNs: config.timeoutNs,
      device: adev.name,
    });
    this.entity = new DrmSchedEntity(sim, DrmSchedPriority.KERNEL, [this.sched], {
      name: `${this.name}-entity`,
    });
  }

  /** The driver data of a scheduler job. */
  static jobOf(job: DrmSchedJob): AsahiJob {
    return job.driverData as AsahiJob;
  }

  /**
   * `prepare_job` (`JobImpl::prepare` → `can_submit()` per sub-queue): null if every ring the job
   * uses has the work slots and ring entries it needs; otherwise the fence of the oldest pending
   * command of the first ring that lacks them (a new reference, as the scheduler expects).
   */
  prepareJob(job: DrmSchedJob): DmaFence | null {
    const aj = AsahiQueue.jobOf(job);
    for (const kind of aj.rings()) {
      const ring = this.rings[kind];
      const need = aj.need[kind];
      if (ring.freeSlots() >= need.slots && ring.freeSpace() >= need.entries) continue;
      const f = ring.oldestPendingFence();
      // The job alone fits an empty ring (checked at submit), so a ring short of room has work.
      if (f === null) continue;
      ring.stats.fullWaits++;
      this.stats.prepareFences++;
      return f;
    }
    return null;
  }

  /**
   * `run_job`: writes the job's commands into the rings, barriers resolved, and returns the job's
   * hardware fence. Allocates nothing with reclaim and waits on nothing (signalling section).
   * `ENOSPC` (the job finishes with that error, nothing written) if a ring lacks room — which only
   * happens when something bypassed `prepareJob`.
   */
  runJob(job: DrmSchedJob): DmaFence {
    const aj = AsahiQueue.jobOf(job);
    // prepareJob made room; a wrapper that skipped it must not overflow the firmware's buffers.
    // Checked for every ring before anything is written, so a refused job leaves no trace.
    for (const kind of aj.rings()) {
      const ring = this.rings[kind];
      const need = aj.need[kind];
      if (ring.freeSlots() < need.slots || ring.freeSpace() < need.entries)
        throw new KernelError(
          "ENOSPC",
          `asahi ${ring.engine.name}: job needs ${need.slots} slots and ${need.entries} entries, ${ring.freeSlots()} and ${ring.freeSpace()} are free (run_job without prepare_job's room check)`,
        );
    }
    this.stats.jobs++;
    const fence = new AsahiJobFence(this, ++this.jobSeqno);
    aj.hwFence = fence;
    this.inflight.push(aj);
    // Barrier 0 = the subqueue's work from earlier submits: its last command right now.
    const prevRender = this.rings.fragment.last;
    const prevCompute = this.rings.compute.last;
    const renderEnds: AsahiWorkItem[] = [];
    const computeEnds: AsahiWorkItem[] = [];
    const onDone = (item: AsahiWorkItem) => this.itemDone(aj, item);
    const skip = () => (aj.error !== 0 ? ASAHI_SKIPPED : 0);
    const toPush: [AsahiWorkItem, number][] = [];
    for (const [i, s] of aj.specs.entries()) {
      const waits: AsahiWorkItem[] = [];
      for (const b of s.barriers) {
        const t =
          b.index === 0
            ? b.sub === "render"
              ? prevRender
              : prevCompute
            : (b.sub === "render" ? renderEnds : computeEnds)[b.index - 1]!;
        if (t !== null && !t.done) waits.push(t);
      }
      if (s.type === "render") {
        const v = new AsahiWorkItem(
          "vertex",
          `${aj.label}.${i}.vtx`,
          s.vertexNs,
          waits,
          false,
          undefined,
          onDone,
          skip,
        );
        const f = new AsahiWorkItem(
          "fragment",
          `${aj.label}.${i}.frag`,
          s.fragmentNs,
          [v],
          s.hang,
          s.error,
          onDone,
          skip,
        );
        toPush.push([v, s.barriers.length], [f, 1]);
        renderEnds.push(f);
        if (aj.mem[i] !== undefined) aj.memOfItem.set(f, i);
      } else {
        const c = new AsahiWorkItem(
          "compute",
          `${aj.label}.${i}.comp`,
          s.computeNs,
          waits,
          s.hang,
          s.error,
          onDone,
          skip,
        );
        toPush.push([c, s.barriers.length]);
        computeEnds.push(c);
        if (aj.mem[i] !== undefined) aj.memOfItem.set(c, i);
      }
    }
    aj.left = toPush.length;
    for (const [item, barriers] of toPush) {
      aj.items.push(item);
      this.rings[item.kind].push(item, barriers);
    }
    this.pumpAll();
    return fence.get();
  }

  /**
   * `timed_out`: see the module comment. A job that is merely slow (its command runs, nothing
   * crashed) is reset like a hung one — the hardware cannot tell them apart; only a job with no
   * command on the hardware and no crash is a false alarm (`NO_HANG`).
   */
  timedoutJob(job: DrmSchedJob): DrmGpuSchedStat {
    const aj = AsahiQueue.jobOf(job);
    this.stats.timeouts++;
    const rings = Object.values(this.rings);
    // First the completion stamps: work the firmware finished whose interrupt never came. If
    // there is any, the queue was making progress and only looked stuck: complete it and let
    // the job run on for another timeout period.
    let lost = 0;
    for (const r of rings) lost += r.reapLostCompletions();
    if (lost > 0) {
      this.stats.lostIrqs += lost;
      this.pumpAll();
      return DrmGpuSchedStat.NO_HANG;
    }
    const crashed = rings.some((r) => r.engine.crashed);
    const guiltyRunning = rings.some((r) => {
      const it = r.running();
      return it !== undefined && aj.items.includes(it);
    });
    if (!crashed && !guiltyRunning) return DrmGpuSchedStat.NO_HANG;
    const sched = this.sched;
    sched.stop(job);
    if (aj.error === 0) aj.error = crashed ? -ERRNO.EIO : -ERRNO.ETIMEDOUT;
    for (const r of rings)
      if (r.recover((it) => aj.items.includes(it), -ERRNO.ETIMEDOUT)) this.stats.resets++;
    this.pumpAll();
    // The firmware still holds the innocent jobs' work: re-attach them to their hardware fences
    // instead of re-running them (drm_sched_stop detached every pending job).
    sched.forEachPendingJob((j) => {
      const s = j.sFence!;
      const hw = AsahiQueue.jobOf(j).hwFence;
      if (s.parent === null && hw !== null) s.parent = hw.get();
    });
    sched.start(0);
    return DrmGpuSchedStat.RESET;
  }

  /** `free_job`. */
  freeJob(job: DrmSchedJob): void {
    const aj = AsahiQueue.jobOf(job);
    aj.releaseItems();
    aj.hwFence?.put();
    aj.hwFence = null;
    job.cleanup();
  }

  /** `cancel_job` (queue teardown): the firmware drops everything still pending. */
  cancelJob(_job: DrmSchedJob): void {
    for (const r of Object.values(this.rings)) r.cancelAll(-ERRNO.ECANCELED);
  }

  /** Pending work on all three rings. */
  get pendingCommands(): number {
    return this.rings.vertex.slotsInUse + this.rings.fragment.slotsInUse + this.rings.compute.slotsInUse;
  }

  /**
   * Queue destroy / file close: kill what has not reached the firmware (`-ESRCH`), cancel what
   * has (`-ECANCELED`), tear the scheduler down and drop the VM.
   */
  fini(): void {
    this.entity.fini();
    this.sched.fini();
    this.adev.forgetQueue(this);
    this.vm.put();
  }

  private pumpAll(): void {
    // A completion on one ring can release a barrier on another, and completing a skipped item
    // retires again from inside a pump: run the front-ends until nothing moves, never nested.
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.rings.vertex.pump();
        this.rings.fragment.pump();
        this.rings.compute.pump();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private itemDone(aj: AsahiJob, item: AsahiWorkItem): void {
    let st = item.stats.status;
    // drmsim extension: a command that completed writes what it describes (asahi-cmd-mem.ts).
    const cmd = aj.memOfItem.get(item);
    if (st === 0 && cmd !== undefined) st = asahiCmdMemApply(aj.mem[cmd]!);
    if (st !== 0 && aj.error === 0) aj.error = st;
    if (--aj.left > 0) return;
    aj.hwDone = true;
    // Job fences share one context: signal them in job order (the seqno contract).
    while (this.inflight.length > 0 && this.inflight[0]!.hwDone) {
      const done = this.inflight.shift()!;
      const f = done.hwFence!;
      if (done.error !== 0) f.setError(done.error);
      f.signal();
    }
  }
}
