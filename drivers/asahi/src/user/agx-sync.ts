/**
 * Implicit sync on an explicit-sync driver, as Mesa's asahi winsys does it
 * (`agx_import_sync_file` / `agx_export_sync_file`): the kernel never puts asahi's fences into a
 * shared buffer's reservation, so for a buffer shared with an implicit-sync world userspace
 * - asks the dma-buf for what an access must wait on (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`), turns
 *   the sync_file into a syncobj and waits on it as an in-sync of its submit, and
 * - hands its own out-fence back to the dma-buf (`DMA_BUF_IOCTL_IMPORT_SYNC_FILE`), so the
 *   buffer's next user waits for it.
 */
import {
  DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
  DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
  DMA_BUF_SYNC_READ,
  DMA_BUF_SYNC_WRITE,
} from "@drmsim/dma-buf";
import { drmSyncobjCreate, drmSyncobjExportSyncFile, drmSyncobjImportSyncFile } from "@drmsim/drm";
import type { Process } from "@drmsim/runtime";
import type { DrmAsahiSync } from "../asahi-drm.js";
import { agxSyncobj } from "./agx-submit.js";

/**
 * `agx_export_sync_file`: a sync_file fd for what an access to the dma-buf `dmabufFd` must wait
 * on — the writers for a read, everyone for a `write`.
 */
export async function agxExportSyncFile(p: Process, dmabufFd: number, write = false): Promise<number> {
  const r = await p.ioctl<{ flags: number; fd?: number }>(dmabufFd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, {
    flags: write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ,
  });
  return r.fd ?? -1;
}

/** `agx_import_sync_file`: adds the fence of sync_file `syncFd` to the dma-buf, as a writer if `write`. */
export async function agxImportSyncFile(
  p: Process,
  dmabufFd: number,
  syncFd: number,
  write = false,
): Promise<void> {
  await p.ioctl(dmabufFd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, {
    flags: write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ,
    fd: syncFd,
  });
}

/**
 * An in-sync for a submit that accesses the shared buffer `dmabufFd`: a new syncobj on `fd`
 * holding what the access must wait on (`agxExportSyncFile`).
 */
export async function agxImplicitInSync(
  p: Process,
  fd: number,
  dmabufFd: number,
  write = false,
): Promise<DrmAsahiSync> {
  const syncFd = await agxExportSyncFile(p, dmabufFd, write);
  try {
    const handle = await drmSyncobjCreate(p, fd);
    await drmSyncobjImportSyncFile(p, fd, handle, syncFd);
    return agxSyncobj(handle);
  } finally {
    p.close(syncFd);
  }
}

/**
 * After a submit that accessed the shared buffer `dmabufFd` and signals the binary syncobj
 * `outSyncobj`: its fence goes into the buffer (`agxImportSyncFile`), as a writer if `write`.
 */
export async function agxImplicitOutSync(
  p: Process,
  fd: number,
  dmabufFd: number,
  outSyncobj: number,
  write = false,
): Promise<void> {
  const syncFd = await drmSyncobjExportSyncFile(p, fd, outSyncobj);
  try {
    await agxImportSyncFile(p, dmabufFd, syncFd, write);
  } finally {
    p.close(syncFd);
  }
}
