/**
 * GPU address spaces (the Asahi driver's `file.rs` VM ioctls over its gpuvm): a client creates
 * VMs (`ASAHI_VM_CREATE`, reserving a kernel VA range), binds GEM objects into them
 * (`ASAHI_VM_BIND`), and creates queues on a VM. A mapping holds a reference on its object, so a
 * buffer stays alive while the GPU can reach it even after userspace closed its handle.
 *
 * drmsim simplification: upstream remaps through drm_gpuvm (a bind over an existing mapping
 * splits and replaces it). Here a bind must not overlap an existing mapping, and an unbind must
 * cover whole mappings; both are `EINVAL` otherwise. Every op of a VM_BIND is checked before any
 * is applied, so a failed ioctl changes nothing.
 */
import type { DrmFile } from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import { KernelError, RefCounted, type Simulator, type UapiValue, uapiU64ToNumber } from "@drmsim/runtime";
import {
  ASAHI_PAGE_SIZE,
  ASAHI_VM_END,
  ASAHI_VM_KERNEL_MIN_SIZE,
  ASAHI_VM_START,
  DRM_ASAHI_BIND_READ,
  DRM_ASAHI_BIND_SINGLE_PAGE,
  DRM_ASAHI_BIND_UNBIND,
  DRM_ASAHI_BIND_WRITE,
  drm_asahi_gem_bind_op,
  type drm_asahi_vm_bind,
  type drm_asahi_vm_create,
  type drm_asahi_vm_destroy,
} from "./asahi-drm.js";

/** One GPU mapping (a `drm_gpuva`). */
export interface AsahiMapping {
  addr: number;
  range: number;
  obj: DrmGemObject;
  offset: number;
  flags: number;
}

/** An Asahi GPU VM (`asahi::mmu::Vm`). Reference counted: the file's id and each queue hold one. */
export class AsahiVm extends RefCounted {
  /** Mappings, sorted by address. */
  readonly mappings: AsahiMapping[] = [];
  /** Objects created `DRM_ASAHI_GEM_VM_PRIVATE` for this VM. */
  readonly privateObjs = new WeakSet<DrmGemObject>();

  constructor(
    sim: Simulator,
    readonly id: number,
    readonly kernelStart: number,
    readonly kernelEnd: number,
  ) {
    super(sim);
  }

  describe(): string {
    return `asahi vm ${this.id}`;
  }

  /** The mapping covering GPU address `addr`, if any. */
  lookup(addr: number): AsahiMapping | undefined {
    return this.mappings.find((m) => addr >= m.addr && addr < m.addr + m.range);
  }

  protected release(): void {
    for (const m of this.mappings.splice(0)) m.obj.put();
  }
}

/** Per-file VM ids (`AsahiFile.vms` in the driver). */
export class AsahiVmTable {
  private readonly vms = new Map<number, AsahiVm>();
  private nextId = 1;

  constructor(private readonly sim: Simulator) {}

  /** The VM with this id (no new reference), `ENOENT` if none. */
  lookup(id: number, ioctl: string): AsahiVm {
    const vm = this.vms.get(id);
    if (vm === undefined) throw new KernelError("ENOENT", `${ioctl}: no VM ${id} in this file`);
    return vm;
  }

  get size(): number {
    return this.vms.size;
  }

  /** The ids of the file's VMs, ascending (`xa_for_each` order). */
  ids(): number[] {
    return [...this.vms.keys()].sort((a, b) => a - b);
  }

  /** `ASAHI_VM_CREATE` (`pad` is checked by the core). */
  create(args: UapiValue<typeof drm_asahi_vm_create>): void {
    const name = "ASAHI_VM_CREATE";
    // Beyond 2^53 an address is outside the VA window anyway: EINVAL either way.
    const ks = uapiU64ToNumber(args.kernel_start, `${name}: kernel_start`);
    const ke = uapiU64ToNumber(args.kernel_end, `${name}: kernel_end`);
    if (ks < ASAHI_VM_START || ke > ASAHI_VM_END || ke <= ks)
      throw new KernelError(
        "EINVAL",
        `${name}: kernel range [0x${ks.toString(16)}, 0x${ke.toString(16)}) is not inside the VA window`,
      );
    if (ke - ks < ASAHI_VM_KERNEL_MIN_SIZE)
      throw new KernelError(
        "EINVAL",
        `${name}: the kernel range must be at least 0x${ASAHI_VM_KERNEL_MIN_SIZE.toString(16)} bytes`,
      );
    if (ks % ASAHI_PAGE_SIZE !== 0 || ke % ASAHI_PAGE_SIZE !== 0)
      throw new KernelError("EINVAL", `${name}: the kernel range must be page aligned`);
    const id = this.nextId++;
    this.vms.set(id, new AsahiVm(this.sim, id, ks, ke));
    args.vm_id = id;
  }

  /** `ASAHI_VM_DESTROY`: drops the id; queues created on the VM keep it alive until destroyed. */
  destroy(args: UapiValue<typeof drm_asahi_vm_destroy>): void {
    const vm = this.lookup(args.vm_id, "ASAHI_VM_DESTROY");
    this.vms.delete(args.vm_id);
    vm.put();
  }

  /**
   * `ASAHI_VM_BIND`: the ops are copied in (`EFAULT` if user memory holds fewer than
   * `num_binds`), all validated first, then applied. `stride` must be at least the size of
   * `struct drm_asahi_gem_bind_op`; a simulated process passes one object per op, so any such
   * stride reads the same ops. From real userspace drmsim reads only packed ops (`stride` 32).
   */
  bind(file: DrmFile, args: UapiValue<typeof drm_asahi_vm_bind>): void {
    const name = "ASAHI_VM_BIND";
    const vm = this.lookup(args.vm_id, name);
    const opSize = drm_asahi_gem_bind_op.size;
    if (args.stride < opSize)
      throw new KernelError(
        "EINVAL",
        `${name}: stride ${args.stride} is smaller than struct drm_asahi_gem_bind_op (${opSize} bytes)`,
      );
    if (args.stride !== opSize && args.userptr.addr !== 0n)
      throw new KernelError(
        "EINVAL",
        `${name}: drmsim reads bind ops from real userspace only at stride ${opSize}, got ${args.stride}`,
      );
    const binds = args.userptr.read(args.num_binds);
    // Validate against the state as it will be after the earlier ops of this same call.
    const view = vm.mappings.map((m) => ({ ...m }));
    const plan: { op: "bind" | "unbind"; m: AsahiMapping }[] = [];
    const taken: DrmGemObject[] = [];
    try {
      for (const [i, op] of binds.entries()) {
        const what = `${name} op ${i}`;
        // Unknown flag bits were refused (EINVAL) as the op was copied in.
        const flags = op.flags;
        if ((flags & DRM_ASAHI_BIND_SINGLE_PAGE) !== 0)
          throw new KernelError("EINVAL", `${what}: DRM_ASAHI_BIND_SINGLE_PAGE is not supported by drmsim`);
        // Beyond 2^53 a range or address is outside the VA window anyway: EINVAL either way.
        const range = uapiU64ToNumber(op.range, `${what}: range`);
        const addr = uapiU64ToNumber(op.addr, `${what}: addr`);
        if (range === 0 || range % ASAHI_PAGE_SIZE !== 0 || addr % ASAHI_PAGE_SIZE !== 0)
          throw new KernelError(
            "EINVAL",
            `${what}: addr and range must be non-zero multiples of the 16 KiB page`,
          );
        const end = addr + range;
        if (addr < ASAHI_VM_START || end > ASAHI_VM_END)
          throw new KernelError(
            "EINVAL",
            `${what}: [0x${addr.toString(16)}, 0x${end.toString(16)}) is outside the VA window`,
          );
        if (addr < vm.kernelEnd && end > vm.kernelStart)
          throw new KernelError(
            "EINVAL",
            `${what}: the range overlaps the kernel-reserved range of VM ${vm.id}`,
          );
        const overlapping = view.filter((m) => addr < m.addr + m.range && end > m.addr);
        if ((flags & DRM_ASAHI_BIND_UNBIND) !== 0) {
          if (op.handle !== 0) throw new KernelError("EINVAL", `${what}: handle must be 0 for an unbind`);
          if (overlapping.some((m) => m.addr < addr || m.addr + m.range > end))
            throw new KernelError(
              "EINVAL",
              `${what}: an unbind must cover whole mappings (drmsim does not split them)`,
            );
          for (const m of overlapping) {
            view.splice(view.indexOf(m), 1);
            plan.push({ op: "unbind", m });
          }
          continue;
        }
        if ((flags & (DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE)) === 0)
          throw new KernelError(
            "EINVAL",
            `${what}: a bind needs DRM_ASAHI_BIND_READ and/or DRM_ASAHI_BIND_WRITE`,
          );
        const offset = uapiU64ToNumber(op.offset, `${what}: offset`);
        if (offset % ASAHI_PAGE_SIZE !== 0)
          throw new KernelError("EINVAL", `${what}: offset must be page aligned`);
        if (overlapping.length > 0)
          throw new KernelError(
            "EINVAL",
            `${what}: [0x${addr.toString(16)}, 0x${end.toString(16)}) overlaps an existing mapping`,
          );
        const obj = file.gem.lookup(op.handle);
        taken.push(obj);
        if (offset + range > obj.size)
          throw new KernelError(
            "EINVAL",
            `${what}: offset + range (${offset + range}) exceeds the object size ${obj.size}`,
          );
        if (isVmPrivate(obj) && !vm.privateObjs.has(obj))
          throw new KernelError("EINVAL", `${what}: the object is private to another VM`);
        const m: AsahiMapping = { addr, range, obj, offset, flags };
        view.push(m);
        plan.push({ op: "bind", m });
      }
    } catch (e) {
      for (const o of taken) o.put();
      throw e;
    }
    // Point of no return: apply.
    for (const { op, m } of plan) {
      if (op === "bind") {
        vm.mappings.push(m); // keeps the lookup reference
        continue;
      }
      const i = vm.mappings.findIndex((x) => x.addr === m.addr && x.range === m.range);
      // Ops apply in order, so a mapping bound earlier in this call is already in the list.
      vm.mappings.splice(i, 1)[0]!.obj.put();
    }
    vm.mappings.sort((x, y) => x.addr - y.addr);
  }

  /** Drops every VM id (file close). */
  release(): void {
    for (const vm of this.vms.values()) vm.put();
    this.vms.clear();
  }
}

const VM_PRIVATE = new WeakSet<DrmGemObject>();

/** Marks a new object `DRM_ASAHI_GEM_VM_PRIVATE` (it cannot be exported or bound elsewhere). */
export function markVmPrivate(obj: DrmGemObject, vm: AsahiVm): void {
  VM_PRIVATE.add(obj);
  vm.privateObjs.add(obj);
}

/** True for objects created `DRM_ASAHI_GEM_VM_PRIVATE`. */
export function isVmPrivate(obj: DrmGemObject): boolean {
  return VM_PRIVATE.has(obj);
}
