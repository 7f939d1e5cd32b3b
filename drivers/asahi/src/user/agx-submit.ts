/**
 * Mesa's asahi submission (`agx_batch.c`, `hk_queue.c`): the commands of a submit, its syncobj
 * entries, and `DRM_IOCTL_ASAHI_SUBMIT`. drmsim does not decode a byte-level command buffer yet:
 * commands go in the `commands` extension (see `DrmAsahiCommand`).
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_ASAHI_BARRIER_NONE,
  DRM_ASAHI_CMD_COMPUTE,
  DRM_ASAHI_CMD_RENDER,
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ,
  DRM_IOCTL_ASAHI_SUBMIT,
  type DrmAsahiBo,
  type DrmAsahiCommand,
  type DrmAsahiSubmit,
  type DrmAsahiSync,
} from "../asahi-drm.js";

/** A render command (vertex + fragment) with no barriers; `extra` overrides any member. */
export function agxRenderCommand(extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand {
  return {
    cmd_type: DRM_ASAHI_CMD_RENDER,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    ...extra,
  };
}

/** A compute command with no barriers; `extra` overrides any member. */
export function agxComputeCommand(extra: Partial<DrmAsahiCommand> = {}): DrmAsahiCommand {
  return {
    cmd_type: DRM_ASAHI_CMD_COMPUTE,
    vdm_barrier: DRM_ASAHI_BARRIER_NONE,
    cdm_barrier: DRM_ASAHI_BARRIER_NONE,
    ...extra,
  };
}

/** A `struct drm_asahi_sync` for a binary syncobj. */
export function agxSyncobj(handle: number): DrmAsahiSync {
  return { sync_type: DRM_ASAHI_SYNC_SYNCOBJ, handle, timeline_value: 0 };
}

/** A `struct drm_asahi_sync` for point `point` of a timeline syncobj. */
export function agxTimelineSyncobj(handle: number, point: number | bigint): DrmAsahiSync {
  return { sync_type: DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ, handle, timeline_value: point };
}

/** What `agxSubmit` sends. */
export interface AgxSubmit {
  queue: number;
  commands: readonly DrmAsahiCommand[];
  /** Buffers the commands use, for implicit sync (drmsim extension). */
  bos?: readonly DrmAsahiBo[];
  inSyncs?: readonly DrmAsahiSync[];
  outSyncs?: readonly DrmAsahiSync[];
}

/** `DRM_IOCTL_ASAHI_SUBMIT`: the in-syncs followed by the out-syncs in one array, as the uAPI lays them out. */
export async function agxSubmit(p: Process, fd: number, s: AgxSubmit): Promise<void> {
  const ins = s.inSyncs ?? [];
  const outs = s.outSyncs ?? [];
  await p.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, {
    queue_id: s.queue,
    syncs: [...ins, ...outs],
    in_sync_count: ins.length,
    out_sync_count: outs.length,
    commands: [...s.commands],
    bos: [...(s.bos ?? [])],
  } satisfies DrmAsahiSubmit);
}
