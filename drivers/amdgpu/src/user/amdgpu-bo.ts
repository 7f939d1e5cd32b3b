/**
 * libdrm_amdgpu's buffer functions (`amdgpu_bo.c`): what a userspace driver calls to get, map,
 * describe and wait for BOs, and to name them in BO lists. Every call is the ioctl the real
 * library makes, with the same struct.
 */
import { type Process, U64_MAX, type UapiValue } from "@drmsim/runtime";
import {
  AMDGPU_BO_LIST_OP_CREATE,
  AMDGPU_BO_LIST_OP_DESTROY,
  AMDGPU_BO_LIST_OP_UPDATE,
  AMDGPU_GEM_METADATA_OP_GET_METADATA,
  AMDGPU_GEM_METADATA_OP_SET_METADATA,
  AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
  AMDGPU_GEM_OP_GET_MAPPING_INFO,
  AMDGPU_GEM_OP_SET_PLACEMENT,
  AMDGPU_GEM_USERPTR_ANONONLY,
  AMDGPU_GEM_USERPTR_REGISTER,
  AMDGPU_GEM_USERPTR_VALIDATE,
  AMDGPU_VM_PAGE_EXECUTABLE,
  AMDGPU_VM_PAGE_READABLE,
  AMDGPU_VM_PAGE_WRITEABLE,
  DRM_IOCTL_AMDGPU_BO_LIST,
  DRM_IOCTL_AMDGPU_GEM_CREATE,
  DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES,
  DRM_IOCTL_AMDGPU_GEM_METADATA,
  DRM_IOCTL_AMDGPU_GEM_OP,
  DRM_IOCTL_AMDGPU_GEM_USERPTR,
  DRM_IOCTL_AMDGPU_GEM_VA,
  DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE,
  type DrmAmdgpuBoList,
  type DrmAmdgpuGemCreate,
  type DrmAmdgpuGemListHandles,
  type DrmAmdgpuGemMetadata,
  type DrmAmdgpuGemOp,
  type DrmAmdgpuGemUserptr,
  type DrmAmdgpuGemVa,
  type DrmAmdgpuGemWaitIdle,
  drm_amdgpu_bo_list_entry,
  type drm_amdgpu_gem_list_handles_entry,
} from "../amdgpu-drm.js";

/** What `amdgpuBoAlloc` asks for (`struct amdgpu_bo_alloc_request`). */
export interface AmdgpuBoAllocRequest {
  /** Bytes; the kernel rounds up to pages. */
  allocSize: number | bigint;
  /** `AMDGPU_GEM_DOMAIN_*` bits. */
  preferredHeap: number;
  /** Byte alignment, or 0. */
  physAlignment?: number | bigint;
  /** `AMDGPU_GEM_CREATE_*` bits. */
  flags?: number | bigint;
}

/** `amdgpu_bo_alloc`: `DRM_IOCTL_AMDGPU_GEM_CREATE`; returns the GEM handle. */
export async function amdgpuBoAlloc(p: Process, fd: number, req: AmdgpuBoAllocRequest): Promise<number> {
  const args: DrmAmdgpuGemCreate = {
    in: {
      bo_size: req.allocSize,
      alignment: req.physAlignment ?? 0,
      domains: req.preferredHeap,
      domain_flags: req.flags ?? 0,
    },
  };
  const r = await p.ioctl<DrmAmdgpuGemCreate>(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, args);
  return r.out?.handle ?? 0;
}

/**
 * `amdgpu_create_bo_from_user_mem`: `DRM_IOCTL_AMDGPU_GEM_USERPTR` over `[addr, addr + size)` of
 * the calling process; returns the GEM handle. `flags` defaults to what libdrm passes
 * (`ANONONLY | REGISTER | VALIDATE`).
 */
export async function amdgpuCreateBoFromUserMem(
  p: Process,
  fd: number,
  addr: number | bigint,
  size: number | bigint,
  flags = AMDGPU_GEM_USERPTR_ANONONLY | AMDGPU_GEM_USERPTR_REGISTER | AMDGPU_GEM_USERPTR_VALIDATE,
): Promise<number> {
  const args: DrmAmdgpuGemUserptr = { addr, size, flags };
  const r = await p.ioctl<DrmAmdgpuGemUserptr>(fd, DRM_IOCTL_AMDGPU_GEM_USERPTR, args);
  return r.handle ?? 0;
}

/** The read-write-execute mapping flags Mesa maps its BOs with. */
export const AMDGPU_VM_PAGE_RWX =
  AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE | AMDGPU_VM_PAGE_EXECUTABLE;

/** Optional members of `amdgpuBoVaOpRaw`'s `struct drm_amdgpu_gem_va` (timeline out, input fences). */
export type AmdgpuVaOpExtra = Pick<
  DrmAmdgpuGemVa,
  "vm_timeline_point" | "vm_timeline_syncobj_out" | "num_syncobj_handles" | "input_fence_syncobj_handles"
>;

/**
 * `amdgpu_bo_va_op_raw`/`amdgpu_bo_va_op_raw2`: `DRM_IOCTL_AMDGPU_GEM_VA` — `op` (`AMDGPU_VA_OP_*`)
 * of `size` bytes of BO `handle` from `offset` at GPU address `va`.
 */
export async function amdgpuBoVaOpRaw(
  p: Process,
  fd: number,
  handle: number,
  offset: number | bigint,
  size: number | bigint,
  va: number | bigint,
  flags: number,
  op: number,
  extra: AmdgpuVaOpExtra = {},
): Promise<void> {
  const args: DrmAmdgpuGemVa = {
    handle,
    operation: op,
    flags,
    va_address: va,
    offset_in_bo: offset,
    map_size: size,
    ...extra,
  };
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, args);
}

/**
 * `amdgpu_bo_wait_for_idle`: `DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE` until the absolute virtual time
 * `timeoutNs` (default: forever); true when the BO is still busy.
 */
export async function amdgpuBoWaitForIdle(
  p: Process,
  fd: number,
  handle: number,
  timeoutNs: number | bigint = U64_MAX,
): Promise<boolean> {
  const r = await p.ioctl<DrmAmdgpuGemWaitIdle>(fd, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, {
    in: { handle, timeout: timeoutNs },
  });
  return (r.out?.status ?? 0) !== 0;
}

/** What `amdgpu_bo_set_metadata` stores (`struct amdgpu_bo_metadata`). */
export interface AmdgpuBoMetadata {
  flags?: number | bigint;
  tilingInfo?: number | bigint;
  /** Up to 256 bytes, opaque to the kernel. */
  umdMetadata?: Uint8Array;
}

/** `amdgpu_bo_set_metadata`: `DRM_IOCTL_AMDGPU_GEM_METADATA` SET. */
export async function amdgpuBoSetMetadata(
  p: Process,
  fd: number,
  handle: number,
  md: AmdgpuBoMetadata,
): Promise<void> {
  const bytes = md.umdMetadata ?? new Uint8Array(0);
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const words = Array.from({ length: padded.length / 4 }, (_, i) =>
    new DataView(padded.buffer).getUint32(i * 4, true),
  );
  const args: DrmAmdgpuGemMetadata = {
    handle,
    op: AMDGPU_GEM_METADATA_OP_SET_METADATA,
    data: {
      flags: md.flags ?? 0,
      tiling_info: md.tilingInfo ?? 0,
      data_size_bytes: bytes.length,
      data: words,
    },
  };
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_METADATA, args);
}

/** What `amdgpu_bo_query_info` returns (`struct amdgpu_bo_info`). */
export interface AmdgpuBoInfo {
  allocSize: bigint;
  physAlignment: bigint;
  preferredHeap: bigint;
  allocFlags: bigint;
  metadata: { flags: bigint; tilingInfo: bigint; umdMetadata: Uint8Array };
}

/** `amdgpu_bo_query_info`: GEM_METADATA GET and GEM_OP GET_GEM_CREATE_INFO. */
export async function amdgpuBoQueryInfo(p: Process, fd: number, handle: number): Promise<AmdgpuBoInfo> {
  const md = await p.ioctl<DrmAmdgpuGemMetadata>(fd, DRM_IOCTL_AMDGPU_GEM_METADATA, {
    handle,
    op: AMDGPU_GEM_METADATA_OP_GET_METADATA,
  });
  const info: Record<string, unknown>[] = [{}];
  await p.ioctl<DrmAmdgpuGemOp>(fd, DRM_IOCTL_AMDGPU_GEM_OP, {
    handle,
    op: AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
    value_ptr: info,
  });
  const ci = info[0]!;
  const words = (md.data?.data ?? []) as number[];
  const raw = new Uint8Array(256);
  words.forEach((w, i) => {
    new DataView(raw.buffer).setUint32(i * 4, w, true);
  });
  return {
    allocSize: BigInt(ci.bo_size as number | bigint),
    physAlignment: BigInt(ci.alignment as number | bigint),
    preferredHeap: BigInt(ci.domains as number | bigint),
    allocFlags: BigInt(ci.domain_flags as number | bigint),
    metadata: {
      flags: BigInt(md.data?.flags ?? 0),
      tilingInfo: BigInt(md.data?.tiling_info ?? 0),
      umdMetadata: raw.slice(0, md.data?.data_size_bytes ?? 0),
    },
  };
}

/** `amdgpu_bo_set_placement` (GEM_OP SET_PLACEMENT): new preferred domains. */
export async function amdgpuBoSetPlacement(
  p: Process,
  fd: number,
  handle: number,
  domains: number,
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_OP, { handle, op: AMDGPU_GEM_OP_SET_PLACEMENT, value: domains });
}

/** One mapping GEM_OP GET_MAPPING_INFO reports. */
export interface AmdgpuBoMapping {
  addr: bigint;
  size: bigint;
  offset: bigint;
  flags: bigint;
}

/** GEM_OP GET_MAPPING_INFO: the BO's mappings in the caller's VM (asks for the count first). */
export async function amdgpuBoQueryMappings(
  p: Process,
  fd: number,
  handle: number,
): Promise<AmdgpuBoMapping[]> {
  const count = await p.ioctl<DrmAmdgpuGemOp>(fd, DRM_IOCTL_AMDGPU_GEM_OP, {
    handle,
    op: AMDGPU_GEM_OP_GET_MAPPING_INFO,
    num_entries: 0,
  });
  const n = count.num_entries ?? 0;
  if (n === 0) return [];
  const entries: Record<string, number | bigint>[] = Array.from({ length: n }, () => ({}));
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_OP, {
    handle,
    op: AMDGPU_GEM_OP_GET_MAPPING_INFO,
    num_entries: n,
    value_ptr: entries,
  });
  return entries.map((e) => ({
    addr: BigInt(e.addr!),
    size: BigInt(e.size!),
    offset: BigInt(e.offset!),
    flags: BigInt(e.flags!),
  }));
}

/** `DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES`: every BO handle of the file, described (asks for the count first). */
export async function amdgpuListHandles(
  p: Process,
  fd: number,
): Promise<UapiValue<typeof drm_amdgpu_gem_list_handles_entry>[]> {
  const count = await p.ioctl<DrmAmdgpuGemListHandles>(fd, DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES, {
    num_entries: 0,
  });
  const n = count.num_entries ?? 0;
  if (n === 0) return [];
  const entries: Record<string, number | bigint>[] = Array.from({ length: n }, () => ({}));
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_GEM_LIST_HANDLES, { num_entries: n, entries });
  return entries.map((e) => ({
    gem_handle: Number(e.gem_handle),
    flags: Number(e.flags),
    size: BigInt(e.size!),
    preferred_domains: BigInt(e.preferred_domains!),
    alloc_flags: BigInt(e.alloc_flags!),
    alignment: BigInt(e.alignment!),
  }));
}

/** `amdgpu_bo_list_create_raw`: `DRM_IOCTL_AMDGPU_BO_LIST` CREATE; returns the list handle. */
export async function amdgpuBoListCreateRaw(
  p: Process,
  fd: number,
  handles: readonly number[],
): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuBoList>(fd, DRM_IOCTL_AMDGPU_BO_LIST, {
    in: {
      operation: AMDGPU_BO_LIST_OP_CREATE,
      bo_number: handles.length,
      bo_info_size: drm_amdgpu_bo_list_entry.size,
      bo_info_ptr: handles.map((bo_handle) => ({ bo_handle })),
    },
  });
  return r.out?.list_handle ?? 0;
}

/** `amdgpu_bo_list_update`: BO_LIST UPDATE of list `list` with `handles`. */
export async function amdgpuBoListUpdate(
  p: Process,
  fd: number,
  list: number,
  handles: readonly number[],
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_BO_LIST, {
    in: {
      operation: AMDGPU_BO_LIST_OP_UPDATE,
      list_handle: list,
      bo_number: handles.length,
      bo_info_size: drm_amdgpu_bo_list_entry.size,
      bo_info_ptr: handles.map((bo_handle) => ({ bo_handle })),
    },
  });
}

/** `amdgpu_bo_list_destroy_raw`: BO_LIST DESTROY. */
export async function amdgpuBoListDestroyRaw(p: Process, fd: number, list: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_BO_LIST, {
    in: { operation: AMDGPU_BO_LIST_OP_DESTROY, list_handle: list },
  });
}
