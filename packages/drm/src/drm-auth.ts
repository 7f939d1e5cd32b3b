/**
 * DRM master and authentication (`drivers/gpu/drm/drm_auth.c`, Linux 7.1).
 *
 * DOC: who may be master, and who a magic belongs to. Every primary-node file points at a
 * `DrmMaster` (`file_priv->master`): the one that was current when it was opened, or its own once
 * it has been master (`drm_new_set_master` gives the file a fresh one). Authentication magics live
 * in that master's map, so a magic handed out under one master means nothing to the next: after a
 * master change the new master's `AUTH_MAGIC` cannot find it (`EINVAL`), and numbers start at 1
 * again in every master.
 *
 * Privilege is the *caller's*, not the file's (`drm_master_check_perm`): `SET_MASTER` and
 * `DROP_MASTER` need `CAP_SYS_ADMIN` in the calling process, or a file that was master *and* whose
 * owner (`file_priv->pid`) is the calling process. A file that was ever master keeps its opener as
 * owner for good (`drm_file_update_pid` does not move it), so a master fd passed over SCM_RIGHTS to
 * an unprivileged process gives that process no way to (re)take or drop mastership with it.
 */
import { KernelError, type Process } from "@drmsim/runtime";
import { type DrmFile, drmProcessIsRoot } from "./drm-file.js";

/** `struct drm_master`: a group of clients and the authentication magics handed out under it. */
export class DrmMaster {
  /**
   * `master->magic_map` (an idr from 1): magic → file, or null once that magic authenticated its
   * file (`idr_replace(…, NULL, magic)` keeps the number taken, so it is never handed out again).
   */
  private readonly magicMap = new Map<number, DrmFile | null>();

  /** `idr_alloc(&master->magic_map, file, 1, 0)`: the lowest free magic. */
  allocMagic(file: DrmFile): number {
    let magic = 1;
    while (this.magicMap.has(magic)) magic++;
    this.magicMap.set(magic, file);
    return magic;
  }

  /** `idr_find`: the file waiting to be authenticated with `magic`, if any. */
  find(magic: number): DrmFile | null {
    return this.magicMap.get(magic) ?? null;
  }

  /** `idr_replace(…, NULL, magic)`: the magic is used up, its number stays taken. */
  consume(magic: number): void {
    if (this.magicMap.has(magic)) this.magicMap.set(magic, null);
  }

  /** `idr_remove`: frees the number (the file went away). */
  remove(magic: number): void {
    this.magicMap.delete(magic);
  }
}

/** `drm_is_current_master()`: the file owns the device's current master (leases are not modelled). */
export function drmIsCurrentMaster(file: DrmFile): boolean {
  return file.wasMaster && file.device.master === file;
}

/** `drm_new_set_master()`: the file gets a master of its own and becomes the device's master. */
function drmNewSetMaster(file: DrmFile): void {
  file.master = new DrmMaster();
  file.authenticated = true;
  drmSetMaster(file);
}

/** `drm_set_master()`: the file's master becomes the device's current one. */
function drmSetMaster(file: DrmFile): void {
  file.device.master = file;
  file.wasMaster = true;
}

/**
 * `drm_master_open()`: a new primary-node file becomes master if there is none, else joins the
 * current master's group (its magics will be looked up there).
 */
export function drmMasterOpen(file: DrmFile): void {
  const current = file.device.master;
  if (current === null) drmNewSetMaster(file);
  else file.master = current.master;
}

/**
 * `drm_master_release()`: the file's magic leaves its master's map, and a current master that
 * closes leaves the device without one.
 */
export function drmMasterRelease(file: DrmFile): void {
  // As the kernel does, the magic is removed from the map of the master the file points at *now*.
  if (file.magic !== 0) file.master?.remove(file.magic);
  if (drmIsCurrentMaster(file)) file.device.master = null;
  file.master = null;
}

/**
 * `drm_file_update_pid()` (7.1, from `drm_ioctl_kernel` before the permission check): a file that
 * was passed to another process belongs to the last process that used it — unless it was ever
 * master: master files keep their opener, or `drm_master_check_perm` could be fooled by passing one.
 */
export function drmFileUpdatePid(file: DrmFile, caller: Process): void {
  if (file.wasMaster) return;
  file.owner = caller;
}

/**
 * `drm_master_check_perm()`: `EACCES` unless the *calling* process is the owner of a file that was
 * master, or has `CAP_SYS_ADMIN`.
 */
export function drmMasterCheckPerm(file: DrmFile, caller: Process, op: string): void {
  if (file.wasMaster && file.owner === caller) return;
  if (drmProcessIsRoot(caller)) return;
  throw new KernelError(
    "EACCES",
    file.wasMaster
      ? `${op}: ${caller} is not root and not ${file.owner}, which opened this (former) master fd of ${file.minor.path}`
      : `${op}: ${caller} is not root, and this fd of ${file.minor.path} was never master`,
  );
}

/** `drm_getmagic()`: the file's magic, allocated in its master's map on first call. */
export function drmMagicGet(file: DrmFile): number {
  const master = file.master;
  if (master === null)
    throw new KernelError(
      "EINVAL",
      `${file.minor.path}: only primary-node clients have authentication magics`,
    );
  if (file.magic === 0) file.magic = master.allocMagic(file);
  return file.magic;
}

/** `drm_authmagic()`: authenticates the file waiting with `magic` in the *caller's* master's map; `EINVAL` if none. */
export function drmMagicAuth(file: DrmFile, magic: number): void {
  const target = file.master?.find(magic) ?? null;
  if (target === null)
    throw new KernelError(
      "EINVAL",
      `no client waits to be authenticated with magic ${magic} under this master (magics do not survive a master change)`,
    );
  target.authenticated = true;
  file.master!.consume(magic);
}

/**
 * `drm_setmaster_ioctl()`: the permission check first (even for the current master), then `EBUSY`
 * while another file is master, `EINVAL` for a file without a master (not a primary-node client).
 */
export function drmMasterSet(file: DrmFile, caller: Process): void {
  drmMasterCheckPerm(file, caller, "DRM_IOCTL_SET_MASTER");
  if (drmIsCurrentMaster(file)) return;
  if (file.device.master !== null)
    throw new KernelError("EBUSY", `${file.minor.path} already has a DRM master`);
  if (file.master === null) throw new KernelError("EINVAL", `${file.minor.path}: this file cannot be master`);
  if (!file.wasMaster) drmNewSetMaster(file);
  else drmSetMaster(file);
}

/** `drm_dropmaster_ioctl()`: the permission check first, then `EINVAL` unless the file is the current master. */
export function drmMasterDrop(file: DrmFile, caller: Process): void {
  drmMasterCheckPerm(file, caller, "DRM_IOCTL_DROP_MASTER");
  if (!drmIsCurrentMaster(file))
    throw new KernelError("EINVAL", `${file} is not the DRM master, so it cannot drop it`);
  file.device.master = null;
}
