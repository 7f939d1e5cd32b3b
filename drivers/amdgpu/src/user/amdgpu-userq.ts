/**
 * libdrm_amdgpu's user-queue functions (`amdgpu_userq.c`): create and free a queue, and drmsim's
 * stand-in for the doorbell write that hands it work.
 */
import type { Process } from "@drmsim/runtime";
import {
  AMDGPU_USERQ_OP_CREATE,
  AMDGPU_USERQ_OP_FREE,
  DRM_IOCTL_AMDGPU_USERQ,
  DRM_IOCTL_AMDGPU_USERQ_DOORBELL,
  type DrmAmdgpuUserq,
  type DrmAmdgpuUserqDoorbell,
} from "../amdgpu-drm.js";

/**
 * `amdgpu_create_userqueue`: a user queue on IP `ipType` using `boHandles` (drmsim's stand-in for
 * the VM's BOs, which get the queue's eviction fence); returns the queue id.
 */
export async function amdgpuCreateUserqueue(
  p: Process,
  fd: number,
  ipType: number,
  boHandles: readonly number[] = [],
): Promise<number> {
  const r = await p.ioctl<DrmAmdgpuUserq>(fd, DRM_IOCTL_AMDGPU_USERQ, {
    in: { op: AMDGPU_USERQ_OP_CREATE, ip_type: ipType, bo_handles: [...boHandles] },
  });
  return r.out?.queue_id ?? 0;
}

/** `amdgpu_free_userqueue`. */
export async function amdgpuFreeUserqueue(p: Process, fd: number, queueId: number): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ, {
    in: { op: AMDGPU_USERQ_OP_FREE, queue_id: queueId },
  } satisfies DrmAmdgpuUserq);
}

/** The doorbell write (drmsim's `DRM_IOCTL_AMDGPU_USERQ_DOORBELL`): `workNs` of work on the queue. */
export async function amdgpuUserqDoorbell(
  p: Process,
  fd: number,
  queueId: number,
  workNs: number,
): Promise<void> {
  await p.ioctl(fd, DRM_IOCTL_AMDGPU_USERQ_DOORBELL, {
    queue_id: queueId,
    work_ns: workNs,
  } satisfies DrmAmdgpuUserqDoorbell);
}
