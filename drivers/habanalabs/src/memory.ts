/**
 * Device memory (`common/memory.c`): `HL_MEM_OP_ALLOC` / `FREE` / `MAP` / `UNMAP` and
 * `HL_MEM_OP_EXPORT_DMABUF_FD`, whose dma-buf exporter is `hl-dma-buf.ts`.
 *
 * - Allocations are pages of the device's HBM (`HL_DRAM`), named by a handle; MAP puts them in the
 *   context's device-MMU address space, and the export names a page range of such a mapping by
 *   its device VA (`export_dmabuf_fd.addr`, with `offset` and `mem_size`), as 7.1's uAPI does for
 *   devices with DRAM virtual memory.
 * - **Exported memory is pinned.** While a dma-buf exports an allocation, `HL_MEM_OP_FREE` of it
 *   is refused with `EBUSY` (the first upstream version returned `EINVAL`; the task's contract
 *   for drmsim is `EBUSY`).
 * - **No kernel log from userspace-triggered failures** (seed 003's review): errors are only the
 *   errno and its message.
 */
import { PAGE_SIZE } from "@drmsim/dma-buf";
import { KernelError, O_CLOEXEC, O_RDWR, type Process, type UapiValue } from "@drmsim/runtime";
import type { HlCtx } from "./context.js";
import {
  HL_MEM_CONTIGUOUS,
  HL_MEM_FORCE_HINT,
  HL_MEM_OP_ALLOC,
  HL_MEM_OP_EXPORT_DMABUF_FD,
  HL_MEM_OP_FREE,
  HL_MEM_OP_MAP,
  HL_MEM_OP_UNMAP,
  HL_MEM_PREFETCH,
  HL_MEM_SHARED,
  HL_MEM_USERPTR,
  type hl_mem_args,
  type hl_mem_in,
} from "./habanalabs-accel.js";
import { hlDmaBufExport } from "./hl-dma-buf.js";
import { HlVmPhysPgPack } from "./hl-dram.js";

type MemIn = UapiValue<typeof hl_mem_in>;

/** A 64-bit handle or address as a number, or undefined above 2^53 (nothing the simulation hands out). */
function small(v: bigint): number | undefined {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/**
 * `alloc_device_memory`: `mem_size` bytes in DRAM pages (`page_size` 0 or the device's). `EINVAL`
 * for unknown flags, another page size or 0 bytes; `ENOMEM` when the HBM cannot hold it.
 */
function allocDeviceMemory(ctx: HlCtx, flags: number, a: MemIn["alloc"]): number {
  const N = "HL_MEM_OP_ALLOC";
  const dram = ctx.hdev.dram;
  if ((flags & ~(HL_MEM_CONTIGUOUS | HL_MEM_SHARED)) !== 0)
    throw new KernelError("EINVAL", `${N}: flags 0x${flags.toString(16)} are not valid for device memory`);
  const pageSize = a.page_size === 0n ? dram.pageSize : small(a.page_size);
  if (pageSize !== dram.pageSize)
    throw new KernelError(
      "EINVAL",
      `${N}: page size ${a.page_size} is not supported (DRAM pages are ${dram.pageSize})`,
    );
  if (a.mem_size === 0n) throw new KernelError("EINVAL", `${N}: cannot allocate 0 bytes`);
  const size = small(a.mem_size);
  if (size === undefined)
    throw new KernelError("ENOMEM", `${N}: ${a.mem_size} bytes are more than the device memory holds`);
  const contiguous = (flags & HL_MEM_CONTIGUOUS) !== 0;
  const pages = dram.alloc(Math.ceil(size / pageSize), contiguous);
  const hdev = ctx.hdev;
  const pack = new HlVmPhysPgPack(
    ctx.allocMemHandle(),
    pages,
    pageSize,
    contiguous,
    hdev.dramBarBase - hdev.dram.base,
  );
  ctx.memHandles.set(pack.handle, pack);
  ctx.dramPhysMem += pack.totalSize;
  return pack.handle;
}

function packOf(ctx: HlCtx, handle: bigint, what: string): HlVmPhysPgPack {
  const h = small(handle);
  const pack = h === undefined ? undefined : ctx.memHandles.get(h);
  if (pack === undefined) throw new KernelError("EINVAL", `${what}: no match for handle ${handle}`);
  return pack;
}

/** `free_device_memory`: `EINVAL` for an unknown or mapped handle, `EBUSY` while it is exported. */
function freeDeviceMemory(ctx: HlCtx, handle: bigint): void {
  const pack = packOf(ctx, handle, "free device memory failed");
  if (pack.mappingCnt > 0) throw new KernelError("EINVAL", `handle ${handle} is mapped, cannot free`);
  if (pack.exportingCnt > 0)
    throw new KernelError(
      "EBUSY",
      `handle ${handle} is exported (${pack.exportingCnt} dma-buf(s)), cannot free`,
    );
  ctx.memHandles.delete(pack.handle);
  ctx.hdev.dram.free(pack.pages);
  pack.freed = true;
  ctx.dramPhysMem -= pack.totalSize;
}

/**
 * `map_device_va`: maps an allocation into the context's device MMU. `EOPNOTSUPP` for host memory
 * (`HL_MEM_USERPTR`); `EINVAL` for other unknown flags, an unknown handle or a refused forced
 * hint; `ENOMEM` when the VA range is full.
 */
function mapDeviceVa(ctx: HlCtx, flags: number, a: MemIn["map_device"]): number {
  const N = "HL_MEM_OP_MAP";
  if ((flags & HL_MEM_USERPTR) !== 0)
    throw new KernelError("EOPNOTSUPP", `${N}: mapping host memory (HL_MEM_USERPTR) is not modelled`);
  if ((flags & ~(HL_MEM_FORCE_HINT | HL_MEM_PREFETCH)) !== 0)
    throw new KernelError("EINVAL", `${N}: flags 0x${flags.toString(16)} are not valid for device memory`);
  const pack = packOf(ctx, a.handle, N);
  const force = (flags & HL_MEM_FORCE_HINT) !== 0;
  const hint = small(a.hint_addr);
  // A hint beyond any VA range cannot be honoured: ignored, or refused when forced.
  if (hint === undefined && force)
    throw new KernelError("EINVAL", `${N}: hint address 0x${a.hint_addr.toString(16)} cannot be used`);
  const va = ctx.mmu.map(pack, hint ?? 0, force);
  pack.mappingCnt++;
  return va;
}

/**
 * `export_dmabuf_from_addr` (7.1, devices with DRAM virtual memory): a dma-buf over `mem_size`
 * bytes from `offset` into the mapping that starts at device VA `addr`, with its fd in `proc`.
 * `EINVAL` unless `addr` starts a mapping and `offset` and `mem_size` are page aligned, non-empty
 * and inside it, or for file flags beyond `O_RDWR | O_CLOEXEC`.
 */
function exportDmabuf(ctx: HlCtx, proc: Process, flags: number, a: MemIn["export_dmabuf_fd"]): number {
  const N = "HL_MEM_OP_EXPORT_DMABUF_FD";
  if ((flags & ~(O_RDWR | O_CLOEXEC)) !== 0)
    throw new KernelError(
      "EINVAL",
      `${N}: flags 0x${flags.toString(16)} are not O_RDWR/O_CLOEXEC file flags`,
    );
  const addr = small(a.addr);
  const m = addr === undefined ? undefined : ctx.mmu.mappingAt(addr);
  if (m === undefined)
    throw new KernelError("EINVAL", `${N}: device VA 0x${a.addr.toString(16)} is not the start of a mapping`);
  const size = small(a.mem_size) ?? Number.POSITIVE_INFINITY;
  const offset = small(a.offset) ?? Number.POSITIVE_INFINITY;
  if (size === 0 || size % PAGE_SIZE !== 0 || offset % PAGE_SIZE !== 0 || offset + size > m.size)
    throw new KernelError(
      "EINVAL",
      `${N}: offset ${a.offset} + mem_size ${a.mem_size} must be page aligned, non-empty and inside the ${m.size}-byte mapping`,
    );
  return hlDmaBufExport(ctx, proc, m.pack, offset, size, flags);
}

/**
 * `hl_mem_ioctl`: one memory op — `in.alloc`, `in.free`, `in.map_device`, `in.unmap` or
 * `in.export_dmabuf_fd` by `in.op`; out `handle`, `device_virt_addr` or `fd`. `EBUSY` while the
 * device is in reset, `EINVAL` for an unknown op, a non-zero `ctx_id`/`num_of_elements` or bad
 * arguments, `EOPNOTSUPP` for host-memory (userptr) mappings, `ENOMEM` when device memory or
 * device VA space runs out. A failed op changes nothing.
 */
export function hlMemIoctl(ctx: HlCtx, proc: Process, args: UapiValue<typeof hl_mem_args>): void {
  const a = args.in;
  const out = args.out;
  if (ctx.hdev.inReset) throw new KernelError("EBUSY", "Device is in reset. Can't execute MEMORY IOCTL");
  if (a.ctx_id !== 0 || a.num_of_elements !== 0)
    throw new KernelError("EINVAL", "HL_MEMORY: ctx_id and num_of_elements must be 0");
  switch (a.op) {
    case HL_MEM_OP_ALLOC:
      out.handle = BigInt(allocDeviceMemory(ctx, a.flags, a.alloc));
      return;
    case HL_MEM_OP_FREE:
      if (a.flags !== 0) throw new KernelError("EINVAL", "HL_MEM_OP_FREE: flags must be 0");
      freeDeviceMemory(ctx, a.free.handle);
      return;
    case HL_MEM_OP_MAP:
      out.device_virt_addr = BigInt(mapDeviceVa(ctx, a.flags, a.map_device));
      return;
    case HL_MEM_OP_UNMAP: {
      if (a.flags !== 0) throw new KernelError("EINVAL", "HL_MEM_OP_UNMAP: flags must be 0");
      const va = small(a.unmap.device_virt_addr);
      if (va === undefined)
        throw new KernelError(
          "EINVAL",
          `no mapping starts at device VA 0x${a.unmap.device_virt_addr.toString(16)}`,
        );
      ctx.mmu.unmap(va).pack.mappingCnt--;
      return;
    }
    case HL_MEM_OP_EXPORT_DMABUF_FD:
      out.fd = exportDmabuf(ctx, proc, a.flags, a.export_dmabuf_fd);
      return;
    default:
      throw new KernelError("EINVAL", `HL_MEMORY: unknown opcode ${a.op}`);
  }
}
