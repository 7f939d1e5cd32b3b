/**
 * The per-file state of the driver (`asahi::file::File`): the client's VMs and user queues. Queue
 * and VM ids are per file and start at 1. Closing the file tears down every queue (jobs not yet
 * on the firmware are killed with `-ESRCH`, work on it is cancelled) and drops every VM.
 */
import { type DrmFile, drmArgU, drmCheckZero, drmProcessIsRoot } from "@drmsim/drm";
import type { DrmSchedBackendOps } from "@drmsim/drm-sched";
import { KernelError, type Process, type Simulator, secs } from "@drmsim/runtime";
import { DrmAsahiPriority, type DrmAsahiQueueCreate, type DrmAsahiQueueDestroy } from "./asahi-drm.js";
import type { AsahiGpuConfig } from "./asahi-queue.js";
import { AsahiQueue } from "./asahi-queue.js";
import type { AsahiSubmitTarget } from "./asahi-submit.js";
import { AsahiVmTable } from "./asahi-vm.js";

/** `asahi::file::File`. */
export class AsahiFile implements AsahiSubmitTarget {
  readonly vms: AsahiVmTable;
  readonly queues = new Map<number, AsahiQueue>();
  private nextQueueId = 1;

  constructor(
    readonly sim: Simulator,
    readonly config: AsahiGpuConfig,
    readonly device: string,
    private readonly wrapOps: (ops: DrmSchedBackendOps, queue: AsahiQueue) => DrmSchedBackendOps,
  ) {
    this.vms = new AsahiVmTable(sim);
  }

  /** The queue with this id, `ENOENT` if none. */
  queue(id: number, ioctl = "asahi"): AsahiQueue {
    const q = this.queues.get(id);
    if (q === undefined) throw new KernelError("ENOENT", `${ioctl}: no queue ${id} in this file`);
    return q;
  }

  /**
   * `ASAHI_QUEUE_CREATE`: flags must be 0, the VM must exist (`ENOENT`), priority one of
   * `drm_asahi_priority` (`EINVAL`); HIGH and REALTIME are reserved upstream (the driver refuses
   * them with `EINVAL`, "TODO: Allow with CAP_SYS_NICE"), and drmsim lets only a CAP_SYS_ADMIN
   * *caller* use them (`EPERM`) — the calling process's capability, not the opener's.
   */
  createQueue(args: DrmAsahiQueueCreate, caller: Process): void {
    const a = args as unknown as Record<string, unknown>;
    const name = "ASAHI_QUEUE_CREATE";
    drmCheckZero(a, "flags", name);
    const vm = this.vms.lookup(drmArgU(a, "vm_id", name), name);
    const prio = drmArgU(a, "priority", name, DrmAsahiPriority.MEDIUM);
    if (prio > DrmAsahiPriority.REALTIME)
      throw new KernelError("EINVAL", `${name}: unknown priority ${prio}`);
    drmArgU(a, "usc_exec_base", name, 0);
    if (prio >= DrmAsahiPriority.HIGH && !drmProcessIsRoot(caller))
      throw new KernelError("EPERM", `${name}: priority ${prio} needs CAP_SYS_ADMIN`);
    const id = this.nextQueueId++;
    this.queues.set(id, new AsahiQueue(this.sim, id, vm, prio, this.config, this.device, this.wrapOps));
    args.queue_id = id;
  }

  /**
   * `ASAHI_QUEUE_DESTROY`: `drm_sched_entity_destroy` (wait up to 1 s for queued jobs to reach the
   * firmware, then kill the rest), then the scheduler and rings go (pending work is cancelled).
   */
  async destroyQueue(args: DrmAsahiQueueDestroy): Promise<void> {
    const a = args as unknown as Record<string, unknown>;
    const name = "ASAHI_QUEUE_DESTROY";
    drmCheckZero(a, "pad", name);
    const id = drmArgU(a, "queue_id", name);
    const q = this.queue(id, name);
    this.queues.delete(id);
    await q.entity.flush(secs(1));
    q.fini();
  }

  /** File close. */
  close(): void {
    for (const q of this.queues.values()) q.fini();
    this.queues.clear();
    this.vms.release();
  }
}

/** The driver state of a DRM file opened on an Asahi device. */
export function asahiFileOf(file: DrmFile): AsahiFile {
  const v = file.driverPriv;
  if (!(v instanceof AsahiFile)) throw new KernelError("EINVAL", `${file} is not an asahi file`);
  return v;
}
