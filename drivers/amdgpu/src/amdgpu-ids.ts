/**
 * VMIDs (`drivers/gpu/drm/amd/amdgpu/amdgpu_ids.c`): the hardware has a handful of IDs per VMHUB
 * that tag a job's memory accesses with its page tables. They are shared by every process, so a
 * job cannot run until its VM holds one.
 *
 * `amdgpu_vmid_grab` is the pattern seed 002 asks for: when no ID is idle it does not block and
 * does not answer "not now" — it returns the fence after which one becomes free (the oldest
 * holder's last job), the scheduler waits on it and calls `prepareJob` again. A VM that already
 * holds an ID keeps using it (`amdgpu_vmid_grab_used`), so a busy process does not churn IDs.
 * Since the Tvrtko Ursulin rework the grab is an `if`, not a loop: one answer per call.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { KernelError } from "@drmsim/runtime";
import type { AmdgpuJob } from "./amdgpu-job.js";
import { amdgpuTrack, traceAmdgpuVmGrabId } from "./amdgpu-trace.js";

/** `struct amdgpu_vm`, reduced to its identity: one per open file (`amdgpu_fpriv.vm`). */
export class AmdgpuVm {
  constructor(readonly name: string) {}
  toString(): string {
    return `amdgpu_vm ${this.name}`;
  }
}

/** `struct amdgpu_vmid`. */
export class AmdgpuVmid {
  /** `id->owner`: the VM the ID last served. */
  owner: AmdgpuVm | null = null;
  /** `id->active`: the finished fence of the last job that used the ID (a reference). */
  active: DmaFence | null = null;
  /** Jobs that ran with this ID. */
  uses = 0;
  constructor(readonly index: number) {}

  /** Idle: never used, or its last job finished. */
  get idle(): boolean {
    return this.active === null || this.active.isSignaled();
  }
}

/** `struct amdgpu_vmid_mgr`: the IDs of one VMHUB in LRU order (least recently assigned first). */
export class AmdgpuVmidMgr {
  readonly ids: AmdgpuVmid[] = [];
  /** `id_mgr->ids_lru`. */
  private lru: AmdgpuVmid[] = [];
  /** Grabs that had to wait for a holder. */
  waits = 0;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1)
      throw new KernelError("EINVAL", `amdgpu: the VMID pool needs at least one ID, got ${count}`);
    // VMIDs are 1-based in our model: 0 means "none assigned" (the kernel reserves 0 for itself).
    for (let i = 1; i <= count; i++) this.ids.push(new AmdgpuVmid(i));
    this.lru = [...this.ids];
  }

  /** The ID a VM holds now, if any. */
  of(vm: AmdgpuVm): AmdgpuVmid | undefined {
    return this.ids.find((id) => id.owner === vm);
  }

  /**
   * `amdgpu_vmid_grab(vm, ring, job, &fence)`: assigns `job.vmid` and returns null, or returns
   * (with a reference) the fence of the oldest holder when every ID is busy with other VMs.
   * Runs in the scheduler's signalling section: no allocation, no wait.
   */
  grab(vm: AmdgpuVm, job: AmdgpuJob): DmaFence | null {
    let id = this.of(vm);
    if (id === undefined) id = this.lru.find((i) => i.idle);
    if (id === undefined) {
      // Every ID is busy with another VM: "wait till one becomes available", oldest first.
      this.waits++;
      return this.lru[0]!.active!.get();
    }
    id.owner = vm;
    id.uses++;
    const prev = id.active;
    id.active = job.finished.get();
    prev?.put();
    this.lru.splice(this.lru.indexOf(id), 1);
    this.lru.push(id);
    job.vmid = id.index;
    const sim = job.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuVmGrabId, amdgpuTrack(job.adev.name), {
        ring: job.sched.name,
        vm: vm.name,
        vmid: id.index,
      });
    return null;
  }

  /** `amdgpu_vmid_reset_all`: after a GPU reset no ID holds state; owners are forgotten. */
  resetAll(): void {
    for (const id of this.ids) id.owner = null;
  }

  /** Drops every fence reference (device teardown). */
  fini(): void {
    for (const id of this.ids) {
      id.active?.put();
      id.active = null;
      id.owner = null;
    }
  }
}
