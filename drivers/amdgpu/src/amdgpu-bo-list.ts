/**
 * BO lists (`amdgpu_bo_list.c`): the set of BOs a submission uses, either passed with the CS in a
 * BO_HANDLES chunk or created once with `DRM_IOCTL_AMDGPU_BO_LIST` and named by handle in
 * `drm_amdgpu_cs_in.bo_list_handle`. A list holds a reference to each BO.
 */
import type { DrmFile } from "@drmsim/drm";
import { __u8, KernelError, type UapiValue } from "@drmsim/runtime";
import {
  AMDGPU_BO_LIST_OP_CREATE,
  AMDGPU_BO_LIST_OP_DESTROY,
  AMDGPU_BO_LIST_OP_UPDATE,
  type drm_amdgpu_bo_list,
  drm_amdgpu_bo_list_entry,
  type drm_amdgpu_bo_list_in,
} from "./amdgpu-drm.js";
import { amdgpuFprivOf } from "./amdgpu-fpriv.js";
import { AmdgpuBo } from "./amdgpu-object.js";

/** `AMDGPU_BO_LIST_MAX_PRIORITY`. */
export const AMDGPU_BO_LIST_MAX_PRIORITY = 32;

/** One entry of a list (`struct amdgpu_bo_list_entry`). */
export interface AmdgpuBoListEntry {
  readonly bo: AmdgpuBo;
  readonly priority: number;
}

/** `struct amdgpu_bo_list`. */
export class AmdgpuBoList {
  constructor(readonly entries: readonly AmdgpuBoListEntry[]) {}

  /** Drops the BO references. */
  put(): void {
    for (const e of this.entries) e.bo.put();
  }
}

/**
 * `amdgpu_bo_create_list_entry_array`: `bo_number` entries of `bo_info_size` bytes each; a
 * smaller entry size from older userspace is zero-extended, a larger one's tail ignored.
 */
export function amdgpuBoListEntries(
  list: UapiValue<typeof drm_amdgpu_bo_list_in>,
): { bo_handle: number; bo_priority: number }[] {
  const n = list.bo_number;
  if (n === 0) return [];
  const size = list.bo_info_size;
  if (size === drm_amdgpu_bo_list_entry.size)
    return list.bo_info_ptr.as<UapiValue<typeof drm_amdgpu_bo_list_entry>>(drm_amdgpu_bo_list_entry).read(n);
  const bytes = Uint8Array.from(list.bo_info_ptr.as<number>(__u8).read(n * size));
  const out: { bo_handle: number; bo_priority: number }[] = [];
  for (let i = 0; i < n; i++) {
    const e = new Uint8Array(8);
    e.set(bytes.subarray(i * size, i * size + Math.min(size, 8)));
    const v = new DataView(e.buffer);
    out.push({ bo_handle: v.getUint32(0, true), bo_priority: v.getUint32(4, true) });
  }
  return out;
}

/**
 * `amdgpu_bo_list_create`: a reference to each BO. `ENOENT` for an unknown handle, `EINVAL` for
 * a handle that is not an amdgpu BO (another driver's import is one once imported), `EPERM` for
 * another process's userptr BO. Nothing is kept on failure.
 */
export function amdgpuBoListCreate(
  file: DrmFile,
  entries: readonly { bo_handle: number; bo_priority: number }[],
  what: string,
): AmdgpuBoList {
  const out: AmdgpuBoListEntry[] = [];
  try {
    for (const e of entries) {
      const obj = file.gem.lookup(e.bo_handle);
      if (!(obj instanceof AmdgpuBo)) {
        obj.put();
        throw new KernelError("EINVAL", `${what}: handle ${e.bo_handle} does not name an amdgpu BO`);
      }
      out.push({ bo: obj, priority: Math.min(e.bo_priority, AMDGPU_BO_LIST_MAX_PRIORITY) });
      if (obj.userptr !== null && obj.userptr.proc !== file.proc)
        throw new KernelError("EPERM", `${what}: ${obj.label} is another process's memory`);
    }
  } catch (e) {
    for (const x of out) x.bo.put();
    throw e;
  }
  return new AmdgpuBoList(out);
}

/** `fpriv->bo_list_handles`: the file's lists by handle (from 1). */
export class AmdgpuBoListMgr {
  private readonly lists = new Map<number, AmdgpuBoList>();
  private next = 1;

  /** `amdgpu_bo_list_get`: `ENOENT` for an unknown handle. */
  get(handle: number): AmdgpuBoList {
    const l = this.lists.get(handle);
    if (l === undefined) throw new KernelError("ENOENT", `no BO list ${handle} in this file`);
    return l;
  }

  /** Installs a list; returns its handle. */
  add(list: AmdgpuBoList): number {
    const h = this.next++;
    this.lists.set(h, list);
    return h;
  }

  /** `idr_replace`: `ENOENT` for an unknown handle (the new list is then the caller's to drop). */
  replace(handle: number, list: AmdgpuBoList): void {
    const old = this.get(handle);
    this.lists.set(handle, list);
    old.put();
  }

  /** `amdgpu_bo_list_destroy`: an unknown handle is ignored, as the kernel does. */
  destroy(handle: number): void {
    const l = this.lists.get(handle);
    if (l === undefined) return;
    this.lists.delete(handle);
    l.put();
  }

  /** Every list goes with the file. */
  fini(): void {
    for (const l of this.lists.values()) l.put();
    this.lists.clear();
  }
}

/**
 * `amdgpu_bo_list_ioctl`: CREATE (out `list_handle`), DESTROY, UPDATE (`ENOENT` for an unknown
 * list). `EINVAL` for an unknown operation.
 */
export function amdgpuBoListIoctl(file: DrmFile, args: UapiValue<typeof drm_amdgpu_bo_list>): void {
  const N = "AMDGPU_BO_LIST";
  const mgr = amdgpuFprivOf(file).boLists;
  const { operation, list_handle } = args.in;
  switch (operation) {
    case AMDGPU_BO_LIST_OP_CREATE: {
      const list = amdgpuBoListCreate(file, amdgpuBoListEntries(args.in), N);
      args.out.list_handle = mgr.add(list);
      return;
    }
    case AMDGPU_BO_LIST_OP_DESTROY:
      mgr.destroy(list_handle);
      args.out.list_handle = 0;
      return;
    case AMDGPU_BO_LIST_OP_UPDATE: {
      const list = amdgpuBoListCreate(file, amdgpuBoListEntries(args.in), N);
      try {
        mgr.replace(list_handle, list);
      } catch (e) {
        list.put();
        throw e;
      }
      args.out.list_handle = list_handle;
      return;
    }
    default:
      throw new KernelError("EINVAL", `${N}: unknown operation ${operation}`);
  }
}
