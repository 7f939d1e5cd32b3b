/**
 * The per-file state of the driver (`asahi::file::File`): the client's VMs, user queues and
 * special objects. Queue, VM and object ids are per file and start at 1. Closing the file tears
 * down every queue (jobs not yet on the firmware are killed with `-ESRCH`, work on it is
 * cancelled), drops every VM and unbinds every special object.
 */
import { type DrmFile, drmProcessIsRoot } from "@drmsim/drm";
import { KernelError, type Process, secs, type UapiValue } from "@drmsim/runtime";
import type { AsahiDevice } from "./asahi-device.js";
import { DrmAsahiPriority, type drm_asahi_queue_create, type drm_asahi_queue_destroy } from "./asahi-drm.js";
import { AsahiObjectTable } from "./asahi-object.js";
import type { AsahiQueue } from "./asahi-queue.js";
import type { AsahiSubmitTarget } from "./asahi-submit.js";
import { AsahiVmTable } from "./asahi-vm.js";

/** `asahi::file::File`. */
export class AsahiFile implements AsahiSubmitTarget {
  readonly vms: AsahiVmTable;
  readonly queues = new Map<number, AsahiQueue>();
  /** Special objects (`ASAHI_GEM_BIND_OBJECT`: timestamp buffers). */
  readonly objects = new AsahiObjectTable();
  private nextQueueId = 1;

  constructor(readonly adev: AsahiDevice) {
    this.vms = new AsahiVmTable(adev.sim);
  }

  /** The queue with this id, `ENOENT` if none. */
  queue(id: number, ioctl = "asahi"): AsahiQueue {
    const q = this.queues.get(id);
    if (q === undefined) throw new KernelError("ENOENT", `${ioctl}: no queue ${id} in this file`);
    return q;
  }

  /**
   * `ASAHI_QUEUE_CREATE`: the VM must exist (`ENOENT`), priority one of `drm_asahi_priority`
   * (`EINVAL`); HIGH and REALTIME are reserved upstream (the driver refuses them with `EINVAL`
   * and means to admit CAP_SYS_NICE callers later), and drmsim lets only a CAP_SYS_ADMIN *caller* use them
   * (`EPERM`) — the calling process's capability, not the opener's. `flags` must be 0 (checked
   * by the core).
   */
  createQueue(args: UapiValue<typeof drm_asahi_queue_create>, caller: Process): void {
    const name = "ASAHI_QUEUE_CREATE";
    const vm = this.vms.lookup(args.vm_id, name);
    const prio = args.priority;
    if (prio > DrmAsahiPriority.REALTIME)
      throw new KernelError("EINVAL", `${name}: unknown priority ${prio}`);
    if (prio >= DrmAsahiPriority.HIGH && !drmProcessIsRoot(caller))
      throw new KernelError("EPERM", `${name}: priority ${prio} needs CAP_SYS_ADMIN`);
    const id = this.nextQueueId++;
    this.queues.set(id, this.adev.createQueue(id, vm, prio));
    args.queue_id = id;
  }

  /**
   * `ASAHI_QUEUE_DESTROY`: `drm_sched_entity_destroy` (wait up to 1 s for queued jobs to reach the
   * firmware, then kill the rest), then the scheduler and rings go (pending work is cancelled).
   */
  async destroyQueue(args: UapiValue<typeof drm_asahi_queue_destroy>): Promise<void> {
    const q = this.queue(args.queue_id, "ASAHI_QUEUE_DESTROY");
    this.queues.delete(args.queue_id);
    await q.entity.flush(secs(1));
    q.fini();
  }

  /** File close. */
  close(): void {
    for (const q of this.queues.values()) q.fini();
    this.queues.clear();
    this.vms.release();
    this.objects.release();
  }
}

/** The driver state of a DRM file opened on an Asahi device. */
export function asahiFileOf(file: DrmFile): AsahiFile {
  const v = file.driverPriv;
  if (!(v instanceof AsahiFile)) throw new KernelError("EINVAL", `${file} is not an asahi file`);
  return v;
}
