/**
 * User-mode queues and eviction fences (`amdgpu_userq.c`, `amdgpu_eviction_fence.c`, and before
 * them KFD's `amdgpu_amdkfd_fence.c`).
 *
 * A user queue is long-running: userspace writes commands and rings a doorbell, the hardware runs
 * them, and completion is a value written to memory — there is no dma_fence for that work, and
 * there must not be one: such a fence could take arbitrarily long (or forever) to signal, and
 * memory management waits on fences (seed 001).
 *
 * The BOs the queues use still have to be evictable. Each process has one *eviction fence* on
 * all of them (BOOKKEEP usage). Nobody waits on it for synchronisation; it only signals when
 * someone needs it to: its `enableSignaling` — called when an eviction, the shrinker or an mmu
 * notifier starts waiting on it — schedules the suspend work, which preempts every queue of the
 * process (MES takes `preemptNs`), then signals. That is bounded, so the eviction is bounded.
 * Restore work later attaches a fresh eviction fence, waits for the moves (KERNEL fences) to
 * finish — the queues use the memory with no fence the move could have waited on — and resumes.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import { DelayedWork, type HardwareEngine, type HwCommandHandle, KernelError, Work } from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import type { AmdgpuHwIp } from "./amdgpu-drm.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import { amdgpuTrack, traceAmdgpuUserqEvict, traceAmdgpuUserqRestore } from "./amdgpu-trace.js";

/**
 * `struct amdgpu_eviction_fence`. Its `amdgpu_eviction_fence_ops` are the driver's `hooks.fence`
 * taps: the timeline is the process's, and `enable_signaling` (under the fence lock) only queues
 * the suspend work, never preempts there.
 */
export class AmdgpuEvictionFence extends DmaFence {
  constructor(
    readonly mgr: AmdgpuEvictionFenceMgr,
    seqno: number,
  ) {
    super(mgr.adev.sim, mgr.adev.drm.fenceOps, mgr.context, seqno);
  }
}

/** `struct amdgpu_usermode_queue`: a queue running user work with no dma_fence. */
export class AmdgpuUsermodeQueue {
  /** `active` runs work; `preempted` keeps its state on the side until restored. */
  state: "active" | "preempted" = "active";
  /** The hardware queue slot MES mapped it to. */
  readonly engine: HardwareEngine;
  /** Pending work, in ns (the head is the one running, possibly partly done). */
  private readonly work: number[] = [];
  private current: HwCommandHandle | null = null;
  /** The user fence value: work items completed (written to memory by the GPU, read by userspace). */
  completed = 0;
  /** Times the queue was preempted. */
  preemptions = 0;

  constructor(
    readonly mgr: AmdgpuEvictionFenceMgr,
    readonly id: number,
    readonly ip: AmdgpuHwIp,
    readonly bos: readonly AmdgpuBo[],
  ) {
    // The hardware queue slot MES maps the queue to.
    this.engine = mgr.adev.engines.create(`${mgr.timeline}.q${id}`, { device: mgr.adev.name });
  }

  /** Work items not finished yet. */
  get pendingWork(): number {
    return this.work.length;
  }

  /** The doorbell: `ns` more of work. */
  doorbell(ns: number): void {
    this.work.push(ns);
    this.kick();
  }

  private kick(): void {
    if (this.state !== "active" || this.current !== null || this.work.length === 0) return;
    this.current = this.engine.submit({
      durationNs: this.work[0]!,
      label: `userq${this.id} work`,
      onComplete: () => {
        this.current = null;
        this.work.shift();
        this.completed++;
        this.kick();
      },
    });
  }

  /** MES finished preempting: the running work stops where it is and is saved. */
  preempted(): void {
    this.state = "preempted";
    this.preemptions++;
    const h = this.current;
    if (h !== null) {
      this.current = null;
      const ran = h.startNs >= 0 ? this.mgr.adev.sim.now - h.startNs : 0;
      if (h.cancel()) this.work[0] = Math.max(0, this.work[0]! - ran);
    }
  }

  /** Restored: continue where it stopped. */
  resume(): void {
    this.state = "active";
    this.kick();
  }
}

/** `struct amdgpu_eviction_fence_mgr` + the process's queues (`amdgpu_userq_mgr`). */
export class AmdgpuEvictionFenceMgr {
  readonly context: number;
  readonly timeline: string;
  /** The current eviction fence (a reference), attached to every BO in `bos`. */
  ev: AmdgpuEvictionFence | null = null;
  private seq = 0;
  readonly queues = new Map<number, AmdgpuUsermodeQueue>();
  /** BOs carrying the eviction fence (a reference each). */
  readonly bos = new Set<AmdgpuBo>();
  private nextQueueId = 1;
  /** Completed suspend and restore cycles. */
  suspends = 0;
  restores = 0;
  private readonly suspendWork = new Work(() => this.suspend(), "amdgpu_userq_evict_work");
  // An async function (not an arrow returning a promise): the workqueue runs it as a sleeping work item.
  private readonly restoreWork = new DelayedWork(async () => {
    await this.restore();
  }, "amdgpu_userq_restore_work");
  private closed = false;

  constructor(
    readonly adev: AmdgpuDevice,
    name: string,
  ) {
    this.context = dmaFenceContextAlloc(adev.sim);
    this.timeline = `${name}.evf`;
  }

  private fence(): AmdgpuEvictionFence {
    if (this.ev === null) this.ev = new AmdgpuEvictionFence(this, ++this.seq);
    return this.ev;
  }

  /**
   * `AMDGPU_USERQ_OP_CREATE`: a queue over `bos`; each BO gets the eviction fence (BOOKKEEP),
   * taking its resv lock (sleeps). Returns the queue id.
   */
  async create(ip: AmdgpuHwIp, bos: readonly AmdgpuBo[]): Promise<number> {
    const ev = this.fence();
    for (const bo of bos) {
      if (this.bos.has(bo)) continue;
      await addEvictionFence(bo, ev);
      bo.get();
      this.bos.add(bo);
    }
    const q = new AmdgpuUsermodeQueue(this, this.nextQueueId++, ip, bos);
    this.queues.set(q.id, q);
    return q.id;
  }

  /** `AMDGPU_USERQ_OP_FREE`. `EINVAL` for an unknown queue. */
  free(id: number): void {
    const q = this.queue(id);
    q.preempted();
    this.queues.delete(id);
  }

  /** The queue `id`; `EINVAL` if it does not exist. */
  queue(id: number): AmdgpuUsermodeQueue {
    const q = this.queues.get(id);
    if (q === undefined) throw new KernelError("EINVAL", `no user queue ${id} in this file`);
    return q;
  }

  /** From `enableSignaling` (fence lock held): queue the suspend work. */
  scheduleSuspend(): void {
    this.adev.userqWq.queueWork(this.suspendWork);
  }

  /** `amdgpu_userq_evict`: preempt every active queue through MES, then signal the fence. */
  private suspend(): void {
    const ev = this.ev;
    if (ev === null || ev.signaled) return;
    const active = [...this.queues.values()].filter((q) => q.state === "active");
    let left = active.length;
    const sim = this.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuUserqEvict, amdgpuTrack(this.adev.name), {
        process: this.timeline,
        queues: active.length,
      });
    // Our own reference while MES works: the file may close (and drop the manager's) meanwhile,
    // having signalled the fence itself.
    ev.get();
    const done = () => {
      if (!ev.signaled) ev.signal();
      ev.put();
      this.suspends++;
      if (!this.closed) this.adev.userqWq.queueDelayedWork(this.restoreWork, this.adev.config.restoreDelayNs);
    };
    if (left === 0) {
      done();
      return;
    }
    for (const q of active)
      this.adev.mes.submit({
        durationNs: this.adev.config.preemptNs,
        label: `preempt userq${q.id}`,
        onComplete: () => {
          q.preempted();
          if (--left === 0) done();
        },
      });
  }

  /**
   * `amdgpu_userq_restore_worker`: a fresh eviction fence on every BO, wait for the moves
   * (KERNEL fences) — the queues touch the memory without any fence the move could order
   * against — then resume the queues.
   */
  private async restore(): Promise<void> {
    if (this.closed) return;
    const old = this.ev;
    if (old !== null && !old.signaled) return;
    this.ev = null;
    const ev = this.fence();
    old?.put();
    for (const bo of this.bos) {
      await addEvictionFence(bo, ev);
    }
    for (const bo of this.bos) await bo.resv.waitTimeout(DmaResvUsage.KERNEL);
    if (this.closed) return;
    for (const q of this.queues.values()) q.resume();
    this.restores++;
    const sim = this.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuUserqRestore, amdgpuTrack(this.adev.name), {
        process: this.timeline,
        queues: this.queues.size,
      });
  }

  /** The file goes: queues stop, the fence signals (nobody may be left waiting on it), BOs are released. */
  fini(): void {
    this.closed = true;
    for (const q of this.queues.values()) q.preempted();
    this.queues.clear();
    this.adev.userqWq.cancelWork(this.restoreWork);
    const ev = this.ev;
    this.ev = null;
    if (ev !== null) {
      if (!ev.signaled) ev.signal();
      ev.put();
    }
    for (const bo of this.bos) bo.put();
    this.bos.clear();
  }
}

/** Puts the eviction fence on a BO the queue uses, as BOOKKEEP: only moving the BO waits for it. */
async function addEvictionFence(bo: AmdgpuBo, ev: DmaFence): Promise<void> {
  await bo.resv.lock(null);
  try {
    bo.resv.reserveFences(1);
    bo.resv.addFence(ev, DmaResvUsage.BOOKKEEP);
  } finally {
    bo.resv.unlock();
  }
}
