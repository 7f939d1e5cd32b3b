/**
 * Mesa's asahi submission (`agx_batch.c`, `hk_queue.c`): the syncobj entries of a submit, its
 * byte command buffer (`agx-cmdbuf.ts`), and `DRM_IOCTL_ASAHI_SUBMIT`.
 */
import type { Process } from "@drmsim/runtime";
import {
  DRM_ASAHI_SYNC_SYNCOBJ,
  DRM_ASAHI_SYNC_TIMELINE_SYNCOBJ,
  DRM_IOCTL_ASAHI_SUBMIT,
  type DrmAsahiSubmit,
  type DrmAsahiSync,
} from "../asahi-drm.js";
import {
  DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT,
  type DrmsimAsahiHwCmd,
  type DrmsimAsahiHwNext,
} from "../asahi-hw-model.js";
import { type AgxCommand, agxEncodeCmdbuf, agxSimOverrides } from "./agx-cmdbuf.js";

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
  commands: readonly AgxCommand[];
  inSyncs?: readonly DrmAsahiSync[];
  outSyncs?: readonly DrmAsahiSync[];
}

/**
 * drmsim only: queues per-command overrides of the hardware model on `queue` — the hardware
 * commands of the next submits there take them in order (`DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT`). An
 * empty list clears what is queued.
 */
export async function agxSimHwNext(
  p: Process,
  fd: number,
  queue: number,
  cmds: readonly DrmsimAsahiHwCmd[],
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_DRMSIM_ASAHI_HW_NEXT, {
    queue_id: queue,
    count: cmds.length,
    cmds: [...cmds],
  } satisfies DrmsimAsahiHwNext);
}

/**
 * `DRM_IOCTL_ASAHI_SUBMIT` of `s.commands` as a byte command buffer, the in-syncs followed by the
 * out-syncs in one array, as the uAPI lays them out. Commands that carry simulation knobs have
 * them queued through the side channel first (`agxSimHwNext`); if the kernel refuses the submit,
 * the queue's overrides are cleared again, so they cannot land on a later submit.
 */
export async function agxSubmit(p: Process, fd: number, s: AgxSubmit): Promise<void> {
  const ins = s.inSyncs ?? [];
  const outs = s.outSyncs ?? [];
  const cmdbuf = agxEncodeCmdbuf(s.commands);
  const overrides = agxSimOverrides(s.commands);
  if (overrides !== null) await agxSimHwNext(p, fd, s.queue, overrides);
  try {
    await p.ioctl(fd, DRM_IOCTL_ASAHI_SUBMIT, {
      queue_id: s.queue,
      syncs: [...ins, ...outs],
      in_sync_count: ins.length,
      out_sync_count: outs.length,
      cmdbuf,
      cmdbuf_size: cmdbuf.length,
    } satisfies DrmAsahiSubmit);
  } catch (e) {
    if (overrides !== null) await agxSimHwNext(p, fd, s.queue, []);
    throw e;
  }
}
