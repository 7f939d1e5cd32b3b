/**
 * GPU address spaces (the Asahi driver's `file.rs` VM ioctls over its gpuvm): a client creates
 * VMs (`ASAHI_VM_CREATE`, reserving a kernel VA range), binds GEM objects into them and unbinds
 * ranges (`ASAHI_VM_BIND`), and creates queues on a VM.
 *
 * VM_BIND as the driver does it: the `num_binds * stride` bytes at `userptr` are copied in one
 * go (`EFAULT` if user memory holds fewer), then each op is read from its `stride` bytes (a
 * shorter op zero-extended, the tail of a longer one ignored) and applied **one by one**. An op
 * that fails stops the ioctl with its error; the ops before it stay applied, as upstream.
 * A bind over existing mappings replaces them and an unbind may cut a mapping in two: both go
 * through `drm_gpuvm`'s split/merge (`asahi-gpuvm.ts`).
 */
import type { DrmFile } from "@drmsim/drm";
import type { DrmGemObject } from "@drmsim/gem";
import {
  KernelError,
  RefCounted,
  type Simulator,
  type UapiValue,
  uapiDecode,
  uapiU64ToNumber,
} from "@drmsim/runtime";
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
import { AsahiGpuvm, type AsahiGpuvmOps, type AsahiMapping } from "./asahi-gpuvm.js";
import { asahiCopyFromUser } from "./asahi-uaccess.js";

export type { AsahiMapping } from "./asahi-gpuvm.js";

const PGMSK = BigInt(ASAHI_PAGE_SIZE - 1);
const U64_MAX = 2n ** 64n - 1n;

/** An Asahi GPU VM (`asahi::mmu::Vm`). Reference counted: the file's id and each queue hold one. */
export class AsahiVm extends RefCounted {
  /** The address space (its mappings, sorted by address). */
  readonly gpuvm = new AsahiGpuvm();
  /** Objects created `DRM_ASAHI_GEM_VM_PRIVATE` for this VM. */
  readonly privateObjs = new WeakSet<DrmGemObject>();
  /** Ops applied over the VM's life (`drm_gpuva_op`s of every bind and unbind). */
  readonly ops: AsahiGpuvmOps = { map: 0, remap: 0, unmap: 0 };

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

  /** The mappings, sorted by address. */
  get mappings(): readonly AsahiMapping[] {
    return this.gpuvm.mappings;
  }

  /** The mapping covering GPU address `addr`, if any. */
  lookup(addr: number): AsahiMapping | undefined {
    return this.gpuvm.find(addr);
  }

  /** True if `[start, end)` intrudes in the kernel-reserved range (`RangeExt::overlaps`). */
  overlapsKernel(start: number, end: number): boolean {
    return start < end && start < this.kernelEnd && end > this.kernelStart;
  }

  protected release(): void {
    this.gpuvm.clear();
  }

  /** @internal Adds one call's ops to the VM's totals. */
  count(ops: AsahiGpuvmOps): void {
    this.ops.map += ops.map;
    this.ops.remap += ops.remap;
    this.ops.unmap += ops.unmap;
  }
}

/** `[start, end)` within the user VA window (`VM_USER_RANGE.is_superset`: an empty range always is). */
function inUserRange(start: bigint, end: bigint): boolean {
  return start === end || (start >= BigInt(ASAHI_VM_START) && end <= BigInt(ASAHI_VM_END));
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

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
        `${name}: kernel range [${hex(ks)}, ${hex(ke)}) is not inside the VA window [${hex(ASAHI_VM_START)}, ${hex(ASAHI_VM_END)})`,
      );
    if (ke - ks < ASAHI_VM_KERNEL_MIN_SIZE)
      throw new KernelError(
        "EINVAL",
        `${name}: the kernel range must be at least ${hex(ASAHI_VM_KERNEL_MIN_SIZE)} bytes`,
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
   * `ASAHI_VM_BIND`: see the module comment. `EINVAL` for a zero `stride` (`pad` is checked by
   * the core); `ENOMEM` for more than `INT_MAX` bytes of ops (the copy's `kvmalloc` refuses);
   * `EFAULT` for user memory that holds fewer bytes; then each op's own errors
   * (`bindOne`/`unbindOne`).
   */
  bind(file: DrmFile, args: UapiValue<typeof drm_asahi_vm_bind>): void {
    const name = "ASAHI_VM_BIND";
    if (args.stride === 0) throw new KernelError("EINVAL", `${name}: stride is 0`);
    const sim = this.sim;
    // The driver copies all the ops in at once, into one kernel buffer of num_binds * stride bytes.
    const bytes = asahiCopyFromUser(args.userptr, args.stride * args.num_binds, `${name}: userptr`);
    const opSize = drm_asahi_gem_bind_op.size;
    for (let i = 0; i < args.num_binds; i++) {
      const raw = new Uint8Array(opSize);
      raw.set(bytes.subarray(i * args.stride, i * args.stride + Math.min(args.stride, opSize)));
      const op = uapiDecode(drm_asahi_gem_bind_op, raw, { sim, what: `${name} op ${i}` });
      const what = `${name} op ${i}`;
      if ((op.flags & DRM_ASAHI_BIND_UNBIND) !== 0) this.unbindOne(args.vm_id, op, what);
      else this.bindOne(file, args.vm_id, op, what);
    }
  }

  /**
   * One bind (`do_gem_bind`), in the driver's order: `EINVAL` for an address, range or offset
   * off the 16 KiB page or unknown flags; `ENOENT` for a bad handle; `EINVAL` for a range that
   * wraps, runs past the object (one page of it for `SINGLE_PAGE`) or leaves the user VA window,
   * for neither READ nor WRITE; `ENOENT` for a bad VM; `EINVAL` for a range in the VM's kernel
   * range, an empty range, or an object private to another VM. Then it maps, replacing what was
   * there.
   */
  private bindOne(
    file: DrmFile,
    vmId: number,
    op: UapiValue<typeof drm_asahi_gem_bind_op>,
    what: string,
  ): void {
    if (((op.addr | op.range | op.offset) & PGMSK) !== 0n)
      throw new KernelError(
        "EINVAL",
        `${what}: addr ${hex(op.addr)}, range ${hex(op.range)} and offset ${hex(op.offset)} must be multiples of the 16 KiB page`,
      );
    const known = DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE | DRM_ASAHI_BIND_SINGLE_PAGE;
    if ((op.flags & ~known) !== 0)
      throw new KernelError("EINVAL", `${what}: unknown flag bits ${hex(op.flags & ~known)}`);
    const single = (op.flags & DRM_ASAHI_BIND_SINGLE_PAGE) !== 0;
    const obj = file.gem.lookup(op.handle);
    try {
      const end = op.addr + op.range;
      if (end > U64_MAX) throw new KernelError("EINVAL", `${what}: addr + range wraps around`);
      const accessed = single ? BigInt(ASAHI_PAGE_SIZE) : op.range;
      // An import spans whole GPU pages: on the 16 KiB-page kernels Asahi runs, every dma-buf is a
      // multiple of 16 KiB; drmsim's exporters use 4 KiB pages, so the last GPU page of an import
      // may extend past the buffer (an access there faults). See DIFFERENCES.md.
      const size = obj.isImported ? Math.ceil(obj.size / ASAHI_PAGE_SIZE) * ASAHI_PAGE_SIZE : obj.size;
      if (op.offset + accessed > BigInt(size))
        throw new KernelError(
          "EINVAL",
          `${what}: offset ${hex(op.offset)} + ${hex(accessed)} is past the end of the ${size}-byte object`,
        );
      if (!inUserRange(op.addr, end))
        throw new KernelError(
          "EINVAL",
          `${what}: [${hex(op.addr)}, ${hex(end)}) is not inside the user VA window [${hex(ASAHI_VM_START)}, ${hex(ASAHI_VM_END)})`,
        );
      if ((op.flags & (DRM_ASAHI_BIND_READ | DRM_ASAHI_BIND_WRITE)) === 0)
        throw new KernelError(
          "EINVAL",
          `${what}: a bind needs DRM_ASAHI_BIND_READ and/or DRM_ASAHI_BIND_WRITE`,
        );
      const { vm, addr, range } = this.userRange(vmId, op, what);
      if (range === 0) throw new KernelError("EINVAL", `${what}: an empty range maps nothing`);
      if (isVmPrivate(obj) && !vm.privateObjs.has(obj))
        throw new KernelError("EINVAL", `${what}: the object is private to another VM`);
      vm.count(vm.gpuvm.smMap({ addr, range, obj: obj.get(), offset: Number(op.offset), flags: op.flags }));
    } finally {
      obj.put();
    }
  }

  /**
   * One unbind (`do_gem_unbind`): `EINVAL` for a non-zero offset or handle or any flag besides
   * UNBIND, a range off the page, wrapping or outside the user VA window; `ENOENT` for a bad VM;
   * `EINVAL` for a range in the kernel range. Then everything in the range is unmapped — a
   * mapping it covers in part keeps the rest (a remap).
   */
  private unbindOne(vmId: number, op: UapiValue<typeof drm_asahi_gem_bind_op>, what: string): void {
    if (op.offset !== 0n || op.flags !== DRM_ASAHI_BIND_UNBIND || op.handle !== 0)
      throw new KernelError("EINVAL", `${what}: an unbind takes no offset, handle or other flags`);
    if (((op.addr | op.range) & PGMSK) !== 0n)
      throw new KernelError("EINVAL", `${what}: addr and range must be multiples of the 16 KiB page`);
    const end = op.addr + op.range;
    if (end > U64_MAX) throw new KernelError("EINVAL", `${what}: addr + range wraps around`);
    if (!inUserRange(op.addr, end))
      throw new KernelError(
        "EINVAL",
        `${what}: [${hex(op.addr)}, ${hex(end)}) is not inside the user VA window [${hex(ASAHI_VM_START)}, ${hex(ASAHI_VM_END)})`,
      );
    const { vm, addr, range } = this.userRange(vmId, op, what);
    vm.count(vm.gpuvm.smUnmap(addr, range));
  }

  /** The VM of an op (`ENOENT`) and its range, which must stay out of the kernel's (`EINVAL`). */
  private userRange(vmId: number, op: UapiValue<typeof drm_asahi_gem_bind_op>, what: string) {
    const vm = this.lookup(vmId, what);
    const addr = Number(op.addr);
    const range = Number(op.range);
    if (vm.overlapsKernel(addr, addr + range))
      throw new KernelError(
        "EINVAL",
        `${what}: the range intrudes in the kernel-reserved range of VM ${vm.id}`,
      );
    return { vm, addr, range };
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
