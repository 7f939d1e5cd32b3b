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
 *
 * `AMDGPU_VM_OP_RESERVE_VMID` takes one ID out of the shared pool for the VMs that asked
 * (`amdgpu_vmid_alloc_reserved`); their jobs always use it, and wait for it when another of those
 * VMs' jobs still holds it.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { KernelError } from "@drmsim/runtime";
import type { AmdgpuJob } from "./amdgpu-job.js";
import { amdgpuTrack, traceAmdgpuVmGrabId } from "./amdgpu-trace.js";
import type { AmdgpuVm } from "./amdgpu-vm.js";

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
  /** `id_mgr->reserved`: the ID kept for VMs that reserved one. */
  reserved: AmdgpuVmid | null = null;
  /** `id_mgr->reserved_use_count`. */
  private reservedUseCount = 0;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1)
      throw new KernelError("EINVAL", `amdgpu: the VMID pool needs at least one ID, got ${count}`);
    // VMIDs are 1-based in our model: 0 means "none assigned" (the kernel reserves 0 for itself).
    for (let i = 1; i <= count; i++) this.ids.push(new AmdgpuVmid(i));
    this.lru = [...this.ids];
  }

  /** The ID a VM holds now, if any. */
  of(vm: AmdgpuVm): AmdgpuVmid | undefined {
    return this.lru.find((id) => id.owner === vm);
  }

  /**
   * `amdgpu_vmid_grab(vm, ring, job, &fence)`: assigns `job.vmid` and returns null, or returns
   * (with a reference) the fence of the oldest holder when every ID is busy with other VMs.
   * Runs in the scheduler's signalling section: no allocation, no wait.
   */
  grab(vm: AmdgpuVm, job: AmdgpuJob): DmaFence | null {
    const reserved = vm.reservedVmid ? this.reserved : null;
    if (reserved !== null) {
      // amdgpu_vmid_grab_reserved: another VM's job still runs with it.
      if (reserved.owner !== vm && !reserved.idle) {
        this.waits++;
        return reserved.active!.get();
      }
      this.assign(reserved, vm, job);
      return null;
    }
    let id = this.of(vm);
    if (id === undefined) id = this.lru.find((i) => i.idle);
    if (id === undefined) {
      // Every ID is busy with another VM: "wait till one becomes available", oldest first.
      this.waits++;
      return this.lru[0]!.active!.get();
    }
    this.assign(id, vm, job);
    this.lru.splice(this.lru.indexOf(id), 1);
    this.lru.push(id);
    return null;
  }

  private assign(id: AmdgpuVmid, vm: AmdgpuVm, job: AmdgpuJob): void {
    id.owner = vm;
    id.uses++;
    const prev = id.active;
    id.active = job.finished.get();
    prev?.put();
    job.vmid = id.index;
    const sim = job.adev.sim;
    if (sim.tracer.on)
      sim.tracer.instant(traceAmdgpuVmGrabId, amdgpuTrack(job.adev.name), {
        ring: job.sched.name,
        vm: vm.name,
        vmid: id.index,
      });
  }

  /** `amdgpu_vmid_alloc_reserved`: the first reservation takes the least recently used ID out of the pool. */
  allocReserved(): void {
    if (this.reservedUseCount > 0) {
      this.reservedUseCount++;
      return;
    }
    // The shared pool must keep an ID for everyone else.
    if (this.lru.length < 2)
      throw new KernelError("EINVAL", "amdgpu: no VMID can be reserved from a pool of one");
    this.reservedUseCount = 1;
    this.reserved = this.lru.shift()!;
  }

  /** `amdgpu_vmid_free_reserved`: the last unreservation gives the ID back. */
  freeReserved(): void {
    if (this.reservedUseCount === 0 || --this.reservedUseCount > 0) return;
    const id = this.reserved!;
    this.reserved = null;
    this.lru.unshift(id);
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
