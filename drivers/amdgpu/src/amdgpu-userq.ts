/**
 * User-mode queues, their fences and eviction fences (`amdgpu_userq.c`, `amdgpu_userq_fence.c`,
 * `amdgpu_eviction_fence.c`, and before them KFD's `amdgpu_amdkfd_fence.c`).
 *
 * A user queue is a ring in the process's GPU VM: userspace writes packets into it, stores the
 * new write pointer (in dwords) at `wptr_va` and rings the queue's doorbell with it. The hardware
 * runs the packets through the device's hardware model — one doorbell's worth at a time — and
 * stores how far it got at `rptr_va`. There is no job and no scheduler. Completion becomes a
 * dma_fence only when userspace asks: USERQ_SIGNAL creates a *user-queue fence* for the work up
 * to the current write pointer, installed in syncobjs and added to BOs' reservation objects, so
 * other processes, drivers and CS submissions can wait for user-queue work like any other.
 *
 * Such a fence depends on the queue running, and memory management must be able to stop the
 * queue. Each process has one *eviction fence* on all its BOs (BOOKKEEP: nobody syncs to it).
 * Its `enableSignaling` — called when an eviction, the shrinker or an mmu notifier starts waiting
 * on it — schedules the suspend work, which waits a bounded time for each queue's last fence
 * (`amdgpu_userq_wait_for_signal`; a queue that does not finish in time is declared hung and its
 * fences complete with an error), preempts every queue through MES (`preemptNs`), then signals.
 * So every wait on the eviction fence is bounded, and so is every wait on a user-queue fence of a
 * queue being evicted. Restore work later attaches a fresh eviction fence, waits for the moves
 * (KERNEL fences) and resumes the queues.
 */
import { DmaFence, dmaFenceContextAlloc } from "@drmsim/dma-fence";
import { DmaResvUsage } from "@drmsim/dma-resv";
import {
  DelayedWork,
  ERRNO,
  type HardwareEngine,
  type HwCommandHandle,
  KernelError,
  Work,
} from "@drmsim/runtime";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import type { AmdgpuHwIp } from "./amdgpu-drm.js";
import {
  type AmdgpuGpuWrites,
  amdgpuGpuWritesLand,
  amdgpuGpuWritesRelease,
  amdgpuGpuWritesResolve,
} from "./amdgpu-gpu-writes.js";
import type { AmdgpuHwWrite } from "./amdgpu-hw-model.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import { amdgpuTrack, traceAmdgpuUserqEvict, traceAmdgpuUserqRestore } from "./amdgpu-trace.js";
import type { AmdgpuVm } from "./amdgpu-vm.js";

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

/**
 * `struct amdgpu_userq_fence`: signals when the queue has executed up to dword `seqno` (the write
 * pointer at USERQ_SIGNAL). One fence context per queue (`amdgpu_userq_fence_driver`).
 */
export class AmdgpuUserqFence extends DmaFence {
  constructor(
    readonly queue: AmdgpuUsermodeQueue,
    seqno: number,
  ) {
    super(queue.mgr.adev.sim, queue.mgr.adev.drm.fenceOps, queue.fenceContext, seqno);
  }
}

/** Where a queue lives in its VM (`struct amdgpu_userq_create_args` after validation). */
export interface AmdgpuUserqProps {
  readonly queueVa: number;
  readonly queueSize: number;
  readonly rptrVa: number;
  readonly wptrVa: number;
  /** The doorbell page (a reference) and this queue's index in it. */
  readonly doorbell: AmdgpuBo;
  readonly doorbellOffset: number;
  readonly priority: number;
}

/** A doorbell's worth of work on the hardware: up to dword `end`, with what it stores. */
interface UserqSegment {
  end: number;
  durationNs: number;
  hang: boolean;
  writes: AmdgpuGpuWrites;
}

/** `struct amdgpu_usermode_queue`: a queue running user work with no job and no scheduler. */
export class AmdgpuUsermodeQueue {
  /** `active` runs work; `preempted` keeps its state aside until restored; `hung` runs nothing more. */
  state: "active" | "preempted" | "hung" = "active";
  /** The hardware queue slot MES mapped it to. */
  readonly engine: HardwareEngine;
  /** The fence context of its user-queue fences. */
  readonly fenceContext: number;
  /** Dwords executed (what the hardware stores at `rptr_va`). */
  rptr = 0;
  /** The last write pointer the doorbell gave. */
  wptr = 0;
  private segment: UserqSegment | null = null;
  private current: HwCommandHandle | null = null;
  /** Fences not signalled yet, by seqno (references). */
  private readonly fences: AmdgpuUserqFence[] = [];
  /** `queue->last_fence` (a reference). */
  lastFence: AmdgpuUserqFence | null = null;
  /** Doorbell segments completed. */
  completed = 0;
  /** Times the queue was preempted. */
  preemptions = 0;

  constructor(
    readonly mgr: AmdgpuEvictionFenceMgr,
    readonly id: number,
    readonly ip: AmdgpuHwIp,
    readonly props: AmdgpuUserqProps,
  ) {
    this.engine = mgr.adev.engines.create(`${mgr.timeline}.q${id}`, { device: mgr.adev.name });
    this.fenceContext = dmaFenceContextAlloc(mgr.adev.sim);
  }

  /** Work items not finished yet (a pending doorbell segment counts as one). */
  get pendingWork(): number {
    return this.rptr < this.wptr ? 1 : 0;
  }

  /** The doorbell write: the queue may run up to dword `wptr`. */
  doorbell(wptr: number): void {
    if (wptr > this.wptr) this.wptr = wptr;
    this.kick();
  }

  /** `amdgpu_userq_fence_create`: a fence for the work up to dword `seq` (signalled at once if done). */
  createFence(seq: number): AmdgpuUserqFence {
    const f = new AmdgpuUserqFence(this, seq);
    if (this.rptr >= seq) f.signal();
    else this.fences.push(f.get());
    const old = this.lastFence;
    this.lastFence = f.get();
    old?.put();
    return f;
  }

  /** Reads the ring from `rptr` to `wptr` and hands it to the hardware model. */
  private fetch(): UserqSegment {
    const { queueVa, queueSize } = this.props;
    const vm = this.mgr.vm;
    const n = this.wptr - this.rptr;
    // A write pointer more than a ring ahead of the read pointer: the CP would run through ring
    // contents never written for this lap (up to 2^64 dwords of them). The queue stops, as on a
    // packet it cannot execute, without reading them.
    if (n > queueSize / 4)
      return { end: this.wptr, durationNs: 0, hang: true, writes: amdgpuGpuWritesResolve(vm, []) };
    const dwords = new Uint32Array(n);
    let fault = false;
    for (let i = 0; i < n; i++) {
      const va = queueVa + (((this.rptr + i) * 4) % queueSize);
      const spans = vm.resolve(va, 4, false);
      if ("faultAt" in spans) {
        vm.recordFault(spans.faultAt, false);
        fault = true;
        break;
      }
      const b = spans[0]!.bo.store.read(spans[0]!.offset, 4);
      dwords[i] = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
    }
    const r = this.mgr.adev.hwModel.executeIb({
      ip: this.ip,
      ring: this.engine.name,
      va: queueVa + ((this.rptr * 4) % queueSize),
      dwords,
      flags: 0,
    });
    const stores: AmdgpuHwWrite[] = [...r.writes];
    // The hardware reports progress where userspace reads it (the queue's read pointer).
    const rp = new Uint8Array(8);
    new DataView(rp.buffer).setBigUint64(0, BigInt(this.wptr), true);
    stores.push({ va: this.props.rptrVa, data: rp });
    return {
      end: this.wptr,
      durationNs: r.durationNs,
      // A packet the engine cannot execute stops the queue until the reset, like a hang.
      hang: r.hang || fault || r.fault !== undefined,
      writes: amdgpuGpuWritesResolve(vm, stores),
    };
  }

  private kick(): void {
    if (this.state !== "active" || this.current !== null) return;
    if (this.segment === null) {
      if (this.rptr >= this.wptr) return;
      this.segment = this.fetch();
    }
    const seg = this.segment;
    this.current = this.engine.submit({
      durationNs: seg.durationNs,
      hang: seg.hang,
      label: `userq${this.id} to ${seg.end}`,
      onComplete: (status) => {
        this.current = null;
        this.segment = null;
        // Memory that went away under a user queue has no fence to report it on: dropped.
        if (status === 0) amdgpuGpuWritesLand(seg.writes);
        amdgpuGpuWritesRelease(seg.writes);
        if (status !== 0) return;
        this.rptr = seg.end;
        this.completed++;
        this.process();
        this.kick();
      },
    });
  }

  /** `amdgpu_userq_fence_driver_process`: signal every fence the read pointer has passed (irq context). */
  private process(error = 0): void {
    while (this.fences.length > 0 && (error !== 0 || this.fences[0]!.seqno <= this.rptr)) {
      const f = this.fences.shift()!;
      if (error !== 0 && !f.signaled) f.setError(error);
      if (!f.signaled) f.signal();
      f.put();
    }
  }

  /** MES finished preempting: the running segment stops where it is and keeps its remaining time. */
  preempted(): void {
    if (this.state === "active") this.state = "preempted";
    this.preemptions++;
    const h = this.current;
    if (h !== null) {
      this.current = null;
      const ran = h.startNs >= 0 ? this.mgr.adev.sim.now - h.startNs : 0;
      if (h.cancel() && this.segment !== null)
        this.segment.durationNs = Math.max(0, this.segment.durationNs - ran);
    }
  }

  /** Restored: continue where it stopped. */
  resume(): void {
    if (this.state !== "preempted") return;
    this.state = "active";
    this.kick();
  }

  /**
   * `amdgpu_userq_fence_driver_force_completion`: the queue is hung or gone; its pending fences
   * complete with `error`, so nobody waits on them forever.
   */
  forceCompletion(error: number): void {
    this.preempted();
    this.state = "hung";
    if (this.segment !== null) amdgpuGpuWritesRelease(this.segment.writes);
    this.segment = null;
    this.process(error);
  }

  /** The queue is destroyed: pending fences complete with `ECANCELED`, references go. */
  destroy(): void {
    this.forceCompletion(-ERRNO.ECANCELED);
    this.lastFence?.put();
    this.lastFence = null;
    this.props.doorbell.put();
  }
}

/** `struct amdgpu_eviction_fence_mgr` + the process's queues (`amdgpu_userq_mgr`). */
export class AmdgpuEvictionFenceMgr {
  readonly context: number;
  readonly timeline: string;
  /** The current eviction fence (a reference), attached to every BO of the VM. */
  ev: AmdgpuEvictionFence | null = null;
  private seq = 0;
  readonly queues = new Map<number, AmdgpuUsermodeQueue>();
  /** BOs carrying the eviction fence (a reference each). */
  readonly bos = new Set<AmdgpuBo>();
  private nextQueueId = 1;
  /** Completed suspend and restore cycles. */
  suspends = 0;
  restores = 0;
  /** Queues declared hung because their last fence did not signal in `userqFenceTimeoutNs`. */
  hangs = 0;
  // Async: the suspend work sleeps while it waits for the queues' last fences.
  private readonly suspendWork = new Work(async () => {
    await this.suspend();
  }, "amdgpu_userq_evict_work");
  // An async function (not an arrow returning a promise): the workqueue runs it as a sleeping work item.
  private readonly restoreWork = new DelayedWork(async () => {
    await this.restore();
  }, "amdgpu_userq_restore_work");
  private closed = false;

  constructor(
    readonly adev: AmdgpuDevice,
    readonly vm: AmdgpuVm,
    name: string,
  ) {
    this.context = dmaFenceContextAlloc(adev.sim);
    this.timeline = `${name}.evf`;
  }

  private fence(): AmdgpuEvictionFence {
    if (this.ev === null) this.ev = new AmdgpuEvictionFence(this, ++this.seq);
    return this.ev;
  }

  /** The BOs the eviction fence guards: every BO of the VM, and the VM's own page table. */
  private vmBos(): AmdgpuBo[] {
    return [this.vm.root, ...this.vm.boVas.keys()];
  }

  /**
   * `amdgpu_userq_create` after its checks: the eviction fence goes on every BO of the VM
   * (BOOKKEEP), taking each BO's lock (sleeps). Returns the queue id.
   */
  async create(ip: AmdgpuHwIp, props: AmdgpuUserqProps): Promise<number> {
    const ev = this.fence();
    for (const bo of this.vmBos()) await this.attach(bo, ev);
    props.doorbell.get();
    const q = new AmdgpuUsermodeQueue(this, this.nextQueueId++, ip, props);
    this.queues.set(q.id, q);
    return q.id;
  }

  private async attach(bo: AmdgpuBo, ev: AmdgpuEvictionFence): Promise<void> {
    await addEvictionFence(bo, ev);
    if (!this.bos.has(bo)) {
      bo.get();
      this.bos.add(bo);
    }
  }

  /**
   * `amdgpu_eviction_fence_attach` from `amdgpu_gem_object_open`: a BO the file gets a handle to
   * while queues exist is guarded too. The open path cannot sleep here, so only an uncontended
   * lock is taken; a BO whose lock is busy is guarded from the next restore on.
   */
  attachOnOpen(bo: AmdgpuBo): void {
    const ev = this.ev;
    if (ev === null || ev.signaled || this.queues.size === 0 || this.bos.has(bo)) return;
    if (!bo.resv.trylock()) return;
    try {
      bo.resv.reserveFences(1);
      bo.resv.addFence(ev, DmaResvUsage.BOOKKEEP);
    } finally {
      bo.resv.unlock();
    }
    bo.get();
    this.bos.add(bo);
  }

  /** `AMDGPU_USERQ_OP_FREE`. `EINVAL` for an unknown queue. */
  free(id: number): void {
    const q = this.queue(id, "EINVAL");
    this.queues.delete(id);
    q.destroy();
  }

  /** The queue `id`; `code` (default `EINVAL`) if it does not exist. */
  queue(id: number, code: "EINVAL" | "ENOENT" = "EINVAL"): AmdgpuUsermodeQueue {
    const q = this.queues.get(id);
    if (q === undefined) throw new KernelError(code, `no user queue ${id} in this file`);
    return q;
  }

  /** From `enableSignaling` (fence lock held): queue the suspend work. */
  scheduleSuspend(): void {
    this.adev.userqWq.queueWork(this.suspendWork);
  }

  /**
   * `amdgpu_userq_evict`: wait (bounded) for each queue's last fence, preempt every active queue
   * through MES, then signal the eviction fence.
   */
  private async suspend(): Promise<void> {
    const ev = this.ev;
    if (ev === null || ev.signaled) return;
    // Our own reference while we wait and MES works: the file may close (and drop the manager's)
    // meanwhile, having signalled the fence itself.
    ev.get();
    // amdgpu_userq_wait_for_signal: a queue whose work does not finish in time is hung.
    for (const q of [...this.queues.values()]) {
      const f = q.lastFence;
      if (f === null || f.signaled || q.state !== "active") continue;
      const left = await f.wait({ timeoutNs: this.adev.config.userqFenceTimeoutNs });
      if (left === 0 && !f.signaled) {
        this.hangs++;
        q.forceCompletion(-ERRNO.ETIME);
      }
    }
    const active = [...this.queues.values()].filter((q) => q.state === "active");
    let left = active.length;
    const sim = this.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuUserqEvict, amdgpuTrack(this.adev.name), {
        process: this.timeline,
        queues: active.length,
      });
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
   * (KERNEL fences) — the queues touch the memory without any fence the move could have waited
   * on — then resume the queues whose ring and pointers are still mapped.
   */
  private async restore(): Promise<void> {
    if (this.closed) return;
    const old = this.ev;
    if (old !== null && !old.signaled) return;
    this.ev = null;
    const ev = this.fence();
    old?.put();
    for (const bo of new Set([...this.bos, ...this.vmBos()])) await this.attach(bo, ev);
    for (const bo of this.bos) await bo.resv.waitTimeout(DmaResvUsage.KERNEL);
    if (this.closed) return;
    for (const q of this.queues.values()) {
      const p = q.props;
      const mapped = [p.queueVa, p.rptrVa, p.wptrVa].every((va) => this.vm.lookupPage(Math.floor(va / 4096)));
      if (mapped) q.resume();
    }
    this.restores++;
    const sim = this.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuUserqRestore, amdgpuTrack(this.adev.name), {
        process: this.timeline,
        queues: this.queues.size,
      });
  }

  /** The file goes: queues stop (their fences complete with an error), the eviction fence signals, BOs are released. */
  fini(): void {
    this.closed = true;
    for (const q of this.queues.values()) q.destroy();
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

/** Puts the eviction fence on a BO the queues may use, as BOOKKEEP: only moving the BO waits for it. */
async function addEvictionFence(bo: AmdgpuBo, ev: DmaFence): Promise<void> {
  await bo.resv.lock(null);
  try {
    bo.resv.reserveFences(1);
    bo.resv.addFence(ev, DmaResvUsage.BOOKKEEP);
  } finally {
    bo.resv.unlock();
  }
}
