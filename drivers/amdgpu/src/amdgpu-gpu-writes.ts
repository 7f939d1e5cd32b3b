/**
 * The write model: how what a job stores reaches memory. The hardware model says which bytes an
 * IB stores, copies or fills at which GPU addresses (WRITE_DATA, DMA_DATA, SDMA WRITE, COPY,
 * CONST_FILL, FENCE, drmsim's WRITE marker); when the job reaches the hardware those addresses
 * are resolved through the submitter's VM to BO ranges, and the ranges to the pages behind them
 * by `amdgpu-ib-mem.ts` — one path for own, imported and userptr BOs. An address with no
 * (writable, for a destination) mapping, or a range whose pages cannot be reached, is a GPU VM
 * fault: recorded for `AMDGPU_INFO_GPUVM_FAULT`, and the operation dropped (the page tables send
 * it to the dummy page). The operations land when the job completes without error — never for a
 * job that hangs, faults or is cancelled. A user fence (`AMDGPU_CHUNK_ID_FENCE`) is one more store.
 */
import { isKernelError, type MemRegion } from "@drmsim/runtime";
import type { AmdgpuHwWrite } from "./amdgpu-hw-model.js";
import {
  type AmdgpuIbMem,
  amdgpuBoGpuRegion,
  amdgpuIbMemAdd,
  amdgpuIbMemApply,
  amdgpuIbMemCreate,
  amdgpuIbMemRelease,
} from "./amdgpu-ib-mem.js";
import type { AmdgpuBo } from "./amdgpu-object.js";
import type { AmdgpuVm, AmdgpuVmSpan } from "./amdgpu-vm.js";

/** A job's resolved memory operations (`amdgpu-ib-mem.ts`). */
export type AmdgpuGpuWrites = AmdgpuIbMem;

/** The pages of `spans`, or the GPU address of the first span whose pages cannot be reached. */
function regions(
  spans: readonly AmdgpuVmSpan[],
  va: number,
  write: boolean,
): { regions: MemRegion[]; bos: AmdgpuBo[] } | { faultAt: number } {
  const out: MemRegion[] = [];
  let at = va;
  for (const s of spans) {
    try {
      out.push(amdgpuBoGpuRegion(s.bo, s.offset, s.length, write));
    } catch (e) {
      if (!isKernelError(e)) throw e;
      return { faultAt: at };
    }
    at += s.length;
  }
  return { regions: out, bos: spans.map((s) => s.bo) };
}

/** `[va, va + length)` through `vm`: its pages, or null after recording the fault. */
function reach(
  vm: AmdgpuVm,
  va: number,
  length: number,
  write: boolean,
): { spans: AmdgpuVmSpan[]; regions: MemRegion[]; bos: AmdgpuBo[] } | null {
  const spans = vm.resolve(va, length, write);
  if ("faultAt" in spans) {
    vm.recordFault(spans.faultAt, write);
    return null;
  }
  const r = regions(spans, va, write);
  if ("faultAt" in r) {
    vm.recordFault(r.faultAt, write);
    return null;
  }
  return { spans, ...r };
}

function patternBytes(dword: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (dword >>> (8 * (i & 3))) & 0xff;
  return out;
}

/**
 * Resolves `writes` through `vm` into memory operations (called at `run_job`, in the signalling
 * section: no allocation that could reclaim). Each operation keeps its BOs referenced.
 */
export function amdgpuGpuWritesResolve(vm: AmdgpuVm, writes: readonly AmdgpuHwWrite[]): AmdgpuGpuWrites {
  const mem = amdgpuIbMemCreate();
  for (const w of writes) {
    if ("src" in w) {
      const src = reach(vm, w.src, w.size, false);
      const dst = src === null ? null : reach(vm, w.va, w.size, true);
      if (src === null || dst === null) continue;
      amdgpuIbMemAdd(mem, { kind: "copy", src: src.regions, dst: dst.regions }, [...src.bos, ...dst.bos]);
      continue;
    }
    const length = "data" in w ? w.data.length : w.size;
    const dst = reach(vm, w.va, length, true);
    if (dst === null) continue;
    const data = "data" in w ? w.data : patternBytes(w.fill, w.size);
    let from = 0;
    dst.spans.forEach((s, i) => {
      amdgpuIbMemAdd(
        mem,
        { kind: "fill", dst: dst.regions[i]!, data: data.subarray(from, from + s.length) },
        [s.bo],
      );
      from += s.length;
    });
  }
  return mem;
}

/** A store of `data` at `offset` of `bo` that bypasses the VM (the ring's user-fence write). */
export function amdgpuGpuWriteDirect(
  mem: AmdgpuGpuWrites,
  bo: AmdgpuBo,
  offset: number,
  data: Uint8Array,
): void {
  try {
    amdgpuIbMemAdd(mem, { kind: "fill", dst: amdgpuBoGpuRegion(bo, offset, data.length, true), data }, [bo]);
  } catch (e) {
    // The fence BO's pages are out of reach: the write goes nowhere, as a faulting store would.
    if (!isKernelError(e)) throw e;
  }
}

/** The job completed without error: the operations land (irq context). 0, or the errno for the fence. */
export function amdgpuGpuWritesLand(writes: AmdgpuGpuWrites): number {
  return amdgpuIbMemApply(writes);
}

/** Drops the operations and their BO references (the job is freed, or runs again after a reset). */
export function amdgpuGpuWritesRelease(writes: AmdgpuGpuWrites): void {
  amdgpuIbMemRelease(writes);
}
