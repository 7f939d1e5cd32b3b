/**
 * The GEM ioctls (`amdgpu_gem.c`): GEM_CREATE, GEM_MMAP, GEM_WAIT_IDLE, GEM_METADATA, GEM_VA,
 * GEM_OP, GEM_USERPTR and GEM_LIST_HANDLES, and the BO's `open`/`close` GEM funcs, which give it a
 * `bo_va` in the file's VM.
 */
import { type DmaFence, dmaFenceGetStub } from "@drmsim/dma-fence";
import { DmaResvUsage, DrmExec } from "@drmsim/dma-resv";
import { type DrmFile, drmSyncobjTable } from "@drmsim/drm";
import { KernelError, type UapiValue, uapiU64ToNumber } from "@drmsim/runtime";
import { amdgpuGemMmapOffset } from "./amdgpu-cpu-access.js";
import { amdgpuGemTimeout } from "./amdgpu-cs.js";
import type { AmdgpuDevice } from "./amdgpu-device.js";
import {
  AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED,
  AMDGPU_GEM_CREATE_ENCRYPTED,
  AMDGPU_GEM_CREATE_FLAGS_MASK,
  AMDGPU_GEM_CREATE_VM_ALWAYS_VALID,
  AMDGPU_GEM_CREATE_VRAM_CLEARED,
  AMDGPU_GEM_DOMAIN_CPU,
  AMDGPU_GEM_DOMAIN_GDS,
  AMDGPU_GEM_DOMAIN_GTT,
  AMDGPU_GEM_DOMAIN_GWS,
  AMDGPU_GEM_DOMAIN_MASK,
  AMDGPU_GEM_DOMAIN_MMIO_REMAP,
  AMDGPU_GEM_DOMAIN_OA,
  AMDGPU_GEM_DOMAIN_VRAM,
  AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT,
  AMDGPU_GEM_METADATA_OP_GET_METADATA,
  AMDGPU_GEM_METADATA_OP_SET_METADATA,
  AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
  AMDGPU_GEM_OP_GET_MAPPING_INFO,
  AMDGPU_GEM_OP_SET_PLACEMENT,
  AMDGPU_GEM_USERPTR_ANONONLY,
  AMDGPU_GEM_USERPTR_READONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_GEM_USERPTR_VALIDATE,
  AMDGPU_VA_OP_CLEAR,
  AMDGPU_VA_OP_MAP,
  AMDGPU_VA_OP_REPLACE,
  AMDGPU_VA_OP_UNMAP,
  AMDGPU_VM_DELAY_UPDATE,
  AMDGPU_VM_MTYPE_MASK,
  AMDGPU_VM_PAGE_EXECUTABLE,
  AMDGPU_VM_PAGE_NOALLOC,
  AMDGPU_VM_PAGE_PRT,
  AMDGPU_VM_PAGE_READABLE,
  AMDGPU_VM_PAGE_WRITEABLE,
  type drm_amdgpu_gem_create,
  drm_amdgpu_gem_create_in,
  type drm_amdgpu_gem_list_handles,
  type drm_amdgpu_gem_metadata,
  type drm_amdgpu_gem_mmap,
  type drm_amdgpu_gem_op,
  type drm_amdgpu_gem_userptr,
  type drm_amdgpu_gem_va,
  drm_amdgpu_gem_vm_entry,
  type drm_amdgpu_gem_wait_idle,
} from "./amdgpu-drm.js";
import { amdgpuFprivOf } from "./amdgpu-fpriv.js";
import { amdgpuHmmRegister } from "./amdgpu-hmm.js";
import { AmdgpuBo, amdgpuAllowedDomains } from "./amdgpu-object.js";
import {
  AMDGPU_GMC_HOLE_END,
  AMDGPU_GMC_HOLE_MASK,
  AMDGPU_GMC_HOLE_START,
  AMDGPU_GPU_PAGE_SIZE,
  AMDGPU_VA_RESERVED_BOTTOM,
  AMDGPU_VA_RESERVED_TOP,
  AMDGPU_VM_SIZE,
  type AmdgpuBoVa,
} from "./amdgpu-vm.js";

const PAGE = 4096;

/** The amdgpu BO behind `handle` (a reference). `ENOENT` for no such handle, `EINVAL` for another kind of GEM object. */
function lookupBo(file: DrmFile, handle: number, what: string): AmdgpuBo {
  const obj = file.gem.lookup(handle);
  if (!(obj instanceof AmdgpuBo)) {
    obj.put();
    throw new KernelError("EINVAL", `${what}: handle ${handle} is not an amdgpu BO`);
  }
  return obj;
}

/**
 * `amdgpu_gem_object_open`: the file got a handle to `bo` — give it a `bo_va` in the file's VM
 * (one more reference if it has one), and the eviction fence when user queues exist. `EPERM` for
 * another process's userptr BO and for another VM's per-VM BO.
 */
export function amdgpuGemObjectOpen(file: DrmFile, bo: AmdgpuBo): void {
  const fpriv = amdgpuFprivOf(file);
  if (bo.userptr !== null && bo.userptr.proc !== file.proc)
    throw new KernelError("EPERM", `${bo.label} is another process's memory`);
  if ((bo.flags & AMDGPU_GEM_CREATE_VM_ALWAYS_VALID) !== 0 && !fpriv.vm.isAlwaysValid(bo))
    throw new KernelError("EPERM", `${bo.label} is a per-VM BO of another file`);
  fpriv.vm.boAdd(bo);
  fpriv.userq.attachOnOpen(bo);
}

/** `amdgpu_gem_object_close`: one handle fewer; the last takes the BO's mappings out of the VM. */
export function amdgpuGemObjectClose(file: DrmFile, bo: AmdgpuBo): void {
  const p = file.driverPriv;
  // After postclose the VM is gone and took every bo_va with it.
  if (p === undefined) return;
  amdgpuFprivOf(file).vm.boRelease(bo);
}

/**
 * `amdgpu_gem_create_ioctl`: a BO in the requested domains (VRAM first, evicting others if
 * needed; a VRAM-only request that fails is retried with GTT, as the kernel does). Accepts the
 * flags Mesa sets (`AMDGPU_GEM_CREATE_FLAGS_MASK`); `VM_ALWAYS_VALID` makes a per-VM BO sharing
 * the VM's reservation object. `EINVAL` for unknown flags or domains, a zero size, TMZ
 * (`ENCRYPTED`), and the domains this device does not model (GDS, GWS, OA, MMIO_REMAP); `ENOMEM`
 * when it fits nowhere. Out: `handle`.
 */
export async function amdgpuGemCreateIoctl(
  adev: AmdgpuDevice,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_create>,
): Promise<void> {
  const N = "AMDGPU_GEM_CREATE";
  const fpriv = amdgpuFprivOf(file);
  const { bo_size, alignment, domains } = args.in;
  let flags = args.in.domain_flags;
  if ((flags & ~BigInt(AMDGPU_GEM_CREATE_FLAGS_MASK)) !== 0n)
    throw new KernelError("EINVAL", `${N}: unknown flags 0x${flags.toString(16)}`);
  if ((domains & ~BigInt(AMDGPU_GEM_DOMAIN_MASK)) !== 0n)
    throw new KernelError("EINVAL", `${N}: invalid domains 0x${domains.toString(16)}`);
  if ((flags & BigInt(AMDGPU_GEM_CREATE_ENCRYPTED)) !== 0n)
    throw new KernelError("EINVAL", `${N}: cannot allocate a secure buffer: this device has no TMZ`);
  const unmodelled =
    AMDGPU_GEM_DOMAIN_GDS | AMDGPU_GEM_DOMAIN_GWS | AMDGPU_GEM_DOMAIN_OA | AMDGPU_GEM_DOMAIN_MMIO_REMAP;
  if ((domains & BigInt(unmodelled)) !== 0n)
    throw new KernelError(
      "EINVAL",
      `${N}: GDS, GWS, OA and MMIO_REMAP BOs are not modelled (domains 0x${domains.toString(16)})`,
    );
  if (bo_size === 0n) throw new KernelError("EINVAL", `${N}: bo_size must not be 0`);
  // No simulated device has 2^53 bytes to give: such a size fails as any size that fits nowhere.
  if (bo_size > BigInt(Number.MAX_SAFE_INTEGER - PAGE))
    throw new KernelError("ENOMEM", `${N}: ${bo_size} bytes fit nowhere`);
  // Always clear VRAM.
  flags |= BigInt(AMDGPU_GEM_CREATE_VRAM_CLEARED);
  const size = Math.ceil(Number(bo_size) / PAGE) * PAGE;
  const align = alignment > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(alignment);
  const perVm = (flags & BigInt(AMDGPU_GEM_CREATE_VM_ALWAYS_VALID)) !== 0n;
  const root = fpriv.vm.root;
  if (perVm) await root.resv.lock(null);
  let initial = Number(domains & 0xffff_ffffn);
  try {
    for (;;) {
      const bo = new AmdgpuBo(adev, size, {
        domains: initial,
        flags: Number(flags),
        alignment: align,
        ...(perVm ? { resv: root.resv } : {}),
      });
      adev.drm.initGemObject(bo);
      try {
        // A fresh BO: nobody else can hold its lock (a per-VM BO's is the root's, held above).
        if (!perVm && !bo.resv.trylock()) throw new KernelError("EBUSY", `${N}: fresh BO is locked`);
        try {
          adev.mman.placeNew(bo);
        } finally {
          if (!perVm) bo.resv.unlock();
        }
        args.out.handle = file.gem.handleCreate(bo);
        return;
      } catch (e) {
        if (!(e instanceof KernelError) || e.code !== "ENOMEM") throw e;
        if ((flags & BigInt(AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED)) !== 0n)
          flags &= ~BigInt(AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED);
        else if (initial === AMDGPU_GEM_DOMAIN_VRAM) initial |= AMDGPU_GEM_DOMAIN_GTT;
        else throw e;
      } finally {
        bo.put();
      }
    }
  } finally {
    if (perVm) root.resv.unlock();
  }
}

/**
 * `amdgpu_gem_mmap_ioctl` (`amdgpu_mode_dumb_mmap`): out `addr_ptr`, the fake offset to `mmap()`
 * the BO at. `ENOENT` for an unknown handle, `EPERM` for a userptr BO or one created with
 * `NO_CPU_ACCESS`.
 */
export function amdgpuGemMmapIoctl(file: DrmFile, args: UapiValue<typeof drm_amdgpu_gem_mmap>): void {
  args.out.addr_ptr = amdgpuGemMmapOffset(file, args.in.handle);
}

/**
 * `amdgpu_gem_wait_idle_ioctl`: wait until every KERNEL, WRITE and READ fence of the BO signalled,
 * or the absolute `timeout` passed. Out `status` 1 if it is still busy, `domain` 0. `ENOENT` for
 * an unknown handle.
 */
export async function amdgpuGemWaitIdleIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_wait_idle>,
): Promise<void> {
  const obj = file.gem.lookup(args.in.handle);
  try {
    const timeoutNs = amdgpuGemTimeout(amdgpuFprivOf(file), args.in.timeout);
    const left = await obj.resv.waitTimeout(DmaResvUsage.READ, {
      interruptible: true,
      ...(timeoutNs !== undefined ? { timeoutNs } : {}),
    });
    args.out.status = left === 0 ? 1 : 0;
    args.out.domain = 0;
  } finally {
    obj.put();
  }
}

/**
 * `amdgpu_gem_metadata_ioctl`: SET stores the tiling word, flags and up to 256 bytes of metadata
 * for importers of the BO (`EINVAL` for more); GET returns them. Under the BO's lock. `ENOENT`
 * for an unknown handle; another op does nothing and succeeds, as in the kernel.
 */
export async function amdgpuGemMetadataIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_metadata>,
): Promise<void> {
  const N = "AMDGPU_GEM_METADATA";
  const bo = lookupBo(file, args.handle, N);
  try {
    await bo.resv.lock(null);
    try {
      const d = args.data;
      if (args.op === AMDGPU_GEM_METADATA_OP_GET_METADATA) {
        const md = bo.metadata;
        d.tiling_info = md.tilingFlags;
        d.flags = md.flags;
        d.data_size_bytes = md.data.length;
        const padded = new Uint8Array(256);
        padded.set(md.data);
        const view = new DataView(padded.buffer);
        d.data = Array.from({ length: 64 }, (_, i) => view.getUint32(i * 4, true));
      } else if (args.op === AMDGPU_GEM_METADATA_OP_SET_METADATA) {
        if (d.data_size_bytes > 256)
          throw new KernelError("EINVAL", `${N}: ${d.data_size_bytes} bytes of metadata do not fit 256`);
        const bytes = new Uint8Array(256);
        const view = new DataView(bytes.buffer);
        d.data.forEach((w, i) => {
          view.setUint32(i * 4, w, true);
        });
        bo.metadata = { flags: d.flags, tilingFlags: d.tiling_info, data: bytes.slice(0, d.data_size_bytes) };
      }
    } finally {
      bo.resv.unlock();
    }
  } finally {
    bo.put();
  }
}

/** `amdgpu_gem_va_ioctl`'s flags: for ordinary mappings, and for PRT ranges. */
const VA_VALID_FLAGS =
  AMDGPU_VM_DELAY_UPDATE |
  AMDGPU_VM_PAGE_READABLE |
  AMDGPU_VM_PAGE_WRITEABLE |
  AMDGPU_VM_PAGE_EXECUTABLE |
  AMDGPU_VM_MTYPE_MASK |
  AMDGPU_VM_PAGE_NOALLOC;
const VA_PRT_FLAGS = AMDGPU_VM_DELAY_UPDATE | AMDGPU_VM_PAGE_PRT;

/**
 * `amdgpu_gem_va_ioctl`: MAP, UNMAP, CLEAR or REPLACE a range of the caller's GPU VM (see
 * `amdgpu-vm.ts`). The checks come first, in the kernel's order: the reserved bottom and the VA
 * hole (`EINVAL`), the top of the VA space, flags, the operation, the BO (`ENOENT`); then the
 * input syncobjs are waited for. Unless `AMDGPU_VM_DELAY_UPDATE`, the page tables are updated at
 * once, and the update's fence goes to `vm_timeline_syncobj_out` (at `vm_timeline_point`, or
 * replacing its fence for point 0).
 */
export async function amdgpuGemVaIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_va>,
): Promise<void> {
  const N = "AMDGPU_GEM_VA";
  const fpriv = amdgpuFprivOf(file);
  const vm = fpriv.vm;
  const raw = args.va_address;
  if (raw < BigInt(AMDGPU_VA_RESERVED_BOTTOM))
    throw new KernelError(
      "EINVAL",
      `${N}: va_address 0x${raw.toString(16)} is in the reserved area below 0x10000`,
    );
  if (raw >= AMDGPU_GMC_HOLE_START && raw < AMDGPU_GMC_HOLE_END)
    throw new KernelError("EINVAL", `${N}: va_address 0x${raw.toString(16)} is in the VA hole`);
  const va = Number(raw & AMDGPU_GMC_HOLE_MASK);
  const vmSize = AMDGPU_VM_SIZE - AMDGPU_VA_RESERVED_TOP;
  if (BigInt(va) + args.map_size > BigInt(vmSize))
    throw new KernelError(
      "EINVAL",
      `${N}: 0x${(BigInt(va) + args.map_size).toString(16)} is in the reserved area at the top of the VA space`,
    );
  const flags = args.flags;
  if ((flags & ~VA_VALID_FLAGS) !== 0 && (flags & ~VA_PRT_FLAGS) !== 0)
    throw new KernelError("EINVAL", `${N}: invalid flags combination 0x${flags.toString(16)}`);
  const op = args.operation;
  if (
    op !== AMDGPU_VA_OP_MAP &&
    op !== AMDGPU_VA_OP_UNMAP &&
    op !== AMDGPU_VA_OP_CLEAR &&
    op !== AMDGPU_VA_OP_REPLACE
  )
    throw new KernelError("EINVAL", `${N}: unsupported operation ${op}`);
  const prt = (flags & AMDGPU_VM_PAGE_PRT) !== 0;
  const bo = op !== AMDGPU_VA_OP_CLEAR && !prt ? lookupBo(file, args.handle, N) : null;
  try {
    // amdgpu_gem_add_input_fence: wait for each syncobj's fence (uninterruptibly, as the kernel).
    const table = drmSyncobjTable(file);
    for (const h of args.input_fence_syncobj_handles.read()) {
      if (h === 0) throw new KernelError("EINVAL", `${N}: input fence syncobj handle 0`);
      const f = await table.findFence(h, 0n, 0);
      try {
        await f.wait();
      } finally {
        f.put();
      }
    }
    await DrmExec.run(
      fpriv.adev.sim,
      { flags: { interruptible: true, ignoreDuplicates: true } },
      async (exec) => {
        if (bo !== null) await exec.lockObj(bo);
        await exec.prepareObj(vm.root, 2);
        let boVa: AmdgpuBoVa | null;
        if (bo !== null) {
          boVa = vm.boFind(bo) ?? null;
          if (boVa === null) throw new KernelError("ENOENT", `${N}: ${bo.label} is not in this file's VM`);
        } else boVa = op !== AMDGPU_VA_OP_CLEAR ? vm.prtVa : null;
        const out =
          args.vm_timeline_syncobj_out !== 0
            ? drmSyncobjTable(file).find(args.vm_timeline_syncobj_out)
            : null;
        if (args.vm_timeline_syncobj_out !== 0 && out === null)
          throw new KernelError("ENOENT", `${N}: no syncobj ${args.vm_timeline_syncobj_out}`);
        try {
          const size = uapiU64ToNumber(args.map_size, `${N}: map_size`);
          const offset = uapiU64ToNumber(args.offset_in_bo, `${N}: offset_in_bo`);
          switch (op) {
            case AMDGPU_VA_OP_MAP:
              vm.map(boVa!, va, offset, size, flags);
              break;
            case AMDGPU_VA_OP_UNMAP:
              vm.unmap(boVa!, va);
              break;
            case AMDGPU_VA_OP_CLEAR:
              vm.clearMappings(va, size);
              break;
            default:
              vm.replaceMap(boVa!, va, offset, size, flags);
          }
          if ((flags & AMDGPU_VM_DELAY_UPDATE) !== 0) return;
          // amdgpu_gem_va_update_vm.
          const cleared = vm.clearFreed();
          if ((op === AMDGPU_VA_OP_MAP || op === AMDGPU_VA_OP_REPLACE) && boVa !== null) vm.boUpdate(boVa);
          if (out === null) return;
          // amdgpu_gem_update_bo_mapping: the fence userspace may wait for before using the range.
          let last =
            op === AMDGPU_VA_OP_MAP || op === AMDGPU_VA_OP_REPLACE
              ? bo !== null && vm.isAlwaysValid(bo)
                ? vm.lastUpdate
                : boVa!.lastPtUpdate
              : cleared;
          last ??= dmaFenceStub(fpriv.adev);
          const ref = last.get();
          try {
            if (args.vm_timeline_point !== 0n) out.addPoint(ref, args.vm_timeline_point);
            else out.replaceFence(ref);
          } finally {
            ref.put();
          }
        } finally {
          out?.put();
        }
      },
    );
  } finally {
    bo?.put();
  }
}

/** `dma_fence_get_stub()` without the extra reference (the caller takes one). */
function dmaFenceStub(adev: AmdgpuDevice): DmaFence {
  const s = dmaFenceGetStub(adev.sim);
  s.put();
  return s;
}

/**
 * `amdgpu_gem_op_ioctl`: GET_GEM_CREATE_INFO writes the BO's `drm_amdgpu_gem_create_in` through
 * `value_ptr` (drmsim's name for `value` read as a pointer); SET_PLACEMENT makes `value` the
 * preferred domains (`EINVAL` VRAM for an import, `EPERM` for userptr); GET_MAPPING_INFO writes
 * up to `num_entries` of the BO's mappings in the caller's VM through `value_ptr` and sets
 * `num_entries` to how many there are. `ENOENT` for an unknown handle, `EINVAL` for another op.
 */
export async function amdgpuGemOpIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_op>,
): Promise<void> {
  const N = "AMDGPU_GEM_OP";
  const bo = lookupBo(file, args.handle, N);
  try {
    // Under the BO's lock: read or change it. The copy to userspace comes after the unlock (a
    // user copy may fault, and mmap_lock orders before every reservation lock).
    let copyOut: (() => void) | null = null;
    await bo.resv.lock(null);
    try {
      switch (args.op) {
        case AMDGPU_GEM_OP_GET_GEM_CREATE_INFO: {
          const info = {
            bo_size: BigInt(bo.size),
            alignment: BigInt(bo.alignment),
            domains: BigInt(bo.domains),
            domain_flags: BigInt(bo.flags),
          };
          copyOut = () => args.value_ptr.as(drm_amdgpu_gem_create_in).write([info]);
          break;
        }
        case AMDGPU_GEM_OP_SET_PLACEMENT: {
          const v = Number(args.value & 0xffff_ffffn);
          if (bo.isImported && (v & AMDGPU_GEM_DOMAIN_VRAM) !== 0)
            throw new KernelError("EINVAL", `${N}: an imported BO cannot be placed in VRAM`);
          if (bo.userptr !== null) throw new KernelError("EPERM", `${N}: a userptr BO stays in GTT`);
          bo.domains = v & (AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT | AMDGPU_GEM_DOMAIN_CPU);
          bo.allowedDomains = amdgpuAllowedDomains(bo.domains);
          if ((bo.flags & AMDGPU_GEM_CREATE_VM_ALWAYS_VALID) !== 0) bo.vmInvalidate();
          break;
        }
        case AMDGPU_GEM_OP_GET_MAPPING_INFO: {
          if (args.num_entries > 65536)
            throw new KernelError("EINVAL", `${N}: ${args.num_entries} entries is more than any BO has`);
          const maps = amdgpuFprivOf(file).vm.mappingsOf(bo);
          const entries = maps.slice(0, args.num_entries).map((m) => ({
            addr: BigInt(m.start * AMDGPU_GPU_PAGE_SIZE),
            size: BigInt((m.last - m.start + 1) * AMDGPU_GPU_PAGE_SIZE),
            offset: BigInt(m.offset),
            flags: BigInt(m.flags),
          }));
          if (entries.length > 0) copyOut = () => args.value_ptr.as(drm_amdgpu_gem_vm_entry).write(entries);
          args.num_entries = maps.length;
          break;
        }
        default:
          throw new KernelError("EINVAL", `${N}: unknown op ${args.op}`);
      }
    } finally {
      bo.resv.unlock();
    }
    copyOut?.();
  } finally {
    bo.put();
  }
}

/**
 * `amdgpu_gem_list_handles_ioctl`: every GEM handle of the file with its size, domains, flags and
 * alignment. With fewer `num_entries` than handles it only sets `num_entries` to the count.
 */
export function amdgpuGemListHandlesIoctl(
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_list_handles>,
): void {
  const handles = file.gem.handles();
  if (args.num_entries < handles.length || handles.length === 0) {
    args.num_entries = handles.length;
    return;
  }
  const entries = handles.map((h) => {
    const obj = file.gem.peek(h)!;
    const bo = obj instanceof AmdgpuBo ? obj : null;
    return {
      gem_handle: h,
      flags: obj.isImported ? AMDGPU_GEM_LIST_HANDLES_FLAG_IS_IMPORT : 0,
      size: BigInt(obj.size),
      preferred_domains: BigInt(bo?.domains ?? 0),
      alloc_flags: BigInt(bo?.flags ?? 0),
      alignment: BigInt(bo?.alignment ?? 0),
    };
  });
  args.entries.write(entries);
  args.num_entries = entries.length;
}

/**
 * `amdgpu_gem_userptr_ioctl`: a GTT BO over `[addr, addr+size)` of the calling process.
 * `EINVAL` for an unaligned address or size, or unknown flags; `EACCES` for a writable range
 * without `REGISTER` (the kernel insists on the notifier unless the BO is read-only).
 */
export function amdgpuGemUserptrIoctl(
  adev: AmdgpuDevice,
  file: DrmFile,
  args: UapiValue<typeof drm_amdgpu_gem_userptr>,
): void {
  const N = "AMDGPU_GEM_USERPTR";
  const addr = uapiU64ToNumber(args.addr, `${N}: addr`);
  const size = uapiU64ToNumber(args.size, `${N}: size`);
  const flags = args.flags;
  const known =
    AMDGPU_GEM_USERPTR_READONLY |
    AMDGPU_GEM_USERPTR_ANONONLY |
    AMDGPU_GEM_USERPTR_VALIDATE |
    AMDGPU_GEM_USERPTR_REGISTER;
  if (addr % PAGE !== 0 || size % PAGE !== 0 || size === 0)
    throw new KernelError("EINVAL", `${N}: addr and size must be page aligned and size non-zero`);
  if ((flags & ~known) !== 0) throw new KernelError("EINVAL", `${N}: unknown flags 0x${flags.toString(16)}`);
  const readonly = (flags & AMDGPU_GEM_USERPTR_READONLY) !== 0;
  if (!readonly && (flags & AMDGPU_GEM_USERPTR_REGISTER) === 0)
    throw new KernelError("EACCES", `${N}: a writable userptr needs AMDGPU_GEM_USERPTR_REGISTER`);
  const bo = new AmdgpuBo(adev, size, {
    domains: AMDGPU_GEM_DOMAIN_GTT,
    userptr: { proc: file.proc, addr, size, readonly, seq: 0 },
    label: `userptr@0x${addr.toString(16)}`,
  });
  adev.drm.initGemObject(bo);
  try {
    bo.domain = "gtt";
    amdgpuHmmRegister(bo);
    args.handle = file.gem.handleCreate(bo);
  } finally {
    bo.put();
  }
}
