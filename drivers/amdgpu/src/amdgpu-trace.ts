/**
 * amdgpu's tracepoints (`amdgpu_trace.h`), the ones that explain the waits this driver adds:
 * `amdgpu_vm_grab_id` (a job got its VMID), `amdgpu_bo_move` (a BO changed domain, with the
 * copy that does it), `amdgpu_userq_evict` / `amdgpu_userq_restore` (a process's user queues
 * were preempted for an eviction and brought back). Emitted only while tracing is on.
 */
import { defineTracepoint, type TrackRef } from "@drmsim/runtime";

/** `amdgpu_vm_grab_id`: `vmid` assigned to a job of `vm` on `ring`. */
export const traceAmdgpuVmGrabId = defineTracepoint<{ ring: string; vm: string; vmid: number }>(
  "amdgpu_vm_grab_id",
  "amdgpu",
);

/** `amdgpu_bo_move`: `bo` goes from one domain to another (`evict` under memory pressure). */
export const traceAmdgpuBoMove = defineTracepoint<{
  bo: string;
  size: number;
  from: string;
  to: string;
  evict: boolean;
}>("amdgpu_bo_move", "amdgpu");

/** User queues of a process preempted (`evict`) or resumed (`restore`). */
export const traceAmdgpuUserqEvict = defineTracepoint<{ process: string; queues: number }>(
  "amdgpu_userq_evict",
  "amdgpu",
);
/** See `traceAmdgpuUserqEvict`. */
export const traceAmdgpuUserqRestore = defineTracepoint<{ process: string; queues: number }>(
  "amdgpu_userq_restore",
  "amdgpu",
);

/** The track driver events are drawn on. */
export function amdgpuTrack(device: string): TrackRef {
  return { process: device, thread: "amdgpu" };
}
