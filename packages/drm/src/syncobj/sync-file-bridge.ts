/**
 * The two sync_file operations drm_syncobj needs (`sync_file_create` + `fd_install`, and
 * `sync_file_get_fence`), kept in one place so the syncobj code does not depend on how the
 * sync_file module is laid out.
 *
 * Import works with any file of kind `sync_file` whose private data carries its `fence` (the
 * kernel's `struct sync_file`). Export needs the sync_file implementation of `@drmsim/dma-fence`,
 * which has not landed yet: until it does, EXPORT_SYNC_FILE fails with `EOPNOTSUPP` and says why.
 */
import type { DmaFence } from "@drmsim/dma-fence";
import { KernelError, type Process } from "@drmsim/runtime";

/** `sync_file_get_fence(fd)`: a new reference to the fence of the sync_file behind `fd`, or null for any other fd. */
export function syncFileGetFence(proc: Process, fd: number): DmaFence | null {
  const file = proc.files.lookup(fd);
  if (file === undefined || file.fops.kind !== "sync_file") return null;
  const fence = (file.priv as { fence?: DmaFence } | null)?.fence;
  return fence === undefined ? null : fence.get();
}

/** `sync_file_create(fence)` + `fd_install`: a sync_file fd in `proc` holding its own reference to `fence`. */
export function syncFileCreateFd(_proc: Process, fence: DmaFence): number {
  throw new KernelError(
    "EOPNOTSUPP",
    `cannot export ${fence.describe()} as a sync_file: SyncFile is not available in @drmsim/dma-fence yet`,
  );
}
