/**
 * The write model: how what a job stores reaches memory. The hardware model says which bytes an
 * IB stores at which GPU addresses; when the job reaches the hardware those addresses are
 * resolved through the submitter's VM to BO ranges (an address with no writable mapping is a GPU
 * VM fault: recorded for `AMDGPU_INFO_GPUVM_FAULT`, the store dropped), and the bytes land in the
 * BOs' backing stores when the job completes without error — never for a job that hangs, fails
 * or is cancelled. A user fence (`AMDGPU_CHUNK_ID_FENCE`) is one more such store.
 *
 * Kept in one place on purpose: the buffer-contents work (where an import's bytes really live)
 * changes only this module.
 */
import type { AmdgpuHwWrite } from "./amdgpu-hw-model.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import type { AmdgpuVm } from "./amdgpu-vm.js";

/** A store resolved to a BO range; holds a reference to the BO until it lands or is dropped. */
export interface AmdgpuGpuWrite {
  readonly bo: AmdgpuBo;
  readonly offset: number;
  readonly data: Uint8Array;
}

/**
 * Resolves `writes` through `vm` (called at `run_job`, in the signalling section: no allocation
 * that could reclaim). Each resolved range takes a BO reference.
 */
export function amdgpuGpuWritesResolve(vm: AmdgpuVm, writes: readonly AmdgpuHwWrite[]): AmdgpuGpuWrite[] {
  const out: AmdgpuGpuWrite[] = [];
  for (const w of writes) {
    const spans = vm.resolve(w.va, w.data.length, true);
    if ("faultAt" in spans) {
      vm.recordFault(spans.faultAt, true);
      continue;
    }
    let from = 0;
    for (const s of spans) {
      s.bo.get();
      out.push({ bo: s.bo, offset: s.offset, data: w.data.subarray(from, from + s.length) });
      from += s.length;
    }
  }
  return out;
}

/** A store of `data` at `offset` of `bo` that bypasses the VM (the ring's user-fence write); takes a reference. */
export function amdgpuGpuWriteDirect(bo: AmdgpuBo, offset: number, data: Uint8Array): AmdgpuGpuWrite {
  bo.get();
  return { bo, offset, data };
}

/** The job completed without error: the bytes land (irq context). */
export function amdgpuGpuWritesLand(writes: readonly AmdgpuGpuWrite[]): void {
  for (const w of writes) w.bo.store.write(w.offset, w.data);
}

/** Drops the BO references of `writes` (the job is freed). */
export function amdgpuGpuWritesRelease(writes: readonly AmdgpuGpuWrite[]): void {
  for (const w of writes) w.bo.put();
}
